"""Problem instances (COCO's convention): f_k(x) = f(R_k (x - s_k) + x*), and the reference rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from gmbench.cli.app import app
from gmbench.config.suite import cell_key, expand, load_suite
from gmbench.core.errors import GmbenchError
from gmbench.problems import PROBLEMS, make_problem
from gmbench.problems.base import Problem
from gmbench.problems.functions.plevris import NAMES
from gmbench.problems.functions.spec import InstanceTransform

pytestmark = pytest.mark.usefixtures("one_thread")

REPO = Path(__file__).resolve().parents[1]


def _spec(name):
    return PROBLEMS.get(name).factory(dim=3).spec


def _dims(name):
    spec = _spec(name)
    return [d for d in (2, 10, 47) if d >= spec.min_dim and (spec.max_dim is None or d <= spec.max_dim)]


def test_the_31_functions_are_all_covered():
    assert len(NAMES) == 31


@pytest.mark.parametrize("name", sorted(NAMES))
def test_f_k_at_x_star_k_is_f_star(name):
    for dim in _dims(name):
        for k in (1, 2, 5):
            for rotate in (False, True):
                p = make_problem(name, dim=dim, instance=k, rotate=rotate)
                xs = p.x_star()
                assert bool(((xs >= p.lower) & (xs <= p.upper)).all())
                lo, hi = float(p.lower[0]), float(p.upper[0])
                inner = (xs >= lo + 0.1 * (hi - lo)) & (xs <= hi - 0.1 * (hi - lo))
                assert bool(inner.all()), "x*_k lies in the inner 80 % of the box"
                assert not torch.equal(xs, make_problem(name, dim=dim).x_star()), "the minimizer moved"
                e = p.energy_fn()(xs.unsqueeze(0))[0]
                assert float(e) == pytest.approx(p.f_star, abs=1e-9), (name, dim, k, rotate)
                a = p.assess(xs)
                assert a.dist == 0 and a.dist_nearest == 0 and a.oob == 0
                # x*_k is a minimum: random points nearby in the box are not lower
                g = torch.Generator().manual_seed(k)
                near = (xs + 1e-3 * (p.upper - p.lower) * (torch.rand(64, dim, generator=g, dtype=torch.float64) - 0.5))
                assert bool((p.energy_fn()(near) >= p.f_star - 1e-9).all())


def test_instance_0_is_the_published_function():
    for name in NAMES:
        dim = _dims(name)[0]
        p, p0 = make_problem(name, dim=dim), make_problem(name, dim=dim, instance=0)
        spec = p.spec
        assert p.energy_fn() is spec.f and p0.energy_fn() is spec.f
        assert p.config() == p0.config() == {"name": name, "dim": dim,
                                             "bounds": [-spec.bound, spec.bound]}
        x = torch.rand(8, dim, dtype=torch.float64)
        assert torch.equal(p0.energy_fn()(x), spec.f(x))
        assert torch.equal(p0.x_star(), p.x_star())
    # and the secret is ignored for the published function (no key change)
    assert make_problem("sphere", dim=3, secret="s").config() == {"name": "sphere", "dim": 3, "bounds": [-100.0, 100.0]}


def test_instance_config_records_only_non_defaults_and_never_the_secret():
    c = make_problem("sphere", dim=3, instance=2).config()
    assert c == {"name": "sphere", "dim": 3, "bounds": [-100.0, 100.0], "instance": 2}
    c = make_problem("sphere", dim=3, instance=2, rotate=True, secret="hunter2").config()
    assert c["rotate"] is True and "hunter2" not in json.dumps(c) and len(c["secret_sha256"]) == 16
    # a rotated instance records its derivation (so rotated cells of the earlier recipe are never matched)
    assert c["instance_recipe"] == 2
    assert make_problem("sphere", dim=3, instance=2, rotate=True).config() == {
        "name": "sphere", "dim": 3, "bounds": [-100.0, 100.0], "instance": 2, "rotate": True, "instance_recipe": 2}
    a = make_problem("sphere", dim=3, instance=2, secret="hunter2").x_star()
    b = make_problem("sphere", dim=3, instance=2, secret="other").x_star()
    c2 = make_problem("sphere", dim=3, instance=2).x_star()
    assert not torch.equal(a, b) and not torch.equal(a, c2)


# x*_k of unrotated instances as the first recipe computed them (before rotated instances got their own seed),
# as float.hex: every unrotated instance and its cells must stay exactly what they were
_UNROTATED_X_STAR = {
    ("sphere", 3, 2, None): ("-0x1.3842a8db7228ep+5", "0x1.4337759e445e8p+4", "0x1.4e19ce71d43b8p+4",
                             "0x1.4e19ce71d43b8p+4"),
    ("alpine1", 10, 1, None): ("0x1.32590ad99bf28p+2", "-0x1.c8a1d9d1c3f38p+1", "0x1.db6ca63374300p+0",
                               "-0x1.ef7629d912348p+0"),
    ("rastrigin", 47, 3, None): ("0x1.71662f4c7b54ep+1", "0x1.11d0cb531cd32p+1", "0x1.71afd8e0d5988p+0",
                                 "0x1.8986b517d0b72p+1"),
    ("alpine1", 100, 2, (-100, 100)): ("0x1.f2846c9c2b114p+5", "0x1.312fac6e959b8p+5", "-0x1.224d1855d7721p+6",
                                       "0x1.51e4419d91c54p+5"),
    ("schwefel", 5, 1, None): ("0x1.a142f7741ba60p+4", "-0x1.03282b3969d16p+7", "-0x1.09771e8ed4bc0p+3",
                               "-0x1.4204d868b14dbp+7"),
}


@pytest.mark.parametrize("case", sorted(_UNROTATED_X_STAR, key=str))
def test_unrotated_instances_are_bit_for_bit_those_of_the_first_recipe(case):
    name, dim, k, bounds = case
    xs = make_problem(name, dim=dim, instance=k, bounds=bounds).x_star()
    got = tuple(float(v).hex() for v in (xs[0], xs[1], xs[2], xs[-1]))
    assert got == _UNROTATED_X_STAR[case]


def test_rotated_instances_are_placed_independently_of_the_shifted_ones():
    """Rotated instance k has its own x*_k (its seed includes rotate), so "shifted 1-3" and "rotated 1-3"
    are six placements, not three placements seen twice."""
    for name, dim in (("alpine1", 100), ("sphere", 3), ("rastrigin", 47)):
        shifted = [make_problem(name, dim=dim, instance=k).x_star() for k in (1, 2, 3)]
        rotated = [make_problem(name, dim=dim, instance=k, rotate=True).x_star() for k in (1, 2, 3)]
        for a in shifted:
            for b in rotated:
                assert not torch.equal(a, b)
        # and a rotated x*_k is still uniform in the inner 80 % (same rule, another draw)
        p = make_problem(name, dim=dim, instance=1, rotate=True)
        lo, hi = float(p.lower[0]), float(p.upper[0])
        assert bool(((rotated[0] >= lo + 0.1 * (hi - lo)) & (rotated[0] <= hi - 0.1 * (hi - lo))).all())
    assert InstanceTransform.seed("sphere", 3, 2, "") != InstanceTransform.seed("sphere", 3, 2, "", rotate=True)


def test_rotated_cells_of_the_first_recipe_get_new_keys_and_no_reference_rows(tmp_path):
    """A rotated cell's key now hashes ``instance_recipe``: a cell stored by earlier code (same name, dim,
    instance, rotate) is never matched again, and a report reading such a stored configuration does not
    rebuild a different instance for its reference rows. Unrotated cells keep their keys."""
    from gmbench.report.legacy import _problem

    path = tmp_path / "k.yaml"
    path.write_text("budget: {evals: 10}\nproblems:\n  - {name: alpine1, dim: 3, instances: [1], rotate: true}\n"
                    "  - {name: alpine1, dim: 3, instances: [1]}\nmethods: [random-search]\n")
    rotated, shifted = expand(load_suite(str(path)), "cpu")
    assert rotated.problem_config["instance_recipe"] == 2 and "instance_recipe" not in shifted.problem_config
    old = dict(rotated.problem_config)
    del old["instance_recipe"]  # what earlier code stored for the same entry
    rotated_old = type(rotated)(**{f: getattr(rotated, f) for f in rotated.__dataclass_fields__})
    rotated_old.problem_config = old
    assert cell_key(rotated_old) != cell_key(rotated)
    assert _problem(old) is None and _problem(rotated.problem_config) is not None
    assert _problem(shifted.problem_config) is not None


@pytest.mark.parametrize("bad", [{"instance": -1}, {"instance": 1.5}, {"instance": True}, {"rotate": "yes", "instance": 1},
                                 {"rotate": True}, {"instance": 1, "secret": 3}])
def test_bad_instance_arguments(bad):
    with pytest.raises(GmbenchError):
        make_problem("sphere", dim=3, **bad)


_PROBE = """
import hashlib, sys, torch
from gmbench.problems import make_problem
out = []
for name, dim, rot in (("rastrigin", 47, True), ("alpine1", 10, False), ("rosenbrock", 81, True)):
    p = make_problem(name, dim=dim, instance=3, rotate=rot)
    x = torch.linspace(-1, 1, 5 * dim, dtype=torch.float64).reshape(5, dim)
    out.append(p.x_star().numpy().tobytes().hex())
    out.append(p.energy_fn()(x).numpy().tobytes().hex())
