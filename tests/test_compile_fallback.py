"""GMBENCH_COMPILE=1 without a working compiler: the compiled kernels fall back to eager (one warning, same
results) instead of raising at their first call."""

import warnings

import pytest
import torch

import gmbench.core.compile as gc
from gmbench.core.compile import CompiledOrEager, maybe_compile


class _CompileError(RuntimeError):
    pass


def _broken_compile(fn, **kw):
    """Like torch.compile without a back-end: wrapping works, every call raises."""

    def call(*a, **k):
        raise _CompileError("inductor: C++ compiler '/bin/false' failed")

    return call


@pytest.fixture
def broken(monkeypatch):
    monkeypatch.setattr(torch, "compile", _broken_compile)
    monkeypatch.setattr(gc, "_WRAPPED", {})
    monkeypatch.setenv("GMBENCH_COMPILE", "1")


def _f(x):
    return (x * x).sum(-1), 2 * x


def test_failure_at_first_call_gives_eager_result_and_warns_once(broken):
    w = maybe_compile(_f, "f")
    x = torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(3, 4)
    with pytest.warns(RuntimeWarning, match="torch.compile failed for f") as rec:
        e, g = w(x)
    assert len([r for r in rec if issubclass(r.category, RuntimeWarning)]) == 1
    assert torch.equal(e, _f(x)[0]) and torch.equal(g, _f(x)[1])
    assert w.compiled is None and "_CompileError" in w.failure
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning: eager for good
        e2, _ = w(2 * x)
    assert torch.equal(e2, _f(2 * x)[0])
    assert maybe_compile(_f) is w  # one wrapper per function


def test_error_of_the_call_itself_propagates_and_keeps_compilation(monkeypatch):
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: fn)  # a "compiler" that works
    w = CompiledOrEager(lambda x: x.reshape(5), "r")
    with pytest.raises(RuntimeError):
        w(torch.zeros(3))
    assert w.compiled is not None and w.failure is None


def test_pair_energy_forces_fall_back(broken):
    from gmbench.physics.potentials import lj_cluster_energy

    energy = lj_cluster_energy(5)
    r = torch.tensor([[0.0, 0, 0], [1.1, 0, 0], [0, 1.1, 0], [0, 0, 1.1], [1.1, 1.1, 1.1]], dtype=torch.float64)
    with pytest.warns(RuntimeWarning, match="_dense_pair_forces"):
        e, f = energy.energy_and_forces(r)
    e0 = energy(r)
    rr = r.clone().requires_grad_(True)
    f0 = -torch.autograd.grad(energy(rr), rr)[0]
    assert torch.allclose(e, e0, rtol=1e-12) and torch.allclose(f, f0, rtol=1e-10, atol=1e-12)


def test_function_energy_grad_falls_back(broken):
    from gmbench.problems.functions.spec import BlockedEnergyGrad

    f = lambda x: (x * x).sum(-1)  # noqa: E731
    grad = lambda x: 2 * x  # noqa: E731
    x = torch.randn(7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with pytest.warns(RuntimeWarning, match="torch.compile failed"):
        e, g = BlockedEnergyGrad(f, grad, compile=True)(x)
    assert torch.equal(e, f(x)) and torch.equal(g, grad(x))


def test_real_torch_compile_with_a_broken_cxx_compiler(monkeypatch):
    """The real thing: inductor's CPU code generation with /bin/false as its C++ compiler."""
    inductor = pytest.importorskip("torch._inductor.config")
    monkeypatch.setattr(gc, "_WRAPPED", {})
    monkeypatch.setattr(inductor.cpp, "cxx", ("/bin/false",))
    monkeypatch.setenv("CXX", "/bin/false")
    monkeypatch.setenv("CC", "/bin/false")
    torch._dynamo.reset()

    def h(x):
        return torch.sin(x) * x + 1.0

    w = maybe_compile(h, "h")
    x = torch.linspace(0, 1, 64, dtype=torch.float64)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        y = w(x)
    torch._dynamo.reset()
    assert torch.equal(y, h(x))
    if w.compiled is not None:
        pytest.skip("torch.compile did not need the C++ compiler here (cached kernel)")
    assert sum("torch.compile failed for h" in str(r.message) for r in rec) == 1
