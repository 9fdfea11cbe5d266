"""Harness overhead of ``gmbench perf`` (figure 6): where a cheap cell's wall time goes, and the fixed
cost per cell of a suite of many tiny cells.

Method: real cells (random search on Rastrigin) go through the normal local executor
(:func:`gmbench.run.executors.run_cells`: claim, :func:`gmbench.run.execute.execute`, Recorder,
store write) into a temporary SQLite store, in this process (process start-up, mostly importing
torch, is not counted). ``time.perf_counter`` deltas are taken around the whole run and, by wrapping
them for the duration of the measurement only, around ``BlackBox.uniform`` (sampling),
``BlackBox.energy`` (the method's energy evaluations), the ``report`` inbox (candidate capture),
``Recorder.assess`` + ``Recorder.summary`` (float64 assessment and traces) and ``Store.save_cell``
(the store write), ``execute_here`` (one cell) and the run's ``manifest`` and ``cell_code``. The
method's wall time is the cell's own ``wall_s`` (its clock runs from the BlackBox's creation to the
method's return). The per-cell harness = the cell's time outside the method (problem, method and
BlackBox set-up, the Recorder, the trace, the store write) plus the inbox inside it; the once-per-run
set-up (cells registered, run record, machine manifest) is reported beside it, as a suite pays it once, like
process start-up; sampling is reported on its own line.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch


@contextlib.contextmanager
def _timed(timers: dict[str, float], targets: list[tuple[type, str, str]]) -> Iterator[None]:
    """Wrap ``cls.attr`` so that the time spent inside it accumulates in ``timers[key]``."""
    saved = []
    for cls, attr, key in targets:
        orig = cls.__dict__[attr]

        def wrapper(*a: Any, __orig=orig, __key=key, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return __orig(*a, **kw)
            finally:
                timers[__key] += time.perf_counter() - t0

        saved.append((cls, attr, orig))
        setattr(cls, attr, wrapper)
    try:
        yield
    finally:
        for cls, attr, orig in reversed(saved):
            setattr(cls, attr, orig)


def _cells(tmp: Path, dim: int, budget: dict[str, Any], seeds: int, batch: int, threads: int) -> list:
    from gmbench.config.suite import parse_suite
    from gmbench.run.cell import expand

    data = {"name": "perf-overhead", "device": "cpu", "dtype": "float32", "seeds": seeds, "budget": budget,
            "problems": [{"name": "rastrigin", "dim": dim}],
            "methods": [{"name": "random-search", "params": {"batch_size": batch}}]}
    suite = parse_suite(data, tmp / "perf-overhead.yaml")
    return expand(suite, "cpu", threads=threads), suite.name


def measure(dim: int, budget: dict[str, Any], seeds: int, batch: int) -> dict[str, Any]:
    """Run ``seeds`` cells into a fresh temporary store; the attributed times (seconds, summed over
    the cells) and the rows' method wall times."""
    from gmbench.core.blackbox import BlackBox
    from gmbench.run.recorder import Inbox, Recorder
    from gmbench.run import executors
    from gmbench.run.executors import run_cells
    from gmbench.store.sqlite import Store

    timers: dict[str, float] = defaultdict(float)
    walls: list[float] = []
    with tempfile.TemporaryDirectory(prefix="gmbench-perf-") as d:
        tmp = Path(d)
        cells, name = _cells(tmp, dim, budget, seeds, batch, torch.get_num_threads())
        store = Store(tmp / "store.sqlite")
        try:
            orig_save = Store.save_cell

            def keep(self, row, trace, replace_stale=False):  # noqa: ANN001
                walls.append(float(row["wall_s"]))
                timers["trace_rows"] += len(trace)
                t0 = time.perf_counter()
                try:
                    return orig_save(self, row, trace, replace_stale)
                finally:
                    timers["store"] += time.perf_counter() - t0

            targets = [(BlackBox, "uniform", "sampling"), (BlackBox, "energy", "energy"), (Inbox, "__call__", "inbox"),
                       (Recorder, "assess", "assess"), (Recorder, "summary", "assess"),
                       (executors, "cell_code", "fingerprint"), (executors, "manifest", "manifest"),
                       (executors, "execute_here", "execute"), (Store, "claim", "claim")]
            with _timed(timers, targets):
                Store.save_cell = keep
                try:
                    t0 = time.perf_counter()
                    counts = run_cells(cells, store, name, "cpu")
                    total = time.perf_counter() - t0
                finally:
                    Store.save_cell = orig_save
        finally:
            store.close()
    return {"total_s": total, "method_s": sum(walls), "cells": len(walls), "counts": counts, **timers}