print(hashlib.sha256("|".join(out).encode()).hexdigest())
"""


def test_same_transformation_in_two_processes():
    procs = [subprocess.Popen([sys.executable, "-c", _PROBE], stdout=subprocess.PIPE, text=True, cwd=REPO,
                              env={**os.environ, "OMP_NUM_THREADS": "1"}) for _ in range(2)]
    digests = [pr.communicate(timeout=300)[0].strip() for pr in procs]
    assert [pr.returncode for pr in procs] == [0, 0]
    assert digests[0] == digests[1] and len(digests[0]) == 64
    # and in this process (after other work has used torch's global generator)
    torch.manual_seed(123)
    torch.rand(10)
    ns: dict = {}
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(_PROBE, ns)
    assert buf.getvalue().strip() == digests[0]


def test_float32_and_float64_paths_evaluate_the_same_transformation():
    for name, dim in (("sphere", 47), ("rastrigin", 90), ("ackley", 10)):
        p = make_problem(name, dim=dim, instance=2, rotate=True)
        f = p.energy_fn()
        g = torch.Generator().manual_seed(0)
        x64 = p.lower + (p.upper - p.lower) * torch.rand(16, dim, generator=g, dtype=torch.float64)
        e64, e32 = f(x64), f(x64.float())
        assert e32.dtype == torch.float32 and e64.dtype == torch.float64
        assert torch.allclose(e32.double(), e64, rtol=2e-4, atol=1e-3)
        # the float32 path's y agrees with the float64 map
        tf = p._tf
        y64 = tf.forward(x64)
        assert torch.allclose(f(x64), p.spec.f(y64))
    # the transform is derived in float64 whatever the default dtype is
    old = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float32)
        a = make_problem("sphere", dim=5, instance=1, rotate=True)
        torch.set_default_dtype(torch.float64)
        b = make_problem("sphere", dim=5, instance=1, rotate=True)
    finally:
        torch.set_default_dtype(old)
    assert torch.equal(a.x_star(), b.x_star()) and torch.equal(a._tf.blocks, b._tf.blocks)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_evaluates_the_same_instance():
    for name, dim in (("rastrigin", 95), ("alpine1", 10), ("sphere", 3)):
        p = make_problem(name, dim=dim, instance=2, rotate=True)
        g = torch.Generator().manual_seed(0)
        x = p.lower + (p.upper - p.lower) * torch.rand(64, dim, generator=g, dtype=torch.float64)
        f = p.energy_fn()
        e_cpu, e_gpu = f(x), f(x.cuda()).cpu()
        assert torch.allclose(e_gpu, e_cpu, rtol=1e-12, atol=1e-9)
        assert torch.allclose(f(x.float().cuda()).cpu().double(), e_cpu, rtol=1e-4, atol=1e-3)
        near_cpu, _ = p.nearest_minimizer(x)
        near_gpu, _ = p.nearest_minimizer(x.cuda())
        assert torch.allclose(near_gpu.cpu(), near_cpu, atol=1e-9)


def test_rotation_is_block_diagonal_orthogonal_and_the_gradient_follows_the_chain_rule():
    dim = 95  # blocks 40, 40, 15
    p = make_problem("rosenbrock", dim=dim, instance=4, rotate=True)
    tf = p._tf
    assert tf.sizes == [40, 40, 15] and tf.blocks.shape == (3, 40, 40)
    eye = torch.eye(40, dtype=torch.float64)
    assert torch.allclose(tf.blocks.transpose(1, 2) @ tf.blocks, eye.expand(3, 40, 40), atol=1e-12)
    # R as a dense matrix: orthogonal, at most 40 non-zeros per row
    R = tf._rot(torch.eye(dim, dtype=torch.float64), tf.blocks, tf.perm_in, tf.perm_out).T
    assert torch.allclose(R @ R.T, torch.eye(dim, dtype=torch.float64), atol=1e-12)
    assert int((R.abs() > 0).sum(dim=1).max()) <= 40
    x = torch.rand(3, dim, dtype=torch.float64) * 4 - 2
    assert torch.allclose(tf.inverse(tf.forward(x)), x, atol=1e-12)
    e, g = p.energy_and_grad_fn()(x)
    xr = x.clone().requires_grad_(True)
    (ga,) = torch.autograd.grad(p.energy_fn()(xr).sum(), xr)
    assert torch.allclose(e, p.energy_fn()(x)) and torch.allclose(g, ga, rtol=1e-10, atol=1e-8)


def test_schwefel_instances_stay_bounded_below_by_the_penalty():
    """The moved box reaches beyond Schwefel's native box, where the published function is unbounded
    below; COCO's boundary penalty keeps the per-coordinate term >= 0, zero only at 420.97."""
    from gmbench.problems.functions.plevris import schwefel

    z = torch.linspace(-20000, 20000, 4_000_001, dtype=torch.float64).unsqueeze(-1)
    term = schwefel(z) + torch.clamp(z.abs() - 500, min=0).square().sum(-1)
    assert float(term.min()) > -1e-9
    assert abs(float(z[term.argmin()]) - 420.9687) < 0.02
    p = make_problem("schwefel", dim=4, instance=1)
    far = p.upper.unsqueeze(0).clone()
    assert float(p.energy_fn()(far)[0]) > p.f_star


