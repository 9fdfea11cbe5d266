"""Hostile input and hostile environments: every bad input is one `error:` line with exit status 2 and
no traceback; reading commands never write; resources are checked before they are allocated; signals
and crashing plugins are visible; cells are addressable."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gmbench.cli.app import app

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def one_error(res, *needles: str) -> str:
    """Exit 2, exactly one `error:` line, no traceback; returns the line."""
    text = res.output
    assert res.exit_code == 2, (res.exit_code, text, res.exception)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1 and len(lines) == 1, text
    assert "Traceback" not in text
    for n in needles:
        assert n in errors[0], (n, errors[0])
    return errors[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


SUITE = """
name: tiny
device: cpu
seeds: 2
budget: {evals: 40}
problems:
  - {name: sphere, dim: 2}
methods:
  - name: random-search
    params: {batch_size: 8}
"""


def make_store(path: Path, suite_text: str = SUITE) -> Path:
    """A store made through the current API (what `gmbench run` writes)."""
    from gmbench.config.suite import expand, load_suite
    from gmbench.run.executors import run_cells
    from gmbench.store.sqlite import Store

    suite = path.parent / f"{path.stem}-suite.yaml"
    suite.write_text(suite_text)
    s = load_suite(str(suite))
    st = Store(path)
    run_cells(expand(s, "cpu"), st, s.name, "cpu")
    st.close()
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return make_store(tmp_path_factory.mktemp("hostile") / "s.sqlite")


def copy_store(src: Path, dst_dir: Path) -> Path:
    dst_dir.mkdir(parents=True, exist_ok=True)
    dst = dst_dir / "s.sqlite"
    dst.write_bytes(src.read_bytes())
    return dst


# ---- read-only means read-only ------------------------------------------------------------------


def test_reading_commands_write_nothing(store, tmp_path):
    st = copy_store(store, tmp_path / "ro")
    before, files = digest(st), sorted(os.listdir(st.parent))
    db = sqlite3.connect(st)
    key = db.execute("SELECT key FROM cells LIMIT 1").fetchone()[0]
    db.close()
    for args in (["report", "--store", st], ["report", "--store", st, "--cells"],
                 ["show", key[:8], "--store", st], ["show", key, "--store", st, "--format", "json"],
                 ["plot", "--suite", "tiny", "--store", st, "--out", tmp_path / "plots"]):
        res = cli(*args)
        assert res.exit_code == 0, (args, res.output)
    assert digest(st) == before
    assert sorted(os.listdir(st.parent)) == files  # no -wal/-shm/journal left beside it
    res = cli("report", "--store", st, "--filter")  # no filter tables: an error, and still no table created
    one_error(res, "no filter run")
    assert digest(st) == before


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_directory(store, tmp_path):
    st = copy_store(store, tmp_path / "archive")
    os.chmod(st, 0o444)
    os.chmod(st.parent, 0o555)
    try:
        assert cli("report", "--store", st).exit_code == 0
        one_error(cli("run", "--suite", "smoke", "--store", st), "read-only")
    finally:
        os.chmod(st.parent, 0o755)


@pytest.mark.skipif(not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("setpriv")),
                    reason="needs root and setpriv to drop to an unprivileged user")
def test_read_only_archive_as_an_unprivileged_user(store):
    """Where tests run as root (CI here), permissions are real only for another user: drop to nobody and
    read a store in a read-only directory, then try to run into it; nothing may change."""
    d = Path(tempfile.mkdtemp(prefix="gmbench-ro-"))
    os.chmod(d, 0o755)
    archive = d / "archive"
    archive.mkdir()
    try:
        st = copy_store(store, archive)
        os.chmod(st, 0o444)
        os.chmod(archive, 0o555)
        before, files = digest(st), sorted(os.listdir(archive))
        env = {**os.environ, "HOME": str(d), "MPLCONFIGDIR": str(d)}
        drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        assert subprocess.run(drop + ["touch", str(archive / "probe")], capture_output=True).returncode != 0
        if subprocess.run(drop + [sys.executable, "-c", "import gmbench"], capture_output=True, env=env).returncode:
            pytest.skip("the unprivileged user cannot read this checkout (e.g. a clone inside a 0700 folder)")
        nobody = drop + [sys.executable, "-m", "gmbench"]
        r = subprocess.run(nobody + ["report", "--store", str(st)], capture_output=True, text=True, env=env,
                           timeout=300)
        assert r.returncode == 0, r.stderr
        assert "Method" in r.stdout and "Traceback" not in r.stderr
        r = subprocess.run(nobody + ["run", "--suite", "smoke", "--store", str(st)], capture_output=True,
                           text=True, env=env, timeout=300)
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert r.stderr.count("error:") == 1 and "read-only" in r.stderr and "Traceback" not in r.stderr
        assert digest(st) == before and sorted(os.listdir(archive)) == files
    finally:
        os.chmod(archive, 0o755)
        shutil.rmtree(d, ignore_errors=True)


def test_run_on_read_only_store(store, tmp_path, monkeypatch):
    """As root, permissions cannot be taken away; the check is os.access, so emulate its answer."""
    st = copy_store(store, tmp_path / "ro")
    before = digest(st)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if mode == os.W_OK else real(p, mode, *a, **k))
    suite = tmp_path / "t.yaml"
    suite.write_text(SUITE)
    one_error(cli("run", "--suite", suite, "--store", st, "-q"), "read-only", "--store")
    assert digest(st) == before
    # merge has no --store: its advice names its own OUT argument
    res = cli("merge", tmp_path / "ro" / "merged.sqlite", st)
    one_error(res, "read-only", "OUT")
    assert "--store" not in res.output


def foreign_sqlite(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    db.execute("INSERT INTO photos VALUES (1, 'cat.jpg')")
    db.commit()
    db.close()
    return path


def newer_store(src: Path, dst_dir: Path) -> Path:
    st = copy_store(src, dst_dir)
    db = sqlite3.connect(st)
    db.execute("UPDATE meta SET value='999' WHERE key='schema'")
    db.commit()
    db.close()
    return st


@pytest.mark.parametrize("kind", ["empty", "foreign", "text", "newer"])
def test_not_a_store_is_refused_unchanged(kind, store, tmp_path):
    if kind == "empty":
        st, needle = tmp_path / "s.sqlite", "empty file"
        st.write_bytes(b"")
    elif kind == "foreign":
        st, needle = foreign_sqlite(tmp_path / "s.sqlite"), "not a gmbench results store"
    elif kind == "text":
        st, needle = tmp_path / "s.sqlite", "not an SQLite database"
        st.write_text("hello, I am a shopping list\n" * 50)
    else:
        st, needle = newer_store(store, tmp_path), "newer gmbench"
    before, files = digest(st), sorted(os.listdir(st.parent))
    suite = tmp_path / "t.yaml"
    suite.write_text(SUITE)
    files.append("t.yaml")
    for args in (["report", "--store", st], ["report", "--store", st, "--filter"], ["show", "abc", "--store", st],
                 ["plot", "--suite", "tiny", "--store", st, "--out", tmp_path / "plots"],
                 ["run", "--suite", suite, "--store", st, "-q"]):
        one_error(cli(*args), needle)
        assert digest(st) == before, args
    assert sorted(os.listdir(st.parent)) == sorted(files)


def test_old_store_still_reads(tmp_path):
    """A store as the code before the read-only work wrote it (same tables, meta schema '2')."""
    st = make_store(tmp_path / "old.sqlite")
    db = sqlite3.connect(st)
    assert db.execute("SELECT value FROM meta WHERE key='schema'").fetchone() == ("2",)
    db.close()
    res = cli("report", "--store", st)
    assert res.exit_code == 0 and "sphere" in res.output


# ---- every input class: one line, exit 2 ----------------------------------------------------------


def test_suite_not_utf8(tmp_path):
    suite = tmp_path / "latin1.yaml"
    suite.write_bytes(SUITE.replace("name: tiny", "name: caf\xe9").encode("latin-1"))
    one_error(cli("run", "--suite", suite, "--store", tmp_path / "s.sqlite"), "not UTF-8", "line 2")
    assert not (tmp_path / "s.sqlite").exists()


@pytest.mark.parametrize("seeds,needle", [
    ("99999999999999999999", "count above"), ("-1", ">= 0"), ("0,-3", ">= 0"), ("0", "--seeds 1"),
    ("5-2", "empty"), ("0-99999999999999999999", "more than"), ("3,99999999999999999999", "outside"),
    ("a,b", "use a count"), ("1.5", "use a count"), (",", "use a count"),
])
def test_bad_seeds(seeds, needle, tmp_path):
    suite = tmp_path / "t.yaml"
    suite.write_text(SUITE)
    t0 = time.perf_counter()
    one_error(cli("run", "--suite", suite, "--store", tmp_path / "s.sqlite", "--seeds", seeds, "-q"), needle)
    assert time.perf_counter() - t0 < 5
    assert not (tmp_path / "s.sqlite").exists()


def test_good_seeds():
    from gmbench.cli.app import parse_seeds

    assert parse_seeds("3") == [0, 1, 2]
    assert parse_seeds("0-0") == [0]
    assert parse_seeds("7,") == [7]
    assert parse_seeds("2-4") == [2, 3, 4]
    assert parse_seeds("0, 5") == [0, 5]


@pytest.mark.parametrize("seeds", ["99999999999999999999", "[-1]", "[99999999999999999999]", "0"])
def test_bad_suite_seeds(seeds, tmp_path):
    suite = tmp_path / "t.yaml"
    suite.write_text(SUITE.replace("seeds: 2", f"seeds: {seeds}"))
    one_error(cli("run", "--suite", suite, "--store", tmp_path / "s.sqlite"), "seeds", "line 4")


def test_markup_prints_literally(tmp_path):
    """Rich markup in user text ([/x], [bold]) and in error messages ([lo, hi]) is printed as written."""
    suite = tmp_path / "t.yaml"
    suite.write_text(SUITE.replace("name: tiny", "name: 'tiny [/x] [bold]b'").replace("dim: 2}", "dim: 2, bounds: [5, 1]}"))
    one_error(cli("run", "--suite", suite, "--store", tmp_path / "s.sqlite"), "impossible bounds [5.0, 1.0]")
    suite.write_text(SUITE.replace("name: tiny", "name: 'tiny [/x] [bold]b'"))
    st = tmp_path / "s.sqlite"
    res = cli("run", "--suite", suite, "--store", st)
    assert res.exit_code == 0, res.output
    assert "suite tiny [/x] [bold]b:" in res.output
    res = cli("report", "--store", st, "--cells")
    assert res.exit_code == 0 and "tiny [/x] [bold]b" in res.output
    one_error(cli("report", "--store", st, "--suite", "[/x]"), "suite '[/x]' has no results")


def test_yaml_key_that_is_a_list(tmp_path):
    suite = tmp_path / "t.yaml"
    suite.write_text("? [a, b]\n: 1\n")
    one_error(cli("run", "--suite", suite, "--store", tmp_path / "s.sqlite"), "malformed YAML")


# ---- resources checked before use ---------------------------------------------------------------


def test_huge_dimension_refused_quickly(tmp_path):
    suite = tmp_path / "t.yaml"
    suite.write_text(SUITE.replace("dim: 2", "dim: 1000000000"))
    t0 = time.perf_counter()
    line = one_error(cli("run", "--suite", suite, "--store", tmp_path / "s.sqlite"),
                     "line 7", "dim 1,000,000,000", "would need about", "lower dim or random-search's batch_size")
    assert time.perf_counter() - t0 < 5
    import re

    need = re.search(r"need about ([0-9.]+) (GB|TB)", line)  # 1e9 x 8 points x 4 bytes x ~12 arrays + bounds
    assert need and float(need.group(1)) * (1024 if need.group(2) == "TB" else 1) > 300, line
    assert not (tmp_path / "s.sqlite").exists()


def test_cell_refused_against_device_memory(tmp_path, monkeypatch):
    """The per-cell check in expand() uses the device's report (here: a pretend 1 MB free)."""
    import gmbench.core.resources as resources
    from gmbench.config.suite import expand, load_suite

    suite = tmp_path / "t.yaml"
    suite.write_text(SUITE.replace("dim: 2", "dim: 2000").replace("batch_size: 8", "batch_size: 64"))
    s = load_suite(str(suite))
    monkeypatch.setattr(resources, "available_bytes", lambda device="cpu": 1 << 20)
    with pytest.raises(Exception) as info:
        expand(s, "cpu")
    msg = str(info.value)
    assert "cell sphere-2000 | random-search | seed 0" in msg and "1.0 MB cpu reports available" in msg
    assert "random-search's batch_size" in msg
    monkeypatch.setenv("GMBENCH_MEMORY_CHECK", "0")
    assert len(expand(s, "cpu")) == 2


