"""Method registry. Each method is one file; importing this package registers the built-in ones."""

from __future__ import annotations

from .base import METHODS, Method, make_method, register_method

from . import action_functional, adam, adam_sweep, basin_hopping, fire, gd, random_search, stridernet  # noqa: E402,F401  (register the built-in methods)

__all__ = ["METHODS", "Method", "make_method", "register_method"]
