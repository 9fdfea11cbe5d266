"""Budgets and method time: what bounds a method, how it stops, and how its time is measured.

A :class:`Budget` is a wall-clock and/or evaluation limit; the BlackBox raises
:class:`BudgetExhausted` when it is spent; :class:`Clock` measures method time; :func:`synchronize`
is the one place that waits for a CUDA device (before a clock is read for a final measurement).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch


class BudgetExhausted(BaseException):
    """Raised when the method's budget is spent. The harness catches it; methods need not."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Budget:
    """A wall-clock budget (seconds) and/or an evaluation budget (energy evaluations, per point).

    Every gradient evaluation also evaluates the energy, so ``evals`` binds on energy evaluations;
    gradient evaluations are counted separately and reported.
    """

    time_s: float | None = None
    evals: int | None = None

    def as_dict(self) -> dict[str, float | int | None]:
        return {"time_s": self.time_s, "evals": self.evals}


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
