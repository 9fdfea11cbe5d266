"""Plain gradient descent, batched over many starting points, with restarts."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..blackbox import BlackBox
from .base import Method, Report, register_method
from .common import BestPoint


@register_method("gd", aliases=("gradient-descent",))
@dataclass
class GradientDescent(Method):
    """x ← x − lr ∇U(x) on ``n_points`` starts at once (from the problem's start sampler).

    A round ends after ``max_steps`` steps or when every point's gradient norm is below ``gtol``;
    then new starting points are drawn, until the budget is spent. With ``clamp`` the iterates are
    projected onto the bounds after each step. The lowest-energy point seen is reported every
    ``report_every`` steps when it improved. Defaults are ours (gradient descent has no paper values
    for the analytic functions; the atomistic preset comes with the atoms issue).
    """

    n_points: int = 100
    lr: float = 0.01
    max_steps: int = 1000
    gtol: float = 1e-6
    clamp: bool = True
    report_every: int = 50

    def run(self, bb: BlackBox, report: Report) -> None:
        best = BestPoint(report)
        while True:
            x = bb.starts(self.n_points)
            for step in range(self.max_steps):
                e, g = bb.energy_and_grad(x)
                best.update(x, e)
                if step % self.report_every == 0:
                    best.flush()
                if float(torch.linalg.vector_norm(g, dim=-1).max()) < self.gtol:
                    break
                x = x - self.lr * g
                if self.clamp:
                    x = bb.clamp(x)
            best.flush()
