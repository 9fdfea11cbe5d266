"""Classical baselines on the same structures (Bihani et al., ICML 2023, Table 1 and Table 2
columns; settings App. D, Table 6): the lowest energy along GD, Adam and FIRE from each structure,
run with the kernels of :mod:`gmbench.optim` and the settings the registered ``gd``/``adam``/``fire``
methods use for their ``stridernet`` presets (:data:`gmbench.optim.presets.STRIDERNET_BASELINES`)."""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from gmbench.core.blackbox import BlackBox
from gmbench.optim.adam import adam_init, adam_step
from gmbench.optim.gd import gd_init, gd_step
from gmbench.optim.presets import STRIDERNET_BASELINES
from gmbench.optim.relax import fire_relax, stridernet_fire
from gmbench.methods.stridernet.config import system_of

# (GD lr, Adam lr, FIRE dt_start, steps) per system
BASELINE_PARAMS = {system: tuple(row) for system, row in STRIDERNET_BASELINES.items()}


def _lowest_along(bb: BlackBox, init: Callable, step: Callable, x0: Tensor, steps: int) -> Tensor:
    """Lowest energy of each row over ``steps`` steps of an ``(init, step)`` pair (steps + 1 evaluations)."""
    s = init(x0)
    best = torch.full((x0.shape[0],), math.inf, dtype=x0.dtype, device=x0.device)
    for k in range(steps + 1):
        e, g = bb.energy_and_grad(s.x)
        best = torch.minimum(best, torch.where(torch.isfinite(e), e, torch.full_like(e, math.inf)))
        if k == steps:
            break
        s = step(s, e, g)
    return best


def baselines(bb: BlackBox, x0: Tensor, steps: int | None = None, gd_lr: float | None = None,
              adam_lr: float | None = None, fire_dt: float | None = None) -> dict[str, Tensor]:
    """Lowest energy along ``steps`` of GD, FIRE (jax-md order, dt_max = 4 dt_start) and Adam from
    each row of ``x0``; unset values are the paper's for the system (:data:`BASELINE_PARAMS`). GD
    iterates are wrapped into the box; Adam's are not (the minimum-image energy does not need it,
    as the authors' optax code)."""
    row = STRIDERNET_BASELINES[system_of(bb)]
    gd_lr = row.gd_lr if gd_lr is None else gd_lr
    adam_lr = row.adam_lr if adam_lr is None else adam_lr
    fire_dt = row.fire_dt if fire_dt is None else fire_dt
    steps = row.steps if steps is None else steps
    out: dict[str, Tensor] = {}
    _, _, _, e = fire_relax(bb.energy_graph, x0, steps, stridernet_fire(fire_dt),
                            shift=lambda r, d: bb.clamp(r + d), track_best=True)
    out["FIRE"] = e

    def gd(s, e, g):
        s = gd_step(s, e, g, gd_lr)
        s.x = bb.clamp(s.x)
        return s

    out["GD"] = _lowest_along(bb, gd_init, gd, x0, steps)
    out["Adam"] = _lowest_along(bb, adam_init, lambda s, e, g: adam_step(s, e, g, adam_lr), x0, steps)
    return out
