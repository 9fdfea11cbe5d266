"""Plain gradient descent, batched over many starting points (or atomic structures), with restarts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gmbench.core.blackbox import BlackBox
from gmbench.methods.base import Report, register_method
from gmbench.methods.common import LocalMethod, stridernet_presets
from gmbench.optim.gd import GDState, gd_init, gd_step


@register_method("gd", aliases=("gradient-descent",))
@dataclass
class GradientDescent(LocalMethod):
    """x ← x − lr ∇U(x) on ``n_points`` starts at once (from the problem's start sampler).

    A round ends after ``max_steps`` steps or when every point's gradient norm is below ``gtol``;
    then new starting points are drawn, until the budget is spent (or ``max_rounds`` rounds). With
    ``clamp`` the iterates are projected onto the bounds after each step (wrapped into the box for
    periodic systems, as jax-md's ``shift``). The lowest-energy point seen is reported every
    ``report_every`` steps when it improved (every start's, with ``report_starts``). Defaults are
    ours (no paper gives GD values for the analytic functions); ``preset: stridernet-lj | -sw | -csh``
    gives StriderNET's baseline (lr 5e-4 / 1e-3 / 5e-4, 1000 / 1000 / 2000 steps, 10 structures;
    Bihani et al., ICML 2023, Table 6). The step is :mod:`gmbench.optim.gd`.
    """

    PRESETS: ClassVar[dict[str, dict]] = stridernet_presets(lambda row: {"lr": row.gd_lr})

    lr: float = 0.01

    def run(self, bb: BlackBox, report: Report) -> None:
        def step(s: GDState, e, g) -> GDState:
            s = gd_step(s, e, g, self.lr)
            if self.clamp:
                s.x = bb.clamp(s.x)
            return s

        self.rounds(bb, report).run(gd_init, step)
