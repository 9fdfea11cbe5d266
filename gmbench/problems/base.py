"""Problems: an energy landscape that also knows its answer.

A problem exposes a batched energy ``(..., D) -> (...)`` through :meth:`Problem.energy_fn`,
which returns a plain callable that holds no reference to the answer; that callable is all a
method ever sees (through a :class:`~gmbench.core.blackbox.BlackBox`). The answer side (x*, f*,
the set of global minimizers, reference structures) is used only by the harness's
:class:`~gmbench.run.recorder.Recorder` through :meth:`Problem.assess`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor

from gmbench.core.errors import GmbenchError

EnergyFn = Callable[[Tensor], Tensor]

#: problem family -> which report table a stored problem configuration gets (``Problem.report_layout``
#: of the family's class, registered when the class is defined; the tables live in gmbench.report)
REPORT_LAYOUTS: dict[str, Callable[[dict[str, Any]], str]] = {}


#: how far outside the bounds (relative to the largest |bound|, at least 1) a candidate still counts as inside
OOB_TOL = 1e-9

@dataclass(frozen=True)
class Properties:
    """Declared properties, as data (``gmbench filter`` selects on them).

    ``differentiable`` means differentiable everywhere on R^n (n >= 2); ``multimodal`` means more
    than one local minimum or a non-unique global minimizer, from dimension ``multimodal_min_dim``
    on; ``global_min_defined`` means the global minimum is attained in R^n (not only in the box).
    """

    continuous: bool = True
    differentiable: bool = True
    multimodal: bool = False
    global_min_defined: bool = True
    unique_minimizer: bool = True
    smooth_at_xstar: bool = True
    multimodal_min_dim: int = 1
    note: str = ""

    def is_multimodal(self, dim: int) -> bool:
        return self.multimodal and dim >= self.multimodal_min_dim

    def as_dict(self) -> dict[str, Any]:
        return {
            "continuous": self.continuous,
            "differentiable": self.differentiable,
            "multimodal": self.multimodal,
            "global_min_defined": self.global_min_defined,
            "unique_minimizer": self.unique_minimizer,
            "smooth_at_xstar": self.smooth_at_xstar,
            "multimodal_min_dim": self.multimodal_min_dim,
            "note": self.note,
        }


@dataclass(frozen=True)
class Structure:
    """What an atomistic problem tells methods about its system (never the answer).

    ``species``: (N,) integer labels or None (one species); ``box``: the cubic periodic box side or
    None (open space); ``system``: the problem's system name (e.g. "ka-lj"); ``units``: its units.
    """

    n_atoms: int
    species: Tensor | None
    box: float | None
    system: str
    units: str


@dataclass
class Assessment:
    """What the harness measures for one candidate (never shown to the method)."""

    energy: float
    gap: float  # energy - f*
    dist: float | None  # distance to the designated x* (the paper's convention)
    dist_nearest: float | None  # distance to the nearest global minimizer
    nearest_exact: bool  # False where the minimizer set is only partly known (upper bound)
    oob: float  # how far the candidate lies outside the bounds (max over coordinates; 0 inside)
    extra: dict[str, float] = field(default_factory=dict)


class Problem(ABC):
    """Base class. Subclasses set ``name``, ``dim``, ``lower``/``upper`` and implement the hooks."""

    name: str = ""
    family: str = ""
    properties: Properties = Properties()
    f_star: float | None = 0.0
    distance_kind: str = "euclidean"  # what `dist` means in reports
    summaries: tuple[str, ...] = ()  # extra cell summaries of the assessments' extras (gmbench.run.summaries)

    dim: int
    lower: Tensor  # (D,) float64, cpu
    upper: Tensor

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.family:
            REPORT_LAYOUTS[cls.family] = cls.report_layout

    @staticmethod
    def report_layout(config: dict[str, Any]) -> str:
        """The report table for this family's results, read from a stored :meth:`config` (reports read
        only the store): "functions" (the seed paper's Tables 1-2, distances to the global minimum)."""
        return "functions"

    # ---- method side ---------------------------------------------------------------------------
    @abstractmethod
    def energy_fn(self) -> EnergyFn:
        """The answer-free batched energy ``(..., D) -> (...)``."""

    def start_sampler(self) -> Callable[[int, torch.Generator], Tensor]:
        """Answer-free sampler of starting points ``(n, generator) -> (n, D)`` float64 on CPU.

        Default: uniform in the bounds. Problems with physical starting structures (atoms: frames of
        a hot liquid) override it; every method gets the same sampler, so starting information is fair.
        """
        lo, hi = self.lower.clone(), self.upper.clone()

        def sample(n: int, generator: torch.Generator) -> Tensor:
            u = torch.rand((n, lo.numel()), generator=generator, dtype=torch.float64, device=generator.device)
            return lo.to(u) + (hi - lo).to(u) * u

        return sample

    def energy_and_grad_fn(self) -> Callable[[Tensor], tuple[Tensor, Tensor]] | None:
        """A fused, answer-free ``x -> (U(x), grad U(x))`` (no autograd), or None: the BlackBox then
        differentiates :meth:`energy_fn` by autograd (the plain path, which gives the same numbers)."""
        return None

    def structure(self) -> Structure | None:
        """Answer-free system description for atomistic problems (None for functions)."""
        return None

    def atom_energy_fn(self) -> Callable[[Tensor], Tensor] | None:
        """Answer-free per-atom energies ``(..., 3N) -> (..., N)`` summing to the energy, or None."""
        return None

    def prepare(self) -> None:
        """Build answer-free data (e.g. a pool of MD starting structures) before the method's clock
        starts, so that no method pays for it. Default: nothing."""

    @classmethod
    def memory_bytes(cls, dim: int, batch: int, dtype_bytes: int) -> int:
        """Estimated bytes of this problem in a cell that evaluates ``batch`` points at once, from the
        configuration alone (checked before anything is allocated, see gmbench.core.resources): its
        own (D,) float64 tensors (bounds, minimizer) and one batched energy-and-gradient evaluation
        (points, gradient and about six (batch, D) temporaries). Problems whose evaluation grows faster
        than the dimension (dense pair terms of atoms) override it."""
        return 3 * dim * 8 + 8 * batch * dim * dtype_bytes

    def config(self) -> dict[str, Any]:
        """Everything that defines the landscape (goes into the cell key)."""
        return {
            "name": self.name,
            "dim": self.dim,
            "bounds": [float(self.lower.min()), float(self.upper.max())],
        }

    # ---- answer side (harness only) ------------------------------------------------------------
    @abstractmethod
    def x_star(self) -> Tensor | None:
        """The designated global minimizer (D,) float64, or None where none is known."""

    def nearest_minimizer(self, x: Tensor) -> tuple[Tensor | None, bool]:
        """Nearest known global minimizer to each row of ``x`` (..., D), and whether it is exact."""
        xs = self.x_star()
        if xs is None:
            return None, False
        return xs.to(x).expand_as(x), self.properties.unique_minimizer

    def nearest_minimizers(self, x: Tensor) -> tuple[Tensor | None, Tensor]:
        """:meth:`nearest_minimizer` with its exactness per point, a ``(...,)`` bool tensor (False where that
        point's distance is only an upper bound). Default: the batch's flag for every point."""
        near, exact = self.nearest_minimizer(x)
        return near, torch.full(x.shape[:-1], bool(exact), dtype=torch.bool)

    def assess_batch(self, x: Tensor) -> list[Assessment]:
        """:meth:`assess` for a stack of candidates ``(K, D)``, vectorised (float64)."""
        x = x.detach().to(torch.float64).reshape(-1, self.dim)
        if x.shape[0] == 0:
            return []
        e = self.energy_fn()(x)
        f_star = self.f_star if self.f_star is not None else math.nan
        lo, hi = self.lower.to(x), self.upper.to(x)
        oob = torch.clamp(torch.maximum(lo - x, x - hi), min=0).amax(dim=-1)
        xs = self.x_star()
        dist = torch.linalg.vector_norm(x - xs.to(x), dim=-1) if xs is not None else None
        near, exact = self.nearest_minimizers(x)
        dn = torch.linalg.vector_norm(x - near, dim=-1) if near is not None else None
        exact = exact.tolist()
        return [
            Assessment(float(e[i]), float(e[i]) - f_star, None if dist is None else float(dist[i]),
                       None if dn is None else float(dn[i]), bool(exact[i]), float(oob[i]))
            for i in range(x.shape[0])
        ]

    def assess(self, x: Tensor) -> Assessment:
        """True energy and distances of one candidate ``x`` (D,), in float64."""
        return self.assess_batch(x.reshape(1, -1))[0]

def check_bounds(name: str, lo: float, hi: float) -> None:
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise GmbenchError(f"problem {name!r}: impossible bounds [{lo}, {hi}] (need finite lo < hi)")
