"""Targets from stored runs: the ladders a suite declares (gmbench.config.targets) looked up by suite
name, and the thresholds and labels the analysis uses."""

from __future__ import annotations

from typing import Any

import numpy as np

from gmbench.config.targets import (  # noqa: F401  (re-exported: the analysis and tests read them here)
    CLUSTER_SUCCESS_GAP, COCO_GAP, DEFAULT, DEFAULT_TAU, HEADLINE_GAP, HEADLINE_TAU, KEYS, TargetSpec, parse_targets,
)


def targets_for_suite(name: str | None, store: Any = None) -> TargetSpec:
    """The ladders a suite declares, as recorded in the store when it ran (``store.facts("suite")``),
    else the defaults. A store written before suites' facts were recorded falls back to the suite's YAML
    found by name (:mod:`gmbench.report.legacy`)."""
    if not name:
        return DEFAULT
    if store is not None:
        rec = store.facts("suite").get(name)
        if rec is not None:
            t = rec.get("targets")
            return TargetSpec(**{k: tuple(v) for k, v in t.items()}) if t else DEFAULT
    from gmbench.report.legacy import suite_targets

    return suite_targets(name) or DEFAULT


def dist_threshold(tau: np.ndarray | float, dim: np.ndarray | float) -> np.ndarray:
    """Distance a run must reach for error-per-dimension target τ in dimension D: τ·√D."""
    return np.asarray(tau, dtype=float) * np.sqrt(np.asarray(dim, dtype=float))


def fmt_target(kind: str, value: float, relative: bool = False) -> str:
    """'τ=0.1' or 'gap<1e-04' (``rel. gap`` when relative to the best stored energy)."""
    if kind == "dist":
        return f"τ={value:g}"
    return f"{'rel. ' if relative else ''}gap≤{value:.0e}".replace("e-0", "e-").replace("e+0", "e")
