"""The facts a run recorded in the store (:mod:`gmbench.run.facts`), as a report reads them: the layout
and reference rows of each problem configuration, the figures each method declares, each suite's target
ladders. A store written before runs recorded facts gets them derived once (:mod:`gmbench.report.legacy`)."""

from __future__ import annotations

from typing import Any

from gmbench.report.plots import IterationPlot
from gmbench.store.sqlite import config_json


class Facts:
    def __init__(self, store: Any):
        self.store = store
        self._problems = store.facts("problem")
        self._methods = store.facts("method")
        self._derived: dict[str, dict[str, Any]] = {}

    def problem(self, cfg: dict[str, Any]) -> dict[str, Any]:
        """{"layout", "reference", ...} of a stored problem configuration."""
        key = config_json(cfg)
        got = self._problems.get(key)
        if got is None:
            if key not in self._derived:
                from gmbench.report.legacy import problem_facts

                self._derived[key] = problem_facts(cfg)
            got = self._derived[key]
        return got

    def layout(self, cfg: dict[str, Any]) -> str:
        """The report table the problem's family declares: "functions", "cluster" or "energy"."""
        return str(self.problem(cfg).get("layout") or "functions")

    def plots(self, method: str) -> IterationPlot | None:
        """The per-iteration figures the method declares (None: the anytime figure only)."""
        rec = self._methods.get(method)
        if rec is not None:
            return IterationPlot.from_dict(rec["plots"]) if rec.get("plots") else None
        from gmbench.report.legacy import method_plots

        return method_plots(method)
