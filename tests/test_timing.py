"""Honest timing: first candidates right after the first batch, and cells that record their CPU share."""

from __future__ import annotations

import pytest
import torch

from gmbench.core.blackbox import BlackBox, Budget, BudgetExhausted, Clock
from gmbench.core.recorder import Inbox
from gmbench.methods import make_method
from gmbench.problems import make_problem

pytestmark = pytest.mark.usefixtures("one_thread")


def _run(name, params, budget, dim=20):
    problem = make_problem("schaffer-f7-paper", dim=dim, bounds=(-100, 100))
    g = torch.Generator().manual_seed(0)
    bb = BlackBox(problem.energy_fn(), problem.dim, problem.lower, problem.upper, torch.device("cpu"),
                  torch.float32, g, budget, Clock(torch.device("cpu")), problem.start_sampler())
    inbox = Inbox(bb)
    try:
        make_method(name, params).run(bb, inbox)
    except BudgetExhausted:
        pass
    return bb, inbox


@pytest.mark.parametrize("name,params,first_batch", [
    ("action-functional", {"units": [16, 16]}, 1000),  # the normalisation samples
    ("sample-only", {"units": [16, 16]}, 1000),
    ("random-search", {"batch_size": 500}, 500),
    ("quadratic-surrogate", {"batch_size": 700}, 700),
])
def test_first_candidate_right_after_the_first_batch(name, params, first_batch):
    bb, inbox = _run(name, params, Budget(None, 5000))
    assert inbox.candidates, "no candidate reported"
    assert inbox.candidates[0].n_energy == first_batch + 1  # the batch, then the report's own evaluation


@pytest.mark.parametrize("name,params", [
    ("action-functional", {"units": [16, 16]}),
    ("sample-only", {"units": [16, 16]}),
    ("random-search", {}),
    ("quadratic-surrogate", {}),
])
def test_an_evaluation_budget_below_the_first_batch_still_reports(name, params):
    bb, inbox = _run(name, params, Budget(None, 300))
    assert len(inbox.candidates) >= 1 and inbox.candidates[0].n_energy <= 300
