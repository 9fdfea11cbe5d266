"""The optimiser kernels of gmbench.optim (FIRE in both flavours, Adam, GD, L-BFGS), the one
energy-and-gradient helper, the budget module, and that every batched local method reports a
candidate right after its first batch of evaluations."""

from __future__ import annotations

import math

import pytest
import torch

from gmbench.core.autodiff import energy_and_grad
from gmbench.core.blackbox import BlackBox, Budget, BudgetExhausted
from gmbench.core.errors import GmbenchError
from gmbench.run.recorder import Inbox
from gmbench.methods import make_method
from gmbench.optim.adam import adam_init, adam_step
from gmbench.optim.fire import ASE_FIRE, JAXMD_FIRE, FireParams, fire_init, fire_step
from gmbench.optim.gd import gd_init, gd_step
from gmbench.optim.lbfgs import LbfgsParams, lbfgs_init, lbfgs_minimize, lbfgs_restart_rows, lbfgs_step
from gmbench.problems import make_problem


def _rosen(x: torch.Tensor) -> torch.Tensor:
    return (100 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1 - x[..., :-1]) ** 2).sum(-1)


def _bowl(x: torch.Tensor) -> torch.Tensor:
    a = torch.arange(1, x.shape[-1] + 1, dtype=x.dtype)
    return (a * (x - 0.3) ** 2 + 0.25 * x**4).sum(-1)


def _starts(b=5, d=4, seed=0):
    return torch.rand((b, d), generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2 - 1


def test_budget_lives_in_core_budget_and_blackbox_reexports_it():
    from gmbench.core import blackbox, budget

    assert (blackbox.Budget, blackbox.BudgetExhausted, blackbox.Clock, blackbox.synchronize) == (
        budget.Budget, budget.BudgetExhausted, budget.Clock, budget.synchronize)
    budget.synchronize("cpu")  # a no-op off CUDA


def test_energy_and_grad_matches_the_analytic_gradient_and_keeps_graphs_on_request():
    x = _starts()
    a = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    with torch.no_grad():  # works inside no_grad
        e, g = energy_and_grad(lambda y: (a * y**2).sum(-1), x)
    assert torch.allclose(e, (a * x**2).sum(-1)) and torch.allclose(g, 2 * a * x)
    assert not e.requires_grad and not g.requires_grad
    xr = x.clone().requires_grad_(True)
    e, g = energy_and_grad(lambda y: (a * y**3).sum(-1), xr, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), xr)  # second derivative through the returned gradient
    assert torch.allclose(h, 6 * a * x)


def _run_rows(init, step, x, n, fn=_bowl):
    s = init(x)
    for _ in range(n):
        e, g = energy_and_grad(fn, s.x)
        s = step(s, e, g)
    return s.x


@pytest.mark.parametrize("kind", ["fire-ase", "fire-jax-md", "adam", "gd"])
def test_kernels_are_batched_rows_independent_and_descend(kind):
    """A batch gives, row by row, what each row gives alone (bitwise), and the energy drops."""
    params = {"fire-ase": ASE_FIRE, "fire-jax-md": JAXMD_FIRE}.get(kind)
    if params is not None:
        init, step = (lambda x: fire_init(x, params)), (lambda s, e, g: fire_step(s, e, g, params))
    elif kind == "adam":
        init, step = adam_init, (lambda s, e, g: adam_step(s, e, g, 0.01))
    else:
        init, step = gd_init, (lambda s, e, g: gd_step(s, e, g, 0.02))
    x = _starts()
    batched = _run_rows(init, step, x, 60)
    alone = torch.cat([_run_rows(init, step, x[i:i + 1], 60) for i in range(x.shape[0])])
    assert torch.equal(batched, alone)
    assert bool((_bowl(batched) < _bowl(x)).all())


def test_fire_flavours_differ_and_params_are_checked():
    x = _starts()
    a = _run_rows(lambda y: fire_init(y, ASE_FIRE), lambda s, e, g: fire_step(s, e, g, ASE_FIRE), x, 20)
    j = _run_rows(lambda y: fire_init(y, JAXMD_FIRE), lambda s, e, g: fire_step(s, e, g, JAXMD_FIRE), x, 20)
    assert not torch.allclose(a, j)
    with pytest.raises(GmbenchError, match="flavour"):
        FireParams(flavour="lammps")
    with pytest.raises(GmbenchError, match="max_step"):
        FireParams(max_step=0.2)  # jax-md's FIRE has no cap


