"""Code identity: every run and cell records the fingerprint of the gmbench source that produced it;
the report marks cells from other code, `run --rerun-stale` recomputes them, cell keys do not change."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

import gmbench.core.env as env
from gmbench.cli.app import app
from gmbench.config.suite import expand, load_suite

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("one_thread")
RUN = ("run", "--suite", "smoke", "--method", "random-search", "--seeds", "1", "--budget", "evals=500", "--quiet")


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def q(store: Path, sql: str, *args) -> list[tuple]:
    db = sqlite3.connect(store)
    try:
        rows = db.execute(sql, args).fetchall()
        db.commit()
        return rows
    finally:
        db.close()


def test_fingerprint_is_stable_and_covers_the_package(monkeypatch):
    fp = env.code_fingerprint()
    assert len(fp) == 16 and int(fp, 16) >= 0
    assert env.code_fingerprint() == fp
    monkeypatch.setattr(env, "_FINGERPRINT", None)
    assert env.code_fingerprint() == fp  # recomputed from the same files
    assert env.manifest("cpu")["code"] == fp


def test_fingerprint_does_not_enter_the_cell_key(monkeypatch):
    suite = load_suite("smoke")
    keys = [c.key for c in expand(suite, "cpu")]
    monkeypatch.setattr(env, "_FINGERPRINT", "0" * 16)
    assert [c.key for c in expand(suite, "cpu")] == keys


def test_stale_cells_are_marked_kept_and_rerun_on_request(tmp_path):
    store = tmp_path / "s.sqlite"
    assert cli(*RUN, "--store", str(store)).exit_code == 0
    rows = q(store, "SELECT key, code, code_files FROM cells")
    assert len(rows) == 2 and all(len(c) == 16 and "gmbench/methods/random_search.py" in f for _, c, f in rows)
    out = cli("report", "--store", str(store)).output
    assert "◊" not in out and "rerun-stale" not in out

    stale_key, here = rows[0][0], rows[0][1]
    q(store, "UPDATE cells SET code='0123456789abcdef' WHERE key=?", stale_key)
    out = cli("report", "--store", str(store)).output
    assert "random-search ◊" in out
    assert "1 cells were computed by other code" in out and "--rerun-stale" in out
    recs = [r for r in json.loads(cli("report", "--store", str(store), "--format", "json").output)
            if not r.get("reference")]  # the harness's reference rows are never stale
    assert sorted(r.get("stale", 0) for r in recs) == [0, 1] and all("◊" not in r["method"] for r in recs)

    res = cli(*RUN, "--store", str(store))  # default: keep, and say so
    assert res.exit_code == 0
    assert "1 stored cells were computed by other gmbench code and kept" in res.output
    assert q(store, "SELECT code FROM cells WHERE key=?", stale_key) == [("0123456789abcdef",)]

    res = cli(*RUN, "--store", str(store), "--rerun-stale")
    assert res.exit_code == 0 and "1 done" in res.output
    assert q(store, "SELECT code FROM cells WHERE key=?", stale_key) == [(here,)]
    assert len(q(store, "SELECT key FROM cells")) == 2
    assert "◊" not in cli("report", "--store", str(store)).output


def test_a_method_change_marks_only_its_cells_and_a_comment_change_none(tmp_path, monkeypatch):
    """Stale marks per dependency (issue 22): the code identity of a cell covers its method's and problem's
    modules, the harness and what they import, hashed without comments and docstrings."""
    import shutil

    import gmbench.store.identity as identity

    store = tmp_path / "s.sqlite"
    run = ("run", "--suite", "smoke", "--method", "random-search", "--method", "gd", "--seeds", "1",
           "--budget", "evals=300", "--quiet", "--store", str(store))
    assert cli(*run).exit_code == 0
    files = dict(q(store, "SELECT method, code_files FROM cells"))
    assert "gmbench/methods/gd.py" in files["gd"] and "gmbench/methods/gd.py" not in files["random-search"]
    assert "gmbench/methods/fire.py" not in files["gd"]  # another method's file is no dependency
    copy = tmp_path / "src" / "gmbench"
    shutil.copytree(identity.PACKAGE_ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(identity, "PACKAGE_ROOT", copy)

    def stale() -> dict[str, int]:
        recs = json.loads(cli("report", "--store", str(store), "--format", "json", "--no-targets", "--no-stats").output)
        out: dict[str, int] = {}
        for r in recs:
            if not r.get("reference"):
                out[r["method"]] = out.get(r["method"], 0) + r["stale"]
        return out

    assert set(stale().values()) == {0}
    gd = copy / "methods" / "gd.py"
    gd.write_text(gd.read_text() + "\n# a comment\n", encoding="utf-8")
    assert set(stale().values()) == {0}  # a comment marks nothing
    fire = copy / "methods" / "fire.py"
    fire.write_text(fire.read_text() + "\nX_UNUSED = 1\n", encoding="utf-8")
    assert set(stale().values()) == {0}  # another method's code marks nothing
    gd.write_text(gd.read_text() + "\nX_CHANGED = 1\n", encoding="utf-8")
    got = stale()
    assert got["gd"] == 2 and got["random-search"] == 0  # gd's two problems
    monkeypatch.setattr(identity, "PACKAGE_ROOT", identity.Path(identity.__file__).resolve().parents[1])
    assert cli(*run, "--rerun-stale").exit_code == 0  # nothing to rerun with the installed code
