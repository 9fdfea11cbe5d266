"""Adam with one learning rate, batched over many starting points or atomic structures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gmbench.core.blackbox import BlackBox
from gmbench.methods.base import Report, register_method
from gmbench.methods.common import LocalMethod, stridernet_presets
from gmbench.optim.adam import AdamState, adam_init, adam_step


@register_method("adam")
@dataclass
class Adam(LocalMethod):
    """Bias-corrected Adam (Kingma & Ba, ICLR 2015; β₁ 0.9, β₂ 0.999, ε 1e-8 as optax/torch; the
    step is :mod:`gmbench.optim.adam`) on the raw coordinates of ``n_points`` starts at once, rounds
    of ``max_steps`` steps with restarts (see ``gd``). For the seed paper's learning-rate grid use
    ``adam-sweep``. ``preset: stridernet-lj | -sw | -csh`` is StriderNET's baseline (lr 0.05 / 0.1 /
    1.0, 1000 / 1000 / 2000 steps, 10 structures; Bihani et al., ICML 2023, Table 6). Periodic
    iterates are wrapped into the box (``clamp``), which changes neither the energy nor Adam's
    moments (the authors' code does not wrap; same result).
    """

    PRESETS: ClassVar[dict[str, dict]] = stridernet_presets(lambda row: {"lr": row.adam_lr})

    lr: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def run(self, bb: BlackBox, report: Report) -> None:
        def step(s: AdamState, e, g) -> AdamState:
            s = adam_step(s, e, g, self.lr, self.beta1, self.beta2, self.eps)
            if self.clamp:
                s.x = bb.clamp(s.x)
            return s

        self.rounds(bb, report).run(adam_init, step)
