"""The results store: SQLite (WAL), one row per cell, traces in their own table, a manifest per run.

Crash safety: a cell's row and its trace are written in one transaction when the cell ends, so a
killed run (even ``kill -9``) leaves finished cells intact and no half-written cell; a rerun skips
finished cells and redoes the rest. Several ``gmbench run`` processes may share one store: a cell is
*claimed* (by pid and host) before it runs, so two processes do not run the same cell, and the insert
is guarded by the primary key, so a cell is never stored twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from gmbench.core.errors import GmbenchError

DEFAULT_STORE = Path("results") / "gmbench.sqlite"
SCHEMA_VERSION = "2"

#: the cells table, declared once (column, SQL type): its CREATE TABLE, the insert (CELL_COLUMNS) and the
#: upgrade of a store created by earlier code (a missing column is added on its next writable open, and
#: reads NULL in earlier rows) all derive from this. A finished cell's row and a failed one's are built by
#: ``gmbench.run.cell.Cell.row`` (the identity columns) plus the result columns.
CELL_SCHEMA: tuple[tuple[str, str], ...] = (
    ("key", "TEXT PRIMARY KEY"), ("run_id", "TEXT"), ("suite", "TEXT"), ("problem", "TEXT"), ("dim", "INTEGER"),
    ("problem_config", "TEXT"), ("method", "TEXT"), ("label", "TEXT"), ("method_config", "TEXT"),
    ("seed", "INTEGER"), ("budget", "TEXT"), ("device", "TEXT"), ("dtype", "TEXT"), ("version", "TEXT"),
    ("status", "TEXT"), ("error", "TEXT"), ("stop_reason", "TEXT"),
    ("final_energy", "REAL"), ("final_gap", "REAL"), ("final_dist", "REAL"), ("final_dist_nearest", "REAL"),
    ("nearest_exact", "INTEGER"), ("min_dist", "REAL"), ("min_dist_nearest", "REAL"), ("avg_err_per_dim", "REAL"),
    ("avg_err_per_dim_nearest", "REAL"), ("final_oob", "REAL"), ("final_t", "REAL"), ("n_candidates", "INTEGER"),
    ("n_energy", "INTEGER"), ("n_grad", "INTEGER"), ("wall_s", "REAL"), ("harness_s", "REAL"),
    ("overrun_s", "REAL"), ("started", "REAL"), ("ended", "REAL"), ("best_x", "BLOB"), ("summary", "TEXT"),
    # fingerprint of the code that computed the cell (gmbench.store.identity) and the files it hashes
    ("code", "TEXT"), ("code_files", "TEXT"),
    # honest timing (gmbench.run.execute): the method's CPU time, its share of the cell's threads' time (the
    # report marks time-budgeted cells below 0.8 as contended), the threads, the 1-minute load at start and end
    ("cpu_s", "REAL"), ("cpu_util", "REAL"), ("threads", "INTEGER"), ("load_start", "REAL"), ("load_end", "REAL"),
    # the cost ledger (gmbench.core.blackbox): evaluations charged against the budget (NULL for cells stored
    # before it, whose charged evaluations equal n_energy) and the local minimisations a method completed
    ("n_cost", "INTEGER"), ("n_local", "INTEGER"),
    # how the method was isolated (gmbench.sandbox): NULL in the harness's process, else the confinement that
    # held in its own process ("landlock+audit" or "audit")
    ("sealed", "TEXT"),
)
#: the traces table, declared once likewise (``pred``: the prediction so far at each row, gmbench.run.recorder;
#: NULL for rows stored before, whose predictions report/legacy.py derives)
TRACE_SCHEMA: tuple[tuple[str, str], ...] = (
    ("key", "TEXT"), ("idx", "INTEGER"), ("t", "REAL"), ("n_energy", "INTEGER"), ("n_grad", "INTEGER"),
    ("energy", "REAL"), ("gap", "REAL"), ("dist", "REAL"), ("dist_nearest", "REAL"), ("oob", "REAL"),
    ("scalars", "TEXT"), ("n_cost", "INTEGER"), ("pred", "INTEGER"),
)


def _create(table: str, schema: tuple[tuple[str, str], ...], extra: str = "") -> str:
    return f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(f'{c} {t}' for c, t in schema)}{extra});\n"


SCHEMA = _create("cells", CELL_SCHEMA) + _create("traces", TRACE_SCHEMA, ", PRIMARY KEY (key, idx)") + """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, suite TEXT, started REAL, ended REAL, status TEXT, manifest TEXT);
CREATE TABLE IF NOT EXISTS suite_cells (
    suite TEXT, slot TEXT, key TEXT, problem TEXT, dim INTEGER, problem_config TEXT, label TEXT,
    seed INTEGER, unavailable TEXT, updated REAL, PRIMARY KEY (suite, slot));
CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, pid INTEGER, host TEXT, since REAL, lease_until REAL);
CREATE TABLE IF NOT EXISTS facts (kind TEXT, key TEXT, value TEXT, PRIMARY KEY (kind, key));
"""

# Columns added after a table was first released: (table, column, type). A store created earlier gets
# them on its next writable open (ALTER TABLE ... ADD COLUMN; existing rows read NULL there).
ADDED_COLUMNS = [
    ("claims", "lease_until", "REAL"),  # the claim expires then unless its holder renews it
    # cells and traces: every column of CELL_SCHEMA / TRACE_SCHEMA that a store created earlier lacks
    *(("cells", c, t) for c, t in CELL_SCHEMA if c != "key"),
    *(("traces", c, t) for c, t in TRACE_SCHEMA if c not in ("key", "idx")),
]

# A claim's lease: the holder renews it every LEASE_RENEW_S while the cell runs; a claim whose lease has
# run out (its holder is hung, or on a host that crashed) or whose process is gone is taken over.
LEASE_S = 60.0
LEASE_RENEW_S = 10.0

CELL_COLUMNS = [c for c, _ in CELL_SCHEMA]
TRACE_COLUMNS = [c for c, _ in TRACE_SCHEMA]


# Filesystems whose locks SQLite cannot rely on (https://www.sqlite.org/faq.html#q5, "SQLite over a
# network"; WAL mode needs shared memory on one host, https://www.sqlite.org/wal.html): a store there
# risks corruption when several processes write it.
NETWORK_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smbfs", "smb3", "lustre", "gpfs", "beegfs", "ceph", "glusterfs",
                       "fuse.glusterfs", "fuse.sshfs", "fuse.ceph", "afs", "9p", "ocfs2", "panfs", "fuse.s3fs"}


def network_filesystem(path: str | os.PathLike[str], mounts_table: str | None = None) -> str | None:
    """The type of the network filesystem ``path`` (or its nearest existing parent) lives on, or None
    (local, or not Linux): the longest mount point of /proc/mounts (or ``mounts_table``) containing it."""
    try:
        p = Path(path).resolve()
    except (RuntimeError, OSError):  # a symlink loop: Store() says so in one line
        return None
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        text = mounts_table if mounts_table is not None else Path("/proc/mounts").read_text()
    except OSError:
        return None
    mounts = [line.split()[1:3] for line in text.splitlines() if len(line.split()) > 2]
    best, kind = "", None
    for point, fstype in mounts:
        point = point.replace("\\040", " ")
        if (str(p) == point or str(p).startswith(point.rstrip("/") + "/")) and len(point) > len(best):
            best, kind = point, fstype
    return kind if kind in NETWORK_FILESYSTEMS else None


def charged(frame: "Any") -> "Any":
    """``frame`` (cells or traces) with ``n_cost``, the evaluations charged against the budget, filled
    in for rows stored before the cost ledger existed (or read from a store without the column): there
    every gradient cost one evaluation, so the charge is ``n_energy``. The one place that rule lives."""
    if "n_energy" not in frame.columns:
        return frame
    if "n_cost" not in frame.columns:
        frame["n_cost"] = frame["n_energy"]
    else:
        frame["n_cost"] = frame["n_cost"].fillna(frame["n_energy"])
    return frame


def _alive(pid: int, host: str) -> bool:
    """Whether a claim's process may still run. Another host's process cannot be probed (its lease
    decides); on this host a missing pid is dead."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_process_gone(manifest: str | None) -> bool:
    """Whether the process that wrote a run record (its manifest's host and pid) is known to be gone."""
    try:
        m = json.loads(manifest) if manifest else {}
        pid, host = int(m["pid"]), str(m["host"])
    except (ValueError, TypeError, KeyError):
        return False  # records from before pids were recorded: cannot tell
    return host == socket.gethostname() and not _alive(pid, host)


SQLITE_MAGIC = b"SQLite format 3\x00"


