"""The harness side of a cell (like COCO's observer): the Inbox and the Recorder.

A method reports candidates through the :class:`Inbox` (``report(x, **scalars)``), which holds no
reference to the problem: it stamps each candidate with the method time and evaluation counters,
charges the method one energy evaluation (so reporting is no free oracle) and keeps a float64 copy.
After the method stops, the :class:`Recorder` evaluates every candidate's true energy (float64) and
distances against the problem's answer, builds the anytime trace and picks the final prediction by
lowest energy (the seed paper's selection rule; candidates outside the bounds only if none is inside).
That rule is applied here once, as each row is recorded: every trace row carries the index of the
prediction so far (``pred``), which the store keeps and the reports read (they never re-derive it).
Summaries beyond the generic ones are declared by the method and the problem (:mod:`gmbench.run.summaries`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from torch import Tensor

from gmbench.core.blackbox import BlackBox, report_scalar
from gmbench.run.summaries import summarize
from gmbench.problems.base import OOB_TOL, Problem



@dataclass
class Candidate:
    t: float
    n_energy: int
    n_grad: int
    n_cost: int
    x: Tensor  # (D,) float64 cpu
    scalars: dict[str, float]


@dataclass
class TraceRow:
    t: float
    n_energy: int
    n_grad: int
    n_cost: int
    energy: float
    gap: float
    dist: float | None
    dist_nearest: float | None
    oob: float
    scalars: dict[str, float] = field(default_factory=dict)
    extra: dict[str, float] = field(default_factory=dict)
    pred: int = -1  # index of the prediction so far (PREDICTION_RULE over rows 0..this one); -1: none yet


class Inbox:
    """The ``report`` callable handed to a method. Answer-free: it knows only the BlackBox."""

    __slots__ = ("_bb", "candidates")

    def __init__(self, bb: BlackBox):
        self._bb = bb
        self.candidates: list[Candidate] = []

    def __call__(self, x: Tensor, **scalars: Any) -> None:
        """Submit one candidate prediction ``x`` (D,) with optional method scalars (loss, lr, ...)."""
        bb = self._bb
        if x.numel() != bb.dim:
            raise ValueError(f"report() takes one point of dimension {bb.dim}, got shape {tuple(x.shape)}")
        bb._charge(1, grad=False)
        t = bb.elapsed()
        self.candidates.append(
            Candidate(t, bb.n_energy, bb.n_grad, bb.n_cost, x.detach().reshape(-1).to("cpu", torch.float64).clone(),
                      {k: report_scalar(v) for k, v in scalars.items()})
        )


class Recorder:
    """Assesses a cell's candidates after the method stopped. ``summaries`` names the extra summaries
    (registered in :mod:`gmbench.run.summaries`) the method declares (``Method.summaries``); the
    problem's own (``Problem.summaries``) come first."""

    def __init__(self, problem: Problem, summaries: Sequence[str] = (), dtype: torch.dtype | None = None):
        self._problem = problem
        self._summaries = tuple(summaries)
        self._dtype = dtype  # the BlackBox's dtype: bounds are compared as rounded to it
        self.rows: list[TraceRow] = []
        self.exact: list[bool] = []  # per row: its dist_nearest is exact (else an upper bound)
        self.nearest_exact = True  # the final prediction's flag (set by assess)
        self.best_x: Tensor | None = None

    def assess(self, candidates: list[Candidate], chunk: int = 4096) -> None:
        for k in range(0, len(candidates), chunk):
            part = candidates[k:k + chunk]
            xs = torch.stack([c.x for c in part])
            for c, a, ex in zip(part, self._problem.assess_batch(xs), self._dtype_excess(xs)):
                self.rows.append(TraceRow(c.t, c.n_energy, c.n_grad, c.n_cost, a.energy, a.gap, a.dist, a.dist_nearest,
                                          min(a.oob, ex), c.scalars, a.extra))
                self.exact.append(a.nearest_exact)
        self._mark_predictions()
        best = self._best_index()
        self.best_x = candidates[best].x if best is not None else None
        self.nearest_exact = self.exact[best] if best is not None else True

    def _dtype_excess(self, x: Tensor) -> list[float]:
        """How far each candidate (K, D) lies outside the box as the cell's dtype represents it: the
        float64 bounds widened to include their rounding to ``dtype``, so that "inside" means the same
        here as in the BlackBox, whose bounds are in ``dtype`` (float32 rounds ackley's 32.768 up to
        32.76800156: a candidate the BlackBox clamped onto that bound is inside). The recorded ``oob``
        is the smaller of this and the problem's own measure (periodic boxes report 0); without a dtype
        the problem's measure stands."""
        if self._dtype is None:
            return [math.inf] * x.shape[0]
        lo64, hi64 = self._problem.lower.to(torch.float64), self._problem.upper.to(torch.float64)
        lo = torch.minimum(lo64, lo64.to(self._dtype).to(torch.float64))
        hi = torch.maximum(hi64, hi64.to(self._dtype).to(torch.float64))
        x = x.reshape(x.shape[0], -1)
        return torch.clamp(torch.maximum(lo - x, x - hi), min=0).amax(dim=-1).tolist()

    def _mark_predictions(self) -> None:
        """Set ``pred`` on every row: the lowest finite energy so far among rows inside the bounds (within
        OOB_TOL relative to the largest bound), or among all rows while none is inside; ties keep the
        earlier row."""
        tol = OOB_TOL * max(1.0, float(self._problem.upper.abs().max()))
        best_in = best_all = -1
        for i, r in enumerate(self.rows):
            if math.isfinite(r.energy):
                if best_all < 0 or r.energy < self.rows[best_all].energy:
                    best_all = i
                if r.oob <= tol and (best_in < 0 or r.energy < self.rows[best_in].energy):
                    best_in = i
            r.pred = best_in if best_in >= 0 else best_all

    def _best_index(self) -> int | None:
        """The final prediction's row (the last row's ``pred``), or None if no energy was finite."""
        return self.rows[-1].pred if self.rows and self.rows[-1].pred >= 0 else None

    def prediction(self) -> TraceRow | None:
        """The final prediction's row."""
        i = self._best_index()
        return None if i is None else self.rows[i]

    def summary(self) -> dict[str, Any]:
        best_i = self._best_index()
        if best_i is None:
            return {"n_candidates": len(self.rows)}
        best = self.rows[best_i]
        dim = self._problem.dim
        dists = [r.dist for r in self.rows if r.dist is not None]
        nears = [r.dist_nearest for r in self.rows if r.dist_nearest is not None]
        return {
            "n_candidates": len(self.rows),
            "final_energy": best.energy,
            "final_gap": best.gap,
            "final_dist": best.dist,
            "final_dist_nearest": best.dist_nearest,
            "final_oob": best.oob,
            "final_t": best.t,
            "min_dist": min(dists) if dists else None,
            "min_dist_nearest": min(nears) if nears else None,
            "avg_err_per_dim": best.dist / math.sqrt(dim) if best.dist is not None else None,
            "avg_err_per_dim_nearest": best.dist_nearest / math.sqrt(dim) if best.dist_nearest is not None else None,
            "nearest_exact": self.exact[best_i],  # whether the shown final_dist_nearest is exact
            "min_dist_nearest_exact": all(self.exact),  # a minimum over upper bounds is one
            **summarize((*self._problem.summaries, *self._summaries), self.rows),
        }
