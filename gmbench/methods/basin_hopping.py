"""Basin hopping (Wales & Doye, J. Phys. Chem. A 101, 5111, 1997), batched over independent walkers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from gmbench.core.blackbox import BlackBox
from gmbench.methods.base import Method, Report, register_method
from gmbench.methods.common import BestPoint
from gmbench.optim.lbfgs import LbfgsParams, lbfgs_minimize


@register_method("basin-hopping", aliases=("bh",))
@dataclass
class BasinHopping(Method):
    """Monte Carlo on the transformed landscape Ẽ(x) = E(local minimum reached from x).

    Every one of ``n_walkers`` independent walkers repeats: displace every coordinate by a uniform
    random amount in [−s, s]; quench (local relaxation); accept the new minimum with the Metropolis
    probability min(1, exp(−(Ẽ_new − Ẽ_old)/T)) at ``temperature`` T (Wales & Doye: kT = 0.8 ε for
    LJ clusters). The step size s of each walker is adapted every ``adjust_every`` hops towards an
    acceptance ratio of ``target_accept`` (0.5, as in GMIN), by the factor ``adjust_factor``.

    Choices the paper leaves open, ours:

    * Quench: batched L-BFGS as in Wales's GMIN (``memory`` pairs, initial inverse Hessian
      ``h0``, no line search; each step's norm capped at ``max_step``, default the hop size s; a
      step that raises the energy is retried shorter) until every coordinate's |∂E/∂x| < ``ftol``
      or ``relax_steps`` iterations; converged walkers leave the batch and cost no evaluations.
      (Batched FIRE needed 400-900 evaluations per LJ38 quench against ~100 here.)
    * Step size default (``step_size: null``): 0.36 σ for open-space clusters (a typical GMIN
      value, ~1/3 of a bond) and 5 % of the bounds' width otherwise (periodic boxes, functions).
    * Open-space clusters are re-centred on their centroid after each hop and quench (the energy is
      translation invariant; this keeps them inside the bounds), and perturbed coordinates are
      clamped to the bounds (GMIN's container); periodic coordinates are wrapped.
    * ``reseed_after``: a walker that has not improved its own best minimum for that many hops is
      restarted from a fresh start (off by default: plain Wales & Doye).

    Starts come from the problem's answer-free sampler; the lowest quenched minimum is reported
    whenever it improves. The lowest point evaluated so far is also reported right after the first
    batch of evaluations (the starts) and then every ``report_every`` quench iterations when it
    improved, so a budget that ends inside a quench still leaves the best point seen.
    """

    n_walkers: int = 16
    temperature: float = 0.8
    step_size: float | None = None
    target_accept: float = 0.5
    adjust_every: int = 10
    adjust_factor: float = 0.9
    relax_steps: int = 1000
    ftol: float = 1e-3
    memory: int = 10
    h0: float = 0.1
    max_step: float | None = None
    reseed_after: int | None = None
    max_hops: int | None = None
    report_every: int = 50

    def __post_init__(self) -> None:
        if self.n_walkers < 1 or self.temperature <= 0 or self.relax_steps < 1 or self.ftol <= 0:
            raise ValueError("n_walkers and relax_steps must be >= 1; temperature and ftol must be > 0")
        if self.report_every < 1:
            raise ValueError("report_every must be >= 1")
        if not 0 < self.target_accept < 1 or not 0 < self.adjust_factor < 1:
            raise ValueError("target_accept and adjust_factor must lie in (0, 1)")

    # ---- quench -------------------------------------------------------------------------------
    def quench(self, bb: BlackBox, x: Tensor, max_step: float,
               observe: Callable[[Tensor, Tensor], None] | None = None) -> tuple[Tensor, Tensor]:
        """Relax every row of ``x`` (B, D) with the batched L-BFGS of :mod:`gmbench.optim.lbfgs`
        (GMIN style: no line search; the step norm is capped at ``max_step``; a step that raises the
        energy is retried 10x shorter, and after 5 such cuts the walker's history is reset).
        Converged rows (max |∂E/∂x| < ``ftol``) leave the batch. ``observe(x, e)`` sees every
        evaluated batch. Returns (minima, energies); one evaluation per iteration and row."""
        params = LbfgsParams(memory=self.memory, h0=self.h0, max_step=max_step)
        return lbfgs_minimize(bb.energy_and_grad, x, params, gtol=self.ftol, max_iter=self.relax_steps,
                              wrap=bb.clamp if bb.periodic else None, observe=observe)

    # ---- helpers ------------------------------------------------------------------------------
    def _centre(self, bb: BlackBox, x: Tensor) -> Tensor:
        s = bb.structure
        if s is None or s.box is not None:
            return x
        r = x.reshape(x.shape[0], s.n_atoms, 3)
        return (r - r.mean(dim=1, keepdim=True)).reshape(x.shape)

    def _default_step(self, bb: BlackBox) -> float:
        if self.step_size is not None:
            return self.step_size
        if bb.structure is not None and bb.structure.box is None:
            return 0.36
        return 0.05 * float((bb.upper - bb.lower).max())

    def _fresh(self, bb: BlackBox, n: int, cap: float, observe=None) -> tuple[Tensor, Tensor]:
        x, e = self.quench(bb, bb.starts(n), cap, observe)
        return self._centre(bb, x), e

    # ---- main loop ----------------------------------------------------------------------------
    def run(self, bb: BlackBox, report: Report) -> None:
        best = BestPoint(report)
        W = self.n_walkers
        cap = self.max_step if self.max_step is not None else self._default_step(bb)
        calls = [0]

        def observe(xe: Tensor, ee: Tensor) -> None:
            # every evaluated batch: the best point seen is reported at once after the first batch
            # and then every ``report_every`` quench iterations, so a budget stop loses little
            best.update(self._centre(bb, xe), ee)
            if calls[0] % self.report_every == 0:
                best.flush()
            calls[0] += 1

        x, e = self._fresh(bb, W, cap, observe)
        best.update(x, e)
        best.flush()
        step = torch.full((W, 1), self._default_step(bb), dtype=x.dtype, device=x.device)
        walker_best = e.clone()
        stale = torch.zeros(W, dtype=torch.long, device=x.device)
        accepted = torch.zeros(W, dtype=x.dtype, device=x.device)
        hop = 0
        while self.max_hops is None or hop < self.max_hops:
            hop += 1
            u = torch.rand(x.shape, generator=bb.generator, device=x.device, dtype=x.dtype)
            trial = self._centre(bb, bb.clamp(x + step * (2 * u - 1)))
            xn, en = self.quench(bb, trial, cap, observe)
            xn = self._centre(bb, xn)
            best.update(xn, en)
            best.flush()
            r = torch.rand(W, generator=bb.generator, device=x.device, dtype=x.dtype)
            with torch.no_grad():
                accept = torch.isfinite(en) & ((en <= e) | (r < torch.exp(-(en - e) / self.temperature)))
            x = torch.where(accept[:, None], xn, x)
            e = torch.where(accept, en, e)
            accepted += accept.to(x.dtype)
            improved = e < walker_best - 1e-9
            walker_best = torch.minimum(walker_best, e)
            stale = torch.where(improved, torch.zeros_like(stale), stale + 1)
            if hop % self.adjust_every == 0:
                ratio = (accepted / self.adjust_every)[:, None]
                step = torch.where(ratio > self.target_accept, step / self.adjust_factor, step * self.adjust_factor)
                accepted.zero_()
            if self.reseed_after is not None:
                old = torch.nonzero(stale >= self.reseed_after).flatten()
                if old.numel():
                    xs, es = self._fresh(bb, int(old.numel()), cap, observe)
                    best.update(xs, es)
                    best.flush()
                    x[old], e[old], walker_best[old] = xs, es, es
                    stale[old] = 0
