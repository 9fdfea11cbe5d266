"""The method contract: answer-free BlackBox, exact counters, budgets, recorder selection rule."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import pytest
import torch

from gmbench.core.blackbox import Budget, BudgetExhausted
from gmbench.methods import METHODS, make_method
from gmbench.methods.base import Method, register_method
from gmbench.problems import make_problem
from gmbench.problems.base import Problem
from gmbench.run.recorder import Inbox, Recorder
from gmbench.run.execute import execute, grace_s
from gmbench.run.cell import Cell, make_cell

from bbwalk import make_bb, reachable  # the BlackBox helper and the object-graph walk (shared with test_instances)


@pytest.mark.parametrize("name,dim", [("alpine1", 10), ("perm", 3), ("schwefel", 4), ("quintic", 5)])
def test_blackbox_and_report_cannot_reach_the_answer(name, dim):
    problem = make_problem(name, dim=dim)
    bb = make_bb(problem)
    inbox = Inbox(bb)
    objs = reachable(bb) + reachable(inbox)
    assert not any(isinstance(o, Problem) for o in objs), "a Problem is reachable from what the method gets"
    xs = problem.x_star()
    for o in objs:
        if isinstance(o, torch.Tensor) and o.shape == xs.shape and o is not bb.lower and o is not bb.upper:
            assert not torch.equal(o.to(xs), xs) or torch.equal(xs, bb.lower.to(xs)) or torch.equal(xs, bb.upper.to(xs))
    for attr in ("problem", "x_star", "f_star", "name", "spec", "assess"):
        assert not hasattr(bb, attr)
        assert not hasattr(inbox, attr)
    with pytest.raises(AttributeError):
        bb.problem = problem  # __slots__: nothing can be attached either


def test_evaluation_counts_are_exact_per_point():
    problem = make_problem("sphere", dim=4)
    bb = make_bb(problem)
    bb.energy(torch.zeros(7, 4, dtype=torch.float64))
    e, g = bb.energy_and_grad(torch.ones(3, 5, 4, dtype=torch.float64))
    assert e.shape == (3, 5) and g.shape == (3, 5, 4)
    assert torch.allclose(g, 2 * torch.ones_like(g))
    bb.grad(torch.ones(2, 4, dtype=torch.float64))
    assert (bb.n_energy, bb.n_grad) == (7 + 15 + 2, 15 + 2)
    inbox = Inbox(bb)
    inbox(torch.zeros(4))
    assert bb.n_energy == 25  # a report costs one energy evaluation


def test_eval_budget_is_never_exceeded():
    problem = make_problem("sphere", dim=3)
    bb = make_bb(problem, Budget(None, 10))
    bb.energy(torch.zeros(6, 3, dtype=torch.float64))
    with pytest.raises(BudgetExhausted):
        bb.energy(torch.zeros(5, 3, dtype=torch.float64))
    assert bb.n_energy == 6
    bb.energy(torch.zeros(4, 3, dtype=torch.float64))
    assert bb.evals_left == 0 and bb.exhausted()
    with pytest.raises(BudgetExhausted):
        bb.energy_and_grad(torch.zeros(1, 3, dtype=torch.float64))


def test_budget_exhausted_is_not_swallowed_by_except_exception():
    assert not issubclass(BudgetExhausted, Exception)


def test_recorder_picks_lowest_energy_and_prefers_in_bounds():
    problem = make_problem("schwefel", dim=2)
    bb = make_bb(problem)
    inbox = Inbox(bb)
    c = 420.968746359982025
    inbox(torch.tensor([c, c], dtype=torch.float64))  # the global minimum, energy ~0
    inbox(torch.tensor([100.0, 100.0]))
    far = (math.pi / 2 + 8 * math.pi) ** 2  # sin(sqrt(x)) = 1 beyond the box: energy below f*
    inbox(torch.tensor([far, far]))  # outside the box: lower energy, must not be selected
    rec = Recorder(problem)
    rec.assess(inbox.candidates)
    s = rec.summary()
    assert rec.rows[2].energy < rec.rows[0].energy and rec.rows[2].oob > 0
    assert s["final_dist"] == pytest.approx(0.0, abs=1e-9)
    assert s["min_dist"] == pytest.approx(0.0, abs=1e-9)
    assert s["n_candidates"] == 3


def test_avg_error_per_dim_is_distance_over_sqrt_d():
    problem = make_problem("alpine1", dim=16, bounds=(-100, 100))
    bb = make_bb(problem)
    inbox = Inbox(bb)
    inbox(torch.full((16,), 0.5))
    rec = Recorder(problem)
    rec.assess(inbox.candidates)
    s = rec.summary()
    assert s["final_dist"] == pytest.approx(0.5 * 4)
    assert s["avg_err_per_dim"] == pytest.approx(0.5)


@register_method("_test-busy-loop")
@dataclass
class BusyLoop(Method):
    """Never evaluates after one report: only the hard deadline can stop it."""

    def run(self, bb, report):
        report(bb.uniform(1)[0])
        while True:
            sum(range(1000))


@register_method("_test-cooperative")
@dataclass
class Cooperative(Method):
    def run(self, bb, report):
        x = bb.uniform(64)
        while True:
            e = bb.energy(x)
            report(x[int(e.argmin())])


def _cell(method: str, budget: Budget, problem="sphere", dim=8, seed=0) -> Cell:
    return make_cell(problem, method, budget, dim=dim, seed=seed)


@pytest.mark.parametrize("method,reason", [("_test-cooperative", "time"), ("_test-busy-loop", "killed")])
def test_time_budget_is_honoured(method, reason):
    budget = Budget(2.0, None)
    t0 = time.perf_counter()
    res = execute(_cell(method, budget))
    elapsed = time.perf_counter() - t0
    assert res.row["stop_reason"] == reason
    assert res.row["status"] == "done"  # best-so-far kept
    assert res.row["final_energy"] is not None
    assert res.row["wall_s"] <= 2.0 + grace_s(budget) + 0.5
    assert elapsed <= 2.0 + grace_s(budget) + 2.0
    if reason == "killed":
        assert res.row["overrun_s"] > 0
    else:  # stopped by the budget check, not by the kill: within the grace (a wall-clock figure, so no tighter
        assert res.row["overrun_s"] < grace_s(budget)  # bound than the contract: 0.59 s was seen under load)


def test_failures_are_results():
    @register_method("_test-raises")
    @dataclass
    class Raises(Method):
        def run(self, bb, report):
            raise RuntimeError("boom")

    res = execute(_cell("_test-raises", Budget(1.0, None)))
    assert res.row["status"] == "failed" and "boom" in res.row["error"]


def test_nan_energies_fail_the_cell():
    @register_method("_test-nan")
    @dataclass
    class Nan(Method):
        def run(self, bb, report):
            report(torch.full((bb.dim,), float("nan")))

    res = execute(_cell("_test-nan", Budget(1.0, None)))
    assert res.row["status"] == "failed" and "NaN" in res.row["error"]


def test_same_seed_same_result():
    a = execute(_cell("random-search", Budget(None, 5000)))
    b = execute(_cell("random-search", Budget(None, 5000)))
    assert a.row["final_energy"] == b.row["final_energy"]
    c = execute(_cell("random-search", Budget(None, 5000), seed=1))
    assert c.row["final_energy"] != a.row["final_energy"]


@pytest.mark.parametrize("name", ["random-search", "gd", "fire", "adam-sweep", "adam", "basin-hopping"])
def test_builtin_methods_solve_the_sphere(name):
    params = {"adam-sweep": {"n_points": 8, "n_steps": 300, "lrs": [0.5, 1.0, 2.0]}, "adam": {"lr": 0.1},
              "basin-hopping": {"n_walkers": 4}}.get(name, {})
    method = make_method(name, params)
    problem = make_problem("sphere", dim=3, bounds=(-5, 5))
    bb = make_bb(problem, Budget(3.0, 300_000))
    inbox = Inbox(bb)
    try:
        method.run(bb, inbox)
    except BudgetExhausted:
        pass
    rec = Recorder(problem)
    rec.assess(inbox.candidates)
    tol = 0.2 if name == "random-search" else 1e-3
    assert rec.summary()["final_dist"] < tol


def test_adam_sweep_matches_torch_optim_adam():
    """The vectorised sweep is Adam: same iterates as torch.optim.Adam, one optimizer per learning rate."""
    problem = make_problem("rastrigin", dim=6)
    lrs, n_points, n_steps = [0.01, 0.05, 0.2], 4, 40
    bb = make_bb(problem)
    starts = bb.starts(n_points)  # what the sweep will draw from a fresh generator with the same seed
    f = problem.energy_fn()
    expect = []
    for lr in lrs:
        x = starts.clone().requires_grad_(True)
        opt = torch.optim.Adam([x], lr=lr)
        best = math.inf
        for _ in range(n_steps):
            opt.zero_grad()
            e = f(x)
            best = min(best, float(e.detach().min()))
            e.sum().backward()
            opt.step()
        best = min(best, float(f(x).detach().min()))
        expect.append(best)
    method = make_method("adam-sweep", {"n_points": n_points, "n_steps": n_steps, "lrs": lrs, "report_every": 10**6})
    bb = make_bb(problem)
    got = {}
    method.run(bb, lambda x, lr, energy_seen: got.__setitem__(lr, energy_seen))
    assert [got[lr] for lr in lrs] == pytest.approx(expect, rel=1e-9)
    # one energy+gradient evaluation per point, learning rate and step (plus the final scoring pass)
    assert bb.n_grad == len(lrs) * n_points * (n_steps + 1)


def test_adam_sweep_chunks_give_the_same_answer():
    problem = make_problem("ackley", dim=5)
    out = []
    for chunk in (10**9, 2 * 5 * 3):  # one chunk, or chunks of 3 points x 2 rates
        got = {}
        m = make_method("adam-sweep", {"n_points": 7, "n_steps": 20, "lrs": [0.1, 0.3], "chunk_elems": chunk, "report_every": 10**6})
        m.run(make_bb(problem), lambda x, lr, energy_seen: got.__setitem__(lr, min(got.get(lr, math.inf), energy_seen)))
        out.append(got)
    assert out[0] == pytest.approx(out[1], rel=1e-12)


def test_fire_matches_ase_fire_on_one_system():
    pytest.importorskip("ase")
    from ase import Atoms
    from ase.calculators.lj import LennardJones
    from ase.optimize import FIRE as AseFIRE

    from gmbench.optim.fire import FireParams, fire_init, fire_step

    pos = torch.tensor([[0.0, 0.0, 0.0], [1.3, 0.1, 0.0], [0.4, 1.2, 0.3]], dtype=torch.float64)
    atoms = Atoms("Ar3", positions=pos.numpy().copy())
    atoms.calc = LennardJones(sigma=1.0, epsilon=1.0, rc=100.0, smooth=False)
    opt = AseFIRE(atoms, dt=0.1, maxstep=0.2, dtmax=1.0, logfile=None)

    def energy(x):
        r = x.reshape(3, 3)
        d = torch.cdist(r, r)[torch.triu_indices(3, 3, 1).unbind()]
        return (4 * (d**-12 - d**-6)).sum()

    params = FireParams(dt_start=0.1, dt_max=1.0, flavour="ase", max_step=0.2)
    s = fire_init(pos.reshape(1, -1), params)
    for _ in range(30):
        opt.step()
        x = s.x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(energy(x), x)
        s = fire_step(s, None, g, params)
    # ASE caps the step per atom (max over atoms of |dr|); on a 3-atom system far from the cap both agree
    assert torch.allclose(s.x.reshape(3, 3), torch.from_numpy(atoms.get_positions()), atol=1e-6)


def test_method_parameters_are_typed_and_checked():
    from gmbench.core.errors import GmbenchError

    with pytest.raises(GmbenchError, match="did you mean 'n_points'"):
        make_method("gd", {"n_point": 3})
    with pytest.raises(GmbenchError, match="expected an integer"):
        make_method("gd", {"n_points": "many"})
    assert make_method("gd", {"lr": 1}).lr == 1.0
    assert {"random-search", "gd", "fire", "adam-sweep"} <= set(METHODS.names())


def test_inside_the_box_means_the_same_in_the_blackbox_and_the_recorder():
    # float32 rounds ackley's bound 32.768 outward (to 32.76800156): a point the float32 BlackBox clamps
    # onto its bound must count as inside, or the final pick drops it for a worse one
    problem = make_problem("ackley", dim=2)
    bb = make_bb(problem, dtype=torch.float32)
    on_bound = bb.clamp(torch.tensor([40.0, 0.0], dtype=torch.float32))
    assert float(on_bound[0]) > 32.768  # the float32 bound lies outside the float64 box
    worse = torch.tensor([31.5, 31.5], dtype=torch.float32)
    inbox = Inbox(bb)
    inbox(on_bound)
    inbox(worse)
    rec = Recorder(problem, dtype=torch.float32)
    rec.assess(inbox.candidates)
    assert rec.rows[0].energy < rec.rows[1].energy
    assert rec.rows[0].oob == 0.0
    assert torch.equal(rec.best_x, inbox.candidates[0].x)
    assert rec.summary()["final_energy"] == rec.rows[0].energy
    old = Recorder(problem)  # without the dtype the float64 box decides (the behaviour this fixes)
    old.assess(inbox.candidates)
    assert old.rows[0].oob > 0 and torch.equal(old.best_x, inbox.candidates[1].x)
    far = Inbox(bb)  # a point really outside stays outside
    far(torch.tensor([32.9, 0.0], dtype=torch.float32))
    rec = Recorder(problem, dtype=torch.float32)
    rec.assess(far.candidates)
    assert rec.rows[0].oob == pytest.approx(32.9 - 32.768001556, abs=1e-5)
