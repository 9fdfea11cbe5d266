"""The harness knows no method or problem by name: extra summaries, figures and report layouts are what
methods and problem families declare (``Method.summaries``/``plots``, ``Problem.summaries``/``report_layout``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from gmbench.cli.app import app
from gmbench.core.blackbox import BlackBox
from gmbench.core.errors import GmbenchError
from gmbench.run.recorder import Candidate, Recorder
from gmbench.run.summaries import SUMMARIES, register_summary
from gmbench.methods import METHODS
from gmbench.methods.base import IterationPlot, Method, Series, register_method
from gmbench.problems import make_problem
from gmbench.problems.base import REPORT_LAYOUTS, Problem
from gmbench.problems import report_layout as layout
from gmbench.report.tables import LAYOUTS


@register_method("_test-iterating")
@dataclass
class _Iterating(Method):
    """Reports one uniform point per iteration with an iteration counter, a warm-start flag and a loss."""

    plots = IterationPlot("it", warm=("ph", 0.0), series=(Series("loss", "a test loss", log=True, file="the_loss"),))
    summaries = ("_test-count",)
    n: int = 6

    def run(self, bb: BlackBox, report) -> None:
        for k in range(self.n):
            report(bb.uniform(1)[0], it=float(k), ph=float(k >= 2), loss=1.0 / (k + 1))


@register_summary("_test-count")
def _count(rows):
    return {"n_with_loss": sum("loss" in r.scalars for r in rows)}


def _candidates(problem, scalars):
    x = torch.zeros(problem.dim, dtype=torch.float64)
    return [Candidate(0.1 * k, k + 1, 0, k + 1, x + 0.1 * k, s) for k, s in enumerate(scalars)]


def test_summaries_come_only_from_declarations():
    problem = make_problem("sphere", dim=3)
    cands = _candidates(problem, [{"start": 0, "train_wall_s": 2.0}, {"start": 1, "train_wall_s": 3.0}])
    rec = Recorder(problem)  # a method that declares nothing: scalar names mean nothing to the harness
    rec.assess(cands)
    s = rec.summary()
    assert not {"n_starts", "starts_min_energy", "train_wall_s", "success"} & set(s)
    rec = Recorder(problem, ("per_start", "training_cost"))
    rec.assess(cands)
    s = rec.summary()
    assert s["n_starts"] == 2 and s["starts_min_energy"] == pytest.approx(0.0) and s["train_wall_s"] == 3.0
    assert s["starts_energies"] == pytest.approx([0.0, 3 * 0.01])
    rec = Recorder(problem, ("no-such-summary",))
    rec.assess(cands)
    with pytest.raises(GmbenchError, match="summary"):
        rec.summary()


def test_declared_summaries_of_the_builtin_methods_and_problems():
    assert METHODS.get("gd").summaries == METHODS.get("fire").summaries == ("per_start",)
    assert METHODS.get("stridernet").summaries == ("per_start", "training_cost")
    assert METHODS.get("random-search").summaries == ()
    assert make_problem("lj13").summaries == ("success",) and make_problem("sphere", dim=2).summaries == ()
    assert all(n in SUMMARIES for n in ("success", "per_start", "training_cost"))


def test_problem_success_summary_is_the_problems_declaration():
    problem = make_problem("lj13")
    x = problem.start_sampler()(1, torch.Generator().manual_seed(0))[0]
    rec = Recorder(problem)
    rec.assess([Candidate(0.5, 3, 0, 3, x, {})])
    s = rec.summary()
    assert s["success"] is False and s["hit_t"] is None and s["hit_evals"] is None


def test_report_layout_is_declared_by_the_problem_family():
    assert layout(make_problem("sphere", dim=4).config()) == "functions"
    assert layout(make_problem("lj13").config()) == "cluster"
    assert layout({"name": "ka-lj", "n_atoms": 27, "f_star": None}) == "energy"
    assert layout({"name": "not-a-registered-problem", "n_atoms": 5}) == "functions"  # plugin not loaded
    assert {"functions", "cluster", "energy"} <= set(LAYOUTS.names())
    assert LAYOUTS.get("energy").per_suite and not LAYOUTS.get("cluster").per_suite

    class _Family(Problem):  # a new family registers its rule by being defined
        family = "_test-family"

        @staticmethod
        def report_layout(config):
            return "cluster"

    assert REPORT_LAYOUTS["_test-family"] is _Family.report_layout


def test_figures_follow_the_methods_plot_declarations(tmp_path: Path):
    suite = tmp_path / "decl.yaml"
    suite.write_text("name: decl\ndevice: cpu\nseeds: 1\nbudget: {evals: 1000}\nproblems:\n  - {name: sphere, dim: 2}\n"
                     "methods:\n  - name: _test-iterating\n  - name: random-search\n    params: {batch_size: 8}\n")
    store = tmp_path / "s.sqlite"
    runner = CliRunner()
    res = runner.invoke(app, ["run", "--suite", str(suite), "--store", str(store), "--quiet"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["plot", "--suite", str(suite), "--store", str(store), "--out", str(tmp_path / "p")],
                        catch_exceptions=False)
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert names == ["decl_sphere_D_2_anytime.png", "decl_sphere_D_2_learned_minimum_iterations.png",
                     "decl_sphere_D_2_learned_minimum_time.png", "decl_sphere_D_2_the_loss.png"], names
    from gmbench.report.figures import iteration_axis

    rows = [{"scalars": {"it": float(k), "ph": float(k >= 2)}} for k in range(5)]
    assert iteration_axis(rows, _Iterating.plots) == [-1.0, 0.0, 2.0, 3.0, 4.0]


def test_one_guard_for_every_command():
    import importlib

    from gmbench.cli.guard import guard

    app_mod, stridernet = (importlib.import_module(f"gmbench.cli.{m}") for m in ("app", "stridernet"))
    assert app_mod._guard is guard and stridernet._guard is guard
    res = CliRunner().invoke(app, ["report", "--store", "/nonexistent/dir/s.sqlite", "--format", "[bold]x"])
    assert res.exit_code == 2 and res.output.count("error:") == 1 and "[bold]x" in res.output


def test_one_home_for_number_formatting():
    from gmbench.report import fmt

    assert [fmt.num(v) for v in (0, 1234567.0, 0.000123, 123.456, 1.23456)] == ["0", "1.235e+06", "1.230e-04", "123.46",
                                                                             "1.235"]
    assert [fmt.short(v) for v in (None, 0.0, 12345.6, 1e-3, 2e5)] == ["-", "0", "1.23e+04", "1.000e-03", "2.000e+05"]
    assert (fmt.opt(None), fmt.opt(float("nan")), fmt.opt(3.14159), fmt.opt(2.5, ".1f")) == ("—", "nan", "3.142", "2.5")
    st = {"median": 2.0, "min": 1.0, "max": 1500.0, "n": 3}
    assert fmt.stats_cell(st) == "2 [1, 1500.00]" and fmt.stats_cell(st, integer=True) == "2 [1, 1,500]"
    assert fmt.stats_cell(None) == "—" and fmt.stats_cell({**st, "n": 1}) == "2"
