"""Extra per-cell summaries, by name: what a method or a problem declares it produces.

The :class:`~gmbench.run.recorder.Recorder` knows no method or paper by name. Its generic summary
(final energy, distances, the anytime trace) is the same for every cell; anything more is declared:

* a method lists the summaries of the scalars it reports in ``Method.summaries`` (e.g. the local
  optimisers that report ``start=k`` declare ``"per_start"``; StriderNET, whose policy is trained
  before or inside the cell, also declares ``"training_cost"``);
* a problem lists the summaries of its assessments' extras in ``Problem.summaries`` (atomistic
  problems with a reference energy flag each candidate's ``success``: ``"success"``).

A summary is a function of the assessed trace rows returning a dict merged into the cell's summary
(an empty dict when the rows carry nothing for it). Register your own with :func:`register_summary`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from gmbench.core.registry import Registry

if TYPE_CHECKING:
    from gmbench.run.recorder import TraceRow

SummaryFn = Callable[[Sequence["TraceRow"]], dict[str, Any]]

SUMMARIES: Registry[SummaryFn] = Registry("summary")


def register_summary(name: str) -> Callable[[SummaryFn], SummaryFn]:
    def wrap(fn: SummaryFn) -> SummaryFn:
        SUMMARIES.register(name, fn)
        return fn

    return wrap


def summarize(names: Iterable[str], rows: Sequence["TraceRow"]) -> dict[str, Any]:
    """The declared summaries of ``rows``, merged in the order declared (each name once)."""
    out: dict[str, Any] = {}
    seen: set[str] = set()
    for name in names:
        key = SUMMARIES.canonical(name)
        if key in seen:
            continue
        seen.add(key)
        out.update(SUMMARIES.get(key)(rows))
    return out


@register_summary("success")
def success(rows: Sequence["TraceRow"]) -> dict[str, Any]:
    """Success (problems whose assessments flag it in ``extra["success"]``: atoms with a reference
    energy, gap < 1e-4 eps) and the method time and evaluations at the first successful candidate."""
    flagged = [r for r in rows if "success" in r.extra]
    if not flagged:
        return {}
    hits = [r for r in flagged if r.extra["success"] >= 1.0]
    first = min(hits, key=lambda r: r.t) if hits else None
    return {"success": bool(hits), "hit_t": first.t if first else None, "hit_evals": first.n_cost if first else None}


@register_summary("per_start")
def per_start(rows: Sequence["TraceRow"]) -> dict[str, Any]:
    """Per starting structure (candidates reported with ``start=k``): each start's lowest energy;
    their min and mean are StriderNET's Table 1 "Min" and "Mean" (Bihani et al., ICML 2023)."""
    per: dict[int, float] = {}
    for r in rows:
        k = r.scalars.get("start")
        if k is None or not math.isfinite(r.energy):
            continue
        k = int(k)
        per[k] = min(per.get(k, math.inf), r.energy)
    if not per:
        return {}
    energies = [per[k] for k in sorted(per)]
    return {"n_starts": len(energies), "starts_min_energy": min(energies),
            "starts_mean_energy": sum(energies) / len(energies), "starts_energies": energies}


@register_summary("training_cost")
def training_cost(rows: Sequence["TraceRow"]) -> dict[str, Any]:
    """Training cost a method reports with its candidates (``train_wall_s``, ``train_evals``: e.g. a
    policy trained before the cell or inside it), reported beside the cell's own time and evaluations."""
    out: dict[str, Any] = {}
    for key in ("train_wall_s", "train_evals"):
        vals = [r.scalars[key] for r in rows if key in r.scalars and math.isfinite(r.scalars[key])]
        if vals:
            out[key] = max(vals)
    return out
