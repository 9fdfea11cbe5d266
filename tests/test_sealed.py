"""Sealed runs (issue 25): same numbers as in-process runs, budgets enforced from outside, the answer out of
reach (red team: tests/redteam/thief.py), the secret never in clear text."""

from __future__ import annotations

import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gmbench.core.blackbox import Budget
from gmbench.core.registry import load_plugins
from gmbench.methods import METHODS
from gmbench.run.cell import make_cell
from gmbench.run.execute import execute
from gmbench.sandbox.confine import landlock_abi

pytestmark = pytest.mark.usefixtures("one_thread")

REDTEAM = Path(__file__).parent / "redteam" / "thief.py"
RESULT = ("status", "error", "stop_reason", "final_energy", "final_dist", "final_dist_nearest", "n_energy", "n_grad",
          "n_cost", "n_local", "n_candidates")

# methods at test size (the defaults are sized for D = 100-1000 runs)
SMALL = {
    "action-functional": {"units": [16, 16], "batch_size": 64, "warm_epochs": 2, "norm_samples": 64, "n_traj": 4,
                          "max_traj_steps": 10},
    "sample-only": {"units": [16, 16], "batch_size": 64, "warm_epochs": 2, "norm_samples": 64},
    "adam-sweep": {"n_points": 4, "n_steps": 20, "lr_start": 0.05, "lr_stop": 0.5, "lr_step": 0.05},
}
BUILT_IN = sorted(n for n, cls in METHODS.items() if cls.__module__.startswith("gmbench.methods.") and n != "stridernet")


def _both(cell_args: dict, **kw):
    """(in-process result, sealed result) of the same cell."""
    out = []
    for sealed in (False, True):
        cell = make_cell(**cell_args, **kw)
        cell.sealed = sealed
        out.append(execute(cell))
    return out


def _untimed(summary: str) -> dict:
    import json

    return {k: v for k, v in json.loads(summary).items() if k != "final_t" and "wall" not in k and "time" not in k}


def _row(r: tuple) -> tuple:
    import json

    scalars = {k: v for k, v in json.loads(r[8]).items() if "wall" not in k}
    return (*r[1:8], scalars, *r[9:])


def _same(a, b) -> None:
    for k in RESULT:
        assert a.row.get(k) == b.row.get(k), (k, a.row.get(k), b.row.get(k))
    assert _untimed(a.row["summary"]) == _untimed(b.row["summary"])
    assert [_row(r) for r in a.trace] == [_row(r) for r in b.trace]  # every trace row but its times
    assert a.row["sealed"] is None and b.row["sealed"] in ("landlock+audit", "audit")


@pytest.mark.parametrize("name", BUILT_IN)
def test_sealed_equals_in_process_on_a_secret_instance(name):
    """Bitwise the same stored numbers (CPU, same seed) with the method in its own process, on a shifted
    instance derived from a secret."""
    from gmbench.problems import make_problem

    key = make_problem("schaffer-f7", dim=5, instance=2, secret="s").instance_key()
    a, b = _both(dict(problem="schaffer-f7", method=name, budget=Budget(evals=1200), dim=5,
                      problem_params={"instance": 2, "secret": key}, method_params=SMALL.get(name, {})))
    assert a.row["status"] == "done", a.row["error"]
    _same(a, b)


ATOMS = [("lj-cluster", {"n": 7}, m) for m in ("fire", "adam", "gd", "basin-hopping", "multistart-lbfgs", "cma-es",
                                               "random-search")]
ATOMS += [("ka-lj", {"n": 27, "pool": 2}, m) for m in ("fire", "basin-hopping")]


@pytest.mark.parametrize("problem,params,method", ATOMS)
def test_sealed_equals_in_process_on_atoms(problem, params, method):
    a, b = _both(dict(problem=problem, method=method, budget=Budget(evals=800), problem_params=params))
    assert a.row["status"] == "done", a.row["error"]
    _same(a, b)


def test_sealed_stridernet_trains_through_the_parents_autograd():
    """StriderNET differentiates through per-atom energies and the energy (graphs kept in the parent, the
    vector-Jacobian products asked for in the backward pass) and draws its structures from the problem's
    sampler (the generator's state travels both ways): the same numbers as in-process."""
    params = {"n_targets": 1, "n_train": 2, "seeds": 1, "adapt_epochs": 2, "T": 2, "train_epochs": 1}
    a, b = _both(dict(problem="ka-lj", method="stridernet", budget=Budget(evals=3000),
                      problem_params={"n": 27, "pool": 4}, method_params=params))
    assert a.row["status"] == "done", a.row["error"]
    assert a.row["n_grad"] > 0
    _same(a, b)


