"""The fused analytic energy-and-gradient kernels of the analytic functions (``FunctionSpec.eg``): energies
bit for bit the registered function's, gradients equal to autograd's, including autograd's conventions at
the guarded / non-smooth points (kinks and infinite slopes contribute 0, removable singularities give the
true gradient), through the problem's fast path (cache blocks, shifted and rotated instances)."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

import gmbench.core.compile as gc
from gmbench.problems import make_problem
from gmbench.problems.functions.plevris import FUSED_EG, NAMES
from gmbench.problems.functions.spec import BlockedEnergyGrad
from gmbench.studies.filter.config import PAPER_14 as FILTER_FUNCTIONS

EG_NAMES = sorted(FUSED_EG)


def _autograd(f, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    xr = x.detach().clone().requires_grad_(True)
    e = f(xr)
    (g,) = torch.autograd.grad(e.sum(), xr)
    return e.detach(), g


def _special_points(prob, dtype: torch.dtype) -> torch.Tensor:
    """x*, 0, points with zero coordinates and zero pairs, a coordinate on each side of 0."""
    d = prob.dim
    lo, hi = float(prob.lower[0]), float(prob.upper[0])
    g = torch.Generator().manual_seed(7)
    base = lo + (hi - lo) * torch.rand(6, d, generator=g, dtype=torch.float64)
    pts = [prob.x_star(), torch.zeros(d, dtype=torch.float64)]
    z = base[0].clone()
    z[::2] = 0.0  # every other coordinate 0
    pts.append(z)
    z = base[1].clone()
    z[3:5] = 0.0  # a zero pair (x_4, x_5) of the Schaffer functions
    pts.append(z)
    z = base[2].clone()
    z[0] = 0.0
    z[-1] = 0.0  # the wrap-around pair (x_n, x_1) of F19
    pts.append(z)
    z = base[3].clone()
    z[d // 2] = 0.0  # exactly one zero coordinate (F25's product rule)
    pts.append(z)
    z = base[4].clone()
    z[0] = -z[1]  # a tie of |x_i| with opposite signs
    pts.append(z)
    pts.append(torch.full((d,), 0.5 * min(1.0, hi), dtype=torch.float64))  # ties (F24-like) and a sphere
    x = torch.stack([p.clamp(lo, hi) for p in pts])
    return x.to(dtype)


def _points(prob, n: int, dtype: torch.dtype, seed: int = 1) -> torch.Tensor:
    lo, hi = float(prob.lower[0]), float(prob.upper[0])
    g = torch.Generator().manual_seed(seed)
    x = lo + (hi - lo) * torch.rand(n, prob.dim, generator=g, dtype=torch.float64)
    return torch.cat([x.to(dtype), _special_points(prob, dtype)])


def _assert_grad_close(g: torch.Tensor, g_ref: torch.Tensor, rtol: float, what: str) -> None:
    """|g - g_ref| <= rtol (|g_ref| + max_row |g_ref|) + 1000 eps: relative to the row's scale, since a
    component that is a difference of O(1) terms (or ~0 near x*) carries the rounding of the others."""
    assert torch.isfinite(g).all(), f"{what}: non-finite gradient"
    scale = g_ref.abs().amax(-1, keepdim=True)
    err = (g - g_ref).abs() - rtol * (g_ref.abs() + scale) - 1e3 * torch.finfo(g.dtype).eps
    assert bool((err <= 0).all()), f"{what}: max excess {float(err.max()):.3g} (rtol {rtol})"


def test_the_papers_and_the_filter_studys_functions_have_the_fused_path():
    """The paper's two functions (Schaffer F7 variant, Alpine 1) and every function of the filter study."""
    assert {"schaffer-f7-paper", "alpine1"} <= set(FUSED_EG)
    assert set(FILTER_FUNCTIONS) <= set(FUSED_EG)
    for name in FILTER_FUNCTIONS:
        assert make_problem(name, dim=10).energy_and_grad_fn() is not None
    assert set(FUSED_EG) <= set(NAMES)


