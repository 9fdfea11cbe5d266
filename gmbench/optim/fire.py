"""FIRE, the Fast Inertial Relaxation Engine (Bitzek, Koskinen, Gähler, Moseler & Gumbsch,
Phys. Rev. Lett. 97, 170201, 2006), batched over independent systems, in two step orderings.

An ``(init, step)`` pair in the style of jax-md's ``minimize``: ``fire_init(x, params) -> state``,
``fire_step(state, e, g, params) -> state`` where ``e``, ``g`` are the energies and gradients at
``state.x``. ``x`` is a batch ``(B, ...)`` of independent systems (points ``(B, D)`` or structures
``(B, N, 3)``); every system has its own velocity, dt, α and counter, and every norm and power is
taken per system over all its coordinates. Masses are 1. One energy-and-gradient evaluation per step.

``flavour`` chooses the order of the operations within a step (force F = −g at the current x):

* ``"ase"`` - ASE's ``ase.optimize.FIRE`` (Euler, as Bitzek et al.'s Fig. 1 algorithm): power
  P = F·v; if P > 0: v ← (1−α)v + α|v|F̂ and, after more than ``n_min`` such steps, dt ← min(f_inc dt,
  dt_max), α ← f_α α; if P < 0: v ← 0, dt ← f_dec dt, α ← α_start (P = 0, only at the start where
  v = 0, changes nothing); then v ← v + dt F, Δx = dt v, its norm capped at ``max_step`` per system
  when given (ASE caps every step at 0.2 Å), x ← x + Δx.
* ``"jax-md"`` - jax-md 0.2.24's ``minimize.fire_descent`` (velocity Verlet, power taken before the
  mixing, no cap), the one StriderNET's FIRE baseline uses (Bihani et al., ICML 2023, Sec. 4 and
  the authors' code): completing the previous step with the force F at the drifted positions,
  v += dt/2 F; P = F·v; v += α(F |v|/|F|_ε − v), |F|_ε = sqrt(ΣF² + 1e-6); n_pos ← n_pos + 1 if
  P ≥ 0 else 0; if P > 0 and n_pos > n_min: dt ← min(f_inc dt, dt_max), α ← f_α α; if P < 0:
  dt ← f_dec dt, α ← α_start, v ← 0. Then the next step's half kick and drift: v += dt/2 F,
  x ← shift(x, dt v). The very first step has only the kick and the drift.

``shift(x, dx)`` (default ``x + dx``) maps displacements to positions, e.g. wrapping into a periodic
box as jax-md's ``space.shift``. Works on any device and dtype.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import torch
from torch import Tensor

from gmbench.core.errors import GmbenchError

Shift = Callable[[Tensor, Tensor], Tensor]
FLAVOURS = ("ase", "jax-md")


@dataclass(frozen=True)
class FireParams:
    """FIRE's parameters; the defaults are jax-md's (``fire_descent``). ``max_step`` (a cap on each
    system's step norm) exists in the ``"ase"`` flavour only."""

    dt_start: float = 0.1
    dt_max: float = 0.4
    n_min: int = 5
    f_inc: float = 1.1
    f_dec: float = 0.5
    alpha_start: float = 0.1
    f_alpha: float = 0.99
    flavour: str = "jax-md"
    max_step: float | None = None

    def __post_init__(self) -> None:
        if self.flavour not in FLAVOURS:
            raise GmbenchError(f"FIRE flavour must be 'ase' or 'jax-md', got {self.flavour!r}")
        if self.flavour == "jax-md" and self.max_step is not None:
            raise GmbenchError("max_step applies to the 'ase' FIRE only (jax-md's FIRE has no step cap)")


JAXMD_FIRE = FireParams()  # jax-md library defaults
ASE_FIRE = FireParams(dt_max=1.0, flavour="ase")  # ASE's / Bitzek et al.'s defaults (no cap: set max_step)
STRIDERNET_FIRE_LJ = FireParams(dt_start=0.01, dt_max=0.04)  # StriderNET's FIRE baseline on LJ


def stridernet_fire(dt_start: float) -> FireParams:
    """StriderNET's FIRE baseline (the authors' ``FIRE_desc``): jax-md order and defaults with
    dt_max = 4 dt_start."""
    return replace(JAXMD_FIRE, dt_start=dt_start, dt_max=4.0 * dt_start)


@dataclass
class FireState:
    x: Tensor  # (B, ...) positions
    v: Tensor  # (B, ...) velocities (= momenta, masses 1)
    dt: Tensor  # (B,)
    alpha: Tensor  # (B,)
    n_pos: Tensor  # (B,) long: steps since the power was last negative
    steps: int = 0  # steps taken


def _b(v: Tensor, like: Tensor) -> Tensor:
    """Per-system values (B,) broadcast against a batch (B, ...)."""
    return v.reshape(v.shape + (1,) * (like.dim() - 1))


def fire_init(x: Tensor, params: FireParams = JAXMD_FIRE) -> FireState:
    """State at the batch ``x`` (B, ...): velocities 0, dt = dt_start, α = α_start."""
    B = x.shape[0]
    opts = dict(dtype=x.dtype, device=x.device)
    return FireState(x.detach(), torch.zeros_like(x), torch.full((B,), params.dt_start, **opts),
                     torch.full((B,), params.alpha_start, **opts),
                     torch.zeros(B, dtype=torch.long, device=x.device))


def fire_step(state: FireState, e: Tensor | None, g: Tensor, params: FireParams = JAXMD_FIRE,
              shift: Shift | None = None) -> FireState:
    """One FIRE step of every system given the gradient ``g`` at ``state.x`` (``e`` is unused:
    FIRE needs forces only). Returns a new state; the input is not modified."""
    return fire_step_forces(state, -g, params, shift)


def fire_step_forces(state: FireState, f: Tensor, params: FireParams = JAXMD_FIRE,
                     shift: Shift | None = None) -> FireState:
    """:func:`fire_step` given the forces ``f`` = -gradient (as analytic potentials return them)."""
    if params.flavour == "ase":
        return _ase_step(state, f, params, shift)
    return _jaxmd_step(state, f, params, shift)


def _ase_step(s: FireState, force: Tensor, p: FireParams, shift: Shift | None) -> FireState:
    dims = tuple(range(1, force.dim()))
    pw = (force * s.v).sum(dims)
    up, down = pw > 0, pw < 0  # P = 0 (the first step, v = 0) changes nothing, as in ASE
    f_norm = torch.linalg.vector_norm(force, dim=dims)
    v_norm = torch.linalg.vector_norm(s.v, dim=dims)
    a = _b(s.alpha, force)
    mixed = (1 - a) * s.v + a * _b(v_norm, force) * force / _b(f_norm.clamp_min(torch.finfo(force.dtype).tiny), force)
    v = torch.where(_b(down, force), 0.0, torch.where(_b(up, force), mixed, s.v))
    grow = up & (s.n_pos > p.n_min)
    dt = torch.where(grow, (s.dt * p.f_inc).clamp_max(p.dt_max), torch.where(down, s.dt * p.f_dec, s.dt))
    alpha = torch.where(grow, s.alpha * p.f_alpha,
                        torch.where(down, torch.full_like(s.alpha, p.alpha_start), s.alpha))
    n_pos = torch.where(up, s.n_pos + 1, torch.where(down, torch.zeros_like(s.n_pos), s.n_pos))
    dtb = _b(dt, force)
    v = v + dtb * force
    dx = dtb * v
    if p.max_step is not None:
        norm = torch.linalg.vector_norm(dx, dim=dims)
        dx = dx * _b(torch.clamp(p.max_step / norm.clamp_min(torch.finfo(dx.dtype).tiny), max=1.0), dx)
    x = shift(s.x, dx) if shift is not None else s.x + dx
    return FireState(x, v, dt, alpha, n_pos, s.steps + 1)


def _jaxmd_step(s: FireState, f: Tensor, p: FireParams, shift: Shift | None) -> FireState:
    mom, dt, alpha, n_pos = s.v, s.dt, s.alpha, s.n_pos
    if s.steps > 0:  # the force at the drifted positions completes the previous step
        mom, dt, alpha, n_pos = _jaxmd_mix(mom, f, dt, alpha, n_pos, p)
    dtb = _b(dt, s.x)
    mom = mom + 0.5 * dtb * f
    x = shift(s.x, dtb * mom) if shift is not None else s.x + dtb * mom
    return FireState(x, mom, dt, alpha, n_pos, s.steps + 1)


def _jaxmd_mix(mom: Tensor, f: Tensor, dt: Tensor, alpha: Tensor, n_pos: Tensor, p: FireParams
               ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    dtb = _b(dt, mom)
    mom = mom + 0.5 * dtb * f
    dims = tuple(range(1, mom.dim()))
    power = (f * mom).sum(dims)
    f_norm = torch.sqrt((f * f).sum(dims) + 1e-6)
    p_norm = torch.sqrt((mom * mom).sum(dims))
    a = _b(alpha, mom)
    mom = mom + a * (f * _b(p_norm / f_norm, mom) - mom)
    n_pos = torch.where(power >= 0, n_pos + 1, torch.zeros_like(n_pos))
    grow = (power > 0) & (n_pos > p.n_min)
    dt = torch.where(grow, torch.clamp(dt * p.f_inc, max=p.dt_max), dt)
    alpha = torch.where(grow, alpha * p.f_alpha, alpha)
    neg = power < 0
    dt = torch.where(neg, dt * p.f_dec, dt)
    alpha = torch.where(neg, torch.full_like(alpha, p.alpha_start), alpha)
    mom = torch.where(_b(neg, mom), 0.0, mom)
    return mom, dt, alpha, n_pos
