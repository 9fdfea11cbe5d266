"""Targets from stored runs: the ladders a suite declares (gmbench.config.targets) looked up by suite
name, and the thresholds and labels the analysis uses."""

from __future__ import annotations

import numpy as np

from gmbench.config.targets import (  # noqa: F401  (re-exported: the analysis and tests read them here)
    CLUSTER_SUCCESS_GAP, COCO_GAP, DEFAULT, DEFAULT_TAU, HEADLINE_GAP, HEADLINE_TAU, KEYS, TargetSpec, parse_targets,
)
from gmbench.core.errors import GmbenchError


def targets_for_suite(name: str | None) -> TargetSpec:
    """The ladders a suite declares (its YAML found by name or path), else the defaults. A suite known
    only to the store (its file gone) gets the defaults."""
    if not name:
        return DEFAULT
    try:
        from gmbench.config.suite import find_suite, load_suite

        return getattr(load_suite(str(find_suite(name))), "targets", None) or DEFAULT
    except GmbenchError:
        return DEFAULT


def dist_threshold(tau: np.ndarray | float, dim: np.ndarray | float) -> np.ndarray:
    """Distance a run must reach for error-per-dimension target τ in dimension D: τ·√D."""
    return np.asarray(tau, dtype=float) * np.sqrt(np.asarray(dim, dtype=float))


def fmt_target(kind: str, value: float, relative: bool = False) -> str:
    """'τ=0.1' or 'gap<1e-04' (``rel. gap`` when relative to the best stored energy)."""
    if kind == "dist":
        return f"τ={value:g}"
    return f"{'rel. ' if relative else ''}gap≤{value:.0e}".replace("e-0", "e-").replace("e+0", "e")
