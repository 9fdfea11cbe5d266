"""Random search: uniform sampling in the bounds, the floor every method must beat."""

from __future__ import annotations

from dataclasses import dataclass

from gmbench.core.blackbox import BlackBox
from gmbench.methods.base import Method, Report, register_method
from gmbench.methods.common import BestPoint


@register_method("random-search", aliases=("random",))
@dataclass
class RandomSearch(Method):
    """Evaluate ``batch_size`` uniform points at a time; report the best point whenever it improves."""

    batch_size: int = 1000

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")

    def run(self, bb: BlackBox, report: Report) -> None:
        best = BestPoint(report)
        while True:
            n = int(min(self.batch_size, bb.evals_left - 1))  # keep one evaluation for the report
            if n < 1:
                return
            x = bb.uniform(n)
            best.update(x, bb.energy(x))
            best.flush()
