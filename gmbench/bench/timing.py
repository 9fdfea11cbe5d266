"""The timing harness of ``gmbench perf``: problem sizes, one record per measurement, and the best of
interleaved repeats (a warm-up call each, where peak memory is measured; then gmbench and its
reference back to back, g, r, g, r, ..., so both see the same machine load)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from gmbench.bench.memory import PeakMemory
from gmbench.core.budget import synchronize


@dataclass(frozen=True)
class Sizes:
    eg_batch: int = 10_000
    eg_dim: int = 1_000
    bw_elems: int = 2**26  # 256 MiB of float32 per side of the copy
    # Adam sweep cases: (function, points, dim, learning rates, steps); the rates are the grid
    # 0.05, 0.10, ... (n of them); 100 rates = the suites' default grid 0.05..5.0. Steps are reduced at
    # large scale to keep the whole run near ten minutes (they scale the work, not the per-step cost).
    adam_cases: tuple[tuple[str, int, int, int, int], ...] = (
        ("rastrigin", 50, 100, 8, 100),
        ("rastrigin", 2_000, 1_000, 8, 5),
        ("rastrigin", 10_000, 1_000, 4, 2),
        ("schaffer-f7-paper", 200, 100, 100, 10),  # the paper suites' size: 200 points x 100 rates, D = 100
        ("alpine1", 200, 100, 100, 10),
        ("schaffer-f7-paper", 2_000, 1_000, 8, 3),
        ("alpine1", 2_000, 1_000, 8, 3),
    )
    adam_compiled: bool = True  # also the vectorised reference under torch.compile (compiled once per function)
    fire_batch: int = 100
    fire_steps: int = 200
    ase_steps: int = 200
    torch_sim_steps: int = 50  # torch-sim's model loops over structures in Python: fewer steps, same for both
    nl_sizes: tuple[int, ...] = (100, 1_000, 10_000)
    sn_forward_steps: int = 100
    sn_adapt_epochs: int = 100
    # CMA-ES vs pycma: (D, instances B, generations, diagonal covariance); B > 1: B instances batched in torch
    # against pycma running them one after another
    cma_cases: tuple[tuple[int, int, int, bool], ...] = (
        (100, 1, 300, False), (1000, 1, 30, False), (1000, 1, 300, True), (100, 100, 30, False),
        (20, 100, 50, False))
    repeats: int = 3
    bbob_batch: int = 10_000  # figure 8: points per bbob function
    bbob_dims: tuple[int, ...] = (10, 40)
    quick: bool = False


QUICK = Sizes(bbob_batch=32, bbob_dims=(5,), eg_batch=64, eg_dim=100, bw_elems=2**20,
              adam_cases=(("rastrigin", 16, 50, 2, 5), ("schaffer-f7-paper", 8, 20, 3, 3), ("alpine1", 8, 20, 3, 3)),
              adam_compiled=False, fire_batch=4, fire_steps=5, ase_steps=5, torch_sim_steps=5, nl_sizes=(100, 1_000),
              sn_forward_steps=2, sn_adapt_epochs=1, cma_cases=((20, 1, 20, False), (20, 8, 5, False)), repeats=1,
              quick=True)


@dataclass
class Record:
    figure: int
    name: str
    unit: str
    gmbench: float | None = None
    reference: float | None = None
    reference_name: str = ""
    ratio: float | None = None
    ratio_meaning: str = ""
    target: str = ""
    met: bool | None = None
    peak_mem_mb: float | None = None
    reference_peak_mem_mb: float | None = None
    skipped: bool = False
    notes: str = ""
    peer_version: str | None = None  # the reference's package version, for the peers (jax-md, torch-sim, vesin, ASE)
    extra: dict[str, Any] = field(default_factory=dict)


def time_pair(fns: list[Callable[[], Any] | None], device: torch.device, repeats: int
               ) -> tuple[list[float | None], list[float | None], list[Any]]:
    """Best wall time of each callable over ``repeats`` interleaved rounds (after one warm-up each,
    which is also where peak memory is measured). Returns (seconds, peak MiB, warm-up results)."""
    secs: list[float | None] = [None if f is None else math.inf for f in fns]
    mems: list[float | None] = [None] * len(fns)
    outs: list[Any] = [None] * len(fns)
    for k, f in enumerate(fns):
        if f is None:
            continue
        with PeakMemory(device) as pm:
            outs[k] = f()
            synchronize(device)
        mems[k] = pm.mb
    for _ in range(repeats):
        for k, f in enumerate(fns):
            if f is None:
                continue
            synchronize(device)
            t0 = time.perf_counter()
            f()
            synchronize(device)
            secs[k] = min(secs[k], time.perf_counter() - t0)  # type: ignore[type-var]
    return secs, mems, outs