def test_a_cell_holds_the_instance_key_never_the_secret(tmp_path):
    from gmbench.config.suite import load_suite
    from gmbench.run.api import select_cells

    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\nsecret: correct-horse-battery\nbudget: {evals: 10}\ndtype: float64\n"
                     "problems: [{name: sphere, dim: 3, instances: [1, 2], rotate: true}]\nmethods: [random-search]\n")
    _, cells, _, _ = select_cells(load_suite(str(suite)), sealed=True)
    blob = pickle.dumps(cells)
    assert b"correct-horse-battery" not in blob and "correct-horse" not in repr(cells)
    assert all(c.sealed for c in cells)
    from gmbench.problems import make_problem

    for c in cells:  # the key rebuilds exactly the instance the secret does
        k = c.problem_config["instance"]
        ref = make_problem("sphere", dim=3, instance=k, rotate=True, secret="correct-horse-battery")
        assert torch.equal(make_problem("sphere", dim=3, **c.problem.params).x_star(), ref.x_star())


# ---- budgets enforced from outside ----------------------------------------------------------------------
@pytest.fixture
def hostile():
    load_plugins([str(REDTEAM)])


def test_a_method_that_swallows_the_stop_is_killed_and_marked_overrun(hostile):
    cell = make_cell("sphere", "stubborn", Budget(time_s=1.0), dim=3, method_params={"seconds": 120.0})
    cell.sealed = True
    res = execute(cell)
    assert res.row["status"] == "overrun" and res.row["stop_reason"] == "overrun", res.row["error"]
    assert "stopped" in res.row["error"]
    assert res.row["final_energy"] is not None  # its report before the budget ran out is kept
    assert res.row["wall_s"] < 1.0 + 1.02 + 1.0 + 3.0  # budget + grace + SIGTERM's second, and room for load


def test_a_method_that_goes_on_after_its_evaluations_are_spent_is_killed(hostile):
    cell = make_cell("sphere", "stubborn", Budget(evals=50), dim=3, method_params={"seconds": 120.0})
    cell.sealed = True
    res = execute(cell)
    assert res.row["status"] == "overrun" and res.row["n_cost"] <= 50
    assert "after its budget was spent" in res.row["error"]


def test_in_process_a_swallowed_stop_is_marked_overrun_not_done(hostile):
    cell = make_cell("sphere", "stubborn", Budget(time_s=0.5), dim=3, method_params={"seconds": 3.0})
    res = execute(cell)
    assert res.row["status"] == "overrun", res.row
    assert "sealed run stops" in res.row["error"]


def test_a_method_that_ends_its_process_fails_its_cell_not_the_run(hostile):
    """Sealed, a method that exits (or crashes) takes only its own process: the cell is stored failed with
    the reason and the harness goes on (in-process, os._exit would end the whole run)."""
    cell = make_cell("sphere", "crasher", Budget(evals=100), dim=3)
    cell.sealed = True
    res = execute(cell)
    assert res.row["status"] == "failed" and "ended without a result" in res.row["error"]
    ok = make_cell("sphere", "random-search", Budget(evals=100), dim=3)
    ok.sealed = True
    assert execute(ok).row["status"] == "done"


def test_the_working_directory_is_not_readable(tmp_path, monkeypatch):
    """`python -m gmbench` puts the working directory (where suites and stores usually are) on sys.path: it is
    not in the child's allow-list, nor is any folder above it."""
    from gmbench.sandbox.confine import read_paths

    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    dirs, files = read_paths()
    assert not [d for d in dirs if tmp_path.resolve().is_relative_to(Path(d))]