def test_fire_ase_step_cap_and_structure_batches():
    """The ASE cap bounds every system's step norm; (B, N, 3) batches give the (B, 3N) numbers."""
    p = FireParams(dt_start=0.5, dt_max=2.0, flavour="ase", max_step=0.05)
    x = _starts(3, 6)
    s = fire_init(x, p)
    for _ in range(10):
        e, g = energy_and_grad(_bowl, s.x)
        x_old = s.x
        s = fire_step(s, e, g, p)
        assert float(torch.linalg.vector_norm(s.x - x_old, dim=-1).max()) <= 0.05 + 1e-12
    flat = _run_rows(lambda y: fire_init(y, JAXMD_FIRE), lambda s, e, g: fire_step(s, e, g, JAXMD_FIRE), x, 30)
    s = fire_init(x.reshape(3, 2, 3), JAXMD_FIRE)
    for _ in range(30):
        e, g = energy_and_grad(lambda r: _bowl(r.reshape(3, 6)), s.x)
        s = fire_step(s, e, g, JAXMD_FIRE)
    assert torch.allclose(s.x.reshape(3, 6), flat, rtol=0, atol=1e-13)


def test_adam_kernel_matches_torch_optim_adam():
    x0 = _starts()
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.02)
    for _ in range(25):
        opt.zero_grad()
        _bowl(x).sum().backward()
        opt.step()
    got = _run_rows(adam_init, lambda s, e, g: adam_step(s, e, g, 0.02), x0, 25)
    assert torch.allclose(got, x.detach(), rtol=0, atol=1e-12)


def test_lbfgs_converges_per_row_and_converged_rows_cost_nothing():
    calls = []

    def eg(x):
        calls.append(x.shape[0])
        return energy_and_grad(_rosen, x)

    x0 = _starts(4, 4)
    x0[0] = 1.0  # row 0 starts at the minimum: it leaves the batch after the first evaluation
    x, e = lbfgs_minimize(eg, x0, LbfgsParams(max_step=0.5), gtol=1e-8, max_iter=2000)
    _, g = energy_and_grad(_rosen, x)
    assert float(g.abs().max()) < 1e-8 and torch.allclose(x, torch.ones_like(x), atol=1e-6)
    assert float(e.max()) < 1e-12
    assert calls[0] == 4 and calls[1] == 3  # row 0 converged at its start
    # the same rows alone follow the same iterates
    x1, _ = lbfgs_minimize(lambda y: energy_and_grad(_rosen, y), x0[2:3], LbfgsParams(max_step=0.5), gtol=1e-8,
                           max_iter=2000)
    assert torch.equal(x1, x[2:3])


def _drive(s, params, n, fn=_rosen, **kw):
    """``n`` kernel iterations over every row of the state ``s``: evaluate the trials, step."""
    for _ in range(n):
        e, g = energy_and_grad(fn, s.x)
        lbfgs_step(s, e, g, params, **kw)
    return s


def test_lbfgs_restart_rows_gives_fresh_rows_and_leaves_the_others_alone():
    """A restarted row follows, bit for bit, the iterates of a fresh single-row run from its new point;
    the other rows follow the iterates they would have followed without the restart."""
    params = LbfgsParams(max_step=0.5)
    x0, fresh = _starts(3, 4), _starts(1, 4, seed=1)
    s = _drive(lbfgs_init(x0, params), params, 7)
    ref = _drive(lbfgs_init(x0, params), params, 7)
    assert s.S.abs().sum() > 0 and torch.equal(s.x, ref.x)  # history built up before the restart
    lbfgs_restart_rows(s, torch.tensor([1]), fresh, params)
    assert torch.equal(s.x[1], fresh[0]) and torch.equal(s.x_best[1], fresh[0]) and s.e[1] == math.inf
    assert float(s.S[1].abs().sum() + s.rho[1].abs().sum()) == 0 and s.gamma[1] == params.h0
    _drive(s, params, 25)
    _drive(ref, params, 25)
    alone = _drive(lbfgs_init(fresh, params), params, 25)
    assert torch.equal(s.x[1], alone.x[0]) and torch.equal(s.x_best[1], alone.x_best[0])
    assert torch.equal(s.x[[0, 2]], ref.x[[0, 2]]) and torch.equal(s.e[[0, 2]], ref.e[[0, 2]])
    assert not torch.equal(s.x[1], ref.x[1])
    lbfgs_restart_rows(s, torch.tensor([], dtype=torch.long), fresh[:0], params)  # nothing to restart


