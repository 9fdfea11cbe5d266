"""Executors: who runs a suite's pending cells, and where.

* ``local`` (:func:`run_cells`): one cell after another in this process.
* ``ray`` (:func:`run_cells_ray`): every pending cell becomes a Ray task (https://docs.ray.io) with the
  resources it needs; the workers run :func:`gmbench.run.execute.execute` and send the finished row and
  trace back. **Only the driver writes the store**, so SQLite stays single-writer wherever the workers run.

Both claim a cell in the store before it runs (the claim's lease is renewed while it runs, see
:meth:`gmbench.store.sqlite.Store.claim`), skip cells already stored, and report progress through the
same ``on_event(kind, cell, row)`` callback: 'skip', 'stale', 'busy', 'unavailable', 'start', 'end'.
A run killed at any point resumes: stored cells are never run again, claims of a dead run are taken
over.

:func:`select_shard` splits a suite's cells for job arrays without Ray (``gmbench run --shard i/n``,
each shard into its own store, combined by ``gmbench merge``).
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, Callable

from gmbench.run.cell import Cell
from gmbench.core.env import manifest
from gmbench.core.errors import GmbenchError
from gmbench.store.sqlite import Store

EXECUTORS = ("local", "ray")
Event = Callable[[str, Cell, "dict[str, Any] | None"], None]


# ---- shards ---------------------------------------------------------------------------------------
#: the most shards a suite may be split into (a job array larger than this is a typo)
MAX_SHARDS = 100_000


def parse_shard(text: str) -> tuple[int, int]:
    """'2/5' -> (2, 5): shard i of n, 1 <= i <= n."""
    m = re.fullmatch(r"\s*(\d{1,12})\s*/\s*(\d{1,12})\s*", text or "")
    if not m or not (1 <= int(m.group(1)) <= int(m.group(2))):
        raise GmbenchError(f"bad --shard {text[:40]!r}: use i/n with 1 <= i <= n, e.g. 1/3")
    if int(m.group(2)) > MAX_SHARDS:
        raise GmbenchError(f"bad --shard {text.strip()}: at most {MAX_SHARDS:,} shards")
    return int(m.group(1)), int(m.group(2))


def select_shard(cells: list[Cell], i: int, n: int) -> list[Cell]:
    """Shard i of n (1-based): every n-th cell of the stable expansion order, starting at the i-th.

    Deterministic for the same suite and options, disjoint across i, and together the whole suite;
    round-robin keeps the shards within one cell of each other in size (and mixes problems and methods,
    so each shard's wall time is about 1/n of the suite's). Every shard must be run with the same
    ``--budget``/``--seeds``/filters.
    """
    return [c for k, c in enumerate(cells) if in_shard(k, i, n)]


def in_shard(k: int, i: int, n: int) -> bool:
    """Whether the k-th cell (0-based) of the expansion order belongs to shard i of n (1-based)."""
    return k % n == i - 1


# ---- one cell -------------------------------------------------------------------------------------
def cell_code(cell: Cell) -> tuple[str, str]:
    """The code identity of a cell (:func:`gmbench.store.identity.code_identity`): its method's module, its
    problem's modules, the harness and what they import; (hash, JSON list of the files)."""
    from gmbench.methods import METHODS
    from gmbench.problems import PROBLEMS
    from gmbench.store.identity import code_identity

    method = METHODS.get(cell.method.name).__module__ if cell.method.name in METHODS else None
    return code_identity(tuple(m for m in (method, *PROBLEMS.get(cell.problem.name).modules) if m))


def execute_here(cell: Cell) -> tuple[dict[str, Any], list[tuple]]:
    """Run one cell in this process; the row carries the identity of the code that computed it."""
    from gmbench.run.execute import execute

    result = execute(cell)
    result.row["code"], result.row["code_files"] = cell_code(cell)
    return result.row, result.trace


def failed_row(cell: Cell, error: str) -> dict[str, Any]:
    """A store row for a cell that produced no result at all (its worker was lost, or the harness failed)."""
    now = time.time()
    return cell.row(status="failed", error=error, stop_reason="error", started=now, ended=now, summary="{}",
                    nearest_exact=1, code=None)


