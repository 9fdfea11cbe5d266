"""The quadratic-surrogate baseline: exact on quadratics, inside the box, reports early, listed."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from gmbench.cli.app import app
from gmbench.core.blackbox import BlackBox, Budget, BudgetExhausted
from gmbench.core.errors import GmbenchError
from gmbench.run.recorder import Inbox, Recorder
from gmbench.methods import make_method
from gmbench.problems import Properties, make_problem
from gmbench.problems.functions.spec import FunctionProblem, FunctionSpec

pytestmark = pytest.mark.usefixtures("one_thread")

SHIFT = torch.tensor([0.7, -2.3, 1.1, 3.9, -0.4, 2.0], dtype=torch.float64)
WEIGHT = torch.tensor([1.0, 3.0, 0.5, 2.0, 10.0, 0.25], dtype=torch.float64)


def shifted_quadratic(x):
    """sum_i w_i (x_i - s_i)^2 + 1.5: separable, minimum 1.5 at s (off the box centre)."""
    s, w = SHIFT.to(x), WEIGHT.to(x)
    return (w * (x - s) ** 2).sum(-1) + 1.5


def saddle(x):
    """Convex along x_0 (minimum 1.0 inside), concave along x_1 (minimum at the upper edge) and
    linear along x_2 (minimum at the lower edge)."""
    return (x[..., 0] - 1.0) ** 2 - 0.5 * (x[..., 1] + 0.5) ** 2 + 2.0 * x[..., 2]


def _problem(f, dim, bound=5.0, x_star=0.0):
    spec = FunctionSpec(name="_test-q", fnum=None, f=f, bound=bound, properties=Properties(), x_star=x_star)
    return FunctionProblem(spec, dim)


def _run(method, problem, budget, dtype=torch.float64, seed=0):
    bb = BlackBox.from_problem(problem, budget, seed, dtype)
    inbox = Inbox(bb)
    try:
        method.run(bb, inbox)
    except BudgetExhausted:
        pass
    return bb, inbox


def test_recovers_the_minimizer_of_a_shifted_separable_quadratic():
    problem = _problem(shifted_quadratic, 6, x_star=lambda d: SHIFT.clone())
    _, inbox = _run(make_method("quadratic-surrogate", {"batch_size": 256}), problem, Budget(None, 2000))
    assert len(inbox.candidates) >= 5  # one report after every refit
    x = inbox.candidates[-1].x
    assert torch.allclose(x, SHIFT, atol=1e-6), x
    rec = Recorder(problem)
    rec.assess(inbox.candidates)
    assert rec.summary()["final_dist"] < 1e-6


def test_recovers_a_shifted_sphere_with_the_full_model():
    problem = make_problem("sphere", dim=4, bounds=(-3.0, 7.0))  # x* = 0, off the box centre 2
    _, inbox = _run(make_method("quadratic-surrogate", {"model": "full", "batch_size": 128}), problem,
                    Budget(None, 1000))
    assert torch.allclose(inbox.candidates[-1].x, torch.zeros(4, dtype=torch.float64), atol=1e-6)


def test_non_positive_curvature_takes_the_lower_box_edge():
    problem = _problem(saddle, 3, bound=2.0, x_star=lambda d: torch.tensor([1.0, 2.0, -2.0], dtype=torch.float64))
    for model in ("separable", "full"):
        bb, inbox = _run(make_method("quadratic-surrogate", {"model": model, "batch_size": 64}), problem,
                         Budget(None, 500))
        x = inbox.candidates[-1].x
        assert bool((x >= -2.0).all() and (x <= 2.0).all())
        assert torch.allclose(x, torch.tensor([1.0, 2.0, -2.0], dtype=torch.float64), atol=1e-6), (model, x)


def test_reports_within_a_tiny_budget():
    problem = make_problem("schaffer-f7-paper", dim=100, bounds=(-100, 100))
    bb, inbox = _run(make_method("quadratic-surrogate"), problem, Budget(None, 20), dtype=torch.float32)
    assert len(inbox.candidates) == 1 and bb.n_energy == 20  # 19 samples (fewer than 201 parameters) + 1 report
    assert torch.isfinite(inbox.candidates[0].x).all()
    assert bool((inbox.candidates[0].x.abs() <= 100).all())


def test_local_steps_descend_on_the_true_energy():
    problem = make_problem("alpine1", dim=5, bounds=(-10, 10))
    method = make_method("quadratic-surrogate", {"batch_size": 200, "local_steps": 300, "local_lr": 0.01})
    _, inbox = _run(method, problem, Budget(None, 1000))
    rec = Recorder(problem)
    rec.assess(inbox.candidates)
    first, second = rec.rows[0], rec.rows[1]  # the first model minimizer, then its descent's best point
    assert second.n_energy - first.n_energy > 1 and second.n_energy < 200 + 1 + 302 + 1
    assert second.energy < first.energy


def test_bad_parameters_are_errors():
    with pytest.raises(GmbenchError, match="model must be one of"):
        make_method("quadratic-surrogate", {"model": "cubic"})
    problem = make_problem("sphere", dim=61)
    with pytest.raises(GmbenchError, match="max_full_dim = 60"):
        _run(make_method("quadratic-surrogate", {"model": "full"}), problem, Budget(None, 100))


def test_listed():
    res = CliRunner().invoke(app, ["list", "methods"], catch_exceptions=False)
    assert res.exit_code == 0 and "quadratic-surrogate" in res.output
