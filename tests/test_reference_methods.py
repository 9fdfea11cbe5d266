"""The field's reference optimizers: differential evolution and dual annealing (SciPy) and multistart
L-BFGS (gmbench's batched kernel). They solve small problems, never evaluate beyond an evaluation
budget, keep their best point when the budget ends inside SciPy (evaluations and time), store their
gradient and local-minimisation counts, and run with one BLAS/OpenMP thread per cell."""

from __future__ import annotations

import math
import sqlite3
import traceback
from dataclasses import dataclass

import pytest
import torch

from gmbench.run.cell import Cell, make_cell
from gmbench.core.blackbox import BlackBox, Budget, BudgetExhausted, Clock
from gmbench.core.errors import GmbenchError
from gmbench.run.recorder import Inbox, Recorder
from gmbench.methods import METHODS, make_method
from gmbench.methods.base import Method, register_method
from gmbench.methods.multistart_lbfgs import projected_gradient
from gmbench.problems import make_problem
from gmbench.run.execute import execute



@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """One thread in every BLAS/OpenMP pool, as ``gmbench run`` gives each cell: SciPy 1.17's L-BFGS-B
    calls BLAS on tiny vectors, and with two OpenBLAS threads on a loaded 2-core machine each call
    spin-waits (dual annealing in 100-D ran 20x slower)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


pytestmark = pytest.mark.usefixtures("one_thread")

NAMES = ("differential-evolution", "dual-annealing", "multistart-lbfgs")


class Logged:
    """A BlackBox over ``problem`` whose energy function logs (method time, lowest energy) of every
    evaluated batch, gradients included (they go through autodiff of the logged function)."""

    def __init__(self, problem, budget: Budget, seed: int = 0, dtype=torch.float64, clock=None):
        self.problem = problem
        self.log: list[tuple[float, float]] = []
        f = problem.energy_fn()
        clock = clock if clock is not None else Clock(torch.device("cpu"))
        now = (lambda: clock.t) if isinstance(clock, TickClock) else clock.elapsed  # reading a TickClock advances it

        def energy(x):
            e = f(x)
            ed = e.detach().reshape(-1)
            ed = torch.where(torch.isfinite(ed), ed, torch.full_like(ed, math.inf))
            self.log.append((now(), float(ed.min())))
            return e

        self.bb = BlackBox(energy, problem.dim, problem.lower, problem.upper, torch.device("cpu"), dtype,
                           torch.Generator().manual_seed(seed), budget, clock, problem.start_sampler(),
                           problem.structure(), problem.atom_energy_fn())
        self.inbox = Inbox(self.bb)
        self.stop: BudgetExhausted | None = None

    def run(self, method: Method) -> "Logged":
        try:
            method.run(self.bb, self.inbox)
        except BudgetExhausted as exc:
            self.stop = exc
        return self

    @property
    def best_evaluated(self) -> float:
        return min(e for _, e in self.log)

    @property
    def best_reported(self) -> float:
        f = self.problem.energy_fn()
        return min(float(f(c.x[None].to(self.bb.dtype))[0]) for c in self.inbox.candidates)

    def summary(self) -> dict:
        rec = Recorder(self.problem)
        rec.assess(self.inbox.candidates)
        return rec.summary()

    def stopped_inside_scipy(self) -> bool:
        frames = traceback.extract_tb(self.stop.__traceback__) if self.stop is not None else []
        return any("scipy" in fr.filename for fr in frames)


def test_methods_are_registered_typed_and_listed():
    from typer.testing import CliRunner

    from gmbench.cli.app import app

    out = CliRunner().invoke(app, ["list", "methods"], catch_exceptions=False).output
    for name in NAMES:
        assert name in METHODS.names() and name in out
    assert make_method("de").name == "differential-evolution" and make_method("ms-lbfgs").n_starts == 16
    de = make_method("differential-evolution", {"mutation": [0.4, 0.9], "strategy": "rand1bin"})
    assert de.mutation == (0.4, 0.9) and make_method("differential-evolution", {"mutation": 0.8}).mutation == 0.8
    for name, params in [("differential-evolution", {"strategy": "best9bin"}), ("differential-evolution", {"mutation": 2.5}),
                         ("differential-evolution", {"mutation": [0.9, 0.4]}), ("dual-annealing", {"local_search": "bfgs"}),
                         ("dual-annealing", {"visit": 3.5}), ("multistart-lbfgs", {"n_starts": 0}),
                         ("multistart-lbfgs", {"max_iter": "many"})]:
        with pytest.raises(GmbenchError):
            make_method(name, params)
    # population: SciPy's popsize x D, at least 5, capped
    assert [de.population(d) for d in (1, 5, 100, 1000)] == [15, 75, 1500, 2000]


# ---- each method solves a small problem ------------------------------------------------------------

SOLVE = {  # method, params, problem, dim, bounds, evaluation budget
    "differential-evolution": ({}, "rastrigin", None, 30_000),
    "dual-annealing": ({}, "rastrigin", None, 5_000),
    # 3^5 local minima, the global basin about 1/80 of the box: restarts must find it
    "multistart-lbfgs": ({}, "rastrigin", (-1.2, 1.2), 8_000),
    "multistart-lbfgs-sphere": ({}, "sphere", (-5, 5), 2_000),
}


@pytest.mark.parametrize("case", list(SOLVE))
def test_each_method_finds_the_minimum_of_a_5d_problem(case):
    params, name, bounds, evals = SOLVE[case]
    problem = make_problem(name, dim=5, bounds=bounds)
    run = Logged(problem, Budget(None, evals)).run(make_method(case.removesuffix("-sphere"), params))
    s = run.summary()
    assert s["final_dist"] < 1e-4 and s["final_gap"] < 1e-6, s  # the global minimizer x* = 0, f* = 0


def test_multistart_lbfgs_converges_onto_a_minimum_on_the_boundary():
    """Sphere on [1, 3]^5: the minimum is the corner (1, ..., 1); projected steps and the projected
    gradient let every local search converge there (counted), rather than stall at the bound."""
    def sphere(x):
        return (x * x).sum(-1)

    lo, hi = torch.ones(5, dtype=torch.float64), 3 * torch.ones(5, dtype=torch.float64)
    bb = BlackBox(sphere, 5, lo, hi, torch.device("cpu"), torch.float64, torch.Generator().manual_seed(0),
                  Budget(None, 3_000), Clock(torch.device("cpu")))
    inbox = Inbox(bb)
    with pytest.raises(BudgetExhausted):
        make_method("multistart-lbfgs").run(bb, inbox)
    best = min(inbox.candidates, key=lambda c: float(sphere(c.x)))
    assert torch.equal(best.x, lo)
    assert bb.n_local >= 3_000 // 16 // 10  # short searches: converged by the projected gradient
    x = torch.tensor([[1.0, 2.0, 3.0, 3.0]])
    g = torch.tensor([[1.0, 1.0, -1.0, 1.0]])
    assert projected_gradient(g, x, torch.ones(4), 3 * torch.ones(4)).tolist() == [[0.0, 1.0, 0.0, 1.0]]


# ---- budgets ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("evals", [2, 5, 74, 75, 76, 151, 1000, 1234])
def test_differential_evolution_never_evaluates_beyond_the_budget(evals):
    """75 individuals in 5-D: budgets inside the first generation, at and around its end, and later.
    The charged evaluations (the final report included) never exceed the budget, at most one is left
    unused, and the best point evaluated is the best point reported."""
    run = Logged(make_problem("rastrigin", dim=5), Budget(None, evals)).run(make_method("differential-evolution"))
    assert run.stop is not None and run.stop.reason == "evals"
    assert evals - 1 <= run.bb.n_cost <= evals and run.bb.n_energy == run.bb.n_cost
    assert run.bb.n_grad == 0 and run.bb.n_local == 0
    assert run.best_reported == pytest.approx(run.best_evaluated, rel=1e-12, abs=1e-12)
    assert all(c.n_cost <= evals for c in run.inbox.candidates)


@pytest.mark.parametrize("name", NAMES)
def test_the_best_point_is_kept_when_an_evaluation_budget_ends(name):
    """The budget ends inside SciPy's loop, BudgetExhausted propagates out of SciPy, and the lowest
    energy evaluated is the lowest reported. Dual annealing's budgets end in its annealing chain and
    inside its first L-BFGS-B local search (its first ~35 evaluations on this problem)."""
    budgets = range(12, 42, 3) if name == "dual-annealing" else (1000, 1501)
    in_lbfgsb = []
    for evals in budgets:
        run = Logged(make_problem("rastrigin", dim=5), Budget(None, evals)).run(make_method(name))
        assert run.stop is not None and run.stop.reason == "evals"
        assert evals - 1 <= run.bb.n_cost <= evals
        assert run.best_reported == pytest.approx(run.best_evaluated, rel=1e-12, abs=1e-12)
        assert run.stopped_inside_scipy() == (name != "multistart-lbfgs")
        in_lbfgsb.append(any("lbfgsb" in fr.filename for fr in traceback.extract_tb(run.stop.__traceback__)))
    if name == "dual-annealing":
        assert any(in_lbfgsb) and not all(in_lbfgsb)


@pytest.mark.parametrize("name", NAMES)
def test_the_best_point_is_kept_when_a_time_budget_ends(name):
    """A 1.5 s budget ends inside SciPy; every improvement evaluated up to the last 30 ms is reported
    (the Evaluator's geometric spacing alone would leave up to 75 ms unreported at the end)."""
    run = Logged(make_problem("rastrigin", dim=5), Budget(1.5, None)).run(make_method(name))
    assert run.stop is not None and run.stop.reason == "time"
    assert run.stopped_inside_scipy() == (name != "multistart-lbfgs")
    end = run.log[-1][0]
    before = min(e for t, e in run.log if t <= end - 0.03)
    assert run.best_reported <= before + 1e-12
    assert run.best_reported >= run.best_evaluated - 1e-12


class TickClock:
    """Deterministic method time: every reading advances it by ``tick`` seconds."""

    def __init__(self, tick: float):
        self.t, self.tick = 0.0, tick

    def elapsed(self) -> float:
        self.t += self.tick
        return self.t


@pytest.mark.parametrize("name", NAMES)
def test_the_best_point_is_kept_under_a_deterministic_time_budget(name):
    """The same on a clock that advances 0.1 ms per reading (no scheduler noise): every improvement
    evaluated up to 5 readings before the deadline is reported. (The last batch's improvement can be
    lost: its report would come after the deadline, and the BlackBox refuses it.) With DE at this
    budget, dropping the Evaluator's end-of-budget rule (report at once when less than two batch
    intervals are left) loses the final improvements and fails this test."""
    tick, time_s = 1e-4, 0.05
    run = Logged(make_problem("rastrigin", dim=5), Budget(time_s, None), clock=TickClock(tick)).run(make_method(name))
    assert run.stop is not None and run.stop.reason == "time" and len(run.log) > 50
    assert run.stopped_inside_scipy() == (name != "multistart-lbfgs")
    assert run.best_reported <= min(e for t, e in run.log if t <= time_s - 5 * tick)


# ---- the cost ledger -------------------------------------------------------------------------------

def test_gradient_counts():
    """Gradients: none for DE and for dual annealing with SciPy's finite differences or no local search;
    every L-BFGS-B call of the exact-gradient local search and every multistart iteration is one."""
    problem = make_problem("rastrigin", dim=5)

    def counts(name, params=None, evals=3000):
        run = Logged(problem, Budget(None, evals)).run(make_method(name, params))
        reports = len(run.inbox.candidates)  # a report is one energy evaluation
        return run.bb.n_energy - reports, run.bb.n_grad, run.bb.n_local

    n, g, loc = counts("differential-evolution")
    assert g == 0 and loc == 0 and n > 0
    n, g, loc = counts("dual-annealing")
    assert g > 0 and loc > 0 and g < n
    n, g, loc = counts("dual-annealing", {"local_search": "finite-difference"})
    assert g == 0 and loc > 0
    n, g, loc = counts("dual-annealing", {"local_search": "none"})
    assert g == 0 and loc == 0
    n, g, loc = counts("multistart-lbfgs")
    assert g > 0 and loc > 0 and n == g  # every evaluation but the reports comes with a gradient


@pytest.mark.parametrize("name", ["dual-annealing", "multistart-lbfgs"])
def test_grad_cost_dim_charges_d_evaluations_per_gradient(name):
    problem = make_problem("rastrigin", dim=5)
    one = Logged(problem, Budget(None, 3000)).run(make_method(name)).bb
    dim = Logged(problem, Budget(None, 3000, "dim")).run(make_method(name)).bb
    assert one.n_cost == one.n_energy and one.n_grad > 0
    assert dim.n_cost == dim.n_energy - dim.n_grad + 5 * dim.n_grad
    assert 3000 - 5 <= dim.n_cost <= 3000  # gradients are charged whole; one evaluation kept for the report
    assert dim.n_energy < one.n_energy  # the same charged budget buys fewer evaluations


def _cell(method: str, params: dict, problem: str, dim: int, budget: Budget, threads: int = 1, **pp) -> Cell:
    return make_cell(problem, method, budget, dim=dim, problem_params=pp, method_params=params, threads=threads)


def test_local_minimisations_are_stored_as_n_local(tmp_path):
    """``gmbench run`` on a tiny suite: each cell's row holds its gradient and local-minimisation counts."""
    from typer.testing import CliRunner

    from gmbench.cli.app import app

    suite = tmp_path / "ref.yaml"
    suite.write_text(
        """
name: ref-tiny
device: cpu
dtype: float64
seeds: 1
budget: {evals: 2000}
problems:
  - {name: rastrigin, dim: 3}
methods:
  - {name: differential-evolution}
  - {name: dual-annealing}
  - {name: multistart-lbfgs, params: {n_starts: 4}}
""")
    store = tmp_path / "s.sqlite"
    res = CliRunner().invoke(app, ["run", "--suite", str(suite), "--store", str(store), "--quiet"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    db = sqlite3.connect(store)
    try:
        rows = {m: (s, ng, nl, nc) for m, s, ng, nl, nc in
                db.execute("SELECT method, status, n_grad, n_local, n_cost FROM cells").fetchall()}
    finally:
        db.close()
    assert set(rows) == set(NAMES)
    assert all(r[0] == "done" and r[3] <= 2000 for r in rows.values())
    assert rows["differential-evolution"][1:3] == (0, 0)
    assert rows["dual-annealing"][1] > 0 and rows["dual-annealing"][2] > 0
    assert rows["multistart-lbfgs"][1] > 0 and rows["multistart-lbfgs"][2] > 0
    # the same through execute() on one cell
    row = execute(_cell("multistart-lbfgs", {"n_starts": 4}, "rastrigin", 3, Budget(None, 2000))).row
    assert row["n_local"] > 0 and row["n_local"] == rows["multistart-lbfgs"][2]


@register_method("_test-thread-probe")
@dataclass
class ThreadProbe(Method):
    """Records the thread count of every BLAS/OpenMP pool and of torch while it runs, then reports."""

    def run(self, bb, report):
        from threadpoolctl import threadpool_info

        PROBED.append(([p["num_threads"] for p in threadpool_info()], torch.get_num_threads()))
        report(bb.uniform(1)[0])


PROBED: list = []


def test_one_blas_thread_per_cell():
    """Inside a method run by execute() with cell.threads = 1, every BLAS/OpenMP pool threadpoolctl
    sees has one thread (SciPy's optimisers and NumPy included); with threads = 2, two."""
    import os

    PROBED.clear()
    execute(_cell("_test-thread-probe", {}, "sphere", 3, Budget(None, 10), threads=1))
    pools, torch_threads = PROBED[-1]
    assert pools and all(n == 1 for n in pools) and torch_threads == 1
    if (os.cpu_count() or 1) >= 2:
        execute(_cell("_test-thread-probe", {}, "sphere", 3, Budget(None, 10), threads=2))
        pools, torch_threads = PROBED[-1]
        assert all(n == 2 for n in pools) and torch_threads == 2


# ---- problems --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_methods_run_on_d100_functions_and_an_lj_cluster(name):
    """A D = 100 function (float32, as the paper suites run) and LJ13 under evaluation budgets."""
    for problem, dtype, evals in [(make_problem("alpine1", dim=100, bounds=(-100, 100)), torch.float32, 4000),
                                  (make_problem("lj13"), torch.float64, 1500)]:
        run = Logged(problem, Budget(None, evals), dtype=dtype).run(make_method(name))
        assert run.stop is not None and run.stop.reason == "evals" and run.bb.n_cost <= evals
        assert run.inbox.candidates and math.isfinite(run.best_reported)
        assert run.best_reported == pytest.approx(run.best_evaluated, rel=1e-6)
        s = run.summary()
        assert s["final_oob"] == 0  # every candidate inside the bounds


def test_same_seed_same_result_other_seed_other_result():
    """Under an evaluation budget a seed gives the same run, reports included (the Evaluator spaces its
    charged reports by evaluations, never by the clock), whatever the machine's speed."""
    problem = make_problem("rastrigin", dim=5)
    for name in NAMES:
        a, b, c = (Logged(problem, Budget(None, 1500), seed=s).run(make_method(name)) for s in (0, 0, 1))
        ea, eb, ec = ([e for _, e in r.log] for r in (a, b, c))
        assert ea == eb and len(ea) > 0
        assert a.summary()["final_energy"] == b.summary()["final_energy"]
        assert ea != ec


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_lj13_under_evaluation_and_time_budgets(name):
    """LJ13 (f* = -44.326801): multistart L-BFGS finds the Mackay icosahedron within 30 000 evaluations;
    every method keeps its best under both budgets."""
    problem = make_problem("lj13")
    run = Logged(problem, Budget(None, 30_000)).run(make_method(name))
    assert run.best_reported == pytest.approx(run.best_evaluated, rel=1e-9)
    if name == "multistart-lbfgs":
        assert run.summary()["final_gap"] < 1e-3
    run = Logged(problem, Budget(3.0, None)).run(make_method(name))
    assert run.stop.reason == "time" and run.inbox.candidates
    end = run.log[-1][0]
    assert run.best_reported <= min(e for t, e in run.log if t <= end - 0.05) + 1e-9