# ---- shared bookkeeping ---------------------------------------------------------------------------
class _Run:
    """Run record, counts and the claim step shared by the executors."""

    def __init__(self, cells: list[Cell], store: Store, suite_name: str, device: str, on_event: Event | None,
                 retry_failed: bool, rerun_stale: bool, extra_manifest: dict[str, Any] | None = None,
                 suite: Any = None):
        from gmbench.run.facts import record_facts

        self.store, self.retry_failed, self.rerun_stale = store, retry_failed, rerun_stale
        self.emit: Event = on_event or (lambda *a: None)
        self.run_id = uuid.uuid4().hex[:12]
        self.counts = {"done": 0, "failed": 0, "overrun": 0, "skipped": 0, "stale": 0, "busy": 0, "unavailable": 0}
        store.register_cells(cells)
        record_facts(store, cells, suite)  # what a report needs besides the results
        for cell in cells:  # every code identity hashed now, from the sources as the run starts (cached per
            if cell.available:  # process): editing the checkout during a long run changes none of them
                cell_code(cell)
        store.begin_run(self.run_id, suite_name, {**manifest(device), **(extra_manifest or {})})

    def admit(self, cell: Cell) -> bool:
        """Claim the cell if it has to run; count and report it otherwise."""
        if not cell.available:
            self.counts["unavailable"] += 1
            self.emit("unavailable", cell, None)
            return False
        claim = self.store.claim(cell.key, retry_failed=self.retry_failed, code=cell_code(cell)[0],
                                 rerun_stale=self.rerun_stale)
        if claim == "ok":
            return True
        kind = {"done": "skipped", "stale": "stale", "busy": "busy"}[claim]
        self.counts[kind] += 1
        self.emit({"done": "skip"}.get(claim, claim), cell, None)
        return False

    def store_result(self, cell: Cell, row: dict[str, Any], trace: list[tuple]) -> None:
        row["run_id"] = self.run_id
        self.store.save_cell(row, trace, replace_stale=self.rerun_stale)
        self.counts[row["status"] if row["status"] in ("done", "failed", "overrun") else "failed"] += 1
        self.emit("end", cell, row)

    def end(self, status: str) -> None:
        self.store.end_run(self.run_id, status)


# ---- local ----------------------------------------------------------------------------------------
def run_cells(
    cells: list[Cell],
    store: Store,
    suite_name: str,
    device: str,
    retry_failed: bool = False,
    on_event: Event | None = None,
    rerun_stale: bool = False,
    suite: Any = None,
) -> dict[str, int]:
    """The ``local`` executor: run every cell not already in the store, one after another, here.
    ``suite``: the parsed suite, whose report facts (target ladders) go into the store."""
    run = _Run(cells, store, suite_name, device, on_event, retry_failed, rerun_stale, {"executor": "local"}, suite)
    status = "interrupted"
    try:
        for cell in cells:
            if not run.admit(cell):
                continue
            run.emit("start", cell, None)
            try:
                row, trace = execute_here(cell)
            except BaseException:
                store.release(cell.key)
                raise
            run.store_result(cell, row, trace)
        status = "finished"
    finally:
        run.end(status)
    return run.counts


