"""Shards and merge: `run --shard i/n` into one store per shard, `gmbench merge` back into one."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gmbench.cli.app import app
from gmbench.core.errors import GmbenchError
from gmbench.run.executors import parse_shard, select_shard
from gmbench.store.merge import merge_stores

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("one_thread")

# values a cell's result consists of; timings (wall_s, started, final_t, trace t, ...) and run ids differ
VALUE_COLUMNS = ("key", "suite", "problem_config", "method_config", "seed", "budget", "status", "error", "stop_reason",
                 "final_energy", "final_dist", "final_dist_nearest", "min_dist", "avg_err_per_dim", "n_candidates",
                 "n_energy", "n_grad", "best_x", "code")
RUN = ("run", "--suite", "smoke", "--budget", "evals=2000", "--seeds", "1", "--quiet")


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def contents(store: Path) -> dict[str, tuple]:
    db = sqlite3.connect(store)
    try:
        cells = {r[0]: r for r in db.execute(f"SELECT {','.join(VALUE_COLUMNS)} FROM cells")}
        traces = {}
        for key, n_e, n_g, e, d in db.execute("SELECT key, n_energy, n_grad, energy, dist FROM traces ORDER BY key, idx"):
            traces.setdefault(key, []).append((n_e, n_g, e, d))
        return {k: (v, tuple(traces.get(k, []))) for k, v in cells.items()}
    finally:
        db.close()


def copy_store(src: Path, dst: Path) -> None:
    """A consistent copy (the source may still have a write-ahead log beside it)."""
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()


def count(store: Path, table: str) -> int:
    db = sqlite3.connect(store)
    try:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        db.close()


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("shards")
    paths = {"whole": d / "whole.sqlite"}
    res = cli(*RUN, "--store", str(paths["whole"]))
    assert res.exit_code == 0, res.output
    for i in (1, 2, 3):
        paths[f"s{i}"] = d / f"s{i}.sqlite"
        res = cli(*RUN, "--store", str(paths[f"s{i}"]), "--shard", f"{i}/3")
        assert res.exit_code == 0, res.output
        assert f"shard {i}/3" in res.output
    return paths


def test_select_shard_is_a_deterministic_partition():
    cells = list(range(10))
    parts = [select_shard(cells, i, 3) for i in (1, 2, 3)]
    assert sorted(sum(parts, [])) == cells
    assert [len(p) for p in parts] == [4, 3, 3]
    assert parts == [select_shard(cells, i, 3) for i in (1, 2, 3)]
    assert parse_shard("2/5") == (2, 5)
    for bad in ("0/3", "4/3", "1", "a/b", ""):
        with pytest.raises(GmbenchError, match="bad --shard"):
            parse_shard(bad)


def test_shards_merge_into_the_same_store_as_one_run(shards, tmp_path):
    whole = contents(shards["whole"])
    parts = [contents(shards[f"s{i}"]) for i in (1, 2, 3)]
    assert all(parts) and sum(len(p) for p in parts) == len(whole) == 8
    out = tmp_path / "merged.sqlite"
    res = cli("merge", str(out), *(str(shards[f"s{i}"]) for i in (1, 2, 3)))
    assert res.exit_code == 0, res.output
    assert "8 cells, 3 runs" in res.output
    merged = contents(out)
    assert merged.keys() == whole.keys()
    for key in whole:
        assert merged[key] == whole[key], key
    assert count(out, "runs") == 3  # every shard's manifest kept
    assert count(out, "suite_cells") == count(shards["whole"], "suite_cells")
    # the merged store reports like the single run
    a = cli("report", "--store", str(out), "--format", "json")
    b = cli("report", "--store", str(shards["whole"]), "--format", "json")
    def by_cell(text: str) -> dict:
        return {(r["problem"], r["method"]): {k: v for k, v in r.items() if k not in ("wall_s", "overrun_max_s")}
                for r in json.loads(text)}

    assert by_cell(a.output) == by_cell(b.output)


def test_identical_duplicates_are_kept_once(shards, tmp_path):
    copy = tmp_path / "copy.sqlite"
    copy_store(shards["s1"], copy)
    out = tmp_path / "out.sqlite"
    c = merge_stores(out, [shards["s1"], copy, shards["s2"]])
    n1, n2 = len(contents(shards["s1"])), len(contents(shards["s2"]))
    assert c["duplicates"] == n1 and c["cells"] == n1 + n2
    assert len(contents(out)) == n1 + n2
    assert count(out, "traces") == count(shards["s1"], "traces") + count(shards["s2"], "traces")
    # merging into an existing store adds only what is new
    c = merge_stores(out, [shards["s3"], shards["s1"]])
    assert c["cells"] == len(contents(shards["s3"])) and c["duplicates"] == n1


def test_conflicting_duplicates_are_refused(shards, tmp_path):
    bad = tmp_path / "bad.sqlite"
    copy_store(shards["s1"], bad)
    db = sqlite3.connect(bad)
    key, cfg = db.execute("SELECT key, method_config FROM cells LIMIT 1").fetchone()
    cfg = json.loads(cfg)
    cfg["params"] = {**cfg["params"], "seed_offset_that_was_never_a_parameter": 1}
    db.execute("UPDATE cells SET method_config=? WHERE key=?", (json.dumps(cfg), key))
    db.commit()
    db.close()
    out = tmp_path / "out.sqlite"
    res = cli("merge", str(out), str(shards["s1"]), str(bad))
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert lines[0].startswith("error:") and key in res.output and "method" in res.output
    assert not out.exists()  # nothing written
    # into an existing store: it stays as it was
    merge_stores(out, [shards["s2"]])
    before = contents(out)
    with pytest.raises(GmbenchError, match=key):
        merge_stores(out, [shards["s1"], bad])
    assert contents(out) == before


def test_merge_input_errors(shards, tmp_path):
    res = cli("merge", str(tmp_path / "o.sqlite"), str(tmp_path / "missing.sqlite"))
    assert res.exit_code == 2 and "no results store" in res.output
    res = cli("merge", str(shards["s1"]), str(shards["s1"]))
    assert res.exit_code == 2 and "both the output and an input" in res.output
    res = cli("run", "--suite", "smoke", "--shard", "4/3")
    assert res.exit_code == 2 and "bad --shard" in res.output


def test_ray_executor_without_ray_is_one_line(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if it were not installed
    res = cli("run", "--suite", "smoke", "--executor", "ray", "--store", str(tmp_path / "s.sqlite"))
    assert res.exit_code == 2 and "pip install 'gmbench[ray]'" in res.output
    res = cli("run", "--suite", "smoke", "--executor", "dask", "--store", str(tmp_path / "s.sqlite"))
    assert res.exit_code == 2 and "unknown --executor 'dask'" in res.output