def _brute_force_minimizers(p, h):
    """Brute force in D = 2, as scipy.optimize.brute: a grid over the box, every grid point that is a
    local minimum of f_k over its 3 x 3 neighbours, each polished by Nelder-Mead; the polished points
    where f_k = 0 inside the box are global minimizers."""
    from scipy.optimize import minimize

    lo, hi = float(p.lower[0]), float(p.upper[0])
    t = torch.arange(lo, hi + h / 2, h, dtype=torch.float64)
    X, Y = torch.meshgrid(t, t, indexing="ij")
    f = p.energy_fn()
    F = f(torch.stack([X, Y], dim=-1))
    pad = torch.nn.functional.pad(F.unsqueeze(0).unsqueeze(0), (1, 1, 1, 1), value=float("inf"))[0, 0]
    n = F.shape[0]
    is_min = torch.ones_like(F, dtype=torch.bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                is_min &= F <= pad[1 + di:1 + di + n, 1 + dj:1 + dj + n]
    seeds = torch.stack([X[is_min], Y[is_min]], dim=-1)
    tf = p._tf  # the polish evaluates f_k in numpy from the dense 2 x 2 R (independent of the torch path)
    R = (tf._rot(torch.eye(2, dtype=torch.float64), tf.blocks, tf.perm_in, tf.perm_out).T.numpy()
         if tf.rotated else np.eye(2))
    s, xs0 = tf.shift.numpy(), tf.x_star0.numpy()

    def f_np(z):
        y = R @ (z - s) + xs0
        return float(np.abs(y * np.sin(y) + 0.1 * y).sum())

    assert abs(f_np(seeds[0].numpy()) - float(f(seeds[0]))) < 1e-12
    found = []
    for x0 in seeds.numpy():
        r = minimize(f_np, x0, method="Nelder-Mead",
                     options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 1000})
        if r.fun < 1e-8 and bool(((r.x >= lo) & (r.x <= hi)).all()):
            found.append(r.x)
    return torch.from_numpy(np.array(found))


