"""Budgets and method time: what bounds a method, how it stops, and how its time is measured.

A :class:`Budget` is a wall-clock and/or evaluation limit; the BlackBox raises
:class:`BudgetExhausted` when it is spent; :class:`Clock` measures method time; :func:`synchronize`
is the one place that waits for a CUDA device (before a clock is read for a final measurement).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch


class BudgetExhausted(BaseException):
    """Raised when the method's budget is spent. The harness catches it; methods need not."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Budget:
    """A wall-clock budget (seconds) and/or an evaluation budget, and what a gradient costs.

    The evaluation budget binds on *charged* evaluations (the cost ledger): an energy-only evaluation
    of one point costs 1, an energy-and-gradient evaluation costs ``grad_cost`` (default 1: a gradient
    comes with its energy for free, gmbench's historical accounting; ``"dim"``: D, the cost of a
    forward finite-difference gradient, the convention COCO's maintainers suggest for comparing
    gradient methods with black-box ones; any positive integer k). Energy evaluations, gradient
    evaluations and charged evaluations are counted separately and stored with every cell.
    """

    time_s: float | None = None
    evals: int | None = None
    grad_cost: int | str = 1
    #: a suite's ``evals_per_dim: k`` (COCO's convention of budgets proportional to D): resolved into
    #: ``evals = k * D`` per cell (:meth:`for_dim`), so a cell's budget never carries it
    evals_per_dim: int | None = None

    def as_dict(self) -> dict[str, float | int | str | None]:
        """The budget as stored and hashed into cell keys: ``grad_cost`` only where it is not the
        default, so that cells stored before the ledger existed keep their keys."""
        out: dict[str, float | int | str | None] = {"time_s": self.time_s, "evals": self.evals}
        if self.grad_cost != 1:
            out["grad_cost"] = self.grad_cost
        if self.evals_per_dim is not None:
            out["evals_per_dim"] = self.evals_per_dim
        return out

    def for_dim(self, dim: int) -> "Budget":
        """This budget for a problem of ``dim`` dimensions (``evals_per_dim`` resolved)."""
        if self.evals_per_dim is None:
            return self
        return Budget(self.time_s, self.evals_per_dim * int(dim), self.grad_cost)

    def gradient_charge(self, dim: int) -> int:
        """Evaluations charged for one energy-and-gradient evaluation of one point in ``dim`` dimensions."""
        return int(dim) if self.grad_cost == "dim" else int(self.grad_cost)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Budget":
        """The inverse of :meth:`as_dict` (a stored cell's ``budget`` column)."""
        return Budget(d.get("time_s"), d.get("evals"), d.get("grad_cost", 1))


def check_grad_cost(value: Any) -> int | str:
    """A ``grad_cost`` as a suite or ``--budget`` gives it: a positive integer or ``"dim"``."""
    from gmbench.core.errors import GmbenchError

    if value == "dim" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    if isinstance(value, str) and value.strip().isdigit() and int(value) >= 1:
        return int(value)
    raise GmbenchError(f"grad_cost must be a positive integer or 'dim' (a gradient costs D evaluations), got {value!r}")


def synchronize(device: torch.device | str) -> None:
    """Wait for queued work on ``device`` (CUDA only; a no-op elsewhere), so a clock read after it
    measures finished work."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Clock:
    """Method time: wall time since the cell started. Deadline checks read it without a device sync
    (cheap); the final measurement synchronises CUDA first (see ``gmbench.run.execute``)."""

    def __init__(self, device: torch.device):
        self.device = device
        self._start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self._start
