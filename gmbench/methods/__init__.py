"""Method registry. Each method is one file: importing this package imports every module in it, and
each module registers its methods with :func:`register_method`, so a new built-in method is one new
file here (a user's own method is one ``.py`` file loaded with ``--plugin``)."""

from __future__ import annotations

from gmbench.core.registry import import_submodules
from gmbench.methods.base import METHODS, Method, make_method, register_method

import_submodules(__name__, __path__)

__all__ = ["METHODS", "Method", "make_method", "register_method"]
