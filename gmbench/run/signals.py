"""Interrupts that come from outside, told apart from ones a plugin raises.

Python turns SIGINT (Ctrl-C) into ``KeyboardInterrupt`` wherever the main thread happens to be; a
plugin method can also ``raise KeyboardInterrupt`` (or ``SystemExit``) itself. The first must stop
the suite, the second only fails its cell. While :func:`catch_interrupts` is active, SIGINT (and,
where asked, SIGTERM) go through a handler that records which signal arrived before raising
``KeyboardInterrupt``; :func:`delivered` then says whether an interrupt came from a signal.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator

_delivered: str | None = None


def delivered() -> str | None:
    """Name of the signal that interrupted this process ('SIGINT', 'SIGTERM'), or None."""
    return _delivered


def reset() -> None:
    global _delivered
    _delivered = None


def _handler(signum: int, frame: Any) -> None:
    global _delivered
    _delivered = signal.Signals(signum).name
    raise KeyboardInterrupt(_delivered)


@contextlib.contextmanager
def catch_interrupts(sigterm: bool = False) -> Iterator[None]:
    """Route SIGINT (and SIGTERM if ``sigterm``) through the recording handler (main thread only;
    elsewhere, and where the handler is already installed, this does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = [signal.SIGINT] + ([signal.SIGTERM] if sigterm else [])
    old = {}
    for s in sigs:
        if signal.getsignal(s) is not _handler:
            old[s] = signal.signal(s, _handler)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextlib.contextmanager
def stop_on_signal(store: Any, cells: list[Any], say: Any) -> Iterator[None]:
    """For ``gmbench run``: SIGINT/SIGTERM stop the suite (the executor closes the run record as
    'interrupted' and releases the running cell); then one line is said and the process exits with
    128 + the signal's number (the shell convention: 130 for Ctrl-C, 143 for SIGTERM)."""
    reset()
    try:
        with catch_interrupts(sigterm=True):
            yield
    except KeyboardInterrupt:
        name = delivered() or "SIGINT"
        try:
            stored = sum(store.status_of(c.key) is not None for c in cells)
            where = f"{stored} of {len(cells)} cells stored"
        except Exception:  # noqa: BLE001 - the store itself may be what was interrupted
            where = "finished cells are stored"
        say(f"interrupted ({name}): {where}, run again to resume")
        raise SystemExit(128 + signal.Signals[name].value) from None