def overhead_records(quick: bool) -> list:
    from gmbench.bench.timing import Record

    # (a) one cheap cell: the share of its wall time the harness takes
    if quick:
        a = measure(dim=100, budget={"evals": 20_001}, seeds=1, batch=10_000)
        what = "random-search (batch 10,000) on rastrigin D=100, budget 20,001 evaluations"
    else:
        a = measure(dim=100, budget={"time_s": 3.0}, seeds=1, batch=10_000)
        what = "random-search (batch 10,000) on rastrigin D=100, budget 3 s"
    total, method = a["total_s"], a["method_s"]
    harness = (total - method) + a["inbox"]
    share = harness / total
    run_level = total - a["execute"] - a["store"] - a["claim"]  # once per run: register, run record, manifest
    cell_level = harness - run_level
    own = method - a["sampling"] - a["energy"] - a["inbox"]
    rest = a["execute"] - method - a["assess"] - a["fingerprint"]
    cell_share = cell_level / total
    rec_a = Record(6, "harness share of a cheap cell", "% of wall", gmbench=100 * cell_share, target="<= 2 %",
                   met=cell_share <= 0.02, ratio_meaning="share",
                   notes=(f"{what}, through run_cells into a temporary SQLite store, in this process: wall "
                          f"{total:.3f} s = method {method:.3f} s (energy evaluations {a['energy']:.3f} s, sampling "
                          f"BlackBox.uniform {a['sampling']:.3f} s, report inbox {a['inbox'] * 1e3:.2f} ms, the "
                          f"method's own code {own:.3f} s) + outside the method {(total - method) * 1e3:.1f} ms: per "
                          f"cell {cell_level * 1e3:.1f} ms (Recorder assessment + traces, float64: "
                          f"{a['assess'] * 1e3:.1f} ms for {a['trace_rows']:.0f} trace rows; store write "
                          f"{a['store'] * 1e3:.1f} ms; claim {a['claim'] * 1e3:.1f} ms; problem/method/BlackBox set-up and row "
                          f"{rest * 1e3:.1f} ms; code "
                          f"fingerprint {a['fingerprint'] * 1e3:.1f} ms) and once per run {run_level * 1e3:.1f} ms "
                          f"(cells registered, run record, machine manifest {a['manifest'] * 1e3:.1f} ms); the figure is the per-cell "
                          f"harness (outside the method, less the once-per-run set-up that a suite pays once like "
                          f"process start-up, plus the inbox): {100 * cell_share:.2f} %; with this single-cell run's "
                          f"set-up {100 * share:.2f} %"))
    rec_a.extra = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in a.items()}
    rec_a.extra["share_incl_run_setup"] = share
    s_share = a["sampling"] / total
    rec_s = Record(6, "sampling (BlackBox.uniform) share of the same cell", "% of wall", gmbench=100 * s_share,
                   ratio_meaning="share",
                   notes=(f"sampling {a['sampling']:.3f} s against energy evaluations {a['energy']:.3f} s "
                          f"(sampling / energy = {a['sampling'] / max(a['energy'], 1e-12):.2f}); part of the method's "
                          f"wall time (the BlackBox draws the uniform points for it), not of the harness share"))
    # (b) many tiny cells: the fixed cost per cell
    n = 10 if quick else 50
    b = measure(dim=10, budget={"evals": 50}, seeds=n, batch=10)
    per_cell = (b["total_s"] - b["method_s"]) / max(b["cells"], 1)
    rec_b = Record(6, f"fixed cost per cell ({n} tiny cells)", "s/cell", gmbench=per_cell, target="<= 0.2 s",
                   met=per_cell <= 0.2,
                   notes=(f"{n} cells of random-search (batch 10) on rastrigin D=10 with a 50-evaluation budget through "
                          f"run_cells into a temporary SQLite store: {b['total_s']:.3f} s in all, methods "
                          f"{b['method_s']:.3f} s; per cell {b['total_s'] / max(b['cells'], 1) * 1e3:.1f} ms of which "
                          f"{per_cell * 1e3:.1f} ms outside the method (Recorder {b['assess'] / n * 1e3:.2f} ms, store "
                          f"write {b['store'] / n * 1e3:.2f} ms); process start-up (importing torch) not included"))
    rec_b.extra = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in b.items()}
    return [rec_a, rec_s, rec_b]
