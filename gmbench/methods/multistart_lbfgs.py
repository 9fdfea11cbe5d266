"""Multistart L-BFGS: batched local searches from fresh starts, each restarted when it converges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from gmbench.core.blackbox import BlackBox
from gmbench.methods.base import Method, Report, register_method
from gmbench.methods.common import Evaluator
from gmbench.optim.lbfgs import LbfgsParams, lbfgs_init, lbfgs_restart_rows, lbfgs_step


@register_method("multistart-lbfgs", aliases=("ms-lbfgs",))
@dataclass
class MultistartLbfgs(Method):
    """Restarted local search: L-BFGS from independent starts, a fresh start whenever a search
    converges -- the multistart baseline that Pošík & Huyer ("Restarted local search algorithms for
    continuous black box optimization", Evol. Comput. 20(4), 575, 2012) found hard to beat on the
    BBOB functions.

    ``n_starts`` local searches run at once as the rows of one batch (gmbench's L-BFGS kernel,
    :mod:`gmbench.optim.lbfgs`: Nocedal's two-loop recursion over ``memory`` pairs, initial inverse
    Hessian ``h0``, no line search, GMIN style: each step's norm is capped at ``max_step``, a step that
    raises the energy is retried ten times shorter, five such cuts forget the history). A row's search
    has converged when

    * its largest (projected) gradient component at the accepted point is below ``gtol`` (default: 1e-5,
      the ``pgtol`` of L-BFGS-B as SciPy ships it, for functions; 1e-3, GMIN's and ``basin-hopping``'s
      quench tolerance, for atomistic problems), or
    * its accepted energy has not decreased by more than ``ftol`` × max(|E|, 1) for ``patience``
      consecutive iterations (``ftol`` 2.2e-9: L-BFGS-B's default factr 1e7 × machine epsilon; this also
      ends a search stuck at the precision of a float32 energy), or
    * it has run ``max_iter`` iterations;

    it then counts one local minimisation (``bb.count_local``, stored as ``n_local``) and restarts at
    once from a fresh point of the problem's answer-free sampler (``bb.starts``: uniform in the box for
    functions, the problem's start structures for atoms; drawn ``n_starts`` at a time and used in
    order, since a call of an atomistic sampler costs about as much for one structure as for sixteen).
    A row whose energy is not finite restarts too (not counted).

    Choices, ours:

    * Step cap ``max_step`` (default ``null``): 0.36 σ for open-space clusters (a typical GMIN value, as
      in ``basin-hopping``), 5 % of the widest bound otherwise (functions, periodic boxes).
    * Every trial point goes through ``bb.clamp``: periodic coordinates are wrapped into the box;
      elsewhere (functions, open clusters: GMIN's container) trials are projected onto the box and the
      step the kernel records for its curvature pair is the displacement actually taken (the kernel's
      ``project``), so accept/reject still compares energies of points really evaluated. There the
      gradient components that push out of the box at a bound are zeroed (the projected gradient)
      before they enter the kernel and the convergence test, so a minimum on the boundary converges.
    * Every iteration is one charged energy-and-gradient evaluation per row (``grad_cost`` evaluations
      each), through :class:`gmbench.methods.common.Evaluator`, which keeps the best point seen,
      reports it as it improves and never evaluates beyond an evaluation budget.
    """

    n_starts: int = 16
    max_iter: int = 1000
    gtol: float | None = None
    ftol: float = 2.2e-9
    patience: int = 10
    memory: int = 10
    h0: float = 0.1
    max_step: float | None = None

    BATCH_FIELDS = ("n_starts",)

    def __post_init__(self) -> None:
        if self.n_starts < 1 or self.max_iter < 1 or self.patience < 1 or self.memory < 1:
            raise ValueError("n_starts, max_iter, patience and memory must be >= 1")
        if (self.gtol is not None and self.gtol < 0) or self.ftol < 0 or self.h0 <= 0:
            raise ValueError("gtol and ftol must be >= 0 and h0 > 0")
        if self.max_step is not None and self.max_step <= 0:
            raise ValueError(f"max_step must be > 0 (or null), got {self.max_step}")

    def memory_bytes(self, dim: int, dtype_bytes: int, problem_bytes: Callable[[int], int]) -> int:
        # the kernel's state: S, Y (memory pairs) and about eight (B, D) arrays
        return problem_bytes(self.n_starts) + (2 * self.memory + 8) * self.n_starts * dim * dtype_bytes

    # ---- defaults -----------------------------------------------------------------------------
    def default_step(self, bb: BlackBox) -> float:
        if self.max_step is not None:
            return self.max_step
        if bb.structure is not None and bb.structure.box is None:
            return 0.36
        return 0.05 * float((bb.upper - bb.lower).max())

    def default_gtol(self, bb: BlackBox) -> float:
        if self.gtol is not None:
            return self.gtol
        return 1e-3 if bb.structure is not None else 1e-5

    # ---- main loop ----------------------------------------------------------------------------
    def run(self, bb: BlackBox, report: Report) -> None:
        ev = Evaluator(bb, report)
        params = LbfgsParams(memory=self.memory, h0=self.h0, max_step=self.default_step(bb))
        gtol, periodic = self.default_gtol(bb), bb.periodic
        wrap = bb.clamp if periodic else None
        project = None if periodic else bb.clamp
        pool = bb.starts(self.n_starts)
        s = lbfgs_init(pool, params)
        pool = pool[:0]

        def fresh(k: int) -> Tensor:  # k fresh starts; the sampler is called n_starts (or k) at a time
            nonlocal pool
            if pool.shape[0] < k:
                pool = torch.cat([pool, bb.starts(max(self.n_starts, k - pool.shape[0]))])
            out, pool = pool[:k], pool[k:]
            return out

        n = s.x.shape[0]
        iters = torch.zeros(n, dtype=torch.long, device=s.x.device)
        stall = torch.zeros(n, dtype=torch.long, device=s.x.device)
        while True:
            e, g = ev.energy_and_grad(s.x)
            if project is not None:
                g = projected_gradient(g, s.x, bb.lower, bb.upper)
            e_before = s.e.clone()
            lbfgs_step(s, e, g, params, wrap=wrap, project=project)
            # progress: the accepted energy fell by more than ftol relative (always, from a +inf start)
            scale = torch.maximum(torch.maximum(e_before.abs(), s.e.abs()), torch.ones_like(s.e))
            progress = ~torch.isfinite(e_before) | (s.e < e_before - self.ftol * scale)
            stall = torch.where(progress, torch.zeros_like(stall), stall + 1)
            iters += 1
            finite = torch.isfinite(s.e)
            converged = finite & ((s.g.abs().amax(-1) < gtol) | (stall >= self.patience) | (iters >= self.max_iter))
            done = converged | ~finite
            if bool(done.any()):
                rows = torch.nonzero(done).flatten()
                bb.count_local(int(converged.sum()))
                lbfgs_restart_rows(s, rows, fresh(int(rows.numel())), params)
                iters[rows] = 0
                stall[rows] = 0


def projected_gradient(g: Tensor, x: Tensor, lower: Tensor, upper: Tensor) -> Tensor:
    """``g`` with the components that point out of the box at a bound set to zero (x at its lower bound
    with ∂E/∂x > 0, or at its upper bound with ∂E/∂x < 0): the projected gradient of box-constrained
    minimisation, zero at a box-constrained minimum."""
    out = ((x <= lower) & (g > 0)) | ((x >= upper) & (g < 0))
    return torch.where(out, torch.zeros_like(g), g)

