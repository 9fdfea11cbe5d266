"""Small pieces shared by the batched methods."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ClassVar

import torch
from torch import Tensor

from gmbench.core.budget import BudgetExhausted
from gmbench.methods.base import Method, Report
from gmbench.optim.presets import STRIDERNET_BASELINES, StriderNetBaseline

if TYPE_CHECKING:
    import numpy as np


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


class Evaluator:
    """Batched evaluation for methods whose search loop lives in a library (pycma, scipy) or that
    evaluate whole populations: it charges the BlackBox, keeps the best point seen and reports it.

    Reporting costs one evaluation, so the best point is not reported after every improving batch but
    when it improved and either the evaluations or (without an evaluation budget only: under one, a seed
    must give the same run whatever the machine's speed) the method time since the last report exceed
    ``spacing`` times those spent so far (geometric spacing: about log(N) / log(1 + spacing) reports
    in N evaluations, each target hit recorded within that factor), or the budget is about to end:

    * evaluation budget: a batch that would leave no evaluation for the report is cut to the points
      that fit (``evals_left - 1``; with gradients, whole ``grad_charge`` units), the best is reported,
      and :class:`BudgetExhausted` ends the method, so it never evaluates beyond its budget and never
      loses its best point;
    * time budget: once less than twice the interval between the last two batches (library work
      included) is left, every improvement is reported at once.

    A library that catches exceptions would still let ``BudgetExhausted`` (a ``BaseException``)
    through, and the harness keeps every report made. Non-finite energies are never the best point.
    """

    def __init__(self, bb, report: Report, spacing: float = 0.05):
        self.bb = bb
        self.best = BestPoint(report)
        self.spacing = spacing
        self._cost_at_report = 0
        self._t_at_report = 0.0
        self._t_prev = bb.elapsed()
        self._interval = 0.0
        self._last = False  # the evaluation budget ends with the batch being evaluated
        # spacing in time only without an evaluation budget: under one, reports (each a charged
        # evaluation) must not depend on the clock, so that a seed gives the same run on any machine
        self._by_time = bb.budget.evals is None

    # ---- evaluation ---------------------------------------------------------------------------
    def energy(self, x: Tensor) -> Tensor:
        """Energies of a batch ``(n, D)``, charged and observed (see the class doc)."""
        x = self._fit(x, 1)
        e = self.bb.energy(x)
        self._observe(x, e, x.shape[0])
        return e

    def energy_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Energies and gradients of a batch ``(n, D)``, charged at ``grad_charge`` per point and observed."""
        x = self._fit(x, self.bb.grad_charge)
        e, g = self.bb.energy_and_grad(x)
        self._observe(x, e, x.shape[0])
        return e, g

    def energy_numpy(self, x: "np.ndarray") -> "np.ndarray":
        """:meth:`energy` for a float64 NumPy batch ``(n, D)`` (or one point ``(D,)``): float64 energies,
        non-finite ones as +inf."""
        import numpy as np

        xt = torch.as_tensor(np.asarray(x), device=self.bb.device).to(self.bb.dtype)
        e = self.energy(xt.reshape(-1, self.bb.dim)).to(device="cpu", dtype=torch.float64).numpy()
        return np.where(np.isfinite(e), e, np.inf)

    def _fit(self, x: Tensor, unit: int) -> Tensor:
        """The part of ``x`` the evaluation budget can pay for while keeping one evaluation for the final
        report; when that is not all of it, the method ends after this batch."""
        left = self.bb.evals_left
        n = x.shape[0]
        if n * unit + 1 <= left:
            return x
        fits = int(max(left - 1, 0) // unit)
        if fits < 1:
            self.flush()
            raise BudgetExhausted("evals")
        self._last = True
        return x[:fits]

    def _observe(self, x: Tensor, e: Tensor, n: int) -> None:
        bb = self.bb
        self.best.update(x, e)
        now = bb.elapsed()
        self._interval, self._t_prev = now - self._t_prev, now
        if self._last:
            self.flush()
            raise BudgetExhausted("evals")
        due = (bb.n_cost - self._cost_at_report >= self.spacing * bb.n_cost
               or (self._by_time and now - self._t_at_report >= self.spacing * now)
               or bb.time_left() < 2 * self._interval)
        if due:
            self.flush()

    def flush(self, **scalars: float) -> None:
        """Report the best point now if it improved since the last report."""
        if self.best._dirty:
            self.best.flush(**scalars)
            self._cost_at_report, self._t_at_report = self.bb.n_cost, self.bb.elapsed()


class RowBest:
    """Per-start bookkeeping for batched local optimisers: the lowest energy and point of every row
    of a round, reported per row as ``report(x, start=k)`` (``k`` numbers the starts of the whole
    run), so the harness can give the min and mean over starting structures (StriderNET's Table 1)."""

    def __init__(self, report: Report, x: Tensor, first_start: int):
        self._report = report
        self.energy = torch.full((x.shape[0],), math.inf, dtype=x.dtype, device=x.device)
        self.x = x.detach().clone()
        self._dirty = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
        self.first_start = first_start

    def update(self, x: Tensor, e: Tensor) -> None:
        e = torch.where(torch.isfinite(e), e, torch.full_like(e, math.inf))
        better = e < self.energy
        self.energy = torch.where(better, e, self.energy)
        self.x = torch.where(better[:, None], x.detach(), self.x)
        self._dirty |= better

    def flush(self) -> None:
        for k in torch.nonzero(self._dirty).flatten().tolist():
            self._report(self.x[k], start=self.first_start + k)
        self._dirty.zero_()


class LocalRounds:
    """The round loop shared by ``gd``, ``adam`` and ``fire``: draw ``n_points`` starts, run the
    optimiser for at most ``max_steps`` steps (stopping early when every row's gradient norm is
    below ``gtol``), report, and start a new round until the budget is spent or ``max_rounds``
    rounds are done. With ``report_starts`` every start's best point is reported (tagged with its
    start index); otherwise only the overall best point is. ``None`` means: per start on periodic
    systems (their report is Min and Mean energy over starting structures), overall elsewhere."""

    def __init__(self, bb, report: Report, *, n_points: int, max_steps: int, gtol: float, report_every: int,
                 report_starts: bool | None, max_rounds: int | None):
        self.bb, self.report = bb, report
        self.n_points, self.max_steps, self.gtol = n_points, max_steps, gtol
        self.report_every, self.max_rounds = report_every, max_rounds
        self.report_starts = bb.periodic if report_starts is None else report_starts

    def run(self, init, step) -> None:
        """``init(x0) -> state``; ``step(state, e, g) -> state``; ``state.x`` is the iterate (the
        ``(init, step)`` pairs of :mod:`gmbench.optim`). The loop evaluates (e, g) at ``state.x``
        once per step and passes them on. The best point of the first evaluated batch is reported
        at once (step 0), so even a budget that ends after one batch leaves a candidate."""
        best = BestPoint(self.report)
        r = 0
        while self.max_rounds is None or r < self.max_rounds:
            x0 = self.bb.starts(self.n_points)
            rows = RowBest(self.report, x0, r * self.n_points) if self.report_starts else None
            state = init(x0)
            tracker = rows if rows is not None else best
            for k in range(self.max_steps + 1):
                e, g = self.bb.energy_and_grad(state.x)
                tracker.update(state.x, e)
                if k % self.report_every == 0:
                    tracker.flush()
                if k == self.max_steps or float(torch.linalg.vector_norm(g, dim=-1).max()) < self.gtol:
                    break
                state = step(state, e, g)
            tracker.flush()  # (a budget stop mid-round keeps the reports made every report_every steps)
            r += 1


# StriderNET's GD / Adam / FIRE baselines (Bihani et al., ICML 2023, Sec. 4 and Table 6): the preset
# "stridernet" stands for one concrete preset per system; all run 10 structures for one round with every
# structure's best reported (Table 1 reads the min and mean over structures). Step parameters live in
# each method's PRESETS.
STRIDERNET_BY_SYSTEM = {"ka-lj": "stridernet-lj", "sw-silicon": "stridernet-sw", "csh": "stridernet-csh"}
STRIDERNET_LOCAL = {"n_points": 10, "max_rounds": 1, "report_starts": True, "gtol": 0.0, "report_every": 50}


def stridernet_presets(step_params: Callable[[StriderNetBaseline], dict]) -> dict[str, dict]:
    """One ``stridernet-*`` preset per system from the paper's table
    (:data:`gmbench.optim.presets.STRIDERNET_BASELINES`): the shared local-run settings, the method's
    step parameters ``step_params(row)`` and the row's number of steps."""
    return {STRIDERNET_BY_SYSTEM[system]: {**STRIDERNET_LOCAL, **step_params(row), "max_steps": row.steps}
            for system, row in STRIDERNET_BASELINES.items()}


@dataclass
class LocalMethod(Method):
    """Fields and round loop shared by the batched local optimisers (``gd``, ``adam``, ``fire``);
    see :class:`LocalRounds` for their meaning. Subclasses add their step parameters and
    ``PRESETS``; ``preset`` names one of them (resolved by ``make_method``)."""

    PRESET_BY_SYSTEM: ClassVar[dict[str, dict[str, str]]] = {"stridernet": STRIDERNET_BY_SYSTEM}
    summaries: ClassVar[tuple[str, ...]] = ("per_start",)  # report_starts: per-start energies (Table 1 Min/Mean)

    preset: str | None = None
    n_points: int = 100
    max_steps: int = 1000
    gtol: float = 1e-6
    clamp: bool = True
    report_every: int = 50
    report_starts: bool | None = None  # None: per-structure reports on periodic systems (Table 1 Mean)
    max_rounds: int | None = None

    def __post_init__(self) -> None:
        # found by tests/test_fuzz.py: max_steps < 0 made every round evaluate nothing, so the round
        # loop never spent its budget and ran forever
        for name, low in (("n_points", 1), ("max_steps", 0), ("report_every", 1)):
            if getattr(self, name) < low:
                raise ValueError(f"{name} must be at least {low}, got {getattr(self, name)}")
        if self.max_rounds is not None and self.max_rounds < 1:
            raise ValueError(f"max_rounds must be at least 1 (or null), got {self.max_rounds}")

    def rounds(self, bb, report: Report) -> LocalRounds:
        return LocalRounds(bb, report, n_points=self.n_points, max_steps=self.max_steps, gtol=self.gtol,
                           report_every=self.report_every, report_starts=self.report_starts,
                           max_rounds=self.max_rounds)
