"""Local relaxers: batched FIRE with jax-md 0.2.24 semantics, and a tight L-BFGS for references.

FIRE is an (init, step) pair acting on a batch of independent systems ``(B, ...)``: every system
keeps its own momenta, dt, alpha and n_pos, and all norms and powers are taken per system over all
its coordinates. The step ordering is jax-md 0.2.24's ``minimize.fire_descent`` (``atoms.md`` §5,
``stridernet.md`` §4.1) - the one that reproduces StriderNET's FIRE baseline:

1. P += dt/2 F;  2. R = shift(R, dt P);  3. F = -grad E(R);  4. P += dt/2 F;
5. power = sum F.P (before the mixing);  6. P += alpha (F |P| / |F|_eps - P), |F|_eps = sqrt(sum F^2 + 1e-6);
7. n_pos = n_pos + 1 if power >= 0 else 0;
8. if power > 0 and n_pos > n_min: dt = min(dt f_inc, dt_max), alpha *= f_alpha;
9. if power < 0: dt *= f_dec, alpha = alpha_start, P = 0.

Masses are 1 and there is no step cap (unlike ASE). ``STRIDERNET_FIRE_LJ`` holds the paper code's
parameters for LJ (dt_start 0.01, dt_max = 4 dt_start = 0.04).

One energy-and-gradient evaluation per step (plus one at init). Works on any device and dtype.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import torch
from torch import Tensor

EnergyFn = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class FireParams:
    dt_start: float = 0.1
    dt_max: float = 0.4
    n_min: int = 5
    f_inc: float = 1.1
    f_dec: float = 0.5
    alpha_start: float = 0.1
    f_alpha: float = 0.99


JAXMD_FIRE = FireParams()  # jax-md library defaults
STRIDERNET_FIRE_LJ = FireParams(dt_start=0.01, dt_max=0.04)  # StriderNET FIRE_desc for LJ (dt_max = 4 dt_start)


def stridernet_fire(dt_start: float) -> FireParams:
    """StriderNET's ``FIRE_desc``: dt_max = 4 dt_start, other parameters jax-md's defaults."""
    return replace(JAXMD_FIRE, dt_start=dt_start, dt_max=4.0 * dt_start)


@dataclass
class FireState:
    position: Tensor  # (B, ...)
    momentum: Tensor
    force: Tensor
    energy: Tensor  # (B,)
    dt: Tensor  # (B,)
    alpha: Tensor  # (B,)
    n_pos: Tensor  # (B,) long
    n_evals: int = 0


def _energy_and_force(energy_fn: EnergyFn, r: Tensor) -> tuple[Tensor, Tensor]:
    analytic = getattr(energy_fn, "energy_and_forces", None)  # pair potentials: no autograd graph
    if analytic is not None:
        out = analytic(r)
        if out is not None:
            return out
    with torch.enable_grad():
        x = r.detach().requires_grad_(True)
        e = energy_fn(x)
        (g,) = torch.autograd.grad(e.sum(), x)
    return e.detach(), -g


def _bcast(v: Tensor, like: Tensor) -> Tensor:
    return v.reshape(v.shape + (1,) * (like.dim() - 1))


def fire_init(energy_fn: EnergyFn, r: Tensor, params: FireParams = JAXMD_FIRE) -> FireState:
    """Initial FIRE state for a batch ``r`` of shape (B, ...); momenta 0, dt = dt_start."""
    e, f = _energy_and_force(energy_fn, r)
    B = r.shape[0]
    opts = dict(dtype=r.dtype, device=r.device)
    return FireState(
        position=r.detach().clone(), momentum=torch.zeros_like(r), force=f, energy=e,
        dt=torch.full((B,), params.dt_start, **opts), alpha=torch.full((B,), params.alpha_start, **opts),
        n_pos=torch.zeros(B, dtype=torch.long, device=r.device), n_evals=1,
    )


def fire_kick_drift(r: Tensor, mom: Tensor, f: Tensor, dt: Tensor,
                    shift: Callable[[Tensor, Tensor], Tensor] | None = None) -> tuple[Tensor, Tensor]:
    """Steps 1-2: half kick with the force at ``r``, then drift (``shift`` wraps periodic positions)."""
    dtb = _bcast(dt, r)
    mom = mom + 0.5 * dtb * f
    r = shift(r, dtb * mom) if shift is not None else r + dtb * mom
    return r, mom


def fire_mix(mom: Tensor, f: Tensor, dt: Tensor, alpha: Tensor, n_pos: Tensor, params: FireParams
             ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Steps 4-9 given the force ``f`` at the drifted positions: returns (momenta, dt, alpha, n_pos)."""
    p = params
    dtb = _bcast(dt, mom)
    mom = mom + 0.5 * dtb * f
    dims = tuple(range(1, mom.dim()))
    power = (f * mom).sum(dims)
    f_norm = torch.sqrt((f * f).sum(dims) + 1e-6)
    p_norm = torch.sqrt((mom * mom).sum(dims))
    a = _bcast(alpha, mom)
    mom = mom + a * (f * _bcast(p_norm / f_norm, mom) - mom)
    n_pos = torch.where(power >= 0, n_pos + 1, torch.zeros_like(n_pos))
    grow = (power > 0) & (n_pos > p.n_min)
    dt = torch.where(grow, torch.clamp(dt * p.f_inc, max=p.dt_max), dt)
    alpha = torch.where(grow, alpha * p.f_alpha, alpha)
    neg = power < 0
    dt = torch.where(neg, dt * p.f_dec, dt)
    alpha = torch.where(neg, torch.full_like(alpha, p.alpha_start), alpha)
    mom = torch.where(_bcast(neg, mom), torch.zeros_like(mom), mom)
    return mom, dt, alpha, n_pos


