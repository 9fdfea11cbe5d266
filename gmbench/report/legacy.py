"""Facts of stores written before runs recorded them (:mod:`gmbench.run.facts`): derived here, once
per process, the way earlier gmbench did, from this process's registries and the suite files. Only
stores without recorded facts reach this module."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from gmbench.core.errors import GmbenchError


def problem_facts(cfg: dict[str, Any]) -> dict[str, Any]:
    """{"layout", "reference"} of a stored problem configuration: the layout its family declares (the
    family-free "functions" for a problem this process does not know) and, for function tables, the
    reference rows of the rebuilt problem (None where it cannot be rebuilt)."""
    from gmbench.problems import report_layout

    layout = report_layout(cfg)
    p = _problem(cfg) if layout == "functions" else None
    if p is None:
        return {"layout": layout, "reference": None}
    from gmbench.report.reference import reference_values

    return {"layout": layout, "reference": reference_values(p)}


def _problem(cfg: dict[str, Any]):
    """The function problem a stored configuration describes, or None (not a function known here, or an
    instance derived from a secret the configuration records only as a hash)."""
    from gmbench.problems import PROBLEMS, make_problem

    name = cfg.get("name")
    if not isinstance(name, str) or name not in PROBLEMS or PROBLEMS.get(name).family not in ("function", "bbob"):
        return None
    if cfg.get("secret_sha256"):
        return None
    if cfg.get("rotate") and PROBLEMS.get(name).family == "function":
        from gmbench.problems.functions.spec import INSTANCE_RECIPE

        if cfg.get("instance_recipe") != INSTANCE_RECIPE:  # stored by earlier code: a different instance
            return None
    kw: dict[str, Any] = {}
    if cfg.get("instance"):
        kw["instance"] = int(cfg["instance"])
        if cfg.get("rotate"):
            kw["rotate"] = True
    bounds = cfg.get("bounds")
    try:
        return make_problem(name, dim=cfg.get("dim"), bounds=tuple(bounds) if bounds else None, **kw)
    except GmbenchError:
        return None


@lru_cache(maxsize=None)
def suite_targets(name: str) -> Any:
    """The target ladders of the suite file ``name`` (None if it cannot be read)."""
    try:
        from gmbench.config.suite import find_suite, load_suite

        return load_suite(str(find_suite(name))).targets
    except GmbenchError:
        return None


def suite_name(text: str) -> str:
    """The name inside the suite file ``text`` (a name or a path), else ``text``."""
    try:
        from gmbench.config.suite import find_suite, load_suite

        return load_suite(str(find_suite(text))).name
    except GmbenchError:
        return text


def method_plots(name: str) -> Any:
    """The per-iteration figures the method ``name`` declares in this process (None if unknown)."""
    from gmbench.methods import METHODS

    return METHODS.get(name).plots if isinstance(name, str) and name in METHODS else None


def predictions(tr: Any, runs: Any) -> Any:
    """The prediction-so-far row index (within its cell) at every trace row of a store written before the
    Recorder recorded it: the Recorder's rule (lowest finite energy so far, rows inside the bounds first;
    :data:`gmbench.problems.base.OOB_TOL`), vectorised over all runs. NaN where no energy is finite yet."""
    import numpy as np
    import pandas as pd

    from gmbench.problems.base import OOB_TOL

    g = tr["key"]
    tol = OOB_TOL * g.map(runs.set_index("key")["bound"]).to_numpy(dtype=float)
    e = tr["energy"].fillna(np.inf).to_numpy()
    inside = ~(tr["oob"].to_numpy() > tol)
    idx = tr["idx"].to_numpy(dtype=float)

    def argmin_so_far(vals: np.ndarray) -> np.ndarray:
        s = pd.Series(vals)
        prev = s.groupby(g.values).cummin().groupby(g.values).shift(1, fill_value=np.inf)
        new = (s < prev).to_numpy()
        return pd.Series(np.where(new, idx, np.nan)).groupby(g.values).ffill().to_numpy()

    p_in = argmin_so_far(np.where(inside, e, np.inf))
    return np.where(np.isfinite(p_in), p_in, argmin_so_far(e))
