"""Problem registry: ``make_problem(name, dim=..., bounds=..., **params)``.

A problem declares its parameters as a dataclass (checked by :mod:`gmbench.config.params`, the same
checker as methods') and registers a factory with :func:`register_problem`. The built-in problems are
discovered: every module of :mod:`gmbench.problems.functions` (function collections) and of
:mod:`gmbench.problems.atoms` (one file per atomistic system) is imported, so a new collection or
system is one new file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from gmbench.config.params import build, nondefault
from gmbench.core.errors import GmbenchError
from gmbench.core.registry import Registry
from gmbench.problems.base import REPORT_LAYOUTS, Assessment, Problem, Properties
from gmbench.problems.functions.spec import FunctionProblem, InstanceKey
from gmbench.problems.functions.spec import FunctionSpec


@dataclass
class ProblemEntry:
    """How to build a problem, plus what `gmbench list` shows about it (``params``: the parameter
    dataclass, None for a factory that checks its own ``**params``)."""

    factory: Callable[..., Problem]
    family: str
    info: dict[str, Any] = field(default_factory=dict)
    properties: Properties | None = None
    params: type | None = None
    #: the modules whose code computes this problem (its code identity, gmbench.store.identity)
    modules: tuple[str, ...] = ()


PROBLEMS: Registry[ProblemEntry] = Registry("problem")


def register_problem(
    name: str,
    params: type,
    make: Callable[[Any, int | None, tuple[float, float] | None], Problem],
    *,
    family: str,
    info: dict[str, Any] | None = None,
    properties: Properties | None = None,
    aliases: tuple[str, ...] = (),
    modules: tuple[str, ...] = (),
) -> ProblemEntry:
    """Register a problem with typed parameters: ``make(p, dim, bounds)`` gets ``p``, an instance of the
    dataclass ``params`` built from the suite's ``params:`` (unknown keys and wrong types are errors
    before ``make`` runs). Range checks that involve ``dim`` or ``bounds`` stay in ``make``. ``modules``:
    the modules whose code computes the problem (default: the module that defines ``make``)."""

    def factory(dim: int | None = None, bounds: tuple[float, float] | None = None, **kwargs: Any) -> Problem:
        return make(build(params, kwargs, f"problem {name!r}"), dim, bounds)

    entry = ProblemEntry(factory, family, dict(info or {}), properties, params, modules or (make.__module__,))
    PROBLEMS.register(name, entry, aliases)
    return entry


@dataclass(frozen=True)
class FunctionParams:
    """Parameters of every analytic function: the instance (0 = the function as published; k >= 1 a
    deterministic shift, and with ``rotate`` a rotation, derived from the name, D and k, as COCO's
    instances) and an optional ``secret`` that enters the derivation (a suite's secret reaches a cell as
    the instance's :class:`~gmbench.problems.functions.spec.InstanceKey`, never in clear)."""

    instance: int = 0
    rotate: bool = False
    secret: "str | InstanceKey" = ""


def register_function(spec: FunctionSpec) -> FunctionSpec:
    def make(p: FunctionParams, dim: int | None, bounds: tuple[float, float] | None) -> Problem:
        if dim is None:
            raise GmbenchError(f"problem {spec.name!r} needs a dimension (dim: N)")
        return FunctionProblem(spec, dim, bounds, **nondefault(p))

    info = {
        "F": spec.fnum or "",
        "title": spec.title,
        "bounds": f"[-{spec.bound:g}, {spec.bound:g}]",
        "dims": f">= {spec.min_dim}" + (f", <= {spec.max_dim}" if spec.max_dim else ""),
        "formula": spec.formula,
    }
    aliases = tuple(spec.aliases) + ((spec.fnum,) if spec.fnum else ())
    register_problem(spec.name, FunctionParams, make, family="function", info=info, properties=spec.properties,
                     aliases=aliases, modules=(spec.f.__module__, FunctionProblem.__module__))
    return spec


def make_problem(name: str, dim: int | None = None, bounds: tuple[float, float] | None = None, **params: Any) -> Problem:
    entry = PROBLEMS.get(name)
    return entry.factory(dim=dim, bounds=bounds, **params)


def report_layout(config: dict[str, Any]) -> str:
    """Which report table a stored problem configuration gets: the rule its problem family declares
    (``Problem.report_layout``: "functions", "cluster" or "energy"). A problem this process does not
    know (a plugin not loaded) gets the family-free "functions" table."""
    name = config.get("name")
    family = PROBLEMS.get(name).family if isinstance(name, str) and name in PROBLEMS else None
    return REPORT_LAYOUTS.get(family, Problem.report_layout)(config)


def _load_builtin() -> None:
    from gmbench.core.registry import import_submodules
    from gmbench.problems import atoms, functions

    import_submodules(functions.__name__, functions.__path__)  # collections (the Plevris 30, ...)
    import_submodules(atoms.__name__, atoms.__path__)  # one module per atomistic system


_load_builtin()

__all__ = ["PROBLEMS", "Problem", "Properties", "Assessment", "FunctionSpec", "FunctionParams", "make_problem",
           "register_function", "register_problem"]
