"""The command line end to end: smoke suite, reports, list, bad input, kill-and-resume, concurrency."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gmbench.cli.app import app

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def gmbench_proc(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gmbench", *args], cwd=kw.pop("cwd", None),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def write_suite(path: Path, n_seeds: int = 6, time_s: float = 0.3) -> Path:
    path.write_text(
        f"""
name: tiny
device: cpu
seeds: {n_seeds}
budget: {{time_s: {time_s}}}
problems:
  - {{name: sphere, dim: 3}}
methods:
  - name: random-search
    params: {{batch_size: 64}}
  - name: gd
    params: {{n_points: 4, max_steps: 50}}
"""
    )
    return path


def cell_rows(store: Path) -> list[tuple]:
    db = sqlite3.connect(store)
    try:
        return db.execute("SELECT key, status, run_id, n_candidates FROM cells").fetchall()
    finally:
        db.close()


@pytest.fixture(scope="module")
def smoke_store(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("smoke") / "s.sqlite"
    res = cli("run", "--suite", "smoke", "--store", str(store), "--quiet")
    assert res.exit_code == 0, res.output
    return store


def test_smoke_suite_end_to_end(smoke_store):
    rows = cell_rows(smoke_store)
    assert len(rows) == 2 * 4 * 2 and all(r[1] == "done" for r in rows)
    res = cli("report", "--store", str(smoke_store))
    assert res.exit_code == 0
    for col in ("Method", "Dist to x*", "Dist to nearest", "Energy", "Evals", "Grads", "Seeds", "random-search", "gd",
                "fire", "adam-sweep", "sphere (D=5)"):
        assert col in res.output, col
    assert max(len(line) for line in res.output.splitlines()) <= 120  # a terminal's width (issue 22)
    assert "Avg Error Per Dim │" not in res.output
    res = cli("report", "--store", str(smoke_store), "--wide")
    for col in ("Min Dist From Global Min", "Min Dist From Global Min For Min Energy", "Avg Error Per Dim", "Wall s",
                "Grad evals"):
        assert f"{col} " in res.output, col


@pytest.mark.parametrize("fmt", ["markdown", "latex", "csv", "json"])
def test_report_formats(smoke_store, fmt):
    res = cli("report", "--store", str(smoke_store), "--suite", "smoke", "--format", fmt)
    assert res.exit_code == 0, res.output
    if fmt == "json":
        recs = json.loads(res.output)
        refs = [r for r in recs if r.get("reference")]  # the harness's (box centre) and (uniform point) rows
        assert {r["method"] for r in refs} == {"(box centre)", "(uniform point)"}
        recs = [r for r in recs if not r.get("reference")]
        assert {r["method"] for r in recs} == {"random-search", "gd", "fire", "adam-sweep"}
        assert all(r["seeds_done"] == 2 for r in recs)
        assert all(r["final_dist"]["median"] >= 0 for r in recs)
    elif fmt == "csv":
        assert res.output.splitlines()[0].startswith("suite,problem,method")
    elif fmt == "markdown":
        assert "| Method" in res.output
    else:
        assert "\\toprule" in res.output


def test_show_prints_the_trace(smoke_store):
    key = cell_rows(smoke_store)[0][0]
    res = cli("show", key[:10], "--store", str(smoke_store))
    assert res.exit_code == 0 and "trace (" in res.output and key in res.output
    res = cli("show", key, "--store", str(smoke_store), "--format", "json")
    data = json.loads(res.output)
    assert data["cell"]["key"] == key and len(data["trace"]) == data["cell"]["n_candidates"]


def test_rerun_skips_stored_cells(smoke_store):
    before = cell_rows(smoke_store)
    res = cli("run", "--suite", "smoke", "--store", str(smoke_store), "--quiet")
    assert res.exit_code == 0
    assert sorted(cell_rows(smoke_store)) == sorted(before)


def test_list_shows_31_problems_and_the_methods():
    res = cli("list")
    assert res.exit_code == 0
    assert "Functions (31)" in res.output
    assert "Atomistic problems" in res.output and "ka-lj" in res.output
    for name in ("alpine1", "schaffer-f7-paper", "perm", "random-search", "gd", "fire", "adam-sweep"):
        assert name in res.output
    assert "stridernet" in res.output and "basin-hopping" in res.output and "adam" in res.output
    for name in ("action-functional", "sample-only"):
        assert name in res.output


BAD_SUITES = {
    "unknown problem": ("problems:\n  - {name: alpin1, dim: 5}\nmethods: [gd]\nbudget: {time_s: 1}\n", "did you mean 'alpine1'"),
    "unknown method": ("problems:\n  - {name: alpine1, dim: 5}\nmethods: [fyre]\nbudget: {time_s: 1}\n", "did you mean 'fire'"),
    "malformed yaml": ("problems:\n  - {name: alpine1, dim: 5\nmethods: [gd]\n", "malformed YAML: line"),
    "unknown key": ("problems:\n  - {name: alpine1, dim: 5}\nmethods: [gd]\nbudget: {time_s: 1}\nseed: 3\n", "unknown key 'seed'"),
    "impossible dim": ("problems:\n  - {name: rosenbrock, dim: 1}\nmethods: [gd]\nbudget: {time_s: 1}\n", "impossible dimension 1"),
    "zero dim": ("problems:\n  - {name: sphere, dim: 0}\nmethods: [gd]\nbudget: {time_s: 1}\n", "impossible dimension 0"),
    "impossible bounds": ("problems:\n  - {name: sphere, dim: 2, bounds: [5, -5]}\nmethods: [gd]\nbudget: {time_s: 1}\n", "impossible bounds"),
    "x* outside bounds": ("problems:\n  - {name: rosenbrock, dim: 2, bounds: [2, 5]}\nmethods: [gd]\nbudget: {time_s: 1}\n", "do not contain the global minimizer"),
    "bad param": ("problems:\n  - {name: sphere, dim: 2}\nmethods:\n  - {name: gd, params: {lr: fast}}\nbudget: {time_s: 1}\n", "expected a number"),
    "bad budget": ("problems:\n  - {name: sphere, dim: 2}\nmethods: [gd]\nbudget: {time_s: -1}\n", "positive number"),
}


@pytest.mark.parametrize("case", sorted(BAD_SUITES))
def test_bad_suites_exit_2_with_one_line(case, tmp_path, smoke_store):
    text, message = BAD_SUITES[case]
    suite = tmp_path / "bad.yaml"
    suite.write_text(text)
    before = smoke_store.read_bytes()
    n_before = len(cell_rows(smoke_store))
    res = cli("run", "--suite", str(suite), "--store", str(smoke_store))
    assert res.exit_code == 2
    assert message in res.output, res.output
    assert res.output.strip().startswith("error:") and len(res.output.strip().splitlines()) <= 2
    assert len(cell_rows(smoke_store)) == n_before
    assert smoke_store.read_bytes() == before or len(cell_rows(smoke_store)) == n_before


def test_line_numbers_point_at_the_problem(tmp_path):
    suite = tmp_path / "bad.yaml"
    suite.write_text("budget: {time_s: 1}\nmethods: [gd]\nproblems:\n  - name: sphere\n    dim: 2\n  - name: alpine\n    dim: 3\n")
    res = cli("run", "--suite", str(suite), "--store", str(tmp_path / "s.sqlite"))
    assert res.exit_code == 2 and "line 6" in res.output
    assert not (tmp_path / "s.sqlite").exists()  # nothing half-written


@pytest.mark.parametrize("args,message", [
    (["run", "--suite", "quik"], "did you mean 'quick'"),
    (["run", "--suite", "smoke", "--device", "tpu"], "unknown device"),
    (["run", "--suite", "smoke", "--budget", "soon"], "bad --budget"),
    (["run", "--suite", "smoke", "--seeds", "a,b"], "bad --seeds"),
    (["run", "--suite", "smoke", "--method", "gdd"], "did you mean 'gd'"),
    (["report", "--store", "/nonexistent/dir/s.sqlite"], "no results store"),
    (["report", "--format", "xml"], "unknown report format"),
    (["show", "zzzz", "--store", "/nonexistent/s.sqlite"], "no results store"),
    (["list", "stuff"], "unknown list"),
])
def test_bad_arguments_exit_2(args, message):
    res = cli(*args)
    assert res.exit_code == 2 and message in res.output, res.output


def test_unwritable_or_corrupt_store_exits_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = cli("run", "--suite", "smoke", "--store", str(blocker / "s.sqlite"))
    assert res.exit_code == 2 and "cannot create results store" in res.output
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    before = junk.read_bytes()
    res = cli("run", "--suite", "smoke", "--store", str(junk))
    assert res.exit_code == 2 and "not a gmbench results store" in res.output
    assert junk.read_bytes() == before


def _wait_for_done(store: Path, n: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if store.exists():
            try:
                if sum(1 for r in cell_rows(store) if r[1] == "done") >= n:
                    return
            except sqlite3.OperationalError:
                pass
        if proc.poll() is not None:
            raise AssertionError("run finished before it could be killed: " + proc.stderr.read())
        time.sleep(0.05)
    raise AssertionError("timed out waiting for cells")


def test_kill_and_resume_keeps_every_cell_exactly_once(tmp_path):
    suite = write_suite(tmp_path / "tiny.yaml", n_seeds=6, time_s=0.4)
    store = tmp_path / "s.sqlite"
    proc = gmbench_proc("run", "--suite", str(suite), "--store", str(store), "--quiet")
    _wait_for_done(store, 3, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    survived = {r[0]: r for r in cell_rows(store)}
    assert 3 <= len(survived) < 12
    res = subprocess.run([sys.executable, "-m", "gmbench", "run", "--suite", str(suite), "--store", str(store), "--quiet"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    rows = cell_rows(store)
    assert len(rows) == 12 and len({r[0] for r in rows}) == 12 and all(r[1] == "done" for r in rows)
    for key, r in survived.items():  # finished cells were neither lost nor redone
        assert next(x for x in rows if x[0] == key) == r
    db = sqlite3.connect(store)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for key, _, _, n_cand in rows:  # each trace stored once, complete
        assert db.execute("SELECT COUNT(*) FROM traces WHERE key=?", (key,)).fetchone()[0] == n_cand
    db.close()


def test_two_processes_share_a_store(tmp_path):
    suite = write_suite(tmp_path / "tiny.yaml", n_seeds=5, time_s=0.3)
    store = tmp_path / "s.sqlite"
    procs = [gmbench_proc("run", "--suite", str(suite), "--store", str(store), "--quiet") for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    rows = cell_rows(store)
    assert len(rows) == 10 and len({r[0] for r in rows}) == 10 and all(r[1] == "done" for r in rows)
    assert len({r[2] for r in rows}) == 2  # both processes did work
    db = sqlite3.connect(store)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_csv_and_json_reports_carry_instance_and_rotate(tmp_path):
    suite = tmp_path / "inst.yaml"
    suite.write_text("name: inst\nseeds: 1\nbudget: {evals: 300}\nproblems:\n"
                     "  - {name: sphere, dim: 3, instances: [0, 2]}\n  - {name: sphere, dim: 3, instances: [1], rotate: true}\n"
                     "methods:\n  - {name: random-search, params: {batch_size: 50}}\n", encoding="utf-8")
    store = tmp_path / "s.sqlite"
    assert cli("run", "--suite", str(suite), "--store", str(store), "--quiet").exit_code == 0
    import csv
    import io

    rows = [r for r in csv.DictReader(io.StringIO(cli("report", "--store", str(store), "--format", "csv").output))
            if r["method"] == "random-search"]
    assert sorted((r["instance"], r["rotate"]) for r in rows) == [("0", "False"), ("1", "True"), ("2", "False")]
    recs = json.loads(cli("report", "--store", str(store), "--format", "json").output)
    assert sorted((r["instance"], r["rotate"]) for r in recs if r["method"] == "random-search") == [
        (0, False), (1, True), (2, False)]
