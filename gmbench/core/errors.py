"""Errors that reach the user: one clear line, exit status 2."""

from __future__ import annotations

import difflib


class GmbenchError(Exception):
    """A problem with the user's input (names, YAML, dimensions, files, store).

    The CLI prints ``error: <message>`` on one line and exits with status 2.
    """


def unknown_name(kind: str, name: str, known: list[str]) -> GmbenchError:
    """Build an 'unknown X' error with a did-you-mean suggestion."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return GmbenchError(f"unknown {kind} {name!r}{hint} (see `gmbench list`)")


def method_failure(exc: BaseException) -> str:
    """The stored error of a cell whose method raised ``exc`` (not a budget stop): the exception, where it
    was raised, and for ``SystemExit``/``KeyboardInterrupt`` that a method must not end the process. One
    wording for a method run here and one run sealed in its own process."""
    import traceback

    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
    if isinstance(exc, (SystemExit, KeyboardInterrupt)):
        what = f"SystemExit({exc.code!r})" if isinstance(exc, SystemExit) else type(exc).__name__
        return f"{what} raised inside the method{where} (a method must not exit or interrupt the process)"
    return f"{type(exc).__name__}: {exc}{where}"