def _enumerated_minimizers(p):
    """Every global minimizer of the moved Alpine 1 in the box, enumerated: all pairs of the 1-D zeros of
    t (sin t + 0.1) over a range that covers the image of the box, mapped back and kept inside the box."""
    from gmbench.problems.functions.plevris import _alpine1_roots

    r = _alpine1_roots(-40.0, 40.0)
    y = torch.cartesian_prod(r, r)
    x = p._tf.inverse(y)
    return x[((x >= p.lower) & (x <= p.upper)).all(dim=-1)]


@pytest.mark.parametrize("rotate", [False, True])
def test_nearest_minimizer_of_moved_alpine1_agrees_with_brute_force(rotate):
    p = make_problem("alpine1", dim=2, instance=1, rotate=rotate)
    g = torch.Generator().manual_seed(5)
    q = -8 + 16 * torch.rand(40, 2, generator=g, dtype=torch.float64)
    near, exact = p.nearest_minimizer(q)
    d = torch.linalg.vector_norm(q - near, dim=-1)
    assert bool((p.energy_fn()(near) < 1e-9).all()), "every reported nearest point is a global minimizer"
    enum = _enumerated_minimizers(p)
    assert bool((p.energy_fn()(enum) < 1e-9).all())
    d_enum = torch.cdist(q, enum).min(dim=-1).values
    grid = _brute_force_minimizers(p, 0.02)
    # the grid search finds nothing the enumeration lacks, and nothing closer than the reported distance
    assert len(grid) >= 8 and bool((torch.cdist(grid, enum).min(dim=-1).values < 1e-5).all())
    d_grid = torch.cdist(q, grid).min(dim=-1).values
    # the nearest minimizer in the box: equal to the enumeration's where exact, never below it (an upper
    # bound) elsewhere; at D = 2 the in-box minimizers are enumerated, so every point is exact
    _, flags = p.nearest_minimizers(q)
    assert exact and bool(flags.all())
    assert torch.allclose(d, d_enum, atol=1e-9) and bool((d <= d_grid + 1e-6).all())
    # the moved minimizer set is not the published one
    d0 = torch.linalg.vector_norm(q - make_problem("alpine1", dim=2).nearest_minimizer(q)[0], dim=-1)
    assert not torch.allclose(d, d0)


