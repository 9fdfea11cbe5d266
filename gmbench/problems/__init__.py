"""Problem registry: ``make_problem(name, dim=..., bounds=..., **params)``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from gmbench.core.errors import GmbenchError
from gmbench.core.registry import Registry
from gmbench.problems.base import Assessment, Problem, Properties
from gmbench.problems.functions.spec import FunctionProblem
from gmbench.problems.functions.spec import FunctionSpec


@dataclass
class ProblemEntry:
    """How to build a problem, plus what `gmbench list` shows about it."""

    factory: Callable[..., Problem]
    family: str
    info: dict[str, Any] = field(default_factory=dict)
    properties: Properties | None = None


PROBLEMS: Registry[ProblemEntry] = Registry("problem")


def register_function(spec: FunctionSpec) -> FunctionSpec:
    def factory(dim: int | None = None, bounds: tuple[float, float] | None = None, instance: int = 0,
                rotate: bool = False, secret: str = "", **params: Any) -> Problem:
        if params:
            raise GmbenchError(f"problem {spec.name!r} takes no parameters, got {sorted(params)}")
        if dim is None:
            raise GmbenchError(f"problem {spec.name!r} needs a dimension (dim: N)")
        return FunctionProblem(spec, dim, bounds, instance=instance, rotate=rotate, secret=secret)

    info = {
        "F": spec.fnum or "",
        "title": spec.title,
        "bounds": f"[-{spec.bound:g}, {spec.bound:g}]",
        "dims": f">= {spec.min_dim}" + (f", <= {spec.max_dim}" if spec.max_dim else ""),
        "formula": spec.formula,
    }
    aliases = tuple(spec.aliases) + ((spec.fnum,) if spec.fnum else ())
    PROBLEMS.register(spec.name, ProblemEntry(factory, "function", info, spec.properties), aliases)
    return spec


def make_problem(name: str, dim: int | None = None, bounds: tuple[float, float] | None = None, **params: Any) -> Problem:
    entry = PROBLEMS.get(name)
    return entry.factory(dim=dim, bounds=bounds, **params)


def _load_builtin() -> None:
    from gmbench.problems.functions import plevris  # noqa: F401  (the 30 functions and the paper's Schaffer F7)
    from gmbench.problems import atoms  # noqa: F401  (atomistic problems)


_load_builtin()

__all__ = ["PROBLEMS", "Problem", "Properties", "Assessment", "FunctionSpec", "make_problem", "register_function"]