# ---- Ray ------------------------------------------------------------------------------------------
def cell_resources(cell: Cell, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ray resources of one cell: a GPU for a CUDA cell, one CPU per torch thread (default 1); the
    suite's ``resources:`` mapping overrides any of them."""
    res: dict[str, Any] = {"num_cpus": cell.threads, "num_gpus": 1 if cell.device.startswith("cuda") else 0}
    res.update(overrides or {})
    return res


def _ray_cell(cell: Cell, plugins: list[str], method_files: list[str] | None = None) -> tuple[dict[str, Any], list[tuple]]:
    """Body of a Ray task, in a worker process: load the suite's plugins (and describe its method files, which
    only sealed children import), run the cell (with its own ``cell.threads`` torch threads, as
    everywhere), return row and trace."""
    from gmbench.core.registry import load_plugins

    load_plugins(plugins)
    if method_files:
        from gmbench.run.method_files import load_method_files

        load_method_files(method_files)
    if cell.device.startswith("cuda"):
        cell.device = "cuda:0"  # Ray sets CUDA_VISIBLE_DEVICES to the GPU it assigned to this task
    return execute_here(cell)


#: seconds a Ray address (HOST:PORT) has to accept a connection before the run gives up
RAY_CONNECT_TIMEOUT_S = 10.0


def check_executor(executor: str, address: str | None) -> None:
    """Fail fast, before a store is created or a cell claimed: an unknown executor, Ray not installed, or a
    Ray address that does not accept a TCP connection within :data:`RAY_CONNECT_TIMEOUT_S` (Ray itself
    retries for minutes)."""
    if executor not in EXECUTORS:
        raise GmbenchError(f"unknown --executor {executor!r} (use {' or '.join(EXECUTORS)})")
    if address is not None and executor != "ray":
        raise GmbenchError("--address is for --executor ray")
    if executor != "ray":
        return
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise GmbenchError("--executor ray needs Ray: pip install 'gmbench[ray]' (or pip install ray)")
    if address is None or address.strip() == "auto":
        return
    import socket

    host, _, port = address.strip().removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise GmbenchError(f"bad --address {address!r}: use auto or HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=RAY_CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise GmbenchError(f"cannot reach Ray at {address} within {RAY_CONNECT_TIMEOUT_S:.0f} s: "
                           f"{exc.strerror or exc}") from None


def run_cells_ray(
    cells: list[Cell],
    store: Store,
    suite_name: str,
    device: str,
    retry_failed: bool = False,
    on_event: Event | None = None,
    rerun_stale: bool = False,
    address: str | None = None,
    resources: dict[str, Any] | None = None,
    plugins: list[str] | None = None,
    max_retries: int = 2,
    method_files: list[str] | None = None,
    suite: Any = None,
) -> dict[str, int]:
    """The ``ray`` executor: every pending cell becomes a Ray task; the driver (this process) stores results.

    ``address``: an existing cluster ('auto' or 'HOST:PORT'); None starts a local Ray on this machine
    (or uses one this process already initialised). A task whose worker dies (killed, out of memory, its
    node lost) is resubmitted by Ray up to ``max_retries`` times, then stored as failed with the reason;
    an exception in the harness itself is not retried. Cells are claimed in the store before they are
    submitted, and the claims' leases are renewed by the driver until the results arrive.
    """
    try:
        import ray
    except ImportError as exc:
        raise GmbenchError("--executor ray needs Ray: pip install 'gmbench[ray]' (or pip install ray)") from exc
    started_here = False
    if not ray.is_initialized():
        try:
            import logging

            ray.init(address=address, log_to_driver=False, include_dashboard=False, logging_level=logging.ERROR)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise GmbenchError(f"cannot connect to Ray at {address or 'a new local cluster'}: {exc}") from exc
        started_here = True
    remote = ray.remote(_ray_cell)
    run = _Run(cells, store, suite_name, device, on_event, retry_failed, rerun_stale,
               {"executor": "ray", "ray_address": address, "ray_nodes": len(ray.nodes())}, suite)
    pending: dict[Any, Cell] = {}
    status = "interrupted"
    try:
        for cell in cells:
            if not run.admit(cell):
                continue
            res = cell_resources(cell, resources)
            ref = remote.options(max_retries=max_retries, retry_exceptions=False, **res).remote(
                cell, list(plugins or []), list(method_files or []))
            pending[ref] = cell
            run.emit("start", cell, None)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                cell = pending.pop(ref)
                try:
                    row, trace = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:  # the harness raised (not the method: that is a result)
                    cause = exc.cause if getattr(exc, "cause", None) is not None else exc
                    row, trace = failed_row(cell, f"{type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}"), []
                except ray.exceptions.RayError as exc:  # worker or node lost, after max_retries resubmissions
                    row, trace = failed_row(cell, f"worker lost ({type(exc).__name__}) after {max_retries} retries"), []
                run.store_result(cell, row, trace)
        status = "finished"
    finally:
        for ref, cell in pending.items():
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - best effort while shutting down
                pass
            store.release(cell.key)
        run.end(status)
        if started_here:
            ray.shutdown()
    return run.counts


def run_suite_cells(cells: list[Cell], store: Store, suite_name: str, device: str, executor: str = "local",
                    **kwargs: Any) -> dict[str, int]:
    """Dispatch to an executor by name ('local' or 'ray'); Ray-only options are ignored by 'local'."""
    if executor == "local":
        return run_cells(cells, store, suite_name, device, retry_failed=kwargs.get("retry_failed", False),
                         on_event=kwargs.get("on_event"), rerun_stale=kwargs.get("rerun_stale", False),
                         suite=kwargs.get("suite"))
    if executor == "ray":
        return run_cells_ray(cells, store, suite_name, device, **kwargs)
    raise GmbenchError(f"unknown executor {executor!r} (use {' or '.join(EXECUTORS)})")
