"""FIRE (Bitzek, Koskinen, Gähler, Moseler & Gumbsch, PRL 97, 170201, 2006), batched.

Each point of the batch is its own FIRE system with its own dt, α and counter, so a batch of B
points (or, later, B atomic structures flattened to 3N coordinates) relaxes in one tensor program.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import ClassVar

import torch
from torch import Tensor

from gmbench.core.blackbox import BlackBox
from gmbench.methods.base import Report, register_method
from gmbench.optim.relax import FireParams, fire_kick_drift, fire_mix
from gmbench.methods.common import STRIDERNET_LOCAL, LocalMethod


@dataclass
class FireState:
    x: Tensor  # (B, D)
    v: Tensor  # (B, D)
    dt: Tensor  # (B, 1)
    alpha: Tensor  # (B, 1)
    n_pos: Tensor  # (B, 1) steps since the power was last negative


def fire_init(x: Tensor, dt_start: float, alpha_start: float) -> FireState:
    b = x.shape[0]
    one = torch.ones((b, 1), dtype=x.dtype, device=x.device)
    return FireState(x, torch.zeros_like(x), one * dt_start, one * alpha_start, torch.zeros_like(one))


def fire_step(
    s: FireState,
    force: Tensor,
    *,
    dt_max: float,
    n_min: int,
    f_inc: float,
    f_dec: float,
    alpha_start: float,
    f_alpha: float,
    max_step: float | None,
) -> FireState:
    """One FIRE step given the force −∇U at ``s.x`` (ASE ordering: mix, then Euler, then move).

    P = F·v > 0: v ← (1−α)v + α|v|F̂; after ``n_min`` such steps dt ← min(f_inc·dt, dt_max), α ← f_alpha·α.
    P < 0: v ← 0, dt ← f_dec·dt, α ← alpha_start. P = 0 (only at the start, v = 0): no change. Then v ← v + dt·F, dx = dt·v (norm capped at
    ``max_step`` per point when given), x ← x + dx.
    """
    p = (force * s.v).sum(-1, keepdim=True)
    up, down = p > 0, p < 0  # P = 0 (the first step, v = 0) changes nothing, as in ASE
    f_norm = torch.linalg.vector_norm(force, dim=-1, keepdim=True)
    v_norm = torch.linalg.vector_norm(s.v, dim=-1, keepdim=True)
    mixed = (1 - s.alpha) * s.v + s.alpha * v_norm * force / f_norm.clamp_min(torch.finfo(force.dtype).tiny)
    v = torch.where(down, torch.zeros_like(s.v), torch.where(up, mixed, s.v))
    grow = up & (s.n_pos > n_min)
    dt = torch.where(grow, (s.dt * f_inc).clamp_max(dt_max), torch.where(down, s.dt * f_dec, s.dt))
    alpha = torch.where(grow, s.alpha * f_alpha, torch.where(down, torch.full_like(s.alpha, alpha_start), s.alpha))
    n_pos = torch.where(up, s.n_pos + 1, torch.where(down, torch.zeros_like(s.n_pos), s.n_pos))
    v = v + dt * force
    dx = dt * v
    if max_step is not None:
        norm = torch.linalg.vector_norm(dx, dim=-1, keepdim=True)
        dx = dx * torch.clamp(max_step / norm.clamp_min(torch.finfo(dx.dtype).tiny), max=1.0)
    return FireState(s.x + dx, v, dt, alpha, n_pos)


@register_method("fire")
@dataclass
class Fire(LocalMethod):
    """Batched FIRE from ``n_points`` starts, rounds with restarts (see ``gd``).

    Two step orderings (``variant``): ``"ase"`` (default; mix, Euler step, move, optional
    ``max_step`` cap, as ASE's FIRE) and ``"jax-md"`` (velocity Verlet, power before mixing, no cap:
    jax-md 0.2.24's ``fire_descent``, which StriderNET's baseline uses; ``atoms/relax.py``).
    Defaults are Bitzek et al.'s / ASE's (dt 0.1, dt_max 1.0, N_min 5, f_inc 1.1, f_dec 0.5,
    α_start 0.1, f_α 0.99); ``max_step`` (ASE caps each step at 0.2 Å) is off by default for the
    analytic functions, whose scale is the box. ``preset: stridernet-lj | -sw | -csh`` is
    StriderNET's baseline: jax-md order, dt_start 0.01 / 0.5 / 5e-3 (paper Table 6) with its code's
    dt_max = 4 dt_start (the paper's "0.4" diverges on LJ; stridernet.md §4.1, §5), 1000 / 1000 /
    2000 steps, 10 structures. With ``clamp`` iterates are projected onto the bounds (the velocity
    of a clipped coordinate is zeroed in the ASE variant) or wrapped into a periodic box.
    """

    PRESETS: ClassVar[dict[str, dict]] = {
        "stridernet-lj": {**STRIDERNET_LOCAL, "variant": "jax-md", "dt_start": 0.01, "dt_max": 0.04,
                          "max_steps": 1000},
        "stridernet-sw": {**STRIDERNET_LOCAL, "variant": "jax-md", "dt_start": 0.5, "dt_max": 2.0,
                          "max_steps": 1000},
        "stridernet-csh": {**STRIDERNET_LOCAL, "variant": "jax-md", "dt_start": 5e-3, "dt_max": 0.02,
                           "max_steps": 2000},
    }

    variant: str = "ase"
    dt_start: float = 0.1
    dt_max: float = 1.0
    n_min: int = 5
    f_inc: float = 1.1
    f_dec: float = 0.5
    alpha_start: float = 0.1
    f_alpha: float = 0.99
    max_step: float | None = None

    def __post_init__(self) -> None:
        if self.variant not in ("ase", "jax-md"):
            raise ValueError(f"variant must be 'ase' or 'jax-md', got {self.variant!r}")
        if self.variant == "jax-md" and self.max_step is not None:
            raise ValueError("max_step applies to the 'ase' variant only (jax-md's FIRE has no step cap)")

    def run(self, bb: BlackBox, report: Report) -> None:
        rounds = self.rounds(bb, report)
        if self.variant == "jax-md":
            params = FireParams(self.dt_start, self.dt_max, self.n_min, self.f_inc, self.f_dec, self.alpha_start,
                                self.f_alpha)
            shift = (lambda r, dr: bb.clamp(r + dr)) if self.clamp else None

            def init_j(x0):
                b = x0.shape[0]
                opts = dict(dtype=x0.dtype, device=x0.device)
                return SimpleNamespace(x=x0, mom=torch.zeros_like(x0), dt=torch.full((b,), self.dt_start, **opts),
                                       alpha=torch.full((b,), self.alpha_start, **opts),
                                       n_pos=torch.zeros(b, dtype=torch.long, device=x0.device))

            def step_j(s, k, e, g):
                f = -g
                if k > 0:  # the force at the drifted positions completes the previous step
                    s.mom, s.dt, s.alpha, s.n_pos = fire_mix(s.mom, f, s.dt, s.alpha, s.n_pos, params)
                s.x, s.mom = fire_kick_drift(s.x, s.mom, f, s.dt, shift)
                return s

            rounds.run(init_j, step_j)
            return
        kw = dict(dt_max=self.dt_max, n_min=self.n_min, f_inc=self.f_inc, f_dec=self.f_dec,
                  alpha_start=self.alpha_start, f_alpha=self.f_alpha, max_step=self.max_step)

        def step_a(s, k, e, g):
            s = fire_step(s, -g, **kw)
            if self.clamp:
                x = bb.clamp(s.x)
                v = s.v if bb.periodic else torch.where(x == s.x, s.v, torch.zeros_like(s.v))
                s = FireState(x, v, s.dt, s.alpha, s.n_pos)
            return s

        rounds.run(lambda x0: fire_init(x0, self.dt_start, self.alpha_start), step_a)
