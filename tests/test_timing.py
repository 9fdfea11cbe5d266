"""Honest timing: first candidates right after the first batch, and cells that record their CPU share."""

from __future__ import annotations

import pytest
import torch

from gmbench.core.blackbox import BlackBox, Budget, BudgetExhausted
from gmbench.run.recorder import Inbox
from gmbench.methods import make_method
from gmbench.problems import make_problem

pytestmark = pytest.mark.usefixtures("one_thread")


def _run(name, params, budget, dim=20):
    problem = make_problem("schaffer-f7-paper", dim=dim, bounds=(-100, 100))
    bb = BlackBox.from_problem(problem, budget, 0, torch.float32)
    inbox = Inbox(bb)
    try:
        make_method(name, params).run(bb, inbox)
    except BudgetExhausted:
        pass
    return bb, inbox


@pytest.mark.parametrize("name,params,first_batch", [
    ("action-functional", {"units": [16, 16]}, 1000),  # the normalisation samples
    ("sample-only", {"units": [16, 16]}, 1000),
    ("random-search", {"batch_size": 500}, 500),
    ("quadratic-surrogate", {"batch_size": 700}, 700),
])
def test_first_candidate_right_after_the_first_batch(name, params, first_batch):
    bb, inbox = _run(name, params, Budget(None, 5000))
    assert inbox.candidates, "no candidate reported"
    assert inbox.candidates[0].n_energy == first_batch + 1  # the batch, then the report's own evaluation


@pytest.mark.parametrize("name,params", [
    ("action-functional", {"units": [16, 16]}),
    ("sample-only", {"units": [16, 16]}),
    ("random-search", {}),
    ("quadratic-surrogate", {}),
])
def test_an_evaluation_budget_below_the_first_batch_still_reports(name, params):
    bb, inbox = _run(name, params, Budget(None, 300))
    assert len(inbox.candidates) >= 1 and inbox.candidates[0].n_energy <= 300


# ---- cells record their CPU time, load and threads; the report marks contended ones --------------------------

import json
import sqlite3
from dataclasses import dataclass

from typer.testing import CliRunner

from gmbench.cli.app import app
from gmbench.config.suite import load_suite
from gmbench.run.cell import DEFAULT_THREADS, Cell, expand, make_cell
from gmbench.methods.base import Method, register_method
from gmbench.report.contention import CONTENDED_BELOW, CONTENDED_MIN_WALL_S, contended
from gmbench.run.execute import execute

SUITE = """name: timing
device: cpu
dtype: float32
seeds: 1
budget: {time_s: 0.3}
problems:
  - {name: sphere, dim: 3}
methods:
  - {name: random-search, params: {batch_size: 100}}
  - {name: quadratic-surrogate, params: {batch_size: 100}}
"""


@register_method("_test-threads")
@dataclass
class ThreadsSeen(Method):
    """Reports the torch thread count it runs with as a trace scalar."""

    def run(self, bb, report):
        report(bb.uniform(1)[0], threads=torch.get_num_threads())


def _cell(method: str, threads: int = DEFAULT_THREADS, budget: Budget = Budget(0.5, None)) -> Cell:
    return make_cell("sphere", method, budget, dim=3, threads=threads)


def test_a_cell_records_cpu_time_load_and_threads():
    row = execute(_cell("random-search")).row
    assert row["threads"] == 1 and row["cpu_s"] > 0
    assert 0 < row["cpu_util"] == pytest.approx(row["cpu_s"] / row["wall_s"])
    assert row["cpu_util"] < 1.5  # one thread cannot use much more than its wall time
    assert row["load_start"] is not None and row["load_end"] is not None  # Linux has getloadavg


def test_threads_are_set_in_the_cell_and_restored():
    before = torch.get_num_threads()
    res = execute(_cell("_test-threads", threads=2))
    assert res.row["threads"] == 2
    assert json.loads(res.trace[0][8])["threads"] == 2.0  # what the method saw
    assert torch.get_num_threads() == before