def test_the_child_cannot_read_outside_its_allow_list(tmp_path):
    """Landlock (where the kernel has it) refuses the suite file, /proc/<parent> and writes; the audit hook
    refuses harness imports and new processes."""
    secret = tmp_path / "suite.yaml"
    secret.write_text("secret: x\n")
    code = f"""
import os, tempfile, sys
from gmbench.sandbox.confine import confine, read_paths, SealedError
print(confine(read_paths(), tempfile.mkdtemp()))
for what, f in [("suite", lambda: open({str(secret)!r}).read()),
                ("parent", lambda: open(f"/proc/{{os.getppid()}}/cmdline", "rb").read()),
                ("write", lambda: open("/tmp/gmbench-sealed-probe", "w")),
                ("problems", lambda: __import__("gmbench.problems")),
                ("spawn", lambda: __import__("subprocess").run(["true"]))]:
    try:
        f(); print(what, "open")
    except (OSError, SealedError, ImportError) as e:
        print(what, "refused")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout.split("\n")
    assert out[0] == ("landlock+audit" if landlock_abi() else "audit")
    assert {l.split()[0]: l.split()[1] for l in out[1:] if l} == {
        "suite": "refused", "parent": "refused", "write": "refused", "problems": "refused", "spawn": "refused"}


# ---- the red team -------------------------------------------------------------------------------------
ROUTES = ("frames", "gc", "closure", "argv", "cells", "registry", "recipe")
#: what an in-process run leaves open on a secret instance (stated in the README's fairness paragraph)
OPEN_IN_PROCESS = {"frames", "gc", "closure", "argv", "cells"}


def _redteam(tmp_path: Path, secret: str | None, sealed: bool) -> dict[str, float]:
    import sqlite3

    suite = tmp_path / f"thief-{bool(secret)}.yaml"
    methods = "".join(f"  - {{name: thief, label: {r}, params: {{route: {r}}}}}\n" for r in ROUTES)
    suite.write_text(f"name: redteam\n{'secret: ' + secret if secret else ''}\nbudget: {{evals: 400}}\n"
                     f"dtype: float64\nplugins: [{REDTEAM}]\n"
                     f"problems: [{{name: schaffer-f7, dim: 10, instances: [3]}}]\nmethods:\n{methods}")
    store = tmp_path / f"s-{bool(secret)}-{sealed}.sqlite"
    cmd = [sys.executable, "-m", "gmbench", "run", "--suite", str(suite), "--store", str(store), "--quiet"]
    proc = subprocess.run(cmd + (["--sealed"] if sealed else []), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if sealed and not secret:
        assert "instances without a suite secret" in " ".join((proc.stdout + proc.stderr).split())
    with sqlite3.connect(store) as db:
        rows = dict(db.execute("SELECT label, final_dist FROM cells WHERE status='done'").fetchall())
    assert set(rows) == set(ROUTES), rows
    return rows


def test_red_team_routes_on_a_secret_instance(tmp_path):
    """Sealed: no route gets closer than a uniform guess (x* is ~150 from a uniform point in [-100, 100]^10).
    In process: the routes the README lists recover x* exactly; the registry and a copied recipe do not
    (they need the secret)."""
    sealed = _redteam(tmp_path, "s3cr3t-for-the-red-team", sealed=True)
    assert min(sealed.values()) > 20.0, sealed
    here = _redteam(tmp_path, "s3cr3t-for-the-red-team", sealed=False)
    assert {r for r, d in here.items() if d < 1e-6} == OPEN_IN_PROCESS, here


def test_red_team_without_a_secret_the_public_recipe_is_open_in_both_modes(tmp_path):
    """Without a suite secret an instance is public: a method carrying a copy of the recipe enumerates it
    in either mode (the sealed run warns); the registry itself is out of a sealed method's reach."""
    sealed = _redteam(tmp_path, None, sealed=True)
    assert {r for r, d in sealed.items() if d < 1e-6} == {"recipe"}, sealed
    here = _redteam(tmp_path, None, sealed=False)
    assert {r for r, d in here.items() if d < 1e-6} == OPEN_IN_PROCESS | {"registry", "recipe"}, here


