"""Local optimisers and basin hopping on atomistic problems; presets; per-structure results; the
atomistic report layouts; MD start pools built before the method clock."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch

from gmbench.core.blackbox import BlackBox, Budget, BudgetExhausted
from gmbench.core.errors import GmbenchError
from gmbench.methods import METHODS, make_method
from gmbench.problems import make_problem
from gmbench.physics import md
from gmbench.optim.relax import fire_relax, stridernet_fire
from gmbench.run.recorder import Inbox, Recorder
from gmbench.run.execute import execute
from gmbench.run.cell import make_cell

pytestmark = pytest.mark.usefixtures("one_thread")


def _bb(problem, budget=Budget(None, None), seed=0):
    return BlackBox.from_problem(problem, budget, seed)


def _run(problem, method, budget=Budget(None, None), seed=0):
    bb = _bb(problem, budget, seed)
    inbox = Inbox(bb)
    try:
        method.run(bb, inbox)
    except BudgetExhausted:
        pass
    rec = Recorder(problem, method.summaries)
    rec.assess(inbox.candidates)
    return rec, bb


def _lattice_frames(path, n_frames=4, n=27, seed=0):
    """Jittered simple-cubic KA configurations of k^3 atoms at density 1.2 (no MD needed)."""
    L = (n / 1.2) ** (1 / 3)
    k = round(n ** (1 / 3))
    grid = np.stack(np.meshgrid(*[np.arange(k)] * 3, indexing="ij"), -1).reshape(-1, 3) * (L / k)
    rng = np.random.default_rng(seed)
    frames = grid[None] + 0.05 * rng.standard_normal((n_frames, n, 3))
    np.save(path, frames)
    return path


def test_stridernet_preset_resolves_per_system():
    fire = make_method("fire", {"preset": "stridernet"}, system="ka-lj")
    assert (fire.variant, fire.dt_start, fire.dt_max, fire.max_steps, fire.n_points) == ("jax-md", 0.01, 0.04, 1000, 10)
    assert fire.preset == "stridernet-lj" and fire.report_starts and fire.max_rounds == 1
    assert make_method("fire", {"preset": "stridernet"}, system="csh").dt_start == 5e-3
    assert make_method("gd", {"preset": "stridernet"}, system="sw-silicon").lr == 1e-3
    adam = make_method("adam", {"preset": "stridernet", "max_steps": 10}, system="csh")
    assert (adam.lr, adam.max_steps) == (1.0, 10)  # explicit keys win over the preset
    with pytest.raises(GmbenchError, match="not for"):
        make_method("gd", {"preset": "stridernet"}, system=None)
    with pytest.raises(GmbenchError, match="preset"):
        make_method("gd", {"preset": "stridernet-xx"})
    with pytest.raises(GmbenchError):
        make_method("fire", {"variant": "lammps"})


def test_jaxmd_fire_method_equals_the_reference_relaxer(tmp_path):
    """The harness's FIRE (jax-md order) gives, per structure, the energies of atoms/relax.py's
    fire_relax (the relaxer that reproduces StriderNET's FIRE baseline) on the same frames."""
    path = _lattice_frames(tmp_path / "f.npy")
    problem = make_problem("ka-lj", n=27, starts=str(path))
    method = make_method("fire", {"preset": "stridernet", "max_steps": 150, "n_points": 4}, system="ka-lj")
    rec, bb = _run(problem, method)
    s = rec.summary()
    assert s["n_starts"] == 4
    frames = problem.start_sampler().frames  # the wrapped frames the method starts from
    L = problem.config()["box"]
    _, _, _, best_e = fire_relax(problem.energy_fn(), frames, 150, stridernet_fire(0.01),
                                 shift=lambda r, dr: torch.remainder(r + dr, L), track_best=True)
    assert float(best_e.max()) < float(problem.energy_fn()(frames).min())  # it did relax
    assert sorted(s["starts_energies"]) == pytest.approx(sorted(best_e.tolist()), abs=1e-6)
    assert s["starts_min_energy"] == pytest.approx(float(best_e.min()), abs=1e-6)
    assert s["starts_mean_energy"] == pytest.approx(float(best_e.mean()), abs=1e-6)
    assert bb.n_grad == 4 * 151  # one round: 150 steps + the start, per structure


def test_periodic_gd_wraps_and_adam_matches_torch(tmp_path):
    path = _lattice_frames(tmp_path / "f.npy", n_frames=3)
    problem = make_problem("ka-lj", n=27, starts=str(path))
    rec, _ = _run(problem, make_method("gd", {"lr": 5e-3, "max_steps": 50, "n_points": 3, "max_rounds": 1}))
    assert rec.summary()["final_oob"] == 0.0
    assert float(rec.best_x.min()) >= 0 and float(rec.best_x.max()) < problem.config()["box"]  # wrapped
    # Adam with one learning rate = torch.optim.Adam on the same batch
    x0 = torch.from_numpy(np.load(path)).reshape(3, -1)
    f = problem.energy_fn()
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.01)
    for _ in range(20):
        opt.zero_grad()
        f(x).sum().backward()
        opt.step()
    ref = f(x.detach())
    method = make_method("adam", {"lr": 0.01, "max_steps": 20, "n_points": 3, "max_rounds": 1, "report_starts": True,
                                  "report_every": 1000, "clamp": False, "gtol": 0.0})
    bb = _bb(problem)
    seen = []
    method.run(bb, lambda x, **kw: seen.append((kw["start"], x.clone())))
    last = {}
    for k, xx in seen:
        last[k] = xx
    # the reported point per start is its lowest-energy iterate; here energies decrease monotonically
    # at this step size, so it is the last one
    got = torch.stack([last[k] for k in sorted(last)])
    assert sorted(f(got).tolist()) == pytest.approx(sorted(ref.tolist()), abs=1e-9)


