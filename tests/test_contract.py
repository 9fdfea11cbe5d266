"""gmbench.testing's contract kit run on every built-in problem and method (issue 22): what a plugin
author's tests would run on theirs."""

from __future__ import annotations

import pytest

from gmbench.core.errors import GmbenchError
from gmbench.methods import METHODS
from gmbench.problems import PROBLEMS, make_problem
from gmbench.testing import check_method, check_problem

pytestmark = pytest.mark.usefixtures("one_thread")


# atomistic systems at test size: a few atoms or a small seeded MD pool of starting structures
SMALL_SYSTEMS = {"ka-lj": {"n": 27, "pool": 2}, "sw-silicon": {"pool": 2}, "csh": {"pool": 2},
                 "lj-cluster": {"n": 7}, "binary-lj-cluster": {"n": 10}}


def _problem(name: str):
    family = PROBLEMS.get(name).family
    if family in ("function", "bbob"):
        return make_problem(name, dim=5, **({"instance": 1} if family == "bbob" else {}))
    try:
        p = make_problem(name, **SMALL_SYSTEMS.get(name, {}))
        p.prepare()
        return p
    except GmbenchError as exc:  # e.g. a system whose starting structures are external data
        pytest.skip(f"{name}: {exc}")


# the larger reference clusters run the same code as lj13/lj38 (their start sampler takes minutes here)
LARGE_CLUSTERS = {"lj55", "lj75", "lj98", "lj100", "lj147", "lj150"}


@pytest.mark.parametrize("name", sorted(n for n, e in PROBLEMS.items() if n not in LARGE_CLUSTERS
                                         and all(m.startswith("gmbench.") for m in e.modules)))
def test_every_problem_keeps_the_contract(name):
    out = check_problem(_problem(name))
    assert out["batch_vs_rows"] <= 1e-10


@pytest.mark.parametrize("name", ["sphere", "alpine1", "bbob-f15"])
def test_the_problem_check_fails_when_a_problem_lies(name, monkeypatch):
    """The kit can fail: a problem that declares a wrong f* is caught."""
    p = _problem(name)
    monkeypatch.setattr(p, "f_star", (p.f_star or 0.0) + 1.0, raising=False)
    with pytest.raises(AssertionError, match="below f\\*|f\\(x\\*\\)"):
        check_problem(p)


# methods: small configurations where the defaults are sized for D = 100-1000 runs
SMALL = {
    "action-functional": {"units": [16, 16], "batch_size": 64, "warm_epochs": 2, "norm_samples": 64, "n_traj": 4,
                          "max_traj_steps": 10},
    "sample-only": {"units": [16, 16], "batch_size": 64, "warm_epochs": 2, "norm_samples": 64},
    "adam-sweep": {"n_points": 4, "n_steps": 20, "lr_start": 0.05, "lr_stop": 0.5, "lr_step": 0.05},
    "stridernet": None,  # trains a graph policy on atomistic starting structures: tests/test_stridernet.py
}


BUILT_IN = sorted(n for n, cls in METHODS.items() if cls.__module__.startswith("gmbench.methods."))


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_method_keeps_the_contract(name):
    if SMALL.get(name, {}) is None:
        pytest.skip("checked on atomistic systems in its own tests")
    out = check_method(name, SMALL.get(name, {}), evals=1500)
    assert 0 < out["n_cost"] <= 1500 and out["candidates"] >= 1


def test_the_method_check_fails_when_a_method_is_not_seeded_or_reports_nothing():
    from dataclasses import dataclass

    import torch

    from gmbench.methods.base import Method

    @dataclass
    class Unseeded(Method):
        name = "unseeded-test"

        def run(self, bb, report):
            x = bb.lower + (bb.upper - bb.lower) * torch.rand(bb.dim, dtype=bb.dtype)  # global generator
            bb.energy(x[None])
            report(x)

    with pytest.raises(AssertionError, match="same seed"):
        check_method(Unseeded())

    @dataclass
    class Silent(Method):
        name = "silent-test"

        def run(self, bb, report):
            bb.energy(bb.uniform(10))

    with pytest.raises(AssertionError, match="no candidate"):
        check_method(Silent())


def test_the_public_api_runs_a_suite(tmp_path):
    """What a plugin author imports from ``gmbench`` (issue 22), and ``run_suite`` as ``gmbench run`` does it."""
    import gmbench

    for name in ("Method", "register_method", "BlackBox", "Problem", "register_function", "AtomsProblem",
                 "register_system", "PairEnergy", "run_suite", "make_problem", "make_method", "Budget"):
        assert getattr(gmbench, name) is not None, name
    store = tmp_path / "s.sqlite"
    counts = gmbench.run_suite("smoke", store=store, seeds=[0], methods=["random-search"], problems=["sphere"],
                               budget=gmbench.Budget(None, 500))
    assert counts["done"] == 1 and counts["failed"] == 0
    again = gmbench.run_suite("smoke", store=store, seeds=[0], methods=["random-search"], problems=["sphere"],
                              budget=gmbench.Budget(None, 500))
    assert again["done"] == 0 and again["skipped"] == 1
    with pytest.raises(GmbenchError, match="method label"):
        gmbench.run_suite("smoke", store=store, methods=["no-such-label"])