@pytest.mark.parametrize("name", EG_NAMES)
def test_energy_is_f_bit_for_bit_and_gradient_is_autograds_float64(name):
    prob = make_problem(name, dim=13)
    x = _points(prob, 40, torch.float64)
    e_ref, g_ref = _autograd(prob.spec.f, x)
    e, g = FUSED_EG[name](x)
    assert torch.equal(e, e_ref)
    _assert_grad_close(g, g_ref, 1e-10, name)
    # at x* the gradient is autograd's exactly where autograd gives 0 (the guarded points)
    if bool((g_ref[0] == 0).all()):
        assert bool((g[0] == 0).all()), f"{name}: gradient at x* {g[0]}"


@pytest.mark.parametrize("name", EG_NAMES)
def test_energy_is_f_bit_for_bit_and_gradient_close_to_autograds_float32(name):
    prob = make_problem(name, dim=13)
    x = _points(prob, 40, torch.float32, seed=2)
    e_ref, g_ref = _autograd(prob.spec.f, x)
    e, g = FUSED_EG[name](x)
    assert e.dtype == g.dtype == torch.float32
    assert torch.equal(e, e_ref)
    _assert_grad_close(g, g_ref, 2e-4, name)


@pytest.mark.parametrize("name", ["schaffer-f7-paper", "schaffer-f7", "alpine1", "expanded-schaffer-f6",
                                  "rosenbrock"])
@pytest.mark.parametrize("dim", [2, 3])
def test_smallest_dimensions(name, dim):
    prob = make_problem(name, dim=dim)
    x = _points(prob, 20, torch.float64)
    e_ref, g_ref = _autograd(prob.spec.f, x)
    e, g = FUSED_EG[name](x)
    assert torch.equal(e, e_ref)
    _assert_grad_close(g, g_ref, 1e-10, f"{name} D={dim}")


@pytest.mark.parametrize("name", ["schaffer-f7-paper", "alpine1", "xin-she-yang-1", "modified-xin-she-yang-5",
                                  "salomon", "ackley", "drop-wave", "expanded-schaffer-f6", "schwefel"])
def test_guarded_points_follow_autograds_conventions(name):
    """Exactly autograd's numbers where a guard acts: 0 for a kink / infinite slope, the true gradient of a
    removable singularity (all 0 here because the coordinates involved are 0)."""
    prob = make_problem(name, dim=8)
    x = _special_points(prob, torch.float64)
    _, g_ref = _autograd(prob.spec.f, x)
    _, g = FUSED_EG[name](x)
    zero = x == 0
    # components at zero coordinates: autograd's exact value (0 where its guard acts)
    assert torch.allclose(g[zero], g_ref[zero], rtol=1e-12, atol=1e-300), name
    _assert_grad_close(g, g_ref, 1e-10, name)


@pytest.mark.parametrize("name", ["sphere", "rastrigin", "rosenbrock", "ackley"])
def test_fused_kernels_give_the_old_separate_gradients_bit_for_bit(name):
    """The four functions that had ``grad`` before: same numbers, so the Adam sweep's results stay the same."""
    prob = make_problem(name, dim=11)
    for dtype in (torch.float64, torch.float32):
        x = _points(prob, 30, dtype)
        e, g = FUSED_EG[name](x)
        assert torch.equal(e, prob.spec.f(x)) and torch.equal(g, prob.spec.grad(x))


@pytest.mark.parametrize("name", ["schaffer-f7-paper", "alpine1", "expanded-schaffer-f6", "schwefel", "rastrigin",
                                  "modified-xin-she-yang-3", "griewank", "hgbat"])
