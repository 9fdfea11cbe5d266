"""Recorded wording that cell keys must keep.

A problem configuration is part of every cell key (``gmbench.config.suite.cell_key``). When the
wording of a recorded text value improves (e.g. a citation), cells stored under the old wording would
get new keys and be run again. A module that rewords such a value registers the wording it replaced;
the key then hashes the configuration as it was first recorded, while the store and the reports carry
the current wording. The harness knows no value by name: problem modules register their own.
"""

from __future__ import annotations

from typing import Any

_FIRST_RECORDED: dict[str, str] = {}


def keep_key_wording(current: str, first_recorded: str) -> str:
    """Register that ``current`` replaced ``first_recorded`` in recorded configurations; returns
    ``current``."""
    _FIRST_RECORDED[current] = first_recorded
    return current


def as_first_recorded(value: Any) -> Any:
    """``value`` (a configuration: dicts, lists, strings, numbers) with every registered string back in
    its first-recorded wording."""
    if isinstance(value, str):
        return _FIRST_RECORDED.get(value, value)
    if isinstance(value, dict):
        return {k: as_first_recorded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_first_recorded(v) for v in value]
    return value
