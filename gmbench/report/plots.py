"""What a method declares for ``gmbench plot`` (``Method.plots``): per-iteration figures of the scalars it
reports. Plain data, recorded in the store when a suite runs, so that a plot reads the store alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Series:
    """A per-iteration scalar a method reports (``report(x, name=value)``) and ``gmbench plot`` draws
    over iterations: its axis label, whether that axis is logarithmic, the figure's title and file
    name suffix (default: the scalar's name)."""

    name: str
    label: str
    log: bool = False
    title: str = ""
    file: str = ""


@dataclass(frozen=True)
class IterationPlot:
    """What ``gmbench plot`` draws per iteration for a method (e.g. the seed paper's Figures 2-4):
    the scalar numbering iterations, optionally the (scalar, value) marking warm-start reports (drawn
    spread over [-1, 0]), and further scalars, one figure each."""

    iteration: str = "iteration"
    warm: tuple[str, float] | None = None
    series: tuple[Series, ...] = ()

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "IterationPlot":
        """The inverse of ``dataclasses.asdict`` (how the store keeps it)."""
        warm = d.get("warm")
        return IterationPlot(d.get("iteration", "iteration"), tuple(warm) if warm else None,
                             tuple(Series(**x) for x in d.get("series") or ()))
