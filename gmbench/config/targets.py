"""Target ladders: which precisions a run has to reach, per problem kind.

Fixed targets are how COCO (Hansen et al., "COCO: a platform for comparing continuous optimizers in a
black-box setting", Optim. Methods Softw. 36, 2021, §4; and "COCO: performance assessment",
arXiv:1605.03560, §2) compares optimizers: a run *hits* a target when its best-so-far value first
reaches it, and every statistic (success rate, expected running time, runtime ECDF) is computed from
those first-hit times. gmbench uses two ladders:

* ``dist``: the distance of the prediction to the *nearest* global minimizer, as an error per
  dimension: a run hits τ when ``dist_nearest <= τ·√D`` (the seed paper's "Avg Error Per Dim",
  its Tables 1-2, is that distance / √D). Default τ = 10^(k/4) for k = 6 … −8 (31.6 … 0.01,
  15 log-spaced values, contains 10, 1, 0.1 and 0.01). Only for functions (a known x*).
* ``gap``: the energy gap f − f* of the prediction. Default: COCO's 51 log-spaced targets
  10² … 10⁻⁸ (five per decade, cocopp's ``pprldmany_target_values``). For clusters with a reference
  energy f* is that reference (success at gap < 10⁻⁴ ε stays the clusters' headline, as in the cluster
  table); for systems without a known minimum the gap is taken to the best energy any stored run
  reached on that problem instance and the ladder is marked *relative*.

A suite may set its own ladders with a top-level ``targets:`` key::

    targets:
      tau: [10, 1, 0.1]                     # or {from: 30, to: 0.01, per_decade: 4}
      gap: {from: 100, to: 1.0e-8, per_decade: 5}
      headline_tau: [10, 1]                 # the few shown in `gmbench report`'s compact table
      headline_gap: [1, 0.0001]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gmbench.core.errors import GmbenchError

DEFAULT_TAU = tuple(float(10 ** (k / 4)) for k in range(6, -9, -1))  # 31.6 ... 0.01
COCO_GAP = tuple(float(10 ** (k / 5)) for k in range(10, -41, -1))  # 1e2 ... 1e-8, 51 values
HEADLINE_TAU = (10.0, 1.0, 0.1)
HEADLINE_GAP = (1.0, 1e-2, 1e-4)
CLUSTER_SUCCESS_GAP = 1e-4  # the cluster table's success criterion (reduced units)

KEYS = ("tau", "gap", "headline_tau", "headline_gap")


@dataclass(frozen=True)
class TargetSpec:
    """The ladders of one suite (defaults when the suite has no ``targets:`` key)."""

    tau: tuple[float, ...] = DEFAULT_TAU
    gap: tuple[float, ...] = COCO_GAP
    headline_tau: tuple[float, ...] = HEADLINE_TAU
    headline_gap: tuple[float, ...] = HEADLINE_GAP

    def as_dict(self) -> dict[str, list[float]]:
        return {k: list(getattr(self, k)) for k in KEYS}


DEFAULT = TargetSpec()
MAX_TARGETS = 1_000  # targets per ladder (COCO's whole gap ladder has 51)


def _ladder(raw: Any, what: str) -> tuple[float, ...]:
    """A list of positive numbers, or {from, to, per_decade}: log-spaced from ``from`` down to ``to``."""
    if isinstance(raw, dict):
        unknown = set(raw) - {"from", "to", "per_decade"}
        if unknown or not {"from", "to"} <= set(raw):
            raise GmbenchError(f"targets.{what} must be a list of numbers or {{from, to, per_decade}}, got {dict(raw)!r}")
        a, b, n = raw["from"], raw["to"], raw.get("per_decade", 5)
        if not all(_positive(v) for v in (a, b)) or not (isinstance(n, int) and not isinstance(n, bool) and n > 0):
            raise GmbenchError(f"targets.{what}: from and to must be positive numbers and per_decade a positive integer")
        hi, lo = math.log10(max(a, b)), math.log10(min(a, b))
        if (hi - lo) * n + 1 > MAX_TARGETS:
            raise GmbenchError(f"targets.{what}: {(hi - lo) * n + 1:.3g} targets is more than {MAX_TARGETS:,} "
                               "(fewer decades or a smaller per_decade)")
        k = np.arange(math.floor(hi * n + 1e-9), math.ceil(lo * n - 1e-9) - 1, -1)
        return tuple(float(10 ** (i / n)) for i in k)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = [raw]
    if not isinstance(raw, list) or not raw or not all(_positive(v) for v in raw):
        raise GmbenchError(f"targets.{what} must be a non-empty list of positive numbers, got {str(raw)[:80]}")
    if len(raw) > MAX_TARGETS:
        raise GmbenchError(f"targets.{what}: {len(raw):,} targets is more than {MAX_TARGETS:,}")
    return tuple(sorted({float(v) for v in raw}, reverse=True))


def _positive(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def parse_targets(raw: Any) -> TargetSpec:
    """Validate a suite's ``targets:`` mapping (GmbenchError on bad input); absent keys keep the defaults."""
    if raw is None:
        return DEFAULT
    if not isinstance(raw, dict):
        raise GmbenchError(f"targets must be a mapping with keys {', '.join(KEYS)}, got {type(raw).__name__}")
    unknown = [k for k in raw if k not in KEYS]
    if unknown:
        raise GmbenchError(f"unknown key {unknown[0]!r} in targets; allowed: {', '.join(KEYS)}")
    return TargetSpec(**{k: _ladder(v, k) for k, v in raw.items()})
