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
    here = env.code_fingerprint()
    rows = q(store, "SELECT key, code FROM cells")
    assert len(rows) == 2 and {c for _, c in rows} == {here}
    manifests = [json.loads(m) for (m,) in q(store, "SELECT manifest FROM runs")]
    assert all(m["code"] == here for m in manifests)
    out = cli("report", "--store", str(store)).output
    assert "◊" not in out and "rerun-stale" not in out

    stale_key = rows[0][0]
    q(store, "UPDATE cells SET code='0123456789abcdef' WHERE key=?", stale_key)
    out = cli("report", "--store", str(store)).output
    assert "random-search ◊" in out
    assert "1 cells were computed by other gmbench code" in out and "--rerun-stale" in out
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