def fire_step(
    energy_fn: EnergyFn,
    state: FireState,
    params: FireParams = JAXMD_FIRE,
    shift: Callable[[Tensor, Tensor], Tensor] | None = None,
) -> FireState:
    """One jax-md 0.2.24 FIRE step for every system of the batch."""
    r, mom = fire_kick_drift(state.position, state.momentum, state.force, state.dt, shift)
    e, f = _energy_and_force(energy_fn, r)
    mom, dt, alpha, n_pos = fire_mix(mom, f, state.dt, state.alpha, state.n_pos, params)
    return FireState(r, mom, f, e, dt, alpha, n_pos, state.n_evals + 1)


def fire_relax(
    energy_fn: EnergyFn,
    r: Tensor,
    steps: int,
    params: FireParams = JAXMD_FIRE,
    shift: Callable[[Tensor, Tensor], Tensor] | None = None,
    track_best: bool = False,
) -> tuple[Tensor, Tensor] | tuple[Tensor, Tensor, Tensor, Tensor]:
    """Run ``steps`` FIRE steps on the batch ``r`` (B, ...) with a fixed budget (StriderNET style).

    Returns the final positions and energies; with ``track_best`` also the lowest energy seen along
    the trajectory and the positions where it was seen.
    """
    s = fire_init(energy_fn, r, params)
    best_e, best_r = s.energy.clone(), s.position.clone()
    for _ in range(steps):
        s = fire_step(energy_fn, s, params, shift)
        if track_best:
            better = s.energy < best_e
            best_e = torch.where(better, s.energy, best_e)
            best_r = torch.where(_bcast(better, best_r), s.position, best_r)
    if track_best:
        return s.position, s.energy, best_r, best_e
    return s.position, s.energy


def lbfgs_relax(
    energy_fn: EnergyFn, r: Tensor, gtol: float = 1e-10, maxiter: int = 20000
) -> tuple[Tensor, float, float]:
    """Tight float64 relaxation of ONE structure ``r`` (N, 3) with SciPy's L-BFGS-B.

    For building reference structures; returns (positions, energy, max |gradient| component).
    """
    from scipy.optimize import minimize

    shape = r.shape

    def fg(x: np.ndarray) -> tuple[float, np.ndarray]:
        t = torch.from_numpy(x).reshape(shape).requires_grad_(True)
        e = energy_fn(t)
        (g,) = torch.autograd.grad(e, t)
        return float(e.detach()), g.reshape(-1).numpy().copy()

    x0 = r.detach().to(torch.float64).cpu().reshape(-1).numpy().copy()
    res = minimize(fg, x0, jac=True, method="L-BFGS-B",
                   options={"maxiter": maxiter, "maxcor": 30, "ftol": 1e-16, "gtol": gtol, "maxls": 50})
    x = torch.from_numpy(res.x).reshape(shape)
    e, g = fg(res.x)
    return x, e, float(np.abs(g).max())
