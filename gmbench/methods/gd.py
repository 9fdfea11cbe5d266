"""Plain gradient descent, batched over many starting points (or atomic structures), with restarts."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import ClassVar

from ..blackbox import BlackBox
from .base import Method, Report, register_method
from .common import LocalRounds

# StriderNET's gradient-descent baseline (stridernet.md §4.3-4.4): jax-md ``gradient_descent``
# (R <- wrap(R + lr F)) with the paper's learning rates, 1000 steps (2000 for C-S-H), 10 structures,
# one round, every structure's best reported (Table 1 reads the min and mean over structures).
STRIDERNET_BY_SYSTEM = {"ka-lj": "stridernet-lj", "sw-silicon": "stridernet-sw", "csh": "stridernet-csh"}
STRIDERNET_LOCAL = {"n_points": 10, "max_rounds": 1, "report_starts": True, "gtol": 0.0, "report_every": 50}


@register_method("gd", aliases=("gradient-descent",))
@dataclass
class GradientDescent(Method):
    """x ← x − lr ∇U(x) on ``n_points`` starts at once (from the problem's start sampler).

    A round ends after ``max_steps`` steps or when every point's gradient norm is below ``gtol``;
    then new starting points are drawn, until the budget is spent (or ``max_rounds`` rounds). With
    ``clamp`` the iterates are projected onto the bounds after each step (wrapped into the box for
    periodic systems, as jax-md's ``shift``). The lowest-energy point seen is reported every
    ``report_every`` steps when it improved (every start's, with ``report_starts``). Defaults are
    ours (no paper gives GD values for the analytic functions); ``preset: stridernet-lj | -sw | -csh``
    gives StriderNET's baseline (lr 5e-4 / 1e-3 / 5e-4, 1000 / 1000 / 2000 steps, 10 structures).
    """

    PRESETS: ClassVar[dict[str, dict]] = {
        "stridernet-lj": {**STRIDERNET_LOCAL, "lr": 5e-4, "max_steps": 1000},
        "stridernet-sw": {**STRIDERNET_LOCAL, "lr": 1e-3, "max_steps": 1000},
        "stridernet-csh": {**STRIDERNET_LOCAL, "lr": 5e-4, "max_steps": 2000},
    }

    PRESET_BY_SYSTEM: ClassVar[dict[str, dict[str, str]]] = {"stridernet": STRIDERNET_BY_SYSTEM}

    preset: str | None = None
    n_points: int = 100
    lr: float = 0.01
    max_steps: int = 1000
    gtol: float = 1e-6
    clamp: bool = True
    report_every: int = 50
    report_starts: bool | None = None  # None: per-structure reports on periodic systems (Table 1 Mean)
    max_rounds: int | None = None

    def run(self, bb: BlackBox, report: Report) -> None:
        def step(s, k, e, g):
            x = s.x - self.lr * g
            return SimpleNamespace(x=bb.clamp(x) if self.clamp else x)

        LocalRounds(bb, report, n_points=self.n_points, max_steps=self.max_steps, gtol=self.gtol,
                    report_every=self.report_every, report_starts=self.report_starts,
                    max_rounds=self.max_rounds).run(lambda x0: SimpleNamespace(x=x0), step)