def test_basin_hopping_finds_lj13_and_reports_success():
    problem = make_problem("lj13")
    method = make_method("basin-hopping", {"n_walkers": 8, "max_hops": 30})
    rec, bb = _run(problem, method, seed=0)
    s = rec.summary()
    assert s["final_gap"] < 1e-4 and s["success"] is True
    assert s["final_dist"] < 1e-3
    assert s["hit_t"] is not None and s["hit_evals"] <= bb.n_energy
    # the quench converges: the reported minimum has a small gradient
    x = rec.best_x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(problem.energy_fn()(x), x)
    assert float(g.abs().max()) < 1e-3


def test_basin_hopping_quench_reaches_local_minima():
    problem = make_problem("lj38")
    bb = _bb(problem)
    bh = make_method("basin-hopping", {})
    x0 = bb.starts(6)
    x, e = bh.quench(bb, x0, 0.36)
    xr = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(problem.energy_fn()(xr).sum(), xr)
    assert float(g.abs().max()) < 1e-3
    assert bool((e < problem.energy_fn()(x0)).all()) and bool((e > -173.93).all())
    assert e == pytest.approx(problem.energy_fn()(x), abs=1e-12)


def test_md_pool_is_built_before_the_method_clock(monkeypatch):
    """Generating MD starting structures must not be charged to the method: the runner calls
    problem.prepare() before the clock starts."""
    calls = []

    def slow_frames(protocol, seed, n_frames, generate, cache=True):
        calls.append((protocol["system"], seed, n_frames))
        time.sleep(1.5)
        g = torch.Generator().manual_seed(seed)
        n_atoms = protocol["n"]
        L = (n_atoms / 1.2) ** (1 / 3)
        return torch.rand((n_frames, n_atoms, 3), generator=g, dtype=torch.float64) * L

    monkeypatch.setattr(md, "cached_frames", slow_frames)
    cell = make_cell("ka-lj", "random-search", Budget(1.0, None), problem_params={"n": 20, "pool": 5, "md_seed": 3},
                     method_params={"batch_size": 10})
    res = execute(cell)
    assert calls == [("ka-lj", 3, 5)]
    assert res.row["status"] == "done" and res.row["wall_s"] < 1.5 + 0.5
    assert res.row["n_energy"] > 0


def test_frame_lists_select_exactly_those_frames(tmp_path):
    path = _lattice_frames(tmp_path / "f.npy", n_frames=6)
    problem = make_problem("ka-lj", n=27, starts=str(path), frames=[4, 1])
    assert problem.config()["starts"]["frames"] == [4, 1]
    got = problem.start_sampler()(2, torch.Generator().manual_seed(0))
    frames = torch.from_numpy(np.load(path)).reshape(6, -1)
    wrapped = problem.lower[0] + torch.remainder(frames - problem.lower[0], problem.upper[0])
    assert {int(torch.argmin(((wrapped - r) ** 2).sum(-1))) for r in got} == {1, 4}
    for bad in ([], [1, 1], [99], "x:y"):
        with pytest.raises(GmbenchError):
            make_problem("ka-lj", n=27, starts=str(path), frames=bad)


