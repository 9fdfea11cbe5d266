"""Method registry. Each method is one file: importing this package imports every module in it, and
each module registers its methods with :func:`register_method`, so a new built-in method is one new
file here (a user's own method is one ``.py`` file loaded with ``--plugin``)."""

from __future__ import annotations

import importlib
import pkgutil

from gmbench.methods.base import METHODS, Method, make_method, register_method


def _load_builtin() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_load_builtin()

__all__ = ["METHODS", "Method", "make_method", "register_method"]