def test_memory_estimates_scale():
    from gmbench.methods import make_method
    from gmbench.problems.base import Problem

    pb = lambda d: (lambda b: Problem.memory_bytes(d, b, 4))  # noqa: E731
    small = make_method("random-search", {"batch_size": 10}).memory_bytes(100, 4, pb(100))
    big = make_method("random-search", {"batch_size": 1000}).memory_bytes(100, 4, pb(100))
    assert big > 50 * small
    # the sweep is chunked: its working set is bounded by chunk_elems, only the starts grow with n_points
    sweep = lambda n: make_method("adam-sweep", {"n_points": n}).memory_bytes(1000, 4, pb(1000))  # noqa: E731
    assert sweep(10**6) - sweep(10**5) == 9 * 10**5 * 1000 * 8
    plnet = make_method("action-functional", {})
    assert plnet.memory_bytes(1000, 4, pb(1000)) > 4 * 4 * 2 * 2048 * 2048  # the network dominates


# ---- signals and crashes visible ----------------------------------------------------------------

PLUGIN = '''
from dataclasses import dataclass
import torch
from gmbench.methods.base import Method, register_method


@register_method("hostile-exit")
@dataclass
class HostileExit(Method):
    kind: str = "exit"

    def run(self, bb, report):
        report(bb.uniform(1)[0])
        if self.kind == "exit":
            raise SystemExit(3)
        if self.kind == "interrupt":
            raise KeyboardInterrupt
        raise RuntimeError("impossible bounds [1, 0] in the plugin")


@register_method("hostile-nan")
@dataclass
class HostileNaN(Method):
    def run(self, bb, report):
        x = bb.uniform(1)[0]
        report(x * float("nan"))
        report(x * float("inf"))
'''


