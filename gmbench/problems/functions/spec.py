"""Analytic test functions as problems: a spec is data, the evaluation a plain torch function."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor

from gmbench.core.errors import GmbenchError
from gmbench.problems.base import EnergyFn, Problem, Properties, check_bounds


@dataclass(frozen=True)
class FunctionSpec:
    """Declarative description of one analytic function.

    ``f`` maps a tensor ``(..., D)`` to ``(...)`` (float32 or float64, any device) and must be a
    module-level function that closes over nothing answer-related. ``x_star`` is the designated
    minimizer: a fill value (x* = value * 1) or a function ``dim -> (D,) float64 tensor``.
    Minimizer sets: ``coord_roots(lo, hi)`` gives the per-coordinate roots of a product set within
    [lo, hi] (sorted 1-D float64 tensor); ``known_minimizers(dim)`` gives a finite set ``(K, D)``
    that is complete only if ``minimizers_exact``.
    """

    name: str
    fnum: str | None
    f: EnergyFn
    bound: float
    properties: Properties
    x_star: float | Callable[[int], Tensor] = 0.0
    min_dim: int = 1
    max_dim: int | None = None
    max_dim_reason: str = ""
    coord_roots: Callable[[float, float], Tensor] | None = None
    known_minimizers: Callable[[int], Tensor | None] | None = None
    minimizers_exact: bool = True
    within_native_box: bool = False
    aliases: tuple[str, ...] = ()
    formula: str = ""
    title: str = ""
    grad: Callable[[Tensor], Tensor] | None = None  # analytic gradient (fast path; autograd is the plain one)


class FunctionProblem(Problem):
    family = "function"

    def __init__(self, spec: FunctionSpec, dim: int, bounds: tuple[float, float] | None = None):
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise GmbenchError(f"problem {spec.name!r}: dimension must be an integer, got {dim!r}")
        if dim < spec.min_dim:
            raise GmbenchError(f"problem {spec.name!r}: impossible dimension {dim} (needs dim >= {spec.min_dim})")
        if spec.max_dim is not None and dim > spec.max_dim:
            raise GmbenchError(
                f"problem {spec.name!r}: impossible dimension {dim} (dim <= {spec.max_dim}: {spec.max_dim_reason})"
            )
        lo, hi = (-spec.bound, spec.bound) if bounds is None else (float(bounds[0]), float(bounds[1]))
        check_bounds(spec.name, lo, hi)
        if spec.within_native_box and (lo < -spec.bound or hi > spec.bound):
            raise GmbenchError(
                f"problem {spec.name!r}: bounds [{lo}, {hi}] exceed the native box [-{spec.bound}, {spec.bound}],"
                " outside which the function is unbounded below"
            )
        self.spec = spec
        self.name = spec.name
        self.properties = spec.properties
        self.dim = dim
        self.lower = torch.full((dim,), lo, dtype=torch.float64)
        self.upper = torch.full((dim,), hi, dtype=torch.float64)
        xs = self.x_star()
        if bool((xs < lo).any() or (xs > hi).any()):
            raise GmbenchError(
                f"problem {spec.name!r}: bounds [{lo}, {hi}] do not contain the global minimizer x*"
            )

    def energy_fn(self) -> EnergyFn:
        return self.spec.f

    def energy_and_grad_fn(self) -> Callable[[Tensor], tuple[Tensor, Tensor]] | None:
        """The analytic-gradient fast path when the spec has one (``GMBENCH_PLAIN=1`` turns it off;
        ``GMBENCH_COMPILE=1`` fuses it with torch.compile, compiled on the first call of each shape)."""
        if self.spec.grad is None or os.environ.get("GMBENCH_PLAIN", "") not in ("", "0"):
            return None
        return BlockedEnergyGrad(self.spec.f, self.spec.grad,
                                 compile=os.environ.get("GMBENCH_COMPILE", "") not in ("", "0"))

    def x_star(self) -> Tensor:
        xs = self.spec.x_star
        if callable(xs):
            return xs(self.dim).to(torch.float64)
        return torch.full((self.dim,), float(xs), dtype=torch.float64)

    def nearest_minimizer(self, x: Tensor) -> tuple[Tensor | None, bool]:
        spec = self.spec
        if spec.coord_roots is not None:
            roots = spec.coord_roots(float(self.lower[0]), float(self.upper[0])).to(x)
            return nearest_in_sorted(roots, x), True
        if spec.known_minimizers is not None:
            known = spec.known_minimizers(self.dim)
            if known is not None:
                known = known.to(x)
                d = torch.cdist(x.reshape(-1, self.dim), known)  # (B, K)
                idx = d.argmin(dim=-1)
                return known[idx].reshape(x.shape), spec.minimizers_exact
        return super().nearest_minimizer(x)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "dim": self.dim, "bounds": [float(self.lower[0]), float(self.upper[0])]}


def nearest_in_sorted(roots: Tensor, x: Tensor) -> Tensor:
    """Coordinate-wise nearest element of the sorted 1-D tensor ``roots`` (batched, no loops)."""
    idx = torch.searchsorted(roots, x.contiguous()).clamp(1, roots.numel() - 1) if roots.numel() > 1 else None
    if idx is None:
        return roots.expand_as(x).clone()
    left, right = roots[idx - 1], roots[idx]
    return torch.where((x - left).abs() <= (right - x).abs(), left, right)


class BlockedEnergyGrad:
    """``x -> (f(x), grad(x))`` computed in row blocks of about ``block_elems`` elements, so that a
    block and its temporaries stay in cache between the energy and the gradient passes (a big batch
    otherwise streams every intermediate through main memory). Energies are exactly ``f``'s."""

    __slots__ = ("block_elems", "f", "grad", "kernel")

    def __init__(self, f: EnergyFn, grad: Callable[[Tensor], Tensor], block_elems: int = 2**16,
                 compile: bool = False):
        self.f, self.grad, self.block_elems = f, grad, int(block_elems)
        self.kernel = _compiled_eg(f, grad) if compile else None

    def _eg(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.kernel is not None:
            return self.kernel(x)
        return self.f(x), self.grad(x)

    def __call__(self, x: Tensor) -> tuple[Tensor, Tensor]:
        d = x.shape[-1]
        flat = x.reshape(-1, d)
        n = flat.shape[0]
        rows = max(1, self.block_elems // d)
        if n <= rows:
            return self._eg(x)
        e = torch.empty(n, dtype=x.dtype, device=x.device)
        g = torch.empty_like(flat)
        for r0 in range(0, n, rows):  # blocks of points, not points
            e[r0:r0 + rows], g[r0:r0 + rows] = self._eg(flat[r0:r0 + rows])
        return e.reshape(x.shape[:-1]), g.reshape(x.shape)


_COMPILED_EG: dict = {}


def _compiled_eg(f: EnergyFn, grad: Callable[[Tensor], Tensor]) -> Callable[[Tensor], tuple[Tensor, Tensor]]:
    """Energy and gradient fused into one torch.compile kernel (one per function; eager if it fails)."""
    key = (f, grad)
    if key not in _COMPILED_EG:
        def eg(x: Tensor) -> tuple[Tensor, Tensor]:
            return f(x), grad(x)

        try:
            _COMPILED_EG[key] = torch.compile(eg, dynamic=False)
        except Exception:  # no compiler back-end: the eager pair
            _COMPILED_EG[key] = eg
    return _COMPILED_EG[key]