def test_shifted_rotated_instance_through_the_problem_fast_path(name):
    prob = make_problem(name, dim=45, instance=2, rotate=True)  # blocks 40 + 5
    eg = prob.energy_and_grad_fn()
    assert eg is not None
    x = _points(prob, 30, torch.float64, seed=3)
    x = torch.cat([x, prob.lower.unsqueeze(0), prob.upper.unsqueeze(0)])  # Schwefel: outside the native box
    e_ref, g_ref = _autograd(prob.energy_fn(), x)
    e, g = eg(x)
    assert torch.equal(e, e_ref)
    _assert_grad_close(g, g_ref, 1e-10, f"{name} instance 2 rotated")
    # the unrotated instance (shift only) too, in float32
    prob = make_problem(name, dim=45, instance=2)
    x = _points(prob, 30, torch.float32, seed=4)
    e_ref, g_ref = _autograd(prob.energy_fn(), x)
    e, g = prob.energy_and_grad_fn()(x)
    assert torch.equal(e, e_ref)
    _assert_grad_close(g, g_ref, 2e-4, f"{name} instance 2")


@pytest.mark.parametrize("name", ["schaffer-f7-paper", "schaffer-f7", "alpine1", "modified-xin-she-yang-3"])
def test_cache_blocks_give_fs_energies_on_the_whole_batch(name):
    """Blocks of whole multiples of 64 rows: float32 pow's scalar tail (which differs from its vector lanes
    in the last ulp) falls where it falls in the whole batch, so the blocked energies equal f(x) on the
    whole batch (here f on 65-row blocks differs from f on the batch in 11 of 2,000 Schaffer energies)."""
    d = 37
    prob = make_problem(name, dim=d)
    x = _points(prob, 2000, torch.float32, seed=5)
    e_full = prob.spec.f(x)
    e1, g1 = FUSED_EG[name](x)
    e2, g2 = BlockedEnergyGrad(prob.spec.f, eg=FUSED_EG[name], block_elems=65 * d)(x.reshape(2, -1, d))
    assert torch.equal(e1, e_full) and torch.equal(e2.reshape(-1), e_full)
    assert torch.allclose(g2.reshape(-1, d), g1, rtol=1e-6, atol=1e-6 * float(g1.abs().max()))


def test_out_argument_and_reused_scratch_do_not_alias():
    eg = FUSED_EG["schaffer-f7-paper"]
    g = torch.Generator().manual_seed(0)
    x1 = torch.rand(5, 9, generator=g, dtype=torch.float64)
    x2 = torch.rand(5, 9, generator=g, dtype=torch.float64)
    e1, g1 = eg(x1)
    g1_copy = g1.clone()
    e2, g2 = eg(x2)  # same shapes: the same scratch buffers
    assert torch.equal(g1, g1_copy) and not torch.equal(g1, g2)
    out = torch.full_like(x1, float("nan"))
    e3, g3 = eg(x1, out)
    assert g3 is out and torch.equal(out, g1) and torch.equal(e3, e1)


def test_plain_mode_and_functions_without_a_kernel_use_autograd(monkeypatch):
    assert make_problem("perm", dim=5).energy_and_grad_fn() is None
    monkeypatch.setenv("GMBENCH_PLAIN", "1")
    assert make_problem("schaffer-f7-paper", dim=5).energy_and_grad_fn() is None


def test_blocked_energy_grad_needs_a_gradient():
    from gmbench.core.errors import GmbenchError

    with pytest.raises(GmbenchError, match="needs a gradient"):
        BlockedEnergyGrad(lambda x: x.sum(-1))


