"""Small pieces shared by the batched methods."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import Report


class BestPoint:
    """Tracks the lowest-energy point seen in batched evaluations and reports it when it improved."""

    def __init__(self, report: Report):
        self._report = report
        self.energy = math.inf
        self.x: Tensor | None = None
        self._dirty = False

    def update(self, x: Tensor, e: Tensor) -> None:
        """``x`` (..., D), ``e`` (...): keep the best finite one (one device sync per call)."""
        e = e.reshape(-1)
        e = torch.where(torch.isfinite(e), e, torch.full_like(e, math.inf))
        i = int(torch.argmin(e))
        ei = float(e[i])
        if ei < self.energy:
            self.energy = ei
            self.x = x.reshape(-1, x.shape[-1])[i].detach().clone()
            self._dirty = True

    def flush(self, **scalars: float) -> None:
        """Report the best point if it changed since the last report."""
        if self._dirty and self.x is not None:
            self._dirty = False
            self._report(self.x, **scalars)
