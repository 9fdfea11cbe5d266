"""One typed parameter checker for methods and problems.

A method or a problem declares its parameters as a dataclass (field name, type hint, default); the
values a suite (or the Python API) gives are checked against it here, in one place:

* an unknown key is an error with a did-you-mean suggestion and the list of known parameters;
* a value of the wrong type is an error naming the parameter, the expected type and the value
  (integers are accepted for floats, never booleans for numbers; lists for ``list``/``tuple``;
  ``Literal[...]`` restricts a value to its choices);
* :func:`describe` renders the declaration for ``gmbench list`` as ``name: type = default``.

A method's integer parameters are counts and sizes (points, steps, batch sizes, populations): a negative
value is refused here for every method (``counts=True``), so that a plugin gets the check too; whether 0
is meaningful is the method's own rule (its ``__post_init__``). Problems check their own integers (an
instance number is no count). ``None`` stays allowed where the type allows it.

Range checks that depend on several values (``dim`` against ``n``, bounds against a box) stay with
the method or problem; this module checks names and types only.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Literal, Mapping

from gmbench.core.errors import GmbenchError

__all__ = ["check", "build", "coerce", "describe", "format_type", "format_default", "nondefault"]


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def check(cls: type, params: Mapping[str, Any] | None, where: str, counts: bool = False) -> dict[str, Any]:
    """Check ``params`` against the dataclass ``cls``; return them coerced (ints become floats where a
    float is declared, lists become tuples where a tuple is declared). ``where`` names the owner in
    messages, e.g. ``"method 'adam'"`` or ``"problem 'ka-lj'"``."""
    params = dict(params or {})
    fields = [f.name for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")]
    for key in params:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(fields) if fields else "none"
            raise GmbenchError(f"{where}: unknown parameter {key!r}{hint} (parameters: {known})")
    hints = _hints(cls)
    out = {k: coerce(v, hints[k], f"{where}: parameter {k}") for k, v in params.items()}
    for k, v in out.items() if counts else ():
        if isinstance(v, int) and not isinstance(v, bool) and _is_int_hint(hints[k]) and v < 0:
            raise GmbenchError(f"{where}: parameter {k} is a count or size and must be at least 0, got {v}")
    return out


def _is_int_hint(hint: Any) -> bool:
    """``int`` or ``int | None``."""
    if hint is int:
        return True
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and int in typing.get_args(hint) \
        and all(a in (int, type(None)) for a in typing.get_args(hint))


def build(cls: type, params: Mapping[str, Any] | None, where: str, counts: bool = False) -> Any:
    """``cls(**check(cls, params, where))``; a ``TypeError``/``ValueError`` raised by the dataclass's
    own ``__post_init__`` becomes a :class:`GmbenchError` naming ``where``."""
    kwargs = check(cls, params, where, counts)
    try:
        return cls(**kwargs)
    except GmbenchError:
        raise
    except (TypeError, ValueError) as exc:
        raise GmbenchError(f"{where}: {exc}") from exc


def nondefault(obj: Any) -> dict[str, Any]:
    """The fields of a dataclass instance whose value differs from the declared default."""
    out = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if f.default is not dataclasses.MISSING:
            d = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            d = f.default_factory()  # type: ignore[misc]
        else:
            out[f.name] = v
            continue
        if v != d:
            out[f.name] = v
    return out


def coerce(value: Any, hint: Any, where: str) -> Any:
    """Check one value against a type hint (see the module doc); return it, possibly converted."""
    if hint is Any:
        return value
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for a in options:
            try:
                return coerce(value, a, where)
            except GmbenchError as exc:
                errors.append(exc)
        if len(options) == 1:  # ``T | None``: say what T wants
            raise errors[0]
        raise GmbenchError(f"{where}: expected {format_type(hint)}, got {value!r}")
    if origin is Literal:
        if value in args and not (isinstance(value, bool) and not any(isinstance(a, bool) for a in args)):
            return value
        close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1, cutoff=0.5)
        hint_txt = f"; did you mean {close[0]!r}?" if close else ""
        raise GmbenchError(f"{where}: expected one of {', '.join(repr(a) for a in args)}, got {value!r}{hint_txt}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise GmbenchError(f"{where}: expected a list, got {value!r}")
        inner = args[0] if args else Any
        out = [coerce(v, inner, where) for v in value]
        return tuple(out) if origin is tuple else out
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise GmbenchError(f"{where}: expected a mapping, got {value!r}")
        return value
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


def format_type(hint: Any) -> str:
    """A short, readable type: ``int``, ``float | None``, ``list[int]``, ``'md' | 'file'``."""
    if hint is type(None):
        return "None"
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(format_type(a) for a in args)
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (list, tuple, dict):
        inner = ", ".join(format_type(a) for a in args if a is not Ellipsis)
        return f"{origin.__name__}[{inner}]" if inner else origin.__name__
    return getattr(hint, "__name__", str(hint))


def format_default(f: dataclasses.Field) -> str:
    """The declared default as text, ``default_factory`` included (``required`` when there is none)."""
    if f.default is not dataclasses.MISSING:
        return repr(f.default)
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return repr(f.default_factory())  # type: ignore[misc]
    return "required"


def describe(cls: type) -> list[str]:
    """``name: type = default`` for every public init field of ``cls`` (plus ``  # help`` where a field
    declares ``metadata={"help": ...}``)."""
    hints = _hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if not f.init or f.name.startswith("_"):
            continue
        text = f"{f.name}: {format_type(hints[f.name])} = {format_default(f)}"
        if f.metadata.get("help"):
            text += f" ({f.metadata['help']})"
        out.append(text)
    return out
