"""A method that measures its BlackBox instead of searching: ``gmbench perf`` runs it in-process and sealed
to give the cost of the process boundary (figure 9). It reports one candidate per batch size whose
scalars are the measured rates (``calls_per_s``, ``points_per_s``), and is registered only when this
module is imported (by ``gmbench perf`` and, in a sealed child, by name)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gmbench.methods.base import Method, Report, register_method


@register_method("sealed-probe")
@dataclass
class SealedProbe(Method):
    batches: list[int] = field(default_factory=lambda: [1, 100, 10_000])
    calls: list[int] = field(default_factory=lambda: [2_000, 300, 10])
    grad: bool = False  # energy and gradient (a force call) instead of the energy alone
    repeats: int = 5

    def run(self, bb, report: Report) -> None:
        call = bb.energy_and_grad if self.grad else bb.energy
        for n, calls in zip(self.batches, self.calls):
            x = bb.uniform(n)
            call(x)  # warm-up (and the shared buffer's first growth)
            best = float("inf")
            for _ in range(self.repeats):
                t0 = time.perf_counter()
                for _ in range(calls):
                    call(x)
                best = min(best, (time.perf_counter() - t0) / calls)
            report(x[0], batch=n, calls_per_s=1.0 / best, points_per_s=n / best)