def test_threads_enter_the_key_only_when_not_the_default(tmp_path):
    path = tmp_path / "timing.yaml"
    path.write_text(SUITE)
    suite = load_suite(str(path))
    default, one, two = (expand(suite, "cpu", threads=t) for t in (None, 1, 2))
    assert [c.key for c in default] == [c.key for c in one]
    assert all(a.key != b.key for a, b in zip(default, two))
    # the default key is the one computed before threads existed (the same payload, no threads entry)
    import hashlib

    from gmbench import __version__

    c = default[0]
    payload = {"problem": c.problem_config, "method": {"name": c.method_config["name"], "params": c.method_config["params"]},
               "seed": c.seed, "budget": c.budget.as_dict(), "dtype": c.dtype, "device": "cpu", "version": __version__}
    assert c.key == hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]
    with pytest.raises(Exception, match="threads must be a positive integer"):
        expand(suite, "cpu", threads=0)


def test_contended_rule():
    timed = json.dumps({"time_s": 5.0, "evals": None})
    assert contended({"cpu_util": CONTENDED_BELOW - 0.3, "wall_s": 5.0, "budget": timed}) is True
    assert contended({"cpu_util": 0.95, "wall_s": 5.0, "budget": timed}) is False
    assert contended({"cpu_util": 0.1, "wall_s": CONTENDED_MIN_WALL_S / 5, "budget": timed}) is False  # too short
    assert contended({"cpu_util": None, "wall_s": 5.0, "budget": timed}) is None  # not recorded (older store, GPU)
    assert contended({"cpu_util": float("nan"), "wall_s": 5.0, "budget": timed}) is None
    # time and evaluations together: the clock can still end the cell, so it counts
    assert contended({"cpu_util": 0.1, "wall_s": 5.0, "budget": {"time_s": 5.0, "evals": 1000}}) is True
    # an evaluation budget does the same work however slowly: never contended, whatever its CPU share
    evals = json.dumps({"time_s": None, "evals": 100000})
    assert contended({"cpu_util": 0.1, "wall_s": 5.0, "budget": evals}) is False
    assert contended({"cpu_util": 0.1, "wall_s": 5.0, "budget": {"evals": 100000, "grad_cost": "dim"}}) is False
    # a row without a readable budget is read cautiously, as time-budgeted
    assert contended({"cpu_util": 0.1, "wall_s": 5.0}) is True


def test_one_contention_rule():
    """The tables and the HTML pages use the report's rule; the run module no longer has its own."""
    import gmbench.report.contention as rule
    import gmbench.report.html as html
    import gmbench.report.tables as tables
    import gmbench.run.execute as ex

    assert tables.contended is rule.contended
    assert not hasattr(ex, "contended") and not hasattr(ex, "CONTENDED_BELOW")
    import inspect

    src = inspect.getsource(html._contention)
    assert "gmbench.report.contention import" in src and "< 0.8" not in src


