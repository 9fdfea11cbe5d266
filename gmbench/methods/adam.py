"""Adam with one learning rate, batched over many starting points or atomic structures."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import ClassVar

import torch

from gmbench.core.blackbox import BlackBox
from gmbench.methods.base import Report, register_method
from gmbench.methods.common import STRIDERNET_LOCAL, LocalMethod


@register_method("adam")
@dataclass
class Adam(LocalMethod):
    """Bias-corrected Adam (Kingma & Ba; β₁ 0.9, β₂ 0.999, ε 1e-8 as optax/torch) on the raw
    coordinates of ``n_points`` starts at once, rounds of ``max_steps`` steps with restarts (see
    ``gd``). For the seed paper's learning-rate grid use ``adam-sweep``. ``preset: stridernet-lj |
    -sw | -csh`` is StriderNET's baseline (lr 0.05 / 0.1 / 1.0, 1000 / 1000 / 2000 steps, 10
    structures; stridernet.md §4.2). Periodic iterates are wrapped into the box (``clamp``), which
    changes neither the energy nor Adam's moments (the reference code does not wrap; same result).
    """

    PRESETS: ClassVar[dict[str, dict]] = {
        "stridernet-lj": {**STRIDERNET_LOCAL, "lr": 0.05, "max_steps": 1000},
        "stridernet-sw": {**STRIDERNET_LOCAL, "lr": 0.1, "max_steps": 1000},
        "stridernet-csh": {**STRIDERNET_LOCAL, "lr": 1.0, "max_steps": 2000},
    }

    lr: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def run(self, bb: BlackBox, report: Report) -> None:
        b1, b2 = self.beta1, self.beta2

        def step(s, k, e, g):
            t = k + 1
            s.m.mul_(b1).add_(g, alpha=1 - b1)
            s.v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (s.v / (1 - b2**t)).sqrt_().add_(self.eps)
            x = s.x - (self.lr / (1 - b1**t)) * s.m / denom
            s.x = bb.clamp(x) if self.clamp else x
            return s

        def init(x0):
            return SimpleNamespace(x=x0, m=torch.zeros_like(x0), v=torch.zeros_like(x0))

        self.rounds(bb, report).run(init, step)