def test_lbfgs_projection_records_the_step_taken_and_finds_the_box_constrained_minimum():
    """With ``project`` (a box), every trial lies in the box, the recorded step is the displacement
    actually taken (so the curvature pairs are pairs of evaluated points), accepted energies never rise,
    and the rows reach the box-constrained minimum, which lies partly on the boundary."""
    c = torch.tensor([2.0, 0.3, -3.0, 0.5], dtype=torch.float64)
    a = torch.tensor([1.0, 3.0, 0.5, 2.0], dtype=torch.float64)

    def quad(x):
        return (a * (x - c) ** 2).sum(-1)

    def box(x):
        return x.clamp(-1.0, 1.0)

    params = LbfgsParams(max_step=0.7)
    s = lbfgs_init(_starts(5, 4), params)
    e_prev = torch.full((5,), math.inf, dtype=torch.float64)
    for _ in range(60):
        e, g = energy_and_grad(quad, s.x)
        lbfgs_step(s, e, g, params, project=box)
        assert float(s.x.abs().max()) <= 1.0
        assert torch.allclose(s.d, s.x - s.x_best, rtol=0, atol=1e-15)
        assert bool((s.e <= e_prev).all())
        e_prev = s.e.clone()
    want = torch.tensor([1.0, 0.3, -1.0, 0.5], dtype=torch.float64)
    assert torch.allclose(s.x_best, want.expand(5, 4), atol=1e-6)
    # without the projection the same kernel leaves the box
    s2 = _drive(lbfgs_init(_starts(5, 4), params), params, 60, fn=quad)
    assert float(s2.x_best.abs().max()) > 1.5


# ---- every batched local method reports right after its first batch -----------------------------

FIRST_BATCH = {  # method params, and the evaluations of its first batch
    "gd": ({"n_points": 20}, 20),
    "adam": ({"n_points": 20}, 20),
    "fire": ({"n_points": 20}, 20),
    "fire-jax-md": ({"n_points": 20, "variant": "jax-md", "dt_max": 0.4}, 20),
    "basin-hopping": ({"n_walkers": 6}, 6),
    "adam-sweep": ({"n_points": 8, "n_steps": 500, "lrs": [0.1, 0.5, 1.0]}, 24),
}


@pytest.mark.parametrize("name", list(FIRST_BATCH))
def test_a_tiny_evaluation_budget_still_leaves_a_candidate(name):
    params, first = FIRST_BATCH[name]
    method = make_method(name.split("-jax")[0], params)
    problem = make_problem("rastrigin", dim=6)
    bb = BlackBox.from_problem(problem, Budget(None, first + 3))
    inbox = Inbox(bb)
    with pytest.raises(BudgetExhausted):
        method.run(bb, inbox)
    assert inbox.candidates, f"{name}: no candidate reported within {first + 3} evaluations"
    starts = BlackBox.from_problem(problem).starts(first if name != "adam-sweep" else 8)
    best_start = float(problem.energy_fn()(starts).min())
    assert min(float(problem.energy_fn()(c.x[None])[0]) for c in inbox.candidates) <= best_start + 1e-9
    assert math.isfinite(best_start)


def test_the_methods_import_no_problem_and_the_study_reexports_stridernet():
    """StriderNET's learning code lives with the method (gmbench.methods.stridernet); importing every method
    imports no problem, suite parser or harness module (a sealed run's child imports the methods and must
    not load the problem registry). ``studies.stridernet`` and its ``core`` keep the old names."""
    import subprocess
    import sys

    code = ("import sys, gmbench.methods; "
            "bad = [m for m in sys.modules if m.startswith(('gmbench.problems', 'gmbench.config.suite', 'gmbench.run', "
            "'gmbench.store', 'gmbench.studies'))]; assert not bad, bad; "
            "import gmbench.studies.stridernet as sn; from gmbench.methods import stridernet as m; "
            "from gmbench.studies.stridernet import core; "
            "assert core.train is sn.train is m.train and core.baselines is sn.baselines and sn.bench_adapt")
    subprocess.run([sys.executable, "-c", code], check=True)
    from gmbench.methods import METHODS
    from gmbench.optim.presets import STRIDERNET_BASELINES
    from gmbench.studies.stridernet import BASELINE_PARAMS

    for system, preset in (("ka-lj", "stridernet-lj"), ("sw-silicon", "stridernet-sw"), ("csh", "stridernet-csh")):
        row = STRIDERNET_BASELINES[system]
        assert BASELINE_PARAMS[system] == (METHODS.get("gd").PRESETS[preset]["lr"],
                                           METHODS.get("adam").PRESETS[preset]["lr"],
                                           METHODS.get("fire").PRESETS[preset]["dt_start"], row.steps)
        assert METHODS.get("fire").PRESETS[preset]["dt_max"] == 4 * row.fire_dt


def test_atomistic_energy_and_grad_falls_back_to_the_autodiff_helper(monkeypatch):
    """Without an analytic pair derivative the problem's fused path uses core.autodiff: same numbers."""
    import gmbench.physics.potentials as potentials

    problem = make_problem("lj13")
    problem.prepare()
    eg = problem.energy_and_grad_fn()
    x = problem.start_sampler()(3, torch.Generator().manual_seed(0)).to(torch.float64)
    e1, g1 = eg(x)
    monkeypatch.setattr(potentials, "PAIR_DR2", {})
    e2, g2 = eg(x)
    assert g2.shape == x.shape and torch.allclose(e1, e2) and torch.allclose(g1, g2, atol=1e-9)
