"""Limited-memory BFGS (Nocedal, Math. Comp. 35, 773, 1980; Liu & Nocedal, Math. Prog. 45, 503,
1989), batched over independent rows, in the form of Wales's GMIN quench: no line search; the step
norm is capped at ``max_step``; a step that raises the energy is retried ten times shorter, and after
five such cuts the row's curvature history is forgotten.

As an ``(init, step)`` pair over rows ``(B, D)``: ``lbfgs_init(x, params) -> state`` holds a trial
point ``state.x`` to evaluate; ``lbfgs_step(state, e, g, params) -> state`` accepts or rejects that
trial against the row's current point (the first evaluation is always accepted) and proposes the
next trial. ``state.x_best``/``state.e``/``state.g`` are the accepted point and its energy and
gradient. Rows advance independently; :func:`lbfgs_minimize` drives the pair with converged rows
leaving the batch (they cost no evaluations).

Direction: the two-loop recursion over the last ``memory`` pairs (s, y) with the initial inverse
Hessian γ I, γ = sᵀy / yᵀy of the newest pair (``h0`` before any pair; pairs with sᵀy ≤ 1e-12 are
stored with ρ = 0, i.e. skipped); a direction that is not downhill is replaced by −γ g.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

EnergyAndGrad = Callable[[Tensor], tuple[Tensor, Tensor]]


@dataclass(frozen=True)
class LbfgsParams:
    memory: int = 10
    h0: float = 0.1
    max_step: float = 0.36
    rel_tol: float = 1e-10  # a trial is accepted when e_new <= e + rel_tol * max(|e|, 1)


@dataclass
class LbfgsState:
    x: Tensor  # (B, D) trial points (evaluated by the next step)
    x_best: Tensor  # (B, D) accepted points
    e: Tensor  # (B,) their energies (inf before the first evaluation / if non-finite)
    g: Tensor  # (B, D) their gradients
    S: Tensor  # (B, M, D) steps, newest in slot M-1
    Y: Tensor  # (B, M, D) gradient changes
    rho: Tensor  # (B, M) 1 / sᵀy (0: empty or skipped slot)
    gamma: Tensor  # (B,)
    shrink: Tensor  # (B,) factor on the next step (0.1^cuts)
    cuts: Tensor  # (B,) long
    d: Tensor  # (B, D) the step that produced the trial
    steps: int = 0


def lbfgs_init(x: Tensor, params: LbfgsParams = LbfgsParams()) -> LbfgsState:
    B, D = x.shape
    M = params.memory
    opts = dict(dtype=x.dtype, device=x.device)
    x = x.detach().clone()
    return LbfgsState(x, x.clone(), torch.full((B,), math.inf, **opts), torch.zeros_like(x),
                      torch.zeros((B, M, D), **opts), torch.zeros((B, M, D), **opts), torch.zeros((B, M), **opts),
                      torch.full((B,), params.h0, **opts), torch.ones(B, **opts),
                      torch.zeros(B, dtype=torch.long, device=x.device), torch.zeros_like(x))


def lbfgs_direction(g: Tensor, S: Tensor, Y: Tensor, rho: Tensor, gamma: Tensor) -> Tensor:
    """−H g by the two-loop recursion (rows independent), −γ g where that is not downhill."""
    M = S.shape[1]
    q = g.clone()
    a = torch.zeros(g.shape[:1] + (M,), dtype=g.dtype, device=g.device)
    for j in range(M - 1, -1, -1):  # newest pair first (slot M-1 is the newest)
        a[:, j] = rho[:, j] * (S[:, j] * q).sum(-1)
        q = q - a[:, j:j + 1] * Y[:, j]
    r = gamma[:, None] * q
    for j in range(M):
        b = rho[:, j] * (Y[:, j] * r).sum(-1)
        r = r + S[:, j] * (a[:, j] - b)[:, None]
    d = -r
    uphill = (d * g).sum(-1) >= 0  # not a descent direction: steepest descent instead
    return torch.where(uphill[:, None], -gamma[:, None] * g, d)


def lbfgs_step(state: LbfgsState, e: Tensor, g: Tensor, params: LbfgsParams = LbfgsParams(),
               rows: Tensor | None = None, wrap: Callable[[Tensor], Tensor] | None = None,
               project: Callable[[Tensor], Tensor] | None = None) -> LbfgsState:
    """Accept or reject the trials ``state.x[rows]`` given their energies ``e`` and gradients ``g``
    (for those rows only; all rows when ``rows`` is None), then propose the rows' next trials
    (``wrap`` maps them back into a periodic box, where the step taken is still ``d``; ``project``
    maps them onto a feasible set such as a box, and the step recorded for the next curvature pair is
    then the displacement actually taken, projected trial minus accepted point, so that (s, y) stay a
    pair of the points really evaluated). Updates ``state`` in place and returns it."""
    s = state
    idx = torch.arange(s.x.shape[0], device=s.x.device) if rows is None else rows
    e = torch.where(torch.isfinite(e), e, torch.full_like(e, math.inf))
    first = s.steps == 0
    e_old = s.e[idx]
    ok = e <= e_old + params.rel_tol * e_old.abs().clamp_min(1.0) if not first else torch.ones_like(e, dtype=torch.bool)
    ia = idx[ok]
    if not first:  # accepted rows: push (s, y) into the history
        s_new, y_new = s.d[ia], g[ok] - s.g[ia]
        sy = (s_new * y_new).sum(-1)
        good = sy > 1e-12
        s.S[ia] = torch.cat([s.S[ia, 1:], s_new[:, None]], 1)
        s.Y[ia] = torch.cat([s.Y[ia, 1:], y_new[:, None]], 1)
        s.rho[ia] = torch.cat([s.rho[ia, 1:], torch.where(good, 1.0 / sy.clamp_min(1e-300),
                                                          torch.zeros_like(sy))[:, None]], 1)
        s.gamma[ia] = torch.where(good, sy / (y_new * y_new).sum(-1).clamp_min(1e-300), s.gamma[ia])
    s.x_best[ia], s.e[ia], s.g[ia] = s.x[ia], e[ok], g[ok]
    s.shrink[ia], s.cuts[ia] = 1.0, 0
    ir = idx[~ok]  # rejected rows: retry shorter; after 5 cuts forget the curvature history
    s.shrink[ir] *= 0.1
    s.cuts[ir] += 1
    reset = ir[s.cuts[ir] >= 5]
    s.rho[reset], s.gamma[reset], s.shrink[reset], s.cuts[reset] = 0.0, params.h0, 1.0, 0
    # next trials from the accepted points
    d = lbfgs_direction(s.g[idx], s.S[idx], s.Y[idx], s.rho[idx], s.gamma[idx])
    norm = torch.linalg.vector_norm(d, dim=-1, keepdim=True)
    d = d * torch.clamp(params.max_step / norm.clamp_min(1e-300), max=1.0) * s.shrink[idx, None]
    xt = s.x_best[idx] + d
    if wrap is not None:
        xt = wrap(xt)
    if project is not None:
        xt = project(xt)
        d = xt - s.x_best[idx]
    s.x[idx] = xt
    s.d[idx] = d
    s.steps += 1
    return s


def lbfgs_restart_rows(state: LbfgsState, rows: Tensor, x: Tensor, params: LbfgsParams = LbfgsParams()) -> LbfgsState:
    """Restart the rows ``rows`` of ``state`` from the fresh points ``x`` (len(rows), D): their trial and
    accepted points become ``x``, their energy +inf (so the next evaluation of the row is accepted, as a
    first one is), their gradient, last step and curvature history are cleared (γ = ``h0``, no cuts).
    The next :func:`lbfgs_step` then stores a zero pair for them (sᵀy = 0: skipped), so they go on exactly
    as a fresh :func:`lbfgs_init` row would. Other rows are untouched. Updates ``state`` in place and
    returns it."""
    s = state
    if rows.numel() == 0:
        return s
    x = x.detach().to(dtype=s.x.dtype, device=s.x.device)
    s.x[rows] = x
    s.x_best[rows] = x
    s.e[rows] = math.inf
    s.g[rows] = 0.0
    s.S[rows] = 0.0
    s.Y[rows] = 0.0
    s.rho[rows] = 0.0
    s.gamma[rows] = params.h0
    s.shrink[rows] = 1.0
    s.cuts[rows] = 0
    s.d[rows] = 0.0
    return s


def lbfgs_minimize(energy_and_grad: EnergyAndGrad, x: Tensor, params: LbfgsParams = LbfgsParams(), *,
                   gtol: float = 1e-3, max_iter: int = 1000, wrap: Callable[[Tensor], Tensor] | None = None,
                   observe: Callable[[Tensor, Tensor], None] | None = None) -> tuple[Tensor, Tensor]:
    """Relax every row of ``x`` (B, D) until its largest |∂E/∂x| component is below ``gtol`` or
    ``max_iter`` iterations have run. Converged rows and rows whose start is not finite leave the
    batch. ``observe(x, e)`` sees every evaluated batch (e.g. to keep the best point seen).
    Returns (points, energies) of the accepted iterates; one evaluation per iteration and active row."""
    s = lbfgs_init(x, params)
    e, g = energy_and_grad(s.x)
    if observe is not None:
        observe(s.x, e)
    lbfgs_step(s, e, g, params, wrap=wrap)
    idx = torch.arange(x.shape[0], device=x.device)
    fin = torch.isfinite(s.e)
    for _ in range(max_iter):
        active = (s.g[idx].abs().amax(-1) >= gtol) & fin[idx]
        idx = idx[active]
        if idx.numel() == 0:
            break
        e, g = energy_and_grad(s.x[idx])
        if observe is not None:
            observe(s.x[idx], e)
        lbfgs_step(s, e, g, params, rows=idx, wrap=wrap)
    return s.x_best, s.e