def _sandbox_processes() -> set[int]:
    out = subprocess.run(["pgrep", "-f", "gmbench.sandbox.child"], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def test_kill_9_of_a_sealed_run_leaves_no_process_and_loses_no_cell(tmp_path):
    """kill -9 of the harness mid-cell: the zygote and the method's process go with it (no orphan keeps
    running), finished cells stay, and a rerun completes the rest, each cell stored once."""
    import os
    import signal
    import sqlite3

    before = _sandbox_processes()
    suite = tmp_path / "k.yaml"
    suite.write_text("name: k\nseeds: 3\nbudget: {time_s: 1.5}\ndtype: float64\n"
                     "problems: [{name: sphere, dim: 3}]\nmethods: [random-search]\n")
    store = tmp_path / "k.sqlite"
    cmd = [sys.executable, "-m", "gmbench", "run", "--suite", str(suite), "--store", str(store), "--sealed", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:  # until the first cell is stored and the second one runs
        time.sleep(0.3)
        if store.exists():
            try:
                with sqlite3.connect(store) as db:
                    if db.execute("SELECT COUNT(*) FROM cells").fetchone()[0] >= 1:
                        break
            except sqlite3.Error:
                pass
    time.sleep(0.7)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for _ in range(50):  # the zygote sees its socket close, its children get SIGKILL from the kernel
        if not (_sandbox_processes() - before):
            break
        time.sleep(0.1)
    assert not (_sandbox_processes() - before)
    with sqlite3.connect(store) as db:
        kept = db.execute("SELECT key FROM cells WHERE status='done'").fetchall()
    assert 1 <= len(kept) < 3
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT key, status FROM cells").fetchall()
    assert len(rows) == 3 == len({k for k, _ in rows}) and all(s == "done" for _, s in rows)


def test_sealed_runs_refuse_cuda_and_other_platforms_in_one_line(tmp_path, monkeypatch):
    from gmbench.core.errors import GmbenchError
    from gmbench.run.api import select_cells

    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\nbudget: {evals: 10}\nproblems: [{name: sphere, dim: 3}]\nmethods: [random-search]\n")
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(GmbenchError, match="need Linux"):
        select_cells(str(suite), device="cpu", sealed=True)
    monkeypatch.setattr(sys, "platform", "linux")
    from gmbench.run.cell import make_cell
    from gmbench.run.sealed import Session

    cell = make_cell("sphere", "random-search", Budget(evals=10), dim=3, device="cuda:0")
    with pytest.raises(GmbenchError, match="CPU-only"):
        Session(cell, None, None)


# ---- method files: methods the harness never imports ----------------------------------------------------
SNEAKY = Path(__file__).parent / "redteam" / "sneaky.py"


def test_a_method_file_is_described_by_a_child_never_imported_here():
    import os

    from gmbench.core.errors import GmbenchError
    from gmbench.methods import make_method
    from gmbench.run.method_files import load_method_files

    load_method_files([str(SNEAKY)])
    assert "GMBENCH_SNEAKY_IMPORTED_HERE" not in os.environ  # its module-level code never ran in this process
    assert not [m for m in sys.modules if m.startswith("gmbench_plugin_sneaky")]
    m = make_method("sneaky", {"batch_size": 16})
    assert m.params() == {"batch_size": 16, "scale": 1.0} and m.batch_points() == 16
    with pytest.raises(GmbenchError, match="unknown parameter 'bach_size'"):
        make_method("sneaky", {"bach_size": 16})
    with pytest.raises(GmbenchError, match="batch_size"):
        make_method("sneaky", {"batch_size": "sixteen"})
    with pytest.raises(RuntimeError, match="runs only sealed"):  # the stand-in never runs here
        make_method("sneaky", {}).run(None, None)
    cell = make_cell("sphere", "sneaky", Budget(evals=100), dim=3)
    cell.sealed = True
    res = execute(cell)
    assert res.row["status"] == "done" and res.row["sealed"], res.row["error"]


def test_import_time_code_of_a_plugin_reads_the_secret_but_a_method_file_cannot(tmp_path):
    import json
    import shutil
    import sqlite3

    shutil.copy(SNEAKY, tmp_path / "sneaky.py")
    looted = {}
    for key in ("plugins", "method_files"):
        suite = tmp_path / f"{key}.yaml"
        suite.write_text(f"name: mf\nsecret: do-not-leak-me\nbudget: {{evals: 100}}\ndtype: float64\n"
                         f"problems: [{{name: sphere, dim: 3, instances: [1]}}]\nmethods: [sneaky]\n{key}: [sneaky.py]\n")
        store = tmp_path / f"{key}.sqlite"
        proc = subprocess.run([sys.executable, "-m", "gmbench", "run", "--suite", str(suite), "--store", str(store),
                               "-q"], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        with sqlite3.connect(store) as db:
            scalars = db.execute("SELECT scalars FROM traces LIMIT 1").fetchone()[0]
            looted[key] = (json.loads(scalars)["looted"], db.execute("SELECT sealed FROM cells").fetchone()[0])
    assert looted["plugins"] == (1.0, None)  # imported by the harness: its import-time code read the suite file
    assert looted["method_files"][0] == 0.0 and looted["method_files"][1]  # read only by a confined child


def test_a_missing_method_file_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "gmbench", "run", "--suite", "smoke", "--store",
                           str(tmp_path / "x.sqlite"), "--method-file", str(tmp_path / "nope.py")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and (proc.stdout + proc.stderr).count("error:") == 1
    assert "method file not found" in proc.stdout + proc.stderr and not (tmp_path / "x.sqlite").exists()
