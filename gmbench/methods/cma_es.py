"""CMA-ES through pycma (the reference implementation), with IPOP/BIPOP restarts."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Literal

import torch

from gmbench.core.blackbox import BlackBox
from gmbench.methods.base import Method, Report, register_method
from gmbench.methods.common import Evaluator
from gmbench.optim.cma import RestartPolicy, default_maxiter, default_popsize, default_tolstagnation

#: ``covariance: auto`` learns a full covariance matrix up to this dimension and a diagonal one above
#: it (see :class:`CmaEsSettings` and docs/reference-optimizers.md for the measurement behind it).
AUTO_FULL_MAX_DIM = 300


class TaggedEvaluator(Evaluator):
    """An :class:`Evaluator` whose reports carry the scalars in ``tags`` (the restart number and
    population size), the automatic ones included."""

    def __init__(self, bb: BlackBox, report: Report, spacing: float = 0.05):
        super().__init__(bb, report, spacing)
        self.tags: dict[str, float] = {}

    def flush(self, **scalars: float) -> None:
        super().flush(**{**self.tags, **scalars})


@dataclass
class CmaEsSettings(Method):
    """Hyperparameters shared by ``cma-es`` (pycma) and ``cma-es-torch``; defaults are pycma's.

    * ``sigma0``: initial step size as a fraction of the box's width (σ₀ = 0.2 × width; per-coordinate
      multipliers width_i / max width where the box is not a cube, pycma's ``CMA_stds``); every run
      starts from a new point drawn uniformly in the box (``bb.uniform``), never its centre.
    * ``popsize``: λ of the first run (None: ⌊4 + 3 ln D⌋, Hansen's tutorial and pycma).
    * ``restarts``: ``ipop`` (Auger & Hansen 2005: λ × ``incpopsize`` at every restart), ``bipop``
      (Hansen 2009: interleaved large- and small-population runs with the budget rule of pycma's
      ``fmin``), or ``none``; ``max_restarts`` (None: until the budget ends) counts runs after the
      first as pycma does. A run ends on pycma's default termination criteria (tolerances below;
      ``maxiter``/``tolstagnation`` None: pycma's formulas 100 + 150 (D+3)²/√λ₀ and
      100 + 100 D^1.5/λ₀ generations for the first run's λ₀, kept for the restarts as ``fmin`` does).
    * ``covariance``: ``full``; ``diagonal`` (separable CMA-ES, Ros & Hansen 2008, pycma's
      ``CMA_diagonal: True``: O(λD) per generation, learns only coordinate scalings, faster on
      separable functions); ``auto``: full up to D = ``AUTO_FULL_MAX_DIM`` = 300, diagonal above.

    Why 300 (measured on the 2-core development machine at load 5-11, one thread, one run each; the
    tables are in docs/reference-optimizers.md): full covariance is what makes CMA-ES rotation invariant,
    it costs O(λD²) per generation plus eigendecompositions, and it learns at a rate ~2μ_eff/D², so
    adapting to a rotated ill-conditioned problem takes O(D²) generations; the diagonal variant costs O(λD)
    and learns scalings at a rate O(1/D) but cannot follow a rotation. pycma's CPU time per generation
    (default λ, sphere), full vs diagonal: 2.0 vs 1.3 ms at D = 100, 6.5 vs 2.3 ms at D = 300, 31 vs 5.3 ms
    at D = 1000. Progress (the torch kernel, pycma's algorithm with CSA throughout) on the rotated ellipsoid
    (condition 10⁶): at D = 100 full reaches 10⁻¹¹ in 3.2 × 10⁵ evaluations
    (24 s) where diagonal stalls at 10³; at D = 300 full is at 10⁰·⁸ after 10⁶ evaluations (165 s) against
    10³·⁹ for diagonal; at D = 1000 neither gets anywhere in 10⁵ evaluations (10⁶·⁴ and 10⁶·³), but full
    took 112 s of CPU against 9.5 s. Separable ellipsoid: diagonal solves it (10⁻¹⁴ in 3.3 × 10⁴ evaluations
    at D = 100, 10⁻¹⁶ in 1.7 × 10⁵ at D = 300), full needs 10x more evaluations at D = 100 and is at 10⁰·⁷
    after 10⁶ at D = 300. So up to a few hundred dimensions the full matrix buys rotation invariance within
    budgets of 10⁵-10⁶ evaluations (minutes); at D = 1000 it buys nothing within any of gmbench's suite
    budgets (45-60 s per cell) while each generation costs 6x (pycma) to 15x (measured end to end) the
    diagonal one. The switch sits at pycma's own large-dimension switch (two-point step-size adaptation
    from D = 300 on). With much longer budgets at D > 300 (hours), ``covariance: full`` is the choice.
    """

    BATCH_FIELDS: ClassVar[tuple[str, ...]] = ("popsize",)

    sigma0: float = 0.2
    popsize: int | None = None
    restarts: Literal["ipop", "bipop", "none"] = "ipop"
    max_restarts: int | None = None
    incpopsize: float = 2.0
    covariance: Literal["auto", "full", "diagonal"] = "auto"
    tolfun: float = 1e-11
    tolfunhist: float = 1e-12
    tolx: float = 1e-11
    tolstagnation: int | None = None
    maxiter: int | None = None

    def __post_init__(self) -> None:
        if not self.sigma0 > 0:
            raise ValueError(f"sigma0 must be > 0, got {self.sigma0}")
        if self.popsize is not None and self.popsize < 2:
            raise ValueError(f"popsize must be at least 2, got {self.popsize}")
        if self.max_restarts is not None and self.max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0 (or null), got {self.max_restarts}")
        if not self.incpopsize >= 1:
            raise ValueError(f"incpopsize must be >= 1, got {self.incpopsize}")
        if self.maxiter is not None and self.maxiter < 1:
            raise ValueError(f"maxiter must be >= 1 (or null), got {self.maxiter}")

    # ---- shared pieces --------------------------------------------------------------------------
    def diagonal(self, dim: int) -> bool:
        """Whether the covariance is diagonal at dimension ``dim`` (the ``covariance`` rule)."""
        if self.covariance == "auto":
            return dim > AUTO_FULL_MAX_DIM
        return self.covariance == "diagonal"

    def first_popsize(self, dim: int) -> int:
        return self.popsize if self.popsize is not None else default_popsize(dim)

    def schedule(self, dim: int) -> tuple[RestartPolicy, float, int]:
        """The restart policy, the generation limit and the stagnation window of the first run."""
        lam0 = self.first_popsize(dim)
        maxiter0 = float(self.maxiter) if self.maxiter is not None else default_maxiter(dim, lam0)
        tolstag = self.tolstagnation if self.tolstagnation is not None else default_tolstagnation(dim, lam0)
        return RestartPolicy(self.restarts, lam0, maxiter0, self.max_restarts, self.incpopsize), maxiter0, tolstag

    @staticmethod
    def box(bb: BlackBox) -> tuple[torch.Tensor, torch.Tensor, float, torch.Tensor]:
        """(lower, upper, width of the widest coordinate, per-coordinate multipliers) in float64, CPU."""
        lo = bb.lower.detach().to("cpu", torch.float64)
        hi = bb.upper.detach().to("cpu", torch.float64)
        width = hi - lo
        top = float(width.max())
        return lo, hi, top, width / top

    @staticmethod
    def uniform_draw(bb: BlackBox) -> Callable[[], float]:
        """U[0, 1) numbers from the BlackBox's generator (BIPOP's random population sizes and steps)."""
        return lambda: float(torch.rand(1, generator=bb.generator, device=bb.device, dtype=torch.float64))

    def memory_bytes(self, dim: int, dtype_bytes: int, problem_bytes: Callable[[int], int]) -> int:
        """The first run's population through the problem, four (λ, D) float64 arrays, and for a full
        covariance four D × D float64 matrices (C, eigenvectors, the rank-μ product, eigh's workspace)."""
        lam = self.first_popsize(dim)
        full = 0 if self.diagonal(dim) else 4 * dim * dim * 8
        return problem_bytes(lam) + 4 * lam * dim * 8 + full


@register_method("cma-es", aliases=("cmaes", "pycma"))
@dataclass
class CmaEs(CmaEsSettings):
    """CMA-ES as implemented by pycma (``cma.CMAEvolutionStrategy``, github.com/CMA-ES/pycma; N. Hansen
    et al.), ask/tell with the whole population evaluated in one BlackBox call per generation, and
    IPOP/BIPOP restarts run here around it.

    The algorithm: N. Hansen & A. Ostermeier, "Completely derandomized self-adaptation in evolution
    strategies", Evolutionary Computation 9(2), 159-195, 2001; N. Hansen, "The CMA Evolution Strategy:
    A Tutorial", arXiv:1604.00772. Restarts: A. Auger & N. Hansen, "A restart CMA evolution strategy
    with increasing population size", IEEE CEC 2005 (IPOP); N. Hansen, "Benchmarking a BI-population
    CMA-ES on the BBOB-2009 function testbed", GECCO 2009 workshops (BIPOP), with the regime budget
    rule of pycma's ``fmin``. Diagonal covariance: R. Ros & N. Hansen, "A simple modification in CMA-ES
    achieving linear time and space complexity", PPSN X, 2008. Hyperparameters: see
    :class:`CmaEsSettings`; everything else is pycma's default (active CMA, CSA, its termination
    criteria), the bounds handled by pycma's ``BoundTransform`` (the phenotype is evaluated and
    reported).

    Per run: x0 uniform in the box from the BlackBox's generator, pycma's ``seed`` an integer drawn
    from that generator (never 0, which pycma reads as "seed from the clock"); pycma then draws its
    normal samples from NumPy's global generator, which it seeds. pycma is silenced (``verbose=-9``,
    no display, no log files, no signals file) and its warnings are not shown. Non-finite energies
    reach pycma as +inf. Reports (through :class:`~gmbench.methods.common.Evaluator`, so the budget is
    never exceeded and the best point survives a budget stop inside a generation) carry ``restart``
    (the run's index) and ``popsize``.
    """

    def run(self, bb: BlackBox, report: Report) -> None:
        import cma
        import numpy as np

        ev = TaggedEvaluator(bb, report)
        D = bb.dim
        lo, hi, top, stds = self.box(bb)
        policy, maxiter0, tolstag = self.schedule(D)
        uniform = self.uniform_draw(bb)
        base: dict[str, Any] = {
            "bounds": [lo.numpy(), hi.numpy()], "BoundaryHandler": cma.BoundTransform,
            "CMA_diagonal": self.diagonal(D), "tolfun": self.tolfun, "tolfunhist": self.tolfunhist,
            "tolx": self.tolx, "tolstagnation": tolstag,
            "verbose": -9, "verb_log": 0, "verb_disp": 0, "verb_time": False, "signals_filename": None,
        }
        if not bool(torch.all(stds == 1)):
            base["CMA_stds"] = stds.numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            while (plan := policy.next(uniform)) is not None:
                x0 = bb.uniform(1)[0].detach().to("cpu", torch.float64).numpy()
                seed = int(torch.randint(1, 2**31 - 1, (1,), generator=bb.generator, device=bb.device))
                opts = {**base, "popsize": plan.popsize, "seed": seed,
                        "maxiter": plan.maxiter if plan.maxiter is not None else maxiter0}
                es = cma.CMAEvolutionStrategy(x0, self.sigma0 * top * plan.sigma_factor, opts)
                ev.tags = {"restart": plan.index, "popsize": plan.popsize}
                while not es.stop():
                    X = es.ask()
                    f = ev.energy_numpy(np.asarray(X))
                    es.tell(X, f.tolist())
                ev.flush()
                policy.done(es.countevals)
