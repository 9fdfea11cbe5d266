"""The seed paper's Adam baseline (Appendix A.3), vectorised over points and learning rates."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..blackbox import BlackBox
from .base import Method, Report, register_method


def lr_grid(start: float, stop: float, step: float) -> list[float]:
    n = int(round((stop - start) / step)) + 1
    return [round(start + i * step, 10) for i in range(n)]


@register_method("adam-sweep", aliases=("adam",))
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
    reported every ``report_every`` steps when it improved, and at the end of the chunk, so the
    paper's "Min Dist From Global Min" (minimum over the candidates) is a minimum over the per-rate
    bests.
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

    def grid(self) -> list[float]:
        return list(self.lrs) if self.lrs is not None else lr_grid(self.lr_start, self.lr_stop, self.lr_step)

    def run(self, bb: BlackBox, report: Report) -> None:
        lrs = torch.tensor(self.grid(), device=bb.device, dtype=bb.dtype)
        n_lr, d = lrs.numel(), bb.dim
        per_chunk = max(1, min(self.n_points, self.chunk_elems // (n_lr * d)))
        starts = bb.starts(self.n_points)
        lr = lrs.view(n_lr, 1, 1)
        for c0 in range(0, self.n_points, per_chunk):
            x = starts[c0:c0 + per_chunk].unsqueeze(0).repeat(n_lr, 1, 1)  # (L, P, D)
            m = torch.zeros_like(x)
            v = torch.zeros_like(x)
            best_e = torch.full((n_lr,), math.inf, device=bb.device, dtype=bb.dtype)
            best_x = x[:, 0].clone()
            improved = torch.zeros(n_lr, dtype=torch.bool, device=bb.device)
            for t in range(1, self.n_steps + 2):
                e, g = bb.energy_and_grad(x)  # the last pass only scores the final iterates
                e = torch.nan_to_num(e, nan=math.inf)
                e_min, idx = e.min(dim=1)
                better = e_min < best_e
                best_e = torch.where(better, e_min, best_e)
                best_x = torch.where(better[:, None], x[torch.arange(n_lr, device=x.device), idx], best_x)
                improved |= better
                if t % self.report_every == 0 or t == self.n_steps + 1:
                    self._flush(best_x, best_e, improved, lrs, report)
                if t == self.n_steps + 1:
                    break
                m.mul_(self.beta1).add_(g, alpha=1 - self.beta1)
                v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
                bc1 = 1 - self.beta1**t
                bc2 = 1 - self.beta2**t
                denom = (v / bc2).sqrt_().add_(self.eps)
                x.sub_(m.div(denom).mul_(lr / bc1))
                if self.clamp:
                    x = bb.clamp(x)

    @staticmethod
    def _flush(best_x, best_e, improved, lrs, report: Report) -> None:
        for i in torch.nonzero(improved).flatten().tolist():
            report(best_x[i], lr=float(lrs[i]), energy_seen=float(best_e[i]))
        improved.zero_()