def test_perm_known_minimizers_follow_the_transformation():
    p = make_problem("perm", dim=3, instance=2, rotate=True)
    near, exact = p.nearest_minimizer(torch.zeros(4, 3, dtype=torch.float64))
    assert not exact and bool((p.energy_fn()(near) < 1e-9).all())


def test_the_blackbox_of_an_instance_does_not_hold_the_problem():
    from bbwalk import make_bb, reachable

    p = make_problem("alpine1", dim=10, instance=1, rotate=True)
    bb = make_bb(p)
    objs = reachable(bb)
    assert not any(isinstance(o, (Problem, InstanceTransform)) for o in objs)
    for attr in ("problem", "x_star", "shift", "rotation", "_tf", "instance"):
        assert not hasattr(bb, attr)
    # the same tensor walk as tests/test_core.py (after an evaluation has filled the dtype cache): the
    # energy keeps its shift permuted and in block layout. This is the project's guarantee for cooperative
    # methods only: f_k itself determines x*_k, and a hostile method can read the closure's cells.
    bb.energy(torch.zeros(2, 10, dtype=torch.float64))
    xs = p.x_star()
    for o in reachable(bb):
        if isinstance(o, torch.Tensor) and o.shape == xs.shape and o is not bb.lower and o is not bb.upper:
            assert not torch.equal(o.to(xs), xs)


def _write_suite(path: Path, extra: str = "") -> Path:
    path.write_text(f"""
name: inst
device: cpu
seeds: 1
budget: {{evals: 2000}}
{extra}
problems:
  - {{name: sphere, dim: 4, instances: [1, 2], rotate: true}}
  - {{name: alpine1, dim: 3, instances: [1, 2], rotate: true}}
  - {{name: rosenbrock, dim: 5, instances: 1}}
  - {{name: schwefel, dim: 2}}
methods:
  - name: random-search
    params: {{batch_size: 500}}
""")
    return path