def _run_suite(tmp_path, *extra):
    path = tmp_path / "timing.yaml"
    path.write_text(SUITE)
    store = tmp_path / "s.sqlite"
    res = CliRunner().invoke(app, ["run", "--suite", str(path), "--store", str(store), "--quiet", *extra],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return store, res


def test_report_marks_contended_cells(tmp_path):
    store, _ = _run_suite(tmp_path)
    db = sqlite3.connect(store)
    db.execute("UPDATE cells SET cpu_util = 0.3, wall_s = 2.0 WHERE method = 'random-search'")
    db.execute("UPDATE cells SET cpu_util = 0.97 WHERE method = 'quadratic-surrogate'")
    db.commit()
    db.close()
    runner = CliRunner()
    for fmt in ("table", "markdown", "latex"):
        out = runner.invoke(app, ["report", "--store", str(store), "--format", fmt], catch_exceptions=False).output
        assert "random-search †" in out and "quadratic-surrogate †" not in out, fmt
        assert "† contended" in out, fmt
    csv = runner.invoke(app, ["report", "--store", str(store), "--format", "csv"], catch_exceptions=False).stdout
    import csv as csvmod
    import io

    methods = ("random-search", "quadratic-surrogate")  # (the harness's reference rows have no cells)
    by_method = {r["method"]: float(r["contended"]) for r in csvmod.DictReader(io.StringIO(csv)) if r["method"] in methods}
    assert by_method == {"random-search": 1, "quadratic-surrogate": 0}
    recs = json.loads(runner.invoke(app, ["report", "--store", str(store), "--format", "json"],
                                    catch_exceptions=False).stdout)
    assert {r["method"]: r["contended"] for r in recs if r["method"] in methods} == {"random-search": 1,
                                                                                     "quadratic-surrogate": 0}


def test_an_evaluation_budgeted_cell_shows_its_cpu_share_without_the_mark(tmp_path):
    """Both cells ran at 30 % of their CPU for 2 s; only the time-budgeted one is marked."""
    path = tmp_path / "timing.yaml"
    path.write_text(SUITE.replace("budget: {time_s: 0.3}", "budget: {evals: 300}"))
    store = tmp_path / "s.sqlite"
    res = CliRunner().invoke(app, ["run", "--suite", str(path), "--store", str(store), "--quiet"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    db = sqlite3.connect(store)
    db.execute("UPDATE cells SET cpu_util = 0.3, wall_s = 2.0")
    db.execute("UPDATE cells SET budget = ? WHERE method = 'random-search'",
               (json.dumps({"time_s": 2.0, "evals": None}),))
    db.commit()
    assert {m: json.loads(b) for m, b in db.execute("SELECT method, budget FROM cells")}["quadratic-surrogate"] == {
        "time_s": None, "evals": 300}
    db.close()
    runner = CliRunner()
    for fmt in ("table", "markdown", "latex"):
        out = runner.invoke(app, ["report", "--store", str(store), "--format", fmt], catch_exceptions=False).output
        assert "random-search †" in out and "quadratic-surrogate †" not in out, fmt
        assert "† contended" in out, fmt
    recs = json.loads(runner.invoke(app, ["report", "--store", str(store), "--format", "json"],
                                    catch_exceptions=False).stdout)
    methods = ("random-search", "quadratic-surrogate")
    assert {r["method"]: r["contended"] for r in recs if r["method"] in methods} == {"random-search": 1,
                                                                                     "quadratic-surrogate": 0}
    # the HTML page applies the same rule: 1 of the 1 random-search cells, 0 of the 1 surrogate cells
    from gmbench.report.html import _contention
    from gmbench.store.sqlite import Store

    st = Store(str(store), create=False)
    try:
        cells = st.cells_frame("timing")
    finally:
        st.close()
    page = _contention(cells)
    assert "<td>random-search</td><td>1/1</td><td>0.30</td>" in page
    assert "<td>quadratic-surrogate</td><td>0/1</td><td>0.30</td>" in page, "the CPU share is still shown"


def test_old_stores_gain_the_columns_and_show_no_marker(tmp_path):
    store, _ = _run_suite(tmp_path)
    db = sqlite3.connect(store)
    for col in ("cpu_s", "cpu_util", "threads", "load_start", "load_end"):  # a store written before they existed
        db.execute(f"ALTER TABLE cells DROP COLUMN {col}")
    db.commit()
    db.close()
    out = CliRunner().invoke(app, ["report", "--store", str(store)], catch_exceptions=False).output
    assert "random-search" in out and "†" not in out
    _run_suite(tmp_path, "--seeds", "1-1")  # a writable open adds them back; old rows read NULL
    db = sqlite3.connect(store)
    rows = db.execute("SELECT seed, cpu_util, threads FROM cells ORDER BY seed").fetchall()
    assert [r[0] for r in rows] == [0, 0, 1, 1]
    assert all(r[1] is None and r[2] is None for r in rows if r[0] == 0)
    assert all(r[1] is not None and r[2] == 1 for r in rows if r[0] == 1)


def test_run_records_threads_and_warns_on_a_loaded_machine(tmp_path, monkeypatch):
    import os

    monkeypatch.setattr(os, "getloadavg", lambda: (1000.0, 1000.0, 1000.0))
    store, res = _run_suite(tmp_path, "--threads", "2")
    assert "warning: load average 1000.0 exceeds" in res.stderr
    assert sum("warning: load average" in line for line in res.stderr.splitlines()) == 1
    db = sqlite3.connect(store)
    assert {r[0] for r in db.execute("SELECT threads FROM cells")} == {2}
    assert {round(r[0]) for r in db.execute("SELECT load_start FROM cells")} == {1000}
