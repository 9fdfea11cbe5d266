"""Helpers shared by tests: a BlackBox over a problem, and the object-graph walk (gmbench.testing's) that
checks no path leads from what a method gets to the answer."""

from __future__ import annotations

import torch

from gmbench.core.blackbox import BlackBox, Budget
from gmbench.problems import Problem
from gmbench.testing import reachable  # noqa: F401  (re-exported for the tests)


def make_bb(problem: Problem, budget: Budget = Budget(None, None), dtype=torch.float64) -> BlackBox:
    return BlackBox.from_problem(problem, budget, seed=0, dtype=dtype)
