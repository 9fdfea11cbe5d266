"""The BlackBox: all a method ever gets.

It carries the dimension, bounds, device, dtype, a seeded generator, the budget and answer-free
energy/gradient evaluation with exact per-point counters. It holds no reference to the problem,
its name or its answer (x*, f*, minimizer sets, reference structures): there is no attribute path
from a BlackBox to the answer, and a test walks its object graph to keep it that way.

What this guarantees is what is *handed* to a method. A method run in the harness's process could still
reach the answer through the interpreter (stack frames, ``gc``, a function's ``__globals__`` or closure
cells, the command line and the suite file): that mode is for cooperative methods. A sealed run
(:mod:`gmbench.sandbox`) gives the method a BlackBox of this class in its own confined process, whose
functions are requests to the harness; with a suite ``secret`` instance numbers reveal nothing either.

Budgets bind through the BlackBox: an evaluation that would exceed the evaluation budget, or any
evaluation after the wall-clock deadline, raises :class:`BudgetExhausted` (a ``BaseException``, so
a method's ``except Exception`` cannot swallow it) before any work is done.

The cost ledger: ``n_energy`` counts energy evaluations (per point, those that came with a gradient
included), ``n_grad`` those that came with a gradient, ``n_cost`` the evaluations charged against
the budget (an energy-only point costs 1, an energy-and-gradient point ``budget.grad_cost``, see
:class:`Budget`), and ``n_local`` the local minimisations a method says it completed
(:meth:`BlackBox.count_local`; informational, a method's own count).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

import torch
from torch import Tensor

from gmbench.core.autodiff import energy_and_grad as _autodiff_energy_and_grad
from gmbench.core.budget import Budget, BudgetExhausted, Clock, synchronize  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from gmbench.problems.base import Problem, Structure


class BlackBox:
    """What a method sees. Energies come back detached, shaped like the batch, in ``dtype``."""

    __slots__ = (
        "dim", "lower", "upper", "device", "dtype", "generator", "budget",
        "n_energy", "n_grad", "n_cost", "n_local", "grad_charge", "_energy", "_energy_and_grad", "_sampler", "_clock", "_deadline", "structure", "_atom_energy",
        "_draw",
    )

    def __init__(
        self,
        energy: Callable[[Tensor], Tensor],
        dim: int,
        lower: Tensor,
        upper: Tensor,
        device: torch.device,
        dtype: torch.dtype,
        generator: torch.Generator,
        budget: Budget,
        clock: Clock,
        sampler: Callable[[int, torch.Generator], Tensor] | None = None,
        structure: Structure | None = None,
        atom_energy: Callable[[Tensor], Tensor] | None = None,
        energy_and_grad: Callable[[Tensor], tuple[Tensor, Tensor]] | None = None,
    ):
        self._energy = energy
        self._energy_and_grad = energy_and_grad
        self.structure = structure
        self._atom_energy = atom_energy
        self._sampler = sampler
        self.dim = dim
        self.lower = lower.to(device=device, dtype=dtype)
        self.upper = upper.to(device=device, dtype=dtype)
        self.device = device
        self.dtype = dtype
        self.generator = generator
        self.budget = budget
        self.n_energy = 0
        self.n_grad = 0
        self.n_cost = 0
        self.n_local = 0
        self.grad_charge = budget.gradient_charge(dim)  # evaluations charged per energy-and-gradient point
        self._clock = clock
        self._deadline = budget.time_s if budget.time_s is not None else math.inf
        self._draw: Tensor | None = None  # reused buffer of uniform(n)'s raw U[0, 1) draws

    @classmethod
    def from_problem(cls, problem: "Problem", budget: Budget | None = None, seed: int = 0,
                     dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu",
                     clock: Clock | None = None) -> "BlackBox":
        """The BlackBox of ``problem`` (the one way the harness, the studies and the tests build one): its
        answer-free functions, bounds, starting-structure sampler and public structure, a generator seeded
        with ``seed``, ``budget`` (unlimited by default) and a clock started now. The BlackBox keeps the
        problem's functions, never the problem."""
        device = torch.device(device)
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        return cls(problem.energy_fn(), problem.dim, problem.lower, problem.upper, device, dtype, generator,
                   budget if budget is not None else Budget(), clock if clock is not None else Clock(device),
                   problem.start_sampler(), problem.structure(), problem.atom_energy_fn(),
                   problem.energy_and_grad_fn())

    # ---- budget ---------------------------------------------------------------------------------
    def elapsed(self) -> float:
        """Seconds of method time used so far."""
        return self._clock.elapsed()

    def time_left(self) -> float:
        return self._deadline - self._clock.elapsed()

    @property
    def evals_left(self) -> float:
        """Charged evaluations left (energy-only points; an energy-and-gradient point costs ``grad_charge``)."""
        return math.inf if self.budget.evals is None else self.budget.evals - self.n_cost

    def exhausted(self) -> bool:
        return self.time_left() <= 0 or self.evals_left <= 0

    def _charge(self, n: int, grad: bool) -> None:
        if self._clock.elapsed() >= self._deadline:
            raise BudgetExhausted("time")
        cost = n * self.grad_charge if grad else n
        if self.budget.evals is not None and self.n_cost + cost > self.budget.evals:
            raise BudgetExhausted("evals")
        self.n_energy += n
        self.n_cost += cost
        if grad:
            self.n_grad += n

    def count_local(self, n: int = 1) -> None:
        """Record that the method completed ``n`` local minimisations (stored as ``n_local``; costs nothing)."""
        self.n_local += int(n)

    # ---- evaluation -----------------------------------------------------------------------------
    def _check(self, x: Tensor) -> int:
        if x.shape[-1] != self.dim:
            raise ValueError(f"expected points with last dimension {self.dim}, got shape {tuple(x.shape)}")
        return int(x[..., 0].numel())

    def energy(self, x: Tensor) -> Tensor:
        """U(x) for a batch ``(..., D)``; counts one energy evaluation per point."""
        self._charge(self._check(x), grad=False)
        with torch.no_grad():
            return self._energy(x.detach())

    def energy_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(U(x), ∇U(x)) for a batch; counts one energy and one gradient evaluation per point."""
        self._charge(self._check(x), grad=True)
        if self._energy_and_grad is not None:  # fused analytic path (same numbers, no autograd graph)
            with torch.no_grad():
                return self._energy_and_grad(x.detach())
        return _autodiff_energy_and_grad(self._energy, x)

    def energy_graph(self, x: Tensor) -> Tensor:
        """U(x) attached to the autograd graph of ``x`` (for methods that differentiate through the
        energy, e.g. StriderNET's path-wise loss); counts one energy and one gradient evaluation per point."""
        self._charge(self._check(x), grad=True)
        with torch.enable_grad():
            return self._energy(x)

    def atom_energies(self, x: Tensor, graph: bool = False) -> Tensor:
        """Per-atom energies ``(..., N)`` (they sum to U) of atomistic problems; counts one energy
        evaluation per structure (and a gradient one with ``graph``, which keeps the autograd graph)."""
        if self._atom_energy is None:
            raise TypeError("this problem has no per-atom energies (not an atomistic problem)")
        self._charge(self._check(x), grad=graph)
        if graph:
            with torch.enable_grad():
                return self._atom_energy(x)
        with torch.no_grad():
            return self._atom_energy(x.detach())

    def grad(self, x: Tensor) -> Tensor:
        return self.energy_and_grad(x)[1]

    # ---- sampling -------------------------------------------------------------------------------
    def uniform(self, n: int) -> Tensor:
        """n points uniform in the bounds, from the seeded generator (a new tensor the caller owns).

        The raw U[0, 1) draw goes into a buffer kept across calls (grown when n grows), which gives the
        generator's same stream as a fresh ``torch.rand``; the affine map writes into one new tensor
        (a product, then an in-place add: bit for bit ``lower + (upper - lower) * u``; ``addcmul``
        would fuse it into an FMA and change the last bit)."""
        n = int(n)
        buf = self._draw
        if buf is None or buf.shape[0] < n or buf.shape[1] != self.dim:
            buf = self._draw = torch.empty((n, self.dim), device=self.device, dtype=self.dtype)
        u = torch.rand((n, self.dim), generator=self.generator, out=buf[:n])
        return torch.mul(u, self.upper - self.lower).add_(self.lower)

    def starts(self, n: int) -> Tensor:
        """n starting points from the problem's answer-free sampler (uniform for functions)."""
        if self._sampler is None:
            return self.uniform(n)
        return self._sampler(n, self.generator).to(device=self.device, dtype=self.dtype)

    @property
    def periodic(self) -> bool:
        return self.structure is not None and self.structure.box is not None

    def clamp(self, x: Tensor) -> Tensor:
        """Project onto the bounds; in a periodic box, wrap into it instead (the energy is periodic)."""
        if self.periodic:
            return self.lower + torch.remainder(x - self.lower, self.upper - self.lower)
        return torch.maximum(torch.minimum(x, self.upper), self.lower)


def report_scalar(v: Any) -> float:
    """A reported scalar as stored: a tensor's mean, or the number (the Inbox's and a sealed child's rule)."""
    if isinstance(v, Tensor):
        return float(v.detach().float().mean())
    return float(v)