def inspect_store(path: Path) -> str:
    """What ``path`` is, without writing to it: 'absent', 'gmbench' (a store this code reads), or raise.

    Refuses (GmbenchError) an empty file, a file that is not SQLite, another application's SQLite
    database, and a store written by a newer gmbench (``meta.schema`` above :data:`SCHEMA_VERSION`).
    The file is opened read-only (see :func:`connect_readonly`), so it stays byte-for-byte unchanged.
    """
    if not path.exists():
        return "absent"
    if not path.is_file():
        raise GmbenchError(f"results store {path} is not a file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise GmbenchError(f"cannot read results store {path}: {exc.strerror or exc}") from exc
    if not head:
        raise GmbenchError(f"{path} is an empty file, not a gmbench results store (remove it or pass another --store)")
    if head != SQLITE_MAGIC:
        raise GmbenchError(f"{path} is not a gmbench results store (not an SQLite database)")
    db = connect_readonly(path)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone() if "meta" in tables else None
    except sqlite3.DatabaseError as exc:
        raise GmbenchError(f"cannot read results store {path}: {exc}") from exc
    finally:
        db.close()
    if row is None or not {"runs", "cells"} <= tables:
        what = f"tables {', '.join(sorted(tables)[:5])}" if tables else "no tables"
        raise GmbenchError(f"{path} is not a gmbench results store (an SQLite database with {what})")
    try:
        version = int(row[0])
    except (TypeError, ValueError):
        raise GmbenchError(f"{path} is not a gmbench results store (schema marker {row[0]!r})") from None
    if version > int(SCHEMA_VERSION):
        raise GmbenchError(f"results store {path} was written by a newer gmbench (schema {version}; this one "
                           f"reads up to {SCHEMA_VERSION}): upgrade gmbench")
    return "gmbench"


def create_atomically(path: Path) -> None:
    """Create a new store with its tables and schema marker in a private file, then hard-link it into
    place (no-clobber: if another process got there first, its store is kept). Nobody ever sees a
    half-made store, so an empty file or an SQLite file without tables is never a store in creation
    and can be refused at once (two ``gmbench run`` started together on a new store both succeed)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    try:
        db = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            db.execute("COMMIT")
        finally:
            db.close()  # the last connection checkpoints the log into the file and removes it
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # created meanwhile by another process: use that one
        except OSError:  # a filesystem without hard links: rename, unless the store appeared meanwhile
            if not path.exists():
                os.replace(tmp, path)
    finally:
        for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


def connect_readonly(path: Path) -> sqlite3.Connection:
    """Open an SQLite file without ever writing: ``mode=ro``, and ``immutable=1`` when no write-ahead
    log is present (a store nobody is writing; also the only way to read a WAL-mode database in a
    directory we may not write, since a read-only WAL reader otherwise creates the -shm/-wal files)."""
    from urllib.parse import quote

    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    wal = Path(str(path) + "-wal")
    if not wal.exists():
        uri += "&immutable=1"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=60, isolation_level=None)
    except sqlite3.Error as exc:
        raise GmbenchError(f"cannot open results store {path} read-only: {exc}") from exc
    return db


def config_json(config: dict[str, Any]) -> str:
    """How the store writes a configuration (``problem_config``, ``method_config``, the facts' keys): JSON
    with sorted keys, so that one configuration is one string."""
    return json.dumps(config, sort_keys=True)


#: text columns a report prints as they are: shown through gmbench.core.text.printable
SHOWN_TEXT = ("slot_suite", "slot_problem", "slot_label", "suite", "problem", "label", "method", "error",
              "unavailable")


class Store:
    """The results store. ``create=True`` (``run``, ``filter``): open for writing, creating the file
    and its tables if absent. ``create=False`` (``report``, ``show``, ``plot``, ``export``): open
    read-only; nothing is created or written, and a read-only file in a read-only directory works."""

    lease_s = LEASE_S
    lease_renew_s = LEASE_RENEW_S

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_STORE, create: bool = True,
                 other: str = "pass --store with a writable path"):
        """``other``: what the user should do instead when the store cannot be written (the command's own
        option: ``gmbench merge`` takes its output as an argument, not ``--store``)."""
        self.path = Path(path)
        try:
            self.path.resolve()
        except (RuntimeError, OSError) as exc:  # e.g. a symlink to itself
            raise GmbenchError(f"cannot use results store {self.path}: {exc}") from None
        self._held: set[str] = set()  # keys this process has claimed and not yet stored or released
        self._renewer: threading.Thread | None = None
        self._stop_renewing = threading.Event()
        self.readonly = not create
        if not create and not self.path.is_file():
            raise GmbenchError(f"no results store at {self.path} (run `gmbench run` first, or pass --store)")
        kind = inspect_store(self.path)
        if not create:
            self.db = connect_readonly(self.path)
            return
        where = self.path if kind != "absent" else self.path.parent
        if (where.exists() or kind != "absent") and not os.access(where, os.W_OK):
            raise GmbenchError(f"results store {self.path} is read-only (no write permission on {where}); {other}")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            if kind == "absent":
                create_atomically(self.path)
            self.db = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
            self.db.execute("PRAGMA busy_timeout=60000")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            with self.transaction():
                for statement in SCHEMA.split(";"):  # not executescript(): it would commit mid-transaction
                    if statement.strip():
                        self.db.execute(statement)
                have = {t: {r[1] for r in self.db.execute(f"PRAGMA table_info({t})")}
                        for t in {table for table, _, _ in ADDED_COLUMNS}}
                for table, column, kind in ADDED_COLUMNS:
                    if column not in have[table]:
                        self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                row = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                if row is None:
                    self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                elif row[0] != SCHEMA_VERSION:
                    raise GmbenchError(f"store {self.path} has schema {row[0]}, this gmbench needs {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            if "readonly" in str(exc):
                raise GmbenchError(f"results store {self.path} is read-only ({exc}); {other}") from exc
            raise GmbenchError(f"cannot use results store {self.path}: {exc}") from exc
        except OSError as exc:
            raise GmbenchError(f"cannot create results store {self.path}: {exc.strerror or exc}") from exc

    # ---- transactions -----------------------------------------------------------------------------
    class _Tx:
        def __init__(self, db: sqlite3.Connection):
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")

    def transaction(self) -> "Store._Tx":
        return Store._Tx(self.db)

    def close(self) -> None:
        self._stop_renewing.set()
        self.db.close()

    # ---- runs -------------------------------------------------------------------------------------
    def begin_run(self, run_id: str, suite: str, manifest: dict[str, Any]) -> None:
        # pid and host: a record left 'running' by a process that is gone is shown as ended (runs())
        manifest = {**manifest, "pid": os.getpid(), "host": manifest.get("host") or socket.gethostname()}
        with self.transaction() as db:
            db.execute("INSERT INTO runs VALUES (?,?,?,?,?,?)", (run_id, suite, time.time(), None, "running", json.dumps(manifest)))

    def end_run(self, run_id: str, status: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET ended=?, status=? WHERE run_id=?", (time.time(), status, run_id))

    # ---- suites -----------------------------------------------------------------------------------
    def register_cells(self, cells: list[Any]) -> None:
        """Record which cell now fills each (suite, problem, method label, seed) slot."""
        now = time.time()
        with self.transaction() as db:
            for c in cells:
                pconf = config_json(c.problem_config)
                slot = f"{pconf}|{c.method.label}|{c.seed}"
                db.execute(
                    "INSERT OR REPLACE INTO suite_cells VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (c.suite, slot, c.key, c.problem_config.get("name"), c.problem_config.get("dim"), pconf,
                     c.method.label, c.seed, None if c.available else c.unavailable_reason, now),
                )

    # ---- facts: what a report needs to know besides the results ------------------------------------
    def put_facts(self, kind: str, items: dict[str, dict[str, Any]]) -> None:
        """Record facts a report reads instead of rebuilding problems, methods or suites
        (:mod:`gmbench.run.facts`): ``kind`` "problem" (by problem configuration), "method" (by method
        name) or "suite" (by suite name); a newer value replaces an older one."""
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO facts (kind, key, value) VALUES (?,?,?)",
                           [(kind, k, json.dumps(v, sort_keys=True)) for k, v in items.items()])

    def facts(self, kind: str) -> dict[str, dict[str, Any]]:
        """The recorded facts of ``kind`` by key ({} in a store written before facts were recorded)."""
        try:
            rows = self.db.execute("SELECT key, value FROM facts WHERE kind=?", (kind,)).fetchall()
        except sqlite3.OperationalError:  # no facts table: an earlier store, opened read-only
            return {}
        return {k: json.loads(v) for k, v in rows}

    # ---- claims -----------------------------------------------------------------------------------
    def claim(self, key: str, retry_failed: bool = False, code: str | None = None, rerun_stale: bool = False) -> str:
        """Claim a cell before running it. Returns 'done' if it is stored, 'stale' if it is stored but was
        computed by other gmbench code (``code`` is this code's fingerprint) and ``rerun_stale`` is off,
        'busy' if another process holds a live claim, else 'ok' (claimed by this process).

        A claim records host, pid and a lease (``lease_until``) that this process renews every
        ``LEASE_RENEW_S`` while it holds the claim. Another process's claim is taken over when its lease
        has run out (any host: a crashed node, a hung process) or when its process is gone (same host).
        """
        with self.transaction() as db:
            row = db.execute("SELECT status, code FROM cells WHERE key=?", (key,)).fetchone()
            if row is not None:
                stale = row[0] == "done" and code is not None and row[1] is not None and row[1] != code
                if stale and not rerun_stale:
                    return "stale"
                if not stale and (row[0] == "done" or not retry_failed):
                    return "done"
            c = db.execute("SELECT pid, host, since, lease_until FROM claims WHERE key=?", (key,)).fetchone()
            me = (os.getpid(), socket.gethostname())
            now = time.time()
            if c is not None and (c[0], c[1]) != me:
                lease_until = c[3] if c[3] is not None else (c[2] or 0.0) + self.lease_s
                if lease_until > now and _alive(c[0], c[1]):
                    return "busy"
            db.execute("INSERT OR REPLACE INTO claims (key, pid, host, since, lease_until) VALUES (?,?,?,?,?)",
                       (key, me[0], me[1], now, now + self.lease_s))
        self._hold(key)
        return "ok"

    def release(self, key: str) -> None:
        self._held.discard(key)
        with self.transaction() as db:
            db.execute("DELETE FROM claims WHERE key=? AND pid=? AND host=?", (key, os.getpid(), socket.gethostname()))

    def _hold(self, key: str) -> None:
        """Remember a claimed key and make sure the lease-renewing thread runs."""
        self._held.add(key)
        if self._renewer is None or not self._renewer.is_alive():
            self._stop_renewing.clear()
            self._renewer = threading.Thread(target=self._renew_leases, name="gmbench-lease", daemon=True)
            self._renewer.start()

    def _renew_leases(self) -> None:
        """Background thread: extend the lease of every claim this process holds (own connection)."""
        db = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=60000")
            while not self._stop_renewing.wait(self.lease_renew_s):
                keys = list(self._held)
                if not keys:
                    continue
                now = time.time()
                try:
                    db.executemany("UPDATE claims SET lease_until=? WHERE key=? AND pid=? AND host=?",
                                   [(now + self.lease_s, k, os.getpid(), socket.gethostname()) for k in keys])
                except sqlite3.Error:
                    pass  # a busy or briefly unavailable store: the next renewal tries again
        finally:
            db.close()

    # ---- cells ------------------------------------------------------------------------------------
    def save_cell(self, row: dict[str, Any], trace: list[tuple], replace_stale: bool = False) -> bool:
        """Insert a finished (or failed) cell and its trace atomically; False if a done row existed
        (unless ``replace_stale`` and that row was computed by other code than ``row['code']``)."""
        values = dict(row)
        if values.get("best_x") is not None:
            values["best_x"] = np.asarray(values["best_x"], dtype=np.float64).tobytes()
        with self.transaction() as db:
            old = db.execute("SELECT status, code FROM cells WHERE key=?", (values["key"],)).fetchone()
            if old is not None:
                stale = replace_stale and old[1] is not None and old[1] != values.get("code")
                if old[0] == "done" and not stale:
                    db.execute("DELETE FROM claims WHERE key=?", (values["key"],))
                    self._held.discard(values["key"])
                    return False
                db.execute("DELETE FROM cells WHERE key=?", (values["key"],))
                db.execute("DELETE FROM traces WHERE key=?", (values["key"],))
            cols = ",".join(CELL_COLUMNS)
            db.execute(f"INSERT INTO cells ({cols}) VALUES ({','.join('?' * len(CELL_COLUMNS))})",
                       [values.get(c) for c in CELL_COLUMNS])
            db.executemany(f"INSERT INTO traces ({','.join(TRACE_COLUMNS)}) VALUES ({','.join('?' * len(TRACE_COLUMNS))})",
                           [(values["key"], i, *t, *(None,) * (len(TRACE_COLUMNS) - 2 - len(t)))  # (a writer
                            for i, t in enumerate(trace)])  # without the later columns: NULL, as in old stores)
            db.execute("DELETE FROM claims WHERE key=?", (values["key"],))
        self._held.discard(values["key"])
        return True

    def status_of(self, key: str) -> str | None:
        row = self.db.execute("SELECT status FROM cells WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def cells_frame(self, suite: str | None = None) -> "Any":
        """Cells as a pandas DataFrame (with the suite slots, including not-run and unavailable ones)."""
        import pandas as pd

        q = (
            "SELECT s.suite AS slot_suite, s.problem AS slot_problem, s.dim AS slot_dim, s.label AS slot_label, "
            "s.seed AS slot_seed, s.problem_config AS slot_problem_config, s.unavailable, c.* "
            "FROM suite_cells s LEFT JOIN cells c ON c.key = s.key"
        )
        args: tuple = ()
        if suite is not None:
            q += " WHERE s.suite = ?"
            args = (suite,)
        q += " ORDER BY s.rowid"
        frame = charged(pd.read_sql_query(q, self.db, params=args))
        from gmbench.core.text import printable

        for col in SHOWN_TEXT:  # a store from elsewhere may hold names that would act on a terminal
            if col in frame:
                frame[col] = frame[col].map(lambda v: printable(v) if isinstance(v, str) else v)
        return frame

    def suite_name(self, text: str) -> str:
        """The stored suite a ``--suite`` argument means: a stored suite name, or the file (path, file
        name or stem) a run recorded it was loaded from (``facts("suite")``); else ``text`` itself. A store
        written before runs recorded their suite files falls back to reading the suite file's name."""
        names = self.suites()
        if text in names:
            return text
        recorded = self.facts("suite")
        given = Path(text)
        for name, rec in recorded.items():
            path = Path(rec.get("path") or "")
            if str(path) and (str(given.resolve()) == str(path) or given.name == path.name or text == path.stem):
                return name
        if not recorded:
            from gmbench.report.legacy import suite_name

            return suite_name(text)
        return text

    def suites(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT suite FROM suite_cells GROUP BY suite ORDER BY MAX(updated) DESC")]

    def find_cell(self, prefix: str) -> dict[str, Any]:
        rows = self.db.execute("SELECT * FROM cells WHERE key LIKE ?", (prefix + "%",)).fetchall()
        if not rows:
            raise GmbenchError(f"no cell with key {prefix!r} in {self.path}")
        if len(rows) > 1:
            raise GmbenchError(f"cell key {prefix!r} is ambiguous ({len(rows)} cells); give more characters")
        names = [d[0] for d in self.db.execute("SELECT * FROM cells LIMIT 0").description]
        return dict(zip(names, rows[0]))

    def cell_index(self, suite: str | None = None, problem: str | None = None, method: str | None = None,
                   seed: int | None = None) -> list[dict[str, Any]]:
        """Stored cells (key, suite, problem, dim, method label, seed, status), optionally filtered; the
        problem matches its name or name-dim (``sphere`` or ``sphere-10``), the method its label or name."""
        q = "SELECT key, suite, problem, dim, label, method, seed, status FROM cells WHERE 1=1"
        args: list[Any] = []
        if suite is not None:
            q += " AND suite = ?"
            args.append(suite)
        if problem is not None:
            q += " AND (problem = ? OR problem || '-' || dim = ?)"
            args += [problem, problem]
        if method is not None:
            q += " AND (label = ? OR method = ?)"
            args += [method, method]
        if seed is not None:
            if not -(2**63) <= seed < 2**63:  # found by tests/test_fuzz.py: an OverflowError in sqlite3
                return []  # no stored seed is outside SQLite's 64-bit INTEGER
            q += " AND seed = ?"
            args.append(seed)
        cur = self.db.execute(q + " ORDER BY suite, problem, dim, label, seed", args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur]

    def trace(self, key: str) -> Iterator[dict[str, Any]]:
        cur = self.db.execute("SELECT * FROM traces WHERE key=? ORDER BY idx", (key,))
        names = [d[0] for d in cur.description]
        for r in cur:
            d = dict(zip(names, r))
            d["scalars"] = json.loads(d["scalars"]) if d["scalars"] else {}
            if d.get("n_cost") is None:  # stored before the cost ledger: every gradient cost one evaluation
                d["n_cost"] = d.get("n_energy")
            yield d

    def runs(self) -> list[dict[str, Any]]:
        """Run records. One still marked 'running' whose process is gone (same host, pid not alive:
        killed, or the machine restarted) reads as 'ended (process gone)' without an end time."""
        cur = self.db.execute("SELECT * FROM runs ORDER BY started")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur]
        for r in rows:
            if r.get("status") == "running" and run_process_gone(r.get("manifest")):
                r["status"] = "ended (process gone)"
        return rows
