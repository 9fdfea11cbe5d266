"""Opt-in ``torch.compile`` with a guaranteed eager fallback (``GMBENCH_COMPILE=1``).

``torch.compile`` compiles lazily: wrapping a function never fails, the first call of each input shape
does the work, and without a working back-end (no C++ compiler for inductor's CPU code, an unsupported
operation) that call raises. :func:`maybe_compile` wraps a pure tensor function so that such a failure
emits one warning and switches that function to eager for good, returning the eager result of the same
call; results are those of the eager function (to rounding) either way.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable


def compile_enabled() -> bool:
    """``GMBENCH_COMPILE=1``: fuse hot kernels with torch.compile (first call per shape compiles, ~10 s
    on a CPU, not charged to a cell's budget when done in a warm-up; eager is the fallback)."""
    return os.environ.get("GMBENCH_COMPILE", "") not in ("", "0")


class CompiledOrEager:
    """``fn`` compiled by ``torch.compile(dynamic=False)``, falling back to ``fn`` itself for good at the
    first call whose compiled form raises while the eager call succeeds (an error that eager raises too is
    the call's own, and propagates with compilation kept). ``fn`` must be free of side effects, since a
    failing compiled call is repeated eagerly."""

    def __init__(self, fn: Callable, name: str):
        self.eager = fn
        self.name = name
        self.failure: str | None = None
        try:
            import torch

            self.compiled: Callable | None = torch.compile(fn, dynamic=False)
        except Exception as exc:  # no usable torch.compile at all
            self.compiled = None
            self._fall_back(exc)

    def _fall_back(self, exc: BaseException) -> None:
        self.compiled = None
        self.failure = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        warnings.warn(f"GMBENCH_COMPILE: torch.compile failed for {self.name} ({self.failure[:200]}); "
                      "running it eagerly from now on", RuntimeWarning, stacklevel=3)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.compiled is not None:
            try:
                return self.compiled(*args, **kwargs)
            except Exception as exc:
                out = self.eager(*args, **kwargs)  # raises if the error is the call's, not the compiler's
                self._fall_back(exc)
                return out
        return self.eager(*args, **kwargs)


_WRAPPED: dict = {}


def maybe_compile(fn: Callable, name: str | None = None) -> CompiledOrEager:
    """The one compiled-or-eager wrapper of ``fn`` (cached per function, so it compiles once per shape)."""
    if fn not in _WRAPPED:
        _WRAPPED[fn] = CompiledOrEager(fn, name or getattr(fn, "__qualname__", repr(fn)))
    return _WRAPPED[fn]
