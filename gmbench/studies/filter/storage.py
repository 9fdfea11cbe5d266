"""The filter's own tables in the results store: ``filter_runs`` (one row per step, function, seed and
config hash of that step's settings) and ``filter_invocations`` (one per ``gmbench filter`` call)."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS filter_runs (
    step INTEGER, function TEXT, seed INTEGER, config_hash TEXT, config TEXT, numbers TEXT, decision INTEGER,
    created REAL, PRIMARY KEY (step, function, seed, config_hash));
CREATE TABLE IF NOT EXISTS filter_invocations (
    run_id TEXT PRIMARY KEY, started REAL, ended REAL, config TEXT)
"""


class FilterStore:
    """The filter's rows in a :class:`~gmbench.store.sqlite.Store` (its own tables)."""

    def __init__(self, store: Any):
        self.store = store
        if getattr(store, "readonly", False):  # `report --filter` reads; a store without filter runs has no tables
            return
        with store.transaction() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    def get(self, step: int, function: str, seed: int, h: str) -> dict[str, Any] | None:
        row = self.store.db.execute(
            "SELECT numbers FROM filter_runs WHERE step=? AND function=? AND seed=? AND config_hash=?",
            (step, function, seed, h)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, step: int, function: str, seed: int, h: str, config: dict[str, Any], numbers: dict[str, Any],
            decision: bool | None, replace_: bool = False) -> None:
        verb = "INSERT OR REPLACE" if replace_ else "INSERT OR IGNORE"
        with self.store.transaction() as db:
            db.execute(f"{verb} INTO filter_runs VALUES (?,?,?,?,?,?,?,?)",
                       (step, function, seed, h, json.dumps(config, sort_keys=True), json.dumps(numbers),
                        None if decision is None else int(bool(decision)), time.time()))

    def begin(self, run_id: str, config: dict[str, Any]) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT INTO filter_invocations VALUES (?,?,?,?)", (run_id, time.time(), None, json.dumps(config)))

    def end(self, run_id: str, config: dict[str, Any]) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE filter_invocations SET ended=?, config=? WHERE run_id=?",
                       (time.time(), json.dumps(config), run_id))

    def latest(self) -> dict[str, Any] | None:
        try:
            row = self.store.db.execute(
                "SELECT config FROM filter_invocations WHERE ended IS NOT NULL ORDER BY ended DESC LIMIT 1").fetchone()
        except sqlite3.OperationalError:  # no filter tables yet (a store opened read-only)
            return None
        return json.loads(row[0]) if row else None
