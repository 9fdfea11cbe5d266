"""What a report needs besides the results, recorded in the store when a suite runs, so that reports,
plots and exports read the store alone: they import no method, no suite parser and no plugin, and give
the same output whatever spelling of ``--suite`` or plugin state they are run with.

* per problem configuration: the report layout its family declares (``functions``, ``cluster`` or
  ``energy``) and, for function tables, the reference rows (the box centre, a uniform point:
  :func:`gmbench.report.reference.reference_values`), computed here by the harness;
* per method: the per-iteration figures and summaries it declares (``Method.plots``, ``summaries``);
* per suite: its target ladders and the paths it was loaded from.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gmbench.store.sqlite import Store, config_json


def record_facts(store: Store, cells: list[Any], suite: Any = None) -> None:
    """Record the facts of ``cells``' problems and methods (those not recorded yet) and of ``suite``."""
    from gmbench.methods import METHODS
    from gmbench.problems import PROBLEMS, make_problem, report_layout
    from gmbench.report.reference import reference_values

    known = store.facts("problem")
    problems: dict[str, dict[str, Any]] = {}
    for c in cells:
        key = config_json(c.problem_config)
        if key in known or key in problems:
            continue
        layout = report_layout(c.problem_config)
        ref = None
        if layout == "functions":  # the reference rows need the problem itself (atoms never: no building MD starts)
            ref = reference_values(make_problem(c.problem.name, dim=c.problem.dim, bounds=c.problem.bounds,
                                                **c.problem.params))
        problems[key] = {"layout": layout, "family": PROBLEMS.get(c.problem.name).family, "reference": ref}
    if problems:
        store.put_facts("problem", problems)
    methods = {}
    for name in dict.fromkeys(c.method.name for c in cells):
        if name not in METHODS:
            continue
        cls = METHODS.get(name)
        methods[name] = {"plots": dataclasses.asdict(cls.plots) if cls.plots is not None else None,
                         "summaries": list(cls.summaries)}
    if methods:
        store.put_facts("method", methods)
    if suite is not None:
        targets = suite.targets.as_dict() if suite.targets is not None else None
        store.put_facts("suite", {suite.name: {"targets": targets, "path": str(suite.path.resolve())}})
