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
