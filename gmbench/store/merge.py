"""``gmbench merge OUT STORE...``: combine results stores, e.g. the shards of a job array.

SQLite is safe for several processes on one machine, not on a network filesystem (its locks are not
reliable there), so a suite spread over many nodes writes one store per node (``gmbench run --shard
i/n --store shard-i.sqlite``) and the stores are merged afterwards:

* a cell key present in several stores must carry the same configuration everywhere (problem, method
  and parameters, seed, budget, dtype, device type, version); a conflict stops the merge with one line
  naming the key, and nothing is written;
* identical duplicates are kept once (a finished cell is preferred to a failed one);
* every run's manifest is kept; suite slots take the most recently registered cell; claims are not
  copied (they belong to processes on the nodes); other tables (``gmbench filter`` results) are copied
  row by row, duplicates once.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from gmbench.core.errors import GmbenchError
from gmbench.store.sqlite import Store

_OWN = {"meta", "runs", "cells", "traces", "suite_cells", "claims"}


def _config(row: dict[str, Any]) -> dict[str, Any]:
    """What a cell key stands for (see gmbench.config.suite.cell_key), from a stored row."""
    method = json.loads(row["method_config"]) if row.get("method_config") else {}
    return {
        "problem": json.loads(row["problem_config"]) if row.get("problem_config") else None,
        "method": {"name": method.get("name"), "params": method.get("params")},
        "seed": row.get("seed"),
        "budget": json.loads(row["budget"]) if row.get("budget") else None,
        "dtype": row.get("dtype"),
        "device": str(row.get("device") or "").split(":")[0],
        "version": row.get("version"),
    }


def _rows(db: sqlite3.Connection, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
    cur = db.execute(sql, args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _q(name: str) -> str:
    """An SQL identifier quoted (a plugin's extra table may be named ``my extra`` or ``select``)."""
    return '"' + name.replace('"', '""') + '"'


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in db.execute(f"PRAGMA table_info({_q(table)})")]


def _insert(db: sqlite3.Connection, table: str, row: dict[str, Any], cols: list[str], verb: str = "INSERT") -> None:
    use = [c for c in cols if c in row]
    db.execute(f"{verb} INTO {_q(table)} ({','.join(map(_q, use))}) VALUES ({','.join('?' * len(use))})",
               [row[c] for c in use])


#: what two stored copies of one finished cell must share to be the same result
RESULT_FIELDS = ("final_energy", "final_dist", "n_energy", "n_cost", "stop_reason")


def merge_stores(out: str | os.PathLike[str], inputs: list[str | os.PathLike[str]], keep_first: bool = False
                 ) -> dict[str, int]:
    """Merge ``inputs`` into the store ``out`` (created if absent, its own cells take part). One transaction:
    a conflict raises GmbenchError and leaves ``out`` as it was. Two finished copies of one key with
    different results are a conflict unless ``keep_first`` (then the first is kept and counted). Returns
    counts."""
    out_path = Path(out)
    if not inputs:
        raise GmbenchError("merge needs at least one input store")
    existed = out_path.exists()
    srcs = []
    for p in inputs:
        path = Path(p)
        if not path.is_file():
            raise GmbenchError(f"no results store at {path}")
        if existed and path.resolve() == out_path.resolve():
            raise GmbenchError(f"{path} is both the output and an input of the merge")
        srcs.append(path)
    dest = Store(out_path, other="give merge an OUT path you can write")
    counts = {"stores": len(srcs), "cells": 0, "duplicates": 0, "replaced_failed": 0, "runs": 0, "traces": 0,
              "different_kept_first": 0}
    try:
        cell_cols = _columns(dest.db, "cells")
        trace_cols = _columns(dest.db, "traces")
        run_cols = _columns(dest.db, "runs")
        slot_cols = _columns(dest.db, "suite_cells")
        with dest.transaction() as db:
            for path in srcs:
                src = Store(path, create=False)
                try:
                    _merge_one(db, src.db, path, cell_cols, trace_cols, run_cols, slot_cols, counts, keep_first)
                finally:
                    src.close()
    except BaseException:
        dest.close()
        if not existed:
            for suffix in ("", "-wal", "-shm"):
                Path(str(out_path) + suffix).unlink(missing_ok=True)
        raise
    dest.close()
    return counts


def _merge_one(db: sqlite3.Connection, src: sqlite3.Connection, path: Path, cell_cols: list[str],
               trace_cols: list[str], run_cols: list[str], slot_cols: list[str], counts: dict[str, int],
               keep_first: bool = False) -> None:
    for row in _rows(src, "SELECT * FROM cells"):
        have = _rows(db, "SELECT * FROM cells WHERE key=?", (row["key"],))
        if have:
            old = have[0]
            a, b = _config(old), _config(row)
            if a != b:
                what = ", ".join(k for k in a if a[k] != b[k])
                raise GmbenchError(f"cell {row['key']} in {path} conflicts with the same key already merged "
                                   f"(different {what}); refusing to merge conflicting duplicates")
            counts["duplicates"] += 1
            if old["status"] == "done" and row["status"] == "done":
                differ = [f for f in RESULT_FIELDS if f in old and f in row and old[f] != row[f]]
                if differ and not keep_first:
                    raise GmbenchError(
                        f"cell {row['key']} in {path} has a different result than the copy already merged "
                        f"({', '.join(f'{f} {old[f]!r} vs {row[f]!r}' for f in differ[:2])}; a time budget or "
                        "another machine); refusing: merge stores of distinct cells, or pass --keep-first to keep "
                        "the first copy of each such cell")
                counts["different_kept_first"] += bool(differ)
            if not (old["status"] != "done" and row["status"] == "done"):
                continue
            db.execute("DELETE FROM cells WHERE key=?", (row["key"],))
            db.execute("DELETE FROM traces WHERE key=?", (row["key"],))
            counts["replaced_failed"] += 1
        else:
            counts["cells"] += 1
        _insert(db, "cells", row, cell_cols)
        for t in _rows(src, "SELECT * FROM traces WHERE key=? ORDER BY idx", (row["key"],)):
            _insert(db, "traces", t, trace_cols)
            counts["traces"] += 1
    for run in _rows(src, "SELECT * FROM runs"):
        if db.execute("SELECT 1 FROM runs WHERE run_id=?", (run["run_id"],)).fetchone() is None:
            _insert(db, "runs", run, run_cols)
            counts["runs"] += 1
    for slot in _rows(src, "SELECT * FROM suite_cells"):
        cur = db.execute("SELECT updated FROM suite_cells WHERE suite=? AND slot=?", (slot["suite"], slot["slot"])).fetchone()
        if cur is None or (slot["updated"] or 0) > (cur[0] or 0):
            _insert(db, "suite_cells", slot, slot_cols, "INSERT OR REPLACE")
    tables = {r[0]: r[1] for r in src.execute("SELECT name, sql FROM sqlite_master WHERE type='table'")}
    for name, sql in tables.items():
        if name in _OWN or name.startswith("sqlite_") or not sql:
            continue
        db.execute(sql.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1) if "IF NOT EXISTS" not in sql else sql)
        cols = _columns(db, name)
        for r in _rows(src, f"SELECT * FROM {_q(name)}"):
            _insert(db, name, r, cols, "INSERT OR IGNORE")
