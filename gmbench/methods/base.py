"""The method contract.

A method is a dataclass of hyperparameters (defaults = the papers' values where they give them)
with one entry point::

    def run(self, bb: BlackBox, report: Callable[..., None]) -> None

It loops until its budget is spent (the BlackBox raises ``BudgetExhausted``; methods need not catch
it) and calls ``report(x, **scalars)`` whenever it has a prediction of the global minimum (one point
``(D,)``; each report costs one energy evaluation). It does not time itself, store or print.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar

from gmbench.config.params import build, check
from gmbench.core.blackbox import BlackBox
from gmbench.core.errors import GmbenchError, unknown_name
from gmbench.core.registry import Registry
from gmbench.report.plots import IterationPlot, Series  # noqa: F401  (what a method declares; re-exported)

Report = Callable[..., None]


class Method(ABC):
    name: ClassVar[str] = ""
    #: extra cell summaries of the scalars this method reports, by name (see gmbench.run.summaries)
    summaries: ClassVar[tuple[str, ...]] = ()
    #: per-iteration figures of this method's scalars (None: only the anytime figure)
    plots: ClassVar[IterationPlot | None] = None

    @abstractmethod
    def run(self, bb: BlackBox, report: Report) -> None:
        """Search until the budget is spent, calling ``report(x, **scalars)`` with predictions."""

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    # ---- resources (checked when a suite is loaded; see gmbench.core.resources) -----------------
    #: parameters that set how many points a method holds and evaluates at once, largest wins
    BATCH_FIELDS: ClassVar[tuple[str, ...]] = ("n_points", "batch_size", "n_walkers")

    def batch_points(self) -> int:
        """Points this method evaluates at once (the largest of its BATCH_FIELDS; 1 if it has none)."""
        sizes = [getattr(self, f) for f in self.BATCH_FIELDS if isinstance(getattr(self, f, None), int)]
        return max([1, *sizes])

    def memory_param(self) -> str:
        """The parameter to lower when a cell would not fit in memory (named in the error)."""
        names = [f for f in self.BATCH_FIELDS if isinstance(getattr(self, f, None), int)]
        return f"{self.name}'s {' or '.join(names)}" if names else "the problem's size"

    def memory_bytes(self, dim: int, dtype_bytes: int, problem_bytes: Callable[[int], int]) -> int:
        """Estimated peak bytes of one cell of this method, from its configuration alone.

        ``problem_bytes(batch)``: the problem's own estimate for evaluating ``batch`` points at once
        (:meth:`gmbench.problems.base.Problem.memory_bytes`). Default: the batch through the problem,
        plus about four (batch, D) arrays of method state (positions, best points, optimiser moments).
        Methods that hold more (networks, trajectories) or chunk their work override it."""
        batch = self.batch_points()
        return problem_bytes(batch) + 4 * batch * dim * dtype_bytes


METHODS: Registry[type[Method]] = Registry("method")
METHODS.planned.update(
    {
    }
)


def register_method(name: str, aliases: tuple[str, ...] = ()) -> Callable[[type[Method]], type[Method]]:
    def wrap(cls: type[Method]) -> type[Method]:
        cls.name = name
        METHODS.register(name, cls, aliases)
        return cls

    return wrap


def make_method(name: str, params: dict[str, Any] | None = None, system: str | None = None) -> Method:
    """Build a method from its name and a parameter mapping; unknown or mistyped keys are errors.

    ``params["preset"]`` names a set of defaults in the class's ``PRESETS`` (explicit keys win). A
    preset listed in ``PRESET_BY_SYSTEM`` (e.g. ``stridernet``) stands for one concrete preset per
    atomistic system and is resolved with ``system`` (the problem's ``config()["system"]``); the
    resolved name is what gets recorded."""
    cls = METHODS.get(name)
    where = f"method {cls.name!r}"
    params = check(cls, params, where, counts=True)  # names and types of the explicit keys
    preset = params.get("preset")
    by_system: dict[str, dict[str, str]] = getattr(cls, "PRESET_BY_SYSTEM", {})
    if preset in by_system:
        choice = by_system[preset]
        if system not in choice:
            raise GmbenchError(
                f"method {cls.name!r}: preset {preset!r} is defined for the systems {', '.join(choice)}, "
                f"not for {system or 'this (non-atomistic) problem'}")
        preset = params["preset"] = choice[system]
    if preset is not None:  # a named set of defaults (e.g. a paper's baseline); explicit keys win
        presets: dict[str, dict[str, Any]] = getattr(cls, "PRESETS", {})
        if preset not in presets:
            raise unknown_name(f"preset of method {cls.name!r}:", str(preset), list(presets))
        params = {**presets[preset], **params}
    return build(cls, params, where, counts=True)
