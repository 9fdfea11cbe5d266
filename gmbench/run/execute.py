"""Executes cells: builds the problem, the BlackBox and the method, enforces the budget, stores the result."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator

import torch

from gmbench.core.blackbox import BlackBox, Budget, BudgetExhausted, Clock, synchronize
from gmbench.core.errors import method_failure
from gmbench.methods import make_method
from gmbench.problems import make_problem
from gmbench.run.recorder import Inbox, Recorder
from gmbench.run.cell import Cell
from gmbench.store.sqlite import CELL_COLUMNS
from gmbench.run.signals import catch_interrupts, delivered


def grace_s(budget: Budget) -> float:
    """How long past its time budget a method may run before it is stopped by force."""
    return 1.0 + 0.02 * (budget.time_s or 0.0)


@contextlib.contextmanager
def hard_deadline(clock: Clock, limit: float | None) -> Iterator[None]:
    """Raise BudgetExhausted('killed') in the main thread once method time passes ``limit``.

    SIGALRM interrupts Python code between bytecodes (a long torch kernel finishes first).
    """
    usable = limit is not None and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def arm() -> None:
        remaining = limit - clock.elapsed()
        signal.setitimer(signal.ITIMER_REAL, max(remaining, 0.01))

    def handler(signum: int, frame: Any) -> None:
        if clock.elapsed() >= limit:  # once: a repeating alarm could hit the harness's own code after the method
            raise BudgetExhausted("killed")
        arm()

    old = signal.signal(signal.SIGALRM, handler)
    arm()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass
class CellResult:
    row: dict[str, Any]
    trace: list[tuple]


def execute(cell: Cell) -> CellResult:
    """Run one cell in this process and return its store row and trace.

    The cell runs with ``cell.threads`` threads in every pool it may use: torch's intra-op threads and,
    through threadpoolctl, the BLAS (OpenBLAS, MKL, BLIS) and OpenMP pools that NumPy and SciPy use
    (pycma's eigendecompositions, scipy's optimisers); all are restored afterwards. Besides wall
    time it records the process CPU time of the method (``time.process_time``, all threads), the
    1-minute load average at its start and end, and ``cpu_util`` = cpu_s / (wall_s × threads): the
    share of its threads' time the method actually got. The report marks a time-budgeted cell whose
    share is low as *contended* (the rule: :func:`gmbench.report.contention.contended`): other
    processes took the cores, so its result understates the method.
    (A method that cannot keep more than one thread busy reads as contended with ``threads`` > 1; on
    a GPU the host thread waits for kernels, so the CPU share says nothing there and is not stored.)
    """
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(cell.threads)
    try:
        with threadpool_limits(limits=cell.threads):
            return _execute(cell)
    finally:
        torch.set_num_threads(before)


def _load1() -> float | None:
    """The 1-minute load average (None where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return None


def _execute(cell: Cell) -> CellResult:
    started = time.time()
    device = torch.device(cell.device)
    dtype = getattr(torch, cell.dtype)
    problem = make_problem(cell.problem.name, dim=cell.problem.dim, bounds=cell.problem.bounds, **cell.problem.params)
    method = make_method(cell.method.name, cell.method.params, system=problem.config().get("system"))
    problem.prepare()  # answer-free set-up (starting-structure pools) before the method clock starts
    torch.manual_seed(cell.seed)  # for methods that initialise networks from the global generator
    load_start = _load1()
    limit = cell.budget.time_s + grace_s(cell.budget) if cell.budget.time_s is not None else None
    session = None
    if cell.sealed:  # the method runs in its own process (gmbench.sandbox); this one serves its requests
        from gmbench.run.sealed import Session

        session = Session(cell, problem, method)  # started, confined and built before the clock starts
    clock = Clock(device)
    cpu0 = time.process_time()
    bb = BlackBox.from_problem(problem, cell.budget, cell.seed, dtype, device, clock)
    inbox = Inbox(bb)
    status, error, stop, child_cpu = "done", None, "finished", 0.0
    if session is not None:
        try:
            status, stop, error, child_cpu = session.serve(bb, inbox, clock, limit, grace_s(cell.budget))
        finally:
            session.close()
    else:
        status, stop, error = _run_here(method, bb, inbox, clock, limit)
    synchronize(device)
    wall = clock.elapsed()
    cpu_s = time.process_time() - cpu0 + (child_cpu or 0.0)
    load_end = _load1()
    cpu_util = cpu_s / (wall * cell.threads) if device.type == "cpu" and wall > 0 else None
    t0 = time.perf_counter()
    rec = Recorder(problem, method.summaries, dtype=dtype)
    rec.assess(inbox.candidates)
    summary = rec.summary()
    harness_s = time.perf_counter() - t0
    if status == "done" and "final_energy" not in summary:
        status = "failed"
        error = ("no candidate reported" if not rec.rows
                 else "every reported candidate had a non-finite energy (NaN/inf)")
    overrun = max(0.0, wall - cell.budget.time_s) if cell.budget.time_s is not None else 0.0
    row = cell.row(**{
        "status": status,
        "error": error,
        "stop_reason": stop,
        "n_energy": bb.n_energy,
        "n_grad": bb.n_grad,
        "n_cost": bb.n_cost,
        "n_local": bb.n_local,
        "wall_s": wall,
        "harness_s": harness_s,
        "overrun_s": overrun,
        "cpu_s": cpu_s,
        "cpu_util": cpu_util,
        "threads": cell.threads,
        "sealed": session.protection if session is not None else None,
        "load_start": load_start,
        "load_end": load_end,
        "started": started,
        "ended": time.time(),
        "best_x": rec.best_x.numpy() if rec.best_x is not None else None,
        "summary": json.dumps({k: v for k, v in summary.items()}, default=float),
        **{k: v for k, v in summary.items() if k in CELL_COLUMNS and k != "nearest_exact"},  # the rest: summary
        "nearest_exact": int(summary.get("nearest_exact", True)),
    })
    trace = [(r.t, r.n_energy, r.n_grad, _f(r.energy), _f(r.gap), r.dist, r.dist_nearest, r.oob,
              json.dumps(r.scalars), r.n_cost, r.pred) for r in rec.rows]
    return CellResult(row, trace)


def _run_here(method: Any, bb: BlackBox, inbox: Inbox, clock: Clock, limit: float | None
              ) -> tuple[str, str, str | None]:
    """Run the method in this process: (status, stop reason, error). A method still running past ``limit``
    gets ``BudgetExhausted('killed')`` (SIGALRM, once); one that swallows it is not stopped here (only a
    sealed run can stop it) but its cell is stored ``overrun``, not ``done``."""
    status, error, stop = "done", None, "finished"
    try:
        with catch_interrupts(), hard_deadline(clock, limit):  # a signal's KeyboardInterrupt is recorded as such
            try:
                method.run(bb, inbox)
            except BudgetExhausted as exc:
                stop = exc.reason
    except BudgetExhausted as exc:  # the alarm fired between the inner handler and the context exit
        stop = exc.reason
    except (SystemExit, KeyboardInterrupt) as exc:
        if isinstance(exc, KeyboardInterrupt) and delivered():
            raise  # Ctrl-C or SIGTERM: stop the suite (the cell is released and runs again next time)
        status, stop, error = "failed", "error", method_failure(exc)  # raised by the method itself: its cell
        # fails, the suite goes on
    except Exception as exc:  # a failing method is a result, not a crash of the suite
        status, stop, error = "failed", "error", method_failure(exc)
    if limit is not None and clock.elapsed() > limit + 0.5 and status == "done":
        status, stop = "overrun", "overrun"
        error = (f"the method returned {clock.elapsed() - limit:.1f} s after its time budget and grace: it did not "
                 "stop when told (a sealed run stops such a method by force)")
    return status, stop, error


def _f(v: float) -> float | None:
    return v if math.isfinite(v) else None
