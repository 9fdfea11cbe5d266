"""Differential evolution (Storn & Price 1997) through SciPy's ``scipy.optimize.differential_evolution``."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Callable, Literal

import torch

from gmbench.core.blackbox import BlackBox
from gmbench.methods.base import Method, Report, register_method
from gmbench.methods.common import Evaluator

Strategy = Literal[
    "best1bin", "best1exp", "rand1bin", "rand1exp", "rand2bin", "rand2exp", "randtobest1bin", "randtobest1exp",
    "currenttobest1bin", "currenttobest1exp", "best2bin", "best2exp",
]


def scipy_seed(bb: BlackBox) -> int:
    """An integer seed for a NumPy/SciPy generator, drawn from the cell's seeded generator."""
    return int(torch.randint(0, 2**62, (1,), generator=bb.generator, device=bb.generator.device).item())


@register_method("differential-evolution", aliases=("de",))
@dataclass
class DifferentialEvolution(Method):
    """Differential evolution (Storn & Price, "Differential Evolution - A Simple and Efficient Heuristic
    for Global Optimization over Continuous Spaces", J. Global Optim. 11, 341, 1997), run by SciPy's
    ``scipy.optimize.differential_evolution`` with SciPy's published defaults: ``strategy`` best1bin,
    ``mutation`` F dithered per generation in U[0.5, 1) (a pair [lo, hi]; a number is a fixed F),
    ``recombination`` CR = 0.7, ``popsize`` 15 (a multiplier: 15 × D individuals), and SciPy's
    convergence test (population energies' standard deviation ≤ ``atol`` + ``tol`` × |mean|, tol 0.01,
    atol 0).

    Choices, ours:

    * Vectorised: ``vectorized=True`` with ``updating="deferred"`` (SciPy's synchronous mode): the
      whole trial population of a generation is one BlackBox call, so a generation costs S evaluations
      and one Python round trip.
    * Initial population: ``bb.uniform(S)`` passed as SciPy's ``init`` (not SciPy's Latin hypercube),
      so it comes from the cell's seeded generator; S = ``popsize`` × D, at least 5 (SciPy's minimum),
      capped at ``max_population`` (default 2000: SciPy's 15 × D up to D = 133; at D = 1000 the
      uncapped 15 000 individuals would leave a 300 000-evaluation budget 20 generations).
    * ``polish=False``: SciPy's final L-BFGS-B polish would spend evaluations outside the method's
      loop (and finite-difference gradients); gradient-based refinement is what ``multistart-lbfgs``
      and ``dual-annealing`` measure.
    * ``maxiter`` is unlimited in effect (the budget stops the method). When SciPy returns because the
      population converged (its ``tol``/``atol`` test) before the budget is spent, and ``restarts`` is
      true, DE restarts from a fresh ``bb.uniform(S)`` population with a new seed; the best point over
      all runs is what is reported. With ``restarts: false`` a converged run ends the method.
    * Seeds: each run's SciPy ``rng`` is an integer drawn from ``bb.generator``.

    Every evaluated batch goes through :class:`gmbench.methods.common.Evaluator`, which keeps the best
    point seen, reports it as it improves and never evaluates beyond an evaluation budget (the last
    generation is cut to what the budget pays for, one evaluation kept for the final report). The
    budget's ``BudgetExhausted`` (a ``BaseException``) is raised inside SciPy's objective call and
    propagates out of SciPy. DE uses no gradients (``n_grad`` stays 0) and counts no local
    minimisations.
    """

    strategy: Strategy = "best1bin"
    mutation: float | tuple[float, float] = (0.5, 1.0)
    recombination: float = 0.7
    popsize: int = 15
    max_population: int = 2000
    tol: float = 0.01
    atol: float = 0.0
    restarts: bool = True

    def __post_init__(self) -> None:
        m = (self.mutation,) if isinstance(self.mutation, (int, float)) else tuple(self.mutation)
        if len(m) not in (1, 2) or not all(0 <= v < 2 for v in m) or (len(m) == 2 and not m[0] < m[1]):
            raise ValueError(f"mutation must be a number in [0, 2) or a pair [lo, hi] with 0 <= lo < hi < 2, "
                             f"got {self.mutation!r}")
        if not 0 <= self.recombination <= 1:
            raise ValueError(f"recombination must lie in [0, 1], got {self.recombination}")
        if self.popsize < 1 or self.max_population < 5:
            raise ValueError("popsize must be >= 1 and max_population >= 5 (SciPy's smallest population)")
        if self.tol < 0 or self.atol < 0:
            raise ValueError("tol and atol must be >= 0")

    def population(self, dim: int) -> int:
        """Individuals per generation in ``dim`` dimensions."""
        return max(5, min(self.popsize * dim, self.max_population))

    def memory_param(self) -> str:
        return f"{self.name}'s popsize or max_population"

    def memory_bytes(self, dim: int, dtype_bytes: int, problem_bytes: Callable[[int], int]) -> int:
        # SciPy holds the population and the trials in float64 (S, D) arrays, plus our tensor copies
        s = self.population(dim)
        return problem_bytes(s) + 4 * s * dim * 8 + 2 * s * dim * dtype_bytes

    def run(self, bb: BlackBox, report: Report) -> None:
        import numpy as np
        from scipy.optimize import differential_evolution

        ev = Evaluator(bb, report)
        lo = bb.lower.detach().to(device="cpu", dtype=torch.float64).numpy()
        hi = bb.upper.detach().to(device="cpu", dtype=torch.float64).numpy()
        bounds = list(zip(lo.tolist(), hi.tolist()))
        mutation = float(self.mutation) if isinstance(self.mutation, (int, float)) else tuple(self.mutation)
        S = self.population(bb.dim)

        def objective(x: np.ndarray) -> np.ndarray:  # (D, S) -> (S,): one BlackBox call per generation
            return ev.energy_numpy(x.T)

        while True:
            init = bb.uniform(S).to(device="cpu", dtype=torch.float64).numpy()
            init = np.clip(init, lo, hi)
            differential_evolution(
                objective, bounds, strategy=self.strategy, maxiter=sys.maxsize // 2, popsize=self.popsize,
                tol=self.tol, mutation=mutation, recombination=self.recombination, rng=scipy_seed(bb),
                polish=False, init=init, atol=self.atol, updating="deferred", workers=1, vectorized=True)
            ev.flush()
            if not self.restarts:
                return
