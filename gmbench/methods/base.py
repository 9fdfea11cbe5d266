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
import typing
from typing import Any, Callable, ClassVar

from gmbench.core.blackbox import BlackBox
from gmbench.core.errors import GmbenchError, unknown_name
from gmbench.core.registry import Registry

Report = Callable[..., None]


class Method(ABC):
    name: ClassVar[str] = ""

    @abstractmethod
    def run(self, bb: BlackBox, report: Report) -> None:
        """Search until the budget is spent, calling ``report(x, **scalars)`` with predictions."""

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]


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
    params = dict(params or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    for key in params:
        if key not in fields:
            raise unknown_name(f"parameter of method {cls.name!r}:", key, list(fields))
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
    try:
        kwargs = {k: _coerce(v, hints[k], f"{cls.name}.{k}") for k, v in params.items()}
        method = cls(**kwargs)
    except GmbenchError:
        raise
    except (TypeError, ValueError) as exc:
        raise GmbenchError(f"method {cls.name!r}: {exc}") from exc
    return method


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check a YAML value against a dataclass field's type hint (ints accepted for floats)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, where)
            except GmbenchError as e:
                errors.append(str(e))
        raise GmbenchError(errors[0] if errors else f"{where}: bad value {value!r}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise GmbenchError(f"{where}: expected a list, got {value!r}")
        inner = args[0] if args else Any
        out = [_coerce(v, inner, where) for v in value]
        return tuple(out) if origin is tuple else out
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise GmbenchError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise GmbenchError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise GmbenchError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise GmbenchError(f"{where}: expected a string, got {value!r}")
        return value
    return value