def test_suite_instances_expand_like_seeds(tmp_path):
    suite = load_suite(str(_write_suite(tmp_path / "s.yaml")))
    cells = expand(suite, "cpu")
    got = [(c.problem_config["name"], c.problem_config.get("instance"), c.problem_config.get("rotate")) for c in cells]
    assert got == [("sphere", 1, True), ("sphere", 2, True), ("alpine1", 1, True), ("alpine1", 2, True),
                   ("rosenbrock", 1, None), ("schwefel", None, None)]
    assert len({c.key for c in cells}) == len(cells)
    assert "i1r" in cells[0].label
    # a problem without instances keeps its key and its published configuration
    plain = tmp_path / "p.yaml"
    plain.write_text("name: inst\ndevice: cpu\nseeds: 1\nbudget: {evals: 2000}\nproblems:\n"
                     "  - {name: schwefel, dim: 2}\nmethods:\n  - {name: random-search, params: {batch_size: 500}}\n")
    only = expand(load_suite(str(plain)), "cpu")
    assert only[0].key == cells[-1].key
    assert only[0].problem_config == {"name": "schwefel", "dim": 2, "bounds": [-500.0, 500.0]}
    # a secret enters the derivation and the key, as a hash
    sec = expand(load_suite(str(_write_suite(tmp_path / "q.yaml", "secret: hunter2"))), "cpu")
    assert sec[0].key != cells[0].key and "hunter2" not in json.dumps(sec[0].problem_config)
    assert sec[-1].key == cells[-1].key, "the secret does not touch the published function"


@pytest.mark.parametrize("entry,msg", [
    ("{name: sphere, dim: 4, instances: [1, 1]}", "instances"),
    ("{name: sphere, dim: 4, instances: 0}", "instances"),
    ("{name: sphere, dim: 4, instances: [-1]}", "instances"),
    ("{name: sphere, dim: 4, rotate: true}", "rotate needs instances"),
    ("{name: sphere, dim: 4, instances: [1], rotate: 1}", "rotate"),
    ("{name: lj13, instances: [1]}", "function problems"),
])
def test_bad_instances_in_a_suite(tmp_path, entry, msg):
    path = tmp_path / "bad.yaml"
    path.write_text(f"budget: {{evals: 10}}\nproblems:\n  - {entry}\nmethods: [random-search]\n")
    with pytest.raises(GmbenchError, match=msg):
        load_suite(str(path))


def test_rotated_instance_0_in_a_list_is_the_published_function(tmp_path):
    path = tmp_path / "z.yaml"
    path.write_text("budget: {evals: 10}\nproblems:\n  - {name: sphere, dim: 4, instances: [0, 1], rotate: true}\n"
                    "methods: [random-search]\n")
    cells = expand(load_suite(str(path)), "cpu")
    assert cells[0].problem_config == {"name": "sphere", "dim": 4, "bounds": [-100.0, 100.0]}
    assert cells[1].problem_config["rotate"] is True


# ---- reference rows and the report -------------------------------------------------------------------

def test_reference_values_for_sphere_instance_0_and_a_shifted_instance():
    from gmbench.report.reference import CENTRE, UNIFORM, reference_values

    v = reference_values(make_problem("sphere", dim=6))
    assert v[CENTRE]["dist"] == 0 and v[CENTRE]["dist_nearest"] == 0 and v[CENTRE]["energy"] == 0
    # uniform in [-100, 100]^6: E|x|^2 = 6 * 100^2 / 3, so the mean distance is close to (and below) 141.4
    assert 125 < v[UNIFORM]["dist"] < 141.5 and v[UNIFORM]["dist"] == v[UNIFORM]["dist_nearest"]
    p = make_problem("sphere", dim=6, instance=3, rotate=True)
    v = reference_values(p)
    xs = p.x_star()
    assert v[CENTRE]["dist"] == pytest.approx(float(xs.norm()), rel=1e-12)
    assert v[CENTRE]["dist_nearest"] == pytest.approx(float(xs.norm()), rel=1e-12)
    assert v[CENTRE]["energy"] == pytest.approx(float((xs ** 2).sum()), rel=1e-9)  # sphere is rotation-invariant
    # the same uniform points give the same numbers twice (fixed seed)
    assert reference_values(p) == v