@pytest.fixture(scope="module")
def plugin(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("plugin") / "hostile_plugin.py"
    p.write_text(PLUGIN)
    return p


def test_plugin_exit_and_interrupt_fail_only_their_cell(plugin, tmp_path):
    suite = tmp_path / "t.yaml"
    suite.write_text(SUITE.replace("seeds: 2", "seeds: 1").replace(
        "  - name: random-search\n    params: {batch_size: 8}\n",
        "  - {name: hostile-exit, label: exit, params: {kind: exit}}\n"
        "  - {name: hostile-exit, label: interrupt, params: {kind: interrupt}}\n"
        "  - {name: hostile-exit, label: markup, params: {kind: markup}}\n"
        "  - {name: hostile-nan, label: nan}\n"
        "  - {name: random-search, params: {batch_size: 8}}\n"))
    st = tmp_path / "s.sqlite"
    res = cli("run", "--suite", suite, "--store", st, "--plugin", plugin)
    assert res.exit_code == 0, res.output
    assert "4 failed" in res.output and "1 done" in res.output  # the suite went on after each
    assert "impossible bounds [1, 0] in the plugin" in " ".join(res.output.split())  # markup prints literally
    db = sqlite3.connect(st)
    errors = dict(db.execute("SELECT label, error FROM cells WHERE status='failed'").fetchall())
    runs = db.execute("SELECT status FROM runs").fetchall()
    db.close()
    assert errors["exit"].startswith("SystemExit(3) raised inside the method at hostile_plugin.py:")
    assert errors["interrupt"].startswith("KeyboardInterrupt raised inside the method")
    assert errors["nan"] == "every reported candidate had a non-finite energy (NaN/inf)"
    assert runs == [("finished",)]


def _wait_for(pred, timeout: float = 60.0) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_signal_stops_run_with_one_line(sig, tmp_path):
    import signal
    import subprocess
    import sys

    suite = tmp_path / "t.yaml"
    suite.write_text(SUITE.replace("seeds: 2", "seeds: 6").replace("budget: {evals: 40}", "budget: {time_s: 0.5}"))
    st = tmp_path / "s.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "gmbench", "run", "--suite", str(suite), "--store", str(st), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def one_done() -> bool:
        if not st.exists():
            return False
        try:
            db = sqlite3.connect(st)
            try:
                return db.execute("SELECT COUNT(*) FROM cells").fetchone()[0] >= 1
            finally:
                db.close()
        except sqlite3.OperationalError:
            return False

    try:
        _wait_for(one_done)
        proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    lines = [ln for ln in err.splitlines() if ln.startswith("interrupted")]
    assert len(lines) == 1 and f"interrupted ({sig}):" in lines[0] and "run again to resume" in lines[0], err
    assert "Traceback" not in err
    assert proc.returncode == 128 + getattr(signal, sig).value
    db = sqlite3.connect(st)
    stored = db.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
    assert db.execute("SELECT status FROM runs").fetchall() == [("interrupted",)]
    assert db.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0  # the cell it ran was released
    db.close()
    assert f"{stored} of 6 cells stored" in lines[0]


def test_run_record_of_a_dead_process_reads_as_ended(store, tmp_path):
    import subprocess
    import sys

    from gmbench.store.sqlite import Store

    st = copy_store(store, tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # a pid that has just exited
    w = Store(st)
    w.begin_run("alive0000000", "tiny", {})
    w.begin_run("dead00000000", "tiny", {})
    w.db.execute("UPDATE runs SET manifest=json_set(manifest, '$.pid', ?) WHERE run_id='dead00000000'", (pid,))
    w.close()
    runs = {r["run_id"]: r["status"] for r in Store(st, create=False).runs()}
    assert runs["alive0000000"] == "running"  # this process: alive
    assert runs["dead00000000"] == "ended (process gone)"


# ---- cells are addressable ----------------------------------------------------------------------


def test_cells_listed_and_selected(store, tmp_path):
    st = copy_store(store, tmp_path)
    res = cli("report", "--store", st, "--cells")
    assert res.exit_code == 0, res.output
    db = sqlite3.connect(st)
    keys = [k for (k,) in db.execute("SELECT key FROM cells ORDER BY seed")]
    db.close()
    for k in keys:
        assert k in res.output
    assert "sphere-2" in res.output and "random-search" in res.output and "done" in res.output
    rows = json.loads(cli("report", "--store", st, "--cells", "--format", "json").output)
    assert sorted(r["key"] for r in rows) == sorted(keys)
    res = cli("show", "--store", st, "--suite", "tiny", "--problem", "sphere-2", "--method", "random-search",
              "--seed", "1", "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["cell"]["key"] == keys[1]
    one_error(cli("show", "--store", st, "--problem", "sphere"), "2 cells match --problem sphere", keys[0], keys[1])
    one_error(cli("show", "--store", st, "--seed", "7"), "no stored cell matches --seed 7")
    one_error(cli("show", "--store", st), "name a cell")


def test_json_is_json_without_nan(plugin, tmp_path):
    """A cell whose every energy was NaN/inf: show and report --format json write null, never NaN."""
    suite = tmp_path / "t.yaml"
    suite.write_text(SUITE.replace("seeds: 2", "seeds: 1").replace(
        "  - name: random-search\n    params: {batch_size: 8}\n", "  - {name: hostile-nan, label: nan}\n"))
    st = tmp_path / "s.sqlite"
    assert cli("run", "--suite", suite, "--store", st, "--plugin", plugin, "-q").exit_code == 0

    def strict(text: str):
        def bad(c):
            raise AssertionError(f"non-JSON constant {c}")
        return json.loads(text, parse_constant=bad)

    res = cli("show", "--store", st, "--method", "nan", "--format", "json")
    assert res.exit_code == 0, res.output
    doc = strict(res.output)
    assert doc["cell"]["status"] == "failed" and all(t["energy"] is None for t in doc["trace"])
    res = cli("report", "--store", st, "--format", "json")
    assert res.exit_code == 0, res.output
    strict(res.output)


# ---- found by the fuzzer (tests/test_fuzz.py) and by hand --------------------------------------


@pytest.mark.parametrize("args,needle", [
    (["run", "--bogus"], "No such option: --bogus"), (["show", "--seed", "x"], "Invalid value for '--seed'"),
    (["run"], "Missing option '--suite'"), (["nope"], "No such command 'nope'"),
    (["stridernet", "--nope"], "No such option: --nope"),
])
def test_usage_errors_are_one_line(args, needle):
    one_error(cli(*args), needle, "--help`)")


def test_problem_params_repeating_dim(tmp_path):
    suite = tmp_path / "t.yaml"
    suite.write_text(SUITE.replace("{name: sphere, dim: 2}", "{name: sphere, dim: 2, params: {dim: null}}"))
    one_error(cli("run", "--suite", suite, "--store", tmp_path / "s.sqlite"), "dim belongs beside name")


def test_show_seed_beyond_sqlite_integer(store, tmp_path):
    """Found by the fuzzer: the seed went into an SQLite query and overflowed (traceback)."""
    st = copy_store(store, tmp_path)
    one_error(cli("show", "--store", st, "--seed", "99999999999999999999"), "no stored cell matches")


def test_local_method_negative_steps_refused(tmp_path):
    """Found by the fuzzer: gd with max_steps < 0 evaluated nothing per round and looped forever
    under an evaluation budget."""
    suite = tmp_path / "t.yaml"
    suite.write_text(SUITE.replace("name: random-search\n    params: {batch_size: 8}",
                                   "name: gd\n    params: {n_points: 2, max_steps: -1}"))
    one_error(cli("run", "--suite", suite, "--store", tmp_path / "s.sqlite"), "max_steps", "at least 0")
