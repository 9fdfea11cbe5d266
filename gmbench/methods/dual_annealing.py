"""Dual annealing (generalized simulated annealing plus local search) through SciPy's
``scipy.optimize.dual_annealing``."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any, Literal

import torch

from gmbench.core.blackbox import BlackBox
from gmbench.methods.base import Method, Report, register_method
from gmbench.methods.common import Evaluator
from gmbench.methods.differential_evolution import scipy_seed


def local_search_maxiter(dim: int) -> int:
    """SciPy's own iteration cap for dual annealing's L-BFGS-B local search (``LocalSearchWrapper``):
    6 D, at least 100, at most 1000."""
    return min(max(6 * dim, 100), 1000)


@register_method("dual-annealing", aliases=("da",))
@dataclass
class DualAnnealing(Method):
    """Generalized simulated annealing (Tsallis & Stariolo, Physica A 233, 395, 1996; Xiang, Sun, Fan &
    Gong, Phys. Lett. A 233, 216, 1997) with a local search on accepted improvements (Xiang & Gong,
    Phys. Rev. E 62, 4473, 2000), run by SciPy's ``scipy.optimize.dual_annealing`` with SciPy's
    published defaults: ``initial_temp`` 5230, ``restart_temp_ratio`` 2e-5 (re-annealing from a new
    random point once the temperature falls below 5230 × 2e-5), ``visit`` q_v = 2.62 and ``accept``
    q_a = -5.0.

    Choices, ours:

    * Start: ``x0`` from ``bb.uniform(1)``; SciPy's ``rng`` is an integer drawn from ``bb.generator``.
      ``maxiter`` and ``maxfun`` are unlimited in effect (the budget stops the method); should SciPy
      still return before the budget is spent, dual annealing restarts from a fresh ``bb.uniform(1)``
      point with a new seed (SciPy re-anneals by itself, so in practice it does not return).
    * ``local_search``: SciPy's default is L-BFGS-B with finite-difference gradients (``"finite-difference"``:
      SciPy's own minimizer, bounds and iteration cap, 6 D clipped to [100, 1000], each of its
      function calls one charged energy evaluation). gmbench has exact gradients, so the default
      here, ``"gradient"``, passes SciPy a custom local minimizer (``minimizer_kwargs={"method":
      callable}``) that runs SciPy's L-BFGS-B with ``jac=True`` on exact energies and gradients (one
      charged energy-and-gradient evaluation, ``grad_cost`` evaluations, per L-BFGS-B function call),
      within the box, with SciPy's iteration cap and L-BFGS-B's default tolerances, and returns the
      ``OptimizeResult`` fields SciPy's ``LocalSearchWrapper`` reads (``x``, ``fun``, ``njev``; also
      ``nfev``, ``success``). ``"none"`` is SciPy's ``no_local_search=True`` (plain generalized
      simulated annealing). Each local search is counted with ``bb.count_local(1)`` (``n_local``).
    * Speed: dual annealing visits one point at a time in Python (2 D visits per temperature step,
      each a separate BlackBox call of one point; L-BFGS-B likewise), so it runs as fast as SciPy
      makes it: under a time budget its per-evaluation overhead (about 0.1 ms per point on one CPU
      thread, SciPy's visiting step and the BlackBox call of one point; a batched method pays
      microseconds per point) is part of its score. SciPy's L-BFGS-B calls BLAS on short vectors:
      it needs the one-thread BLAS pools that ``gmbench run`` sets per cell (``--threads``); with
      two OpenBLAS threads on a busy machine it ran 20x slower.

    Every evaluation goes through :class:`gmbench.methods.common.Evaluator`, which keeps the best point
    seen, reports it as it improves and never evaluates beyond an evaluation budget. The budget's
    ``BudgetExhausted`` (a ``BaseException``) is raised inside SciPy's objective call and propagates
    out of SciPy (through L-BFGS-B too).
    """

    initial_temp: float = 5230.0
    restart_temp_ratio: float = 2e-5
    visit: float = 2.62
    accept: float = -5.0
    local_search: Literal["gradient", "finite-difference", "none"] = "gradient"

    def __post_init__(self) -> None:
        # SciPy's documented ranges: initial_temp (0.01, 5e4], restart_temp_ratio (0, 1), visit (1, 3],
        # accept (-1e4, -5]; SciPy checks only restart_temp_ratio itself
        if not 0.01 < self.initial_temp <= 5e4:
            raise ValueError(f"initial_temp must lie in (0.01, 5e4], got {self.initial_temp}")
        if not 0 < self.restart_temp_ratio < 1:
            raise ValueError(f"restart_temp_ratio must lie in (0, 1), got {self.restart_temp_ratio}")
        if not 1 < self.visit <= 3:
            raise ValueError(f"visit must lie in (1, 3], got {self.visit}")
        if not -1e4 < self.accept <= -5:
            raise ValueError(f"accept must lie in (-1e4, -5], got {self.accept}")

    def run(self, bb: BlackBox, report: Report) -> None:
        import numpy as np
        from scipy.optimize import OptimizeResult, dual_annealing, minimize

        ev = Evaluator(bb, report)
        lo = bb.lower.detach().to(device="cpu", dtype=torch.float64).numpy()
        hi = bb.upper.detach().to(device="cpu", dtype=torch.float64).numpy()
        bounds = list(zip(lo.tolist(), hi.tolist()))
        maxiter_ls = local_search_maxiter(bb.dim)

        def energy(x: np.ndarray) -> float:  # one point (D,) -> its energy, one BlackBox call
            return float(ev.energy_numpy(x)[0])

        def energy_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
            xt = torch.as_tensor(x, device=bb.device).to(bb.dtype).reshape(1, bb.dim)
            e, g = ev.energy_and_grad(xt)
            f = float(e[0])
            g = g[0].to(device="cpu", dtype=torch.float64).numpy()
            return (f, g) if math.isfinite(f) and np.isfinite(g).all() else (math.inf, np.zeros_like(g))

        def lbfgsb_exact(fun, x0, args=(), **_: Any) -> OptimizeResult:
            # SciPy's L-BFGS-B with exact gradients (fun, SciPy's counting wrapper of ``energy``, unused)
            res = minimize(energy_and_grad, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                           options={"maxiter": maxiter_ls})
            bb.count_local(1)
            return OptimizeResult(x=res.x, fun=float(res.fun), nfev=res.nfev, njev=res.njev, success=res.success)

        def lbfgsb_fd(fun, x0, args=(), **_: Any) -> OptimizeResult:
            # exactly SciPy's default local search (LocalSearchWrapper with empty minimizer_kwargs), counted
            res = minimize(fun, x0, args=args, method="L-BFGS-B", bounds=bounds, options={"maxiter": maxiter_ls})
            bb.count_local(1)
            return res

        minimizer = {"gradient": lbfgsb_exact, "finite-difference": lbfgsb_fd}.get(self.local_search)
        while True:
            x0 = bb.uniform(1)[0].to(device="cpu", dtype=torch.float64).numpy()
            dual_annealing(
                energy, bounds, maxiter=sys.maxsize // 2,
                minimizer_kwargs={"method": minimizer} if minimizer is not None else None,
                initial_temp=self.initial_temp, restart_temp_ratio=self.restart_temp_ratio, visit=self.visit,
                accept=self.accept, maxfun=math.inf, rng=scipy_seed(bb), no_local_search=minimizer is None,
                x0=np.clip(x0, lo, hi))
            ev.flush()
