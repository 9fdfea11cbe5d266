"""Method registry. Each method is one file; importing this package registers the built-in ones."""

from __future__ import annotations

from gmbench.methods.base import METHODS, Method, make_method, register_method

from gmbench.methods import action_functional
from gmbench.methods import adam
from gmbench.methods import adam_sweep
from gmbench.methods import basin_hopping
from gmbench.methods import fire
from gmbench.methods import gd
from gmbench.methods import random_search
from gmbench.methods import stridernet  # noqa: E402,F401  (register the built-in methods)

__all__ = ["METHODS", "Method", "make_method", "register_method"]
