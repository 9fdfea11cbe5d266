"""The one contention rule: when a stored cell's result is marked † *contended* in the reports.

Every cell records ``cpu_util`` = CPU s / (wall s x threads), the share of its threads' time the method
actually got (gmbench.run.execute). Other processes holding the cores lower it. That changes the result
only where the budget is wall-clock time: a time-budgeted cell that got half the CPU did about half the
work. An evaluation-budgeted cell does the same evaluations however slowly, so its result stands (its
CPU share is still shown, its wall time is only longer). Hence a cell is contended when

* its budget has ``time_s`` (the stored ``budget`` column, JSON ``{"time_s": ..., "evals": ...}``),
* it ran at least :data:`CONTENDED_MIN_WALL_S` (shorter cells' CPU share is dominated by start-up costs),
* and its method got less than :data:`CONTENDED_BELOW` of its threads' CPU time.

The tables (:mod:`gmbench.report.tables`) and the HTML pages (:mod:`gmbench.report.html`) both use
:func:`contended`.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: a cell whose method got less than this share of its threads' CPU time is reported as contended
CONTENDED_BELOW = 0.8
#: ... if it ran at least this long
CONTENDED_MIN_WALL_S = 1.0

MARK = "†"
NOTE = (f"{MARK} contended: in at least one seed of a time-budgeted cell the method got less than "
        f"{CONTENDED_BELOW * 100:.0f} % of its threads' CPU time (CPU time / (wall time x threads)): other "
        "processes held the cores, so the result understates the method; rerun on an idle machine. "
        "Evaluation-budgeted cells are not marked: contention makes them slower, not different.")


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def time_budgeted(row: dict[str, Any]) -> bool:
    """Whether the cell's budget has a time limit. ``row["budget"]`` is the stored JSON text (or its dict);
    a row without a readable budget counts as time-budgeted (the mark is then the cautious reading)."""
    budget = row.get("budget")
    if isinstance(budget, str):
        try:
            budget = json.loads(budget)
        except ValueError:
            return True
    if not isinstance(budget, dict):
        return True
    return not _missing(budget.get("time_s"))


def contended(row: dict[str, Any]) -> bool | None:
    """Whether a stored cell row ran contended in a way that can change its result (module docstring).
    None where the CPU share was not recorded (stores from before it was, GPU cells); False for an
    evaluation-budgeted cell whatever its CPU share."""
    util, wall = row.get("cpu_util"), row.get("wall_s")
    if _missing(util) or _missing(wall):
        return None
    if not time_budgeted(row):
        return False
    return bool(util < CONTENDED_BELOW and wall >= CONTENDED_MIN_WALL_S)
