"""Number and table formatting shared by every report (``gmbench report``, ``filter``, ``perf``)."""

from __future__ import annotations

import math
from typing import Any, Callable


def num(v: float) -> str:
    """A metric in a results table: 4 significant figures, 2 decimals from 100 on, scientific notation
    below 1e-3 and from 1e6 on."""
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e6 or a < 1e-3:
        return f"{v:.3e}"
    if a >= 100:
        return f"{v:.2f}"
    return f"{v:.4g}"


def num3(v: float) -> str:
    """A metric in a compact terminal table: 3 significant figures, scientific notation below 1e-3 and
    from 1e5 on."""
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e5 or a < 1e-3:
        return f"{v:.2e}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")
    if a >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def count(v: float) -> str:
    """A count in a compact table: 999, 99.1k, 1.23M, 4.5G."""
    v = float(v)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= scale:
            return f"{v / scale:.3g}{unit}"
    return f"{int(round(v))}"


def short(v: float | None) -> str:
    """A measurement (``gmbench perf``): 3 significant figures, scientific notation outside [0.01, 1e5);
    ``-`` where there is none."""
    if v is None:
        return "-"
    if v == 0 or 0.01 <= abs(v) < 1e5:
        return f"{v:.3g}"
    return f"{v:.3e}"


def opt(v: Any, spec: str = ".4g") -> str:
    """``format(v, spec)``; "—" for a missing value, non-finite floats as Python writes them."""
    if v is None:
        return "—"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return format(v, spec)


def stats_cell(st: dict[str, float] | None, integer: bool = False, fmt: Callable[[float], str] | None = None,
               spread: bool = True) -> str:
    """A statistic over seeds ({"median", "min", "max", "n"}): "median [min, max]", or the value alone
    when all seeds agree as printed (or without ``spread``); "—" where there is none; integers with
    thousands separators."""
    if st is None:
        return "—"
    f = (lambda x: f"{int(round(x)):,}") if integer else (fmt or num)
    lo, hi = f(st["min"]), f(st["max"])
    if st["n"] == 1 or lo == hi or not spread:
        return f(st["median"])
    return f"{f(st['median'])} [{lo}, {hi}]"


def table(rows: list[list[Any]], headers: list[str], tablefmt: str = "simple") -> str:
    """A text table of preformatted cells (no number parsing: cells print as given)."""
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True)