def test_compile_failure_falls_back_to_the_fused_kernel(monkeypatch):
    """GMBENCH_COMPILE=1 with a torch.compile that fails at the first call: eager fused kernel, same numbers."""
    def broken_compile(fn, **kw):
        def call(*a, **k):
            raise RuntimeError("inductor: C++ compiler '/bin/false' failed")
        return call

    monkeypatch.setattr(torch, "compile", broken_compile)
    monkeypatch.setattr(gc, "_WRAPPED", {})
    monkeypatch.setenv("GMBENCH_COMPILE", "1")
    import gmbench.problems.functions.spec as spec

    monkeypatch.setattr(spec, "_COMPILED_EG", {})
    prob = make_problem("alpine1", dim=6)
    x = _points(prob, 10, torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        e, g = prob.energy_and_grad_fn()(x)
    e_ref, g_ref = FUSED_EG["alpine1"](x)
    assert torch.equal(e, e_ref) and torch.equal(g, g_ref)
    assert math.isfinite(float(e.sum()))


@pytest.mark.parametrize("name", ["schaffer-f7-paper", "schaffer-f7", "expanded-schaffer-f6", "modified-xin-she-yang-5",
                                  "schwefel"])
def test_guards_hold_when_subnormals_are_flushed(name):
    """The guard value of the kernels is the smallest subnormal (so that every rho > 0 stays as it is);
    where subnormals are flushed to 0 (CUDA fast math, torch.set_flush_denormal) the gradient's divisors
    are clamped to a normal number, so zero pairs / coordinates still give autograd's finite 0."""
    prob = make_problem(name, dim=6)
    x = torch.tensor([[0.0, 0.0, 1.5, 0.0, 0.0, -2.0], [0.0] * 6], dtype=torch.float64)
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush denormals")
    try:
        for dtype in (torch.float32, torch.float64):
            xd = x.to(dtype)
            e_ref, g_ref = _autograd(prob.spec.f, xd)
            e, g = FUSED_EG[name](xd)
            assert torch.equal(e, e_ref)
            _assert_grad_close(g, g_ref, 1e-10 if dtype == torch.float64 else 2e-4, f"{name} flushed")
    finally:
        torch.set_flush_denormal(False)


@pytest.mark.parametrize("name", ["alpine1", "rastrigin"])
def test_blocked_energy_grad_writes_into_out(name):
    """``energy_and_grad_fn()(x, out)``: the gradient lands in ``out`` (one block and many), same numbers;
    the separate-gradient path (``grad``) too."""
    prob = make_problem(name, dim=9)
    x = _points(prob, 200, torch.float32).reshape(-1, 2, 9)
    e_ref, g_ref = prob.energy_and_grad_fn()(x)
    for block in (2**16, 64 * 9):
        eg = BlockedEnergyGrad(prob.spec.f, eg=FUSED_EG[name], block_elems=block)
        out = torch.full_like(x, float("nan"))
        e, g = eg(x, out)
        assert g is out and torch.equal(e, e_ref) and torch.equal(out, g_ref)
    if prob.spec.grad is not None:
        out = torch.full_like(x, float("nan"))
        e, g = BlockedEnergyGrad(prob.spec.f, prob.spec.grad, block_elems=64 * 9)(x, out)
        assert g is out and torch.equal(e, e_ref) and torch.equal(out, g_ref)


def test_block_size_hint_reaches_the_blocks():
    """Kernels with much per-row work ask for bigger cache blocks, also through an instance's wrapper."""
    assert make_problem("happycat", dim=10).energy_and_grad_fn().block_elems == 2**20
    assert make_problem("happycat", dim=10, instance=1, rotate=True).energy_and_grad_fn().block_elems == 2**20
    assert make_problem("ackley", dim=10).energy_and_grad_fn().block_elems == 2**18
    assert make_problem("alpine1", dim=10).energy_and_grad_fn().block_elems == 2**16
    assert BlockedEnergyGrad(lambda x: x.sum(-1), eg=FUSED_EG["happycat"], block_elems=100).block_elems == 100


@pytest.mark.parametrize("name", EG_NAMES)
def test_results_are_not_scratch_memory(name):
    """A kernel's energies and gradient survive its next call (its scratch buffers are reused)."""
    prob = make_problem(name, dim=7)
    x1 = _points(prob, 5, torch.float64, seed=8)
    x2 = _points(prob, 5, torch.float64, seed=9)
    e1, g1 = FUSED_EG[name](x1)
    c1 = (e1.clone(), g1.clone())
    FUSED_EG[name](x2)
    FUSED_EG[name](x2, torch.empty_like(x2))
    assert torch.equal(e1, c1[0]) and torch.equal(g1, c1[1])