def _run_instances_suite(tmp_path: Path) -> tuple[Path, str]:
    suite = tmp_path / "inst.yaml"
    suite.write_text("""
name: inst
device: cpu
seeds: 1
budget: {evals: 3000}
problems:
  - {name: sphere, dim: 4, instances: [1, 2], rotate: true}
  - {name: sphere, dim: 4}
  - {name: alpine1, dim: 3, instances: [1, 2], rotate: true}
  - {name: schwefel, dim: 3, instances: [1, 2], rotate: true}
methods:
  - name: random-search
    params: {batch_size: 500}
""")
    store = tmp_path / "s.sqlite"
    res = CliRunner().invoke(app, ["run", "--suite", str(suite), "--store", str(store), "--quiet"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return store, "inst"


def test_gmbench_run_with_instances_and_the_report_shows_them(tmp_path):
    from gmbench.report.reference import CENTRE, NOTE, UNIFORM

    store, suite = _run_instances_suite(tmp_path)
    runner = CliRunner()
    text = runner.invoke(app, ["report", "--store", str(store)], catch_exceptions=False).output
    for head in ("sphere (D=4) on [-100, 100]^D instance 1 (rotated)", "sphere (D=4) on [-100, 100]^D instance 2 (rotated)",
                 "alpine1 (D=3) on [-10, 10]^D instance 2 (rotated)", "schwefel (D=3) on [-500, 500]^D instance 1 (rotated)"):
        assert head in text, head
    assert "sphere (D=4) on [-100, 100]^D — suite" in text  # the published function keeps its header
    assert text.count(CENTRE) >= 7 and text.count(UNIFORM) >= 7 and NOTE.split(":")[0] in text
    md = runner.invoke(app, ["report", "--store", str(store), "--format", "markdown"], catch_exceptions=False).output
    assert f"| {CENTRE}" in md and f"| {UNIFORM}" in md and "instance 1 (rotated)" in md
    tex = runner.invoke(app, ["report", "--store", str(store), "--format", "latex"], catch_exceptions=False).output
    assert CENTRE in tex and "instance 1 (rotated)" in tex
    js = json.loads(runner.invoke(app, ["report", "--store", str(store), "--format", "json"], catch_exceptions=False).output)
    refs = [r for r in js if r.get("reference")]
    assert len(refs) == 2 * 7 and all(r["seeds_total"] == 0 for r in refs)
    methods = [r for r in js if not r.get("reference")]
    assert len(methods) == 7
    # the reference rows are right: centre of the published sphere is its minimizer; a shifted one's is |x*_k| away
    by = {(r["problem"], r["method"]): r for r in js}
    plain = by[("sphere (D=4) on [-100, 100]^D", CENTRE)]
    assert plain["final_dist_nearest"]["median"] == 0 and plain["final_energy"]["median"] == 0
    xs = make_problem("sphere", dim=4, instance=1, rotate=True).x_star()
    moved = by[("sphere (D=4) on [-100, 100]^D instance 1 (rotated)", CENTRE)]
    assert moved["final_dist"]["median"] == pytest.approx(float(xs.norm()), rel=1e-12)
    assert moved["final_dist_nearest"]["median"] == pytest.approx(float(xs.norm()), rel=1e-12)
    csv = runner.invoke(app, ["report", "--store", str(store), "--format", "csv"], catch_exceptions=False).output
    import io

    import pandas as pd

    df = pd.read_csv(io.StringIO(csv))
    assert int((df["reference"] == True).sum()) == 14  # noqa: E712
    # gmbench show names the instance
    key = next(c.key for c in expand(load_suite(str(tmp_path / "inst.yaml")), "cpu") if c.problem_config.get("instance") == 2)
    shown = runner.invoke(app, ["show", key, "--store", str(store)], catch_exceptions=False).output
    assert "instance 2 (rotated)" in shown