def test_structure_and_atom_energies_are_answer_free_and_sum_to_the_energy():
    problem = make_problem("lj13")
    s = problem.structure()
    assert (s.n_atoms, s.box, s.system) == (13, None, "lj-cluster")
    fn = problem.atom_energy_fn()
    if fn is None:
        pytest.skip("per-atom energies not implemented for this potential")
    x = problem.start_sampler()(3, torch.Generator().manual_seed(0))
    assert fn(x).sum(-1) == pytest.approx(problem.energy_fn()(x), abs=1e-10)
    assert not math.isnan(float(fn(x).sum()))


def test_atomistic_report_layouts(tmp_path):
    """A cluster with a reference gets the gap/RMSD/success table; a periodic system gets Min and Mean
    over its starting structures, and no distance column."""
    from typer.testing import CliRunner

    from gmbench.cli.app import app

    frames = _lattice_frames(tmp_path / "f.npy", n_frames=3)
    suite = tmp_path / "atoms.yaml"
    suite.write_text(f"""
name: atoms-tiny
device: cpu
dtype: float64
seeds: 1
budget: {{time_s: 60}}
problems:
  - {{name: lj13}}
  - {{name: ka-lj, params: {{n: 27, starts: {frames}}}}}
methods:
  - {{name: basin-hopping, params: {{n_walkers: 8, max_hops: 30}}}}
  - {{name: gd, params: {{n_points: 3, lr: 0.002, max_steps: 100, max_rounds: 1}}}}
""")
    store = tmp_path / "s.sqlite"
    runner = CliRunner()
    res = runner.invoke(app, ["run", "--suite", str(suite), "--store", str(store)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["report", "--store", str(store)], catch_exceptions=False)
    assert res.exit_code == 0
    text = res.output
    assert "Gap E - E_ref" in text and "RMSD to reference" in text and "E_ref = -44.326801" in text
    assert "StriderNET Table 1" in text and "distance not available" in text
    table1 = text[text.index("StriderNET Table 1"):]
    assert "Min" in table1 and "Mean" in table1 and "3 x 1/1" in table1  # gd: 3 structures x 1 seed
    res = runner.invoke(app, ["report", "--store", str(store), "--format", "json"], catch_exceptions=False)
    recs = {(r["problem"].split(" ")[0], r["method"]): r for r in __import__("json").loads(res.output)}
    gd = recs[("ka-lj", "gd")]
    assert gd["n_starts"]["median"] == 3
    assert gd["starts_min_energy"]["median"] <= gd["starts_mean_energy"]["median"]
    bh = recs[("lj13", "basin-hopping")]
    assert bh["successes"] == [1, 1] and bh["final_gap"]["median"] < 1e-4


def test_table1_shows_training_cost_apart_from_the_run(tmp_path):
    """A method that declares a training cost (train_wall_s / train_evals scalars, as StriderNET does)
    gets a training row next to the cell's own run time and evaluations."""
    from gmbench.run.recorder import Candidate
    from gmbench.report.tables import render

    problem = make_problem("ka-lj", n=27, starts=str(_lattice_frames(tmp_path / "f.npy", n_frames=2)))
    x = problem.start_sampler()(2, torch.Generator().manual_seed(0))
    rec = Recorder(problem, METHODS.get("stridernet").summaries)
    rec.assess([Candidate(0.1, 1, 0, 1, x[k], {"start": k, "train_wall_s": 12.5, "train_evals": 900}) for k in range(2)])
    s = rec.summary()
    assert (s["train_wall_s"], s["train_evals"], s["n_starts"]) == (12.5, 900, 2)
    st = lambda v: {"median": v, "min": v, "max": v, "n": 1}  # noqa: E731
    r = {"suite": "t", "layout": "energy", "problem": "ka-lj", "method": "m", "seeds_done": 1, "seeds_total": 1, "failed": 0,
         "unavailable": None, "errors": [], "nearest_exact": True, "overrun_max_s": 0.0, "config": problem.config(),
         "successes": None, "wall_s": st(3.0), "n_cost": st(40), "final_energy": st(s["final_energy"]),
         **{c: None for c in ("min_dist", "final_dist", "avg_err_per_dim", "final_dist_nearest", "final_gap",
                              "hit_t", "hit_evals")},
         "starts_min_energy": st(s["starts_min_energy"]), "starts_mean_energy": st(s["starts_mean_energy"]),
         "n_starts": st(2), "train_wall_s": st(12.5), "train_evals": st(900)}
    text = render([r], "table")
    assert "training s / evals" in text and "12.5 / 900" in text and "3.0 / 40" in text
