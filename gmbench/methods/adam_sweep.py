"""The seed paper's Adam baseline (Appendix A.3), vectorised over points and learning rates."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from gmbench.core.blackbox import BlackBox
from gmbench.core.memory import chunk_rows
from gmbench.methods.base import Method, Report, register_method
from gmbench.optim.adam import adam_update_


def lr_grid(start: float, stop: float, step: float) -> list[float]:
    n = int(round((stop - start) / step)) + 1
    return [round(start + i * step, 10) for i in range(n)]


@register_method("adam-sweep")
@dataclass
class AdamSweep(Method):
    """Adam from ``n_points`` uniform starts for every learning rate of a grid, ``n_steps`` each;
    the prediction is the lowest-energy point over all trajectories.

    Paper values (Appendix A.3): 10,000 points uniform in [-100, 100]^1000, 10,000 steps, learning
    rates 0.05 to 5.0 in steps of 0.05 (100 rates). Those are the defaults of ``lr_start``,
    ``lr_stop``, ``lr_step``, ``n_points`` and ``n_steps``. The paper is silent on the rest; ours:
    Adam's usual β₁ = 0.9, β₂ = 0.999, ε = 1e-8; every learning rate starts from the same points
    (common random numbers); iterates are not projected onto the box (``clamp: false``), as in the
    paper; "lowest-energy point over all trajectories" is read as over every iterate, not only the
    final ones.

    The whole (learning rates × points × D) grid is one tensor, split into chunks of at most
    ``chunk_elems`` elements along the points (every chunk carries every learning rate, so a time
    budget cuts points, never learning rates). Within a chunk, each learning rate's best point is
    reported after the first step's evaluations (so even a tiny budget leaves candidates), every
    ``report_every`` steps when it improved, and at the end of the chunk, so the
    paper's "Min Dist From Global Min" (minimum over the candidates) is a minimum over the per-rate
    bests.

    Inside a chunk the work runs in cache-sized blocks (``block_elems`` elements: all learning rates
    and a few points, or a few learning rates of one point when L x D is larger): each block runs all
    its steps before the next starts, with the Adam update in place. Every point and learning rate
    follows exactly the same iterates as with one big tensor; only the order in which the
    (independent) trajectories are computed changes, and candidates are reported per block.
    """

    n_points: int = 10000
    n_steps: int = 10000
    lr_start: float = 0.05
    lr_stop: float = 5.0
    lr_step: float = 0.05
    lrs: list[float] | None = None  # explicit grid; overrides lr_start/lr_stop/lr_step
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    clamp: bool = False
    chunk_elems: int = 2**24
    report_every: int = 1000
    block_elems: int = 2**18  # cache block of the inner loop (see adam_sweep_chunk); does not change results

    def memory_bytes(self, dim: int, dtype_bytes: int, problem_bytes) -> int:
        """All starting points, plus one chunk (every learning rate) with its Adam state: the sweep is
        chunked along the points, so chunk_elems, not n_points x n_lrs, bounds the working set."""
        n_lr = max(1, len(self.grid()))
        per_chunk = max(1, min(self.n_points, self.chunk_elems // (n_lr * dim)))
        elems = per_chunk * n_lr * dim
        return self.n_points * dim * 8 + problem_bytes(per_chunk * n_lr) + 5 * elems * dtype_bytes

    def grid(self) -> list[float]:
        return list(self.lrs) if self.lrs is not None else lr_grid(self.lr_start, self.lr_stop, self.lr_step)

    def run(self, bb: BlackBox, report: Report) -> None:
        lrs = torch.tensor(self.grid(), device=bb.device, dtype=bb.dtype)
        n_lr, d = lrs.numel(), bb.dim
        # at most chunk_elems elements per chunk, and never more than half the free memory allows (about
        # 8 (rates x D) tensors per point: iterate, gradient, Adam moments, best, temporaries)
        fits = chunk_rows(8 * n_lr * d * lrs.element_size(), bb.device)
        per_chunk = max(1, min(self.n_points, self.chunk_elems // (n_lr * d), fits))
        starts = bb.starts(self.n_points)
        clamp = bb.clamp if self.clamp else None

        def flush(lr_idx: Tensor, best_x: Tensor, best_e: Tensor) -> None:
            for k, i in enumerate(lr_idx.tolist()):
                report(best_x[k], lr=float(lrs[i]), energy_seen=float(best_e[k]))

        for c0 in range(0, self.n_points, per_chunk):
            adam_sweep_chunk(bb.energy_and_grad, starts[c0:c0 + per_chunk], lrs, self.n_steps, self.beta1,
                             self.beta2, self.eps, clamp=clamp, block_elems=self.block_elems,
                             report_every=self.report_every, on_improve=flush)


def adam_sweep_chunk(
    energy_and_grad: Callable[[Tensor], tuple[Tensor, Tensor]],
    starts: Tensor,
    lrs: Tensor,
    n_steps: int,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    *,
    clamp: Callable[[Tensor], Tensor] | None = None,
    block_elems: int = 2**16,
    report_every: int = 10**9,
    on_improve: Callable[[Tensor, Tensor, Tensor], None] | None = None,
) -> tuple[Tensor, Tensor]:
    """Adam from every start ``(P, D)`` with every learning rate ``lrs`` ``(L,)`` for ``n_steps``
    steps (torch.optim.Adam's update, bias-corrected: :func:`gmbench.optim.adam.adam_update_`),
    tracking the lowest energy seen per rate.

    Returns ``(best_e (L,), best_x (L, D))`` over every iterate (including the final ones).
    ``on_improve(lr_idx, best_x, best_e)`` is called with the rates whose best improved, after the
    first step's evaluations and every ``report_every`` steps within a block, and at the end of each block. One energy-and-gradient
    evaluation per point, rate and step, plus one to score the final iterates.
    """
    n_lr, (n_pts, d) = lrs.numel(), starts.shape
    dev, dt = starts.device, starts.dtype
    best_e = torch.full((n_lr,), math.inf, device=dev, dtype=dt)
    best_x = starts[:1].expand(n_lr, d).clone()
    if n_lr * d <= block_elems:
        lb, pb = n_lr, max(1, block_elems // (n_lr * d))
    else:
        lb, pb = max(1, block_elems // d), 1
    for p0 in range(0, n_pts, pb):
        for l0 in range(0, n_lr, lb):
            li = torch.arange(l0, min(l0 + lb, n_lr), device=dev)
            x = starts[p0:p0 + pb].unsqueeze(0).repeat(li.numel(), 1, 1)  # (l, p, D)
            be, bx = _adam_block(energy_and_grad, x, lrs[li], n_steps, beta1, beta2, eps, clamp,
                                 report_every, li, on_improve, best_e[li])
            better = be < best_e[li]
            best_e[li] = torch.where(better, be, best_e[li])
            best_x[li] = torch.where(better[:, None], bx, best_x[li])
    return best_e, best_x


def _adam_block(eg, x, lrs, n_steps, beta1, beta2, eps, clamp, report_every, li, on_improve, prev_best):
    """All steps of one block ``x (l, p, D)`` (l rates of the same p starts), in place: the iterate,
    Adam's moments and one scratch buffer are allocated once. Per step, after the (fused)
    energy-and-gradient call, the bookkeeping is a handful of tiny ops on ``(l, p)`` energies: the
    best point per rate is picked with one ``argmin`` and copied with one ``index_select`` of ``l``
    rows of the flat ``(l p, D)`` view (not an advanced-indexing gather)."""
    nl, npt, d = x.shape
    m = torch.zeros_like(x)
    v = torch.zeros_like(x)
    buf = torch.empty_like(x)
    flat = x.view(nl * npt, d)  # x is updated in place (clamp copies back), so this view stays valid
    base = torch.arange(nl, device=x.device) * npt  # row of (rate k, point 0) in ``flat``
    lr = lrs.view(nl, 1, 1)
    best_e = torch.full((nl,), math.inf, device=x.device, dtype=x.dtype)
    best_x = x[:, 0].clone()
    reported = prev_best.clone()  # what the caller already knows: report only real improvements

    def flush() -> None:
        imp = best_e < reported
        if on_improve is not None and bool(imp.any()):
            k = torch.nonzero(imp).flatten()
            on_improve(li[k], best_x[k], best_e[k])
        torch.minimum(reported, best_e, out=reported)

    for t in range(1, n_steps + 2):
        e, g = eg(x)  # the last pass only scores the final iterates
        e = torch.nan_to_num(e, nan=math.inf).reshape(-1)  # (rate, point) row-major
        # not e.min(dim=1): the (values, indices) reduction opens a parallel region even for tiny tensors,
        # ~10 ms on a busy 2-core box (torch 2.13); argmin and two index_selects of the flat rows instead
        k = e.view(nl, npt).argmin(dim=1).add_(base)  # flat row of each rate's lowest-energy point
        e_min = e.index_select(0, k)
        better = e_min < best_e
        best_e = torch.where(better, e_min, best_e)
        best_x = torch.where(better[:, None], flat.index_select(0, k), best_x)
        if t == n_steps + 1:
            break
        if t == 1 or t % report_every == 0:  # the first batch's best at once: a tiny budget still reports
            flush()
        adam_update_(x, m, v, g, t, lr, beta1, beta2, eps, buf)  # in place, one scratch buffer
        if clamp is not None:
            x.copy_(clamp(x))
    flush()
    return best_e, best_x
