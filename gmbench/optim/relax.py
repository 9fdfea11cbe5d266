"""Relaxation drivers over the optimiser kernels: a fixed-length batched FIRE (StriderNET's baseline)
and a tight L-BFGS for reference structures.

``energy_fn`` maps a batch of positions to energies; pair potentials with an analytic
``energy_and_forces`` are used without an autograd graph, anything else through
:func:`gmbench.core.autodiff.energy_and_grad`.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from gmbench.core.autodiff import energy_and_forces as energy_and_forces_of
from gmbench.core.autodiff import energy_and_grad
from gmbench.optim.fire import (  # noqa: F401  (re-exported: the relaxers' parameter sets)
    JAXMD_FIRE,
    STRIDERNET_FIRE_LJ,
    FireParams,
    fire_init,
    fire_step,
    fire_step_forces,
    stridernet_fire,
)
from gmbench.optim.lbfgs import LbfgsParams, lbfgs_minimize

EnergyFn = Callable[[Tensor], Tensor]


def energy_and_grad_of(energy_fn: EnergyFn, r: Tensor) -> tuple[Tensor, Tensor]:
    """(energies, gradients) at ``r``: the potential's analytic forces when it has them, else autograd."""
    e, f = energy_and_forces_of(energy_fn, r)
    return e, -f


def fire_relax(
    energy_fn: EnergyFn,
    r: Tensor,
    steps: int,
    params: FireParams = JAXMD_FIRE,
    shift: Callable[[Tensor, Tensor], Tensor] | None = None,
    track_best: bool = False,
) -> tuple[Tensor, Tensor] | tuple[Tensor, Tensor, Tensor, Tensor]:
    """Run ``steps`` FIRE steps (:mod:`gmbench.optim.fire`; jax-md order by default) on the batch
    ``r`` (B, ...) with a fixed budget, as StriderNET's baseline: ``steps + 1`` evaluations.

    Returns the final positions and energies; with ``track_best`` also the lowest energy seen along
    the trajectory and the positions where it was seen.
    """
    s = fire_init(r, params)
    e, f = energy_and_forces_of(energy_fn, s.x)
    best_e, best_r = e.clone(), s.x.clone()
    for _ in range(steps):
        s = fire_step_forces(s, f, params, shift)
        e, f = energy_and_forces_of(energy_fn, s.x)
        if track_best:
            better = e < best_e
            best_e = torch.where(better, e, best_e)
            best_r = torch.where(better.reshape(better.shape + (1,) * (best_r.dim() - 1)), s.x, best_r)
    if track_best:
        return s.x, e, best_r, best_e
    return s.x, e


def lbfgs_relax(
    energy_fn: EnergyFn, r: Tensor, gtol: float = 1e-10, maxiter: int = 20000
) -> tuple[Tensor, float, float]:
    """Tight float64 relaxation of ONE structure ``r`` (N, 3) with the batched L-BFGS of
    :mod:`gmbench.optim.lbfgs` (30 pairs, steps capped at 0.1) until every |∂E/∂x| < ``gtol``.

    For building reference structures; returns (positions, energy, max |gradient| component).
    """
    shape = r.shape
    x0 = r.detach().to(torch.float64).reshape(1, -1)

    def eg(x: Tensor) -> tuple[Tensor, Tensor]:
        e, g = energy_and_grad(lambda y: energy_fn(y.reshape(y.shape[:1] + shape)).reshape(-1), x)
        return e, g

    x, _ = lbfgs_minimize(eg, x0, LbfgsParams(memory=30, h0=0.01, max_step=0.1), gtol=gtol, max_iter=maxiter)
    e, g = eg(x)
    return x.reshape(shape), float(e[0]), float(g.abs().max())
