"""FIRE (Bitzek, Koskinen, Gähler, Moseler & Gumbsch, PRL 97, 170201, 2006), batched.

Each point of the batch is its own FIRE system with its own dt, α and counter, so a batch of B
points (or, later, B atomic structures flattened to 3N coordinates) relaxes in one tensor program.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..blackbox import BlackBox
from .base import Method, Report, register_method
from .common import BestPoint


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
class Fire(Method):
    """Batched FIRE from ``n_points`` starts with restarts; defaults are Bitzek et al.'s / ASE's
    (dt 0.1, dt_max 1.0, N_min 5, f_inc 1.1, f_dec 0.5, α_start 0.1, f_α 0.99). ``max_step`` (ASE caps
    each step at 0.2 Å) is off by default for the analytic functions, whose scale is the box.
    A round ends after ``max_steps`` steps or when every point's force norm is below ``ftol``.
    """

    n_points: int = 100
    dt_start: float = 0.1
    dt_max: float = 1.0
    n_min: int = 5
    f_inc: float = 1.1
    f_dec: float = 0.5
    alpha_start: float = 0.1
    f_alpha: float = 0.99
    max_step: float | None = None
    max_steps: int = 1000
    ftol: float = 1e-6
    clamp: bool = True
    report_every: int = 50

    def run(self, bb: BlackBox, report: Report) -> None:
        best = BestPoint(report)
        kw = dict(dt_max=self.dt_max, n_min=self.n_min, f_inc=self.f_inc, f_dec=self.f_dec,
                  alpha_start=self.alpha_start, f_alpha=self.f_alpha, max_step=self.max_step)
        while True:
            s = fire_init(bb.starts(self.n_points), self.dt_start, self.alpha_start)
            for step in range(self.max_steps):
                e, g = bb.energy_and_grad(s.x)
                best.update(s.x, e)
                if step % self.report_every == 0:
                    best.flush()
                if float(torch.linalg.vector_norm(g, dim=-1).max()) < self.ftol:
                    break
                s = fire_step(s, -g, **kw)
                if self.clamp:
                    x = bb.clamp(s.x)
                    s = FireState(x, torch.where(x == s.x, s.v, torch.zeros_like(s.v)), s.dt, s.alpha, s.n_pos)
            best.flush()
