"""gmbench: fair, reproducible benchmarks for global minimisation of high-dimensional energy landscapes.

What a plugin author needs, importable from here (loaded on first use, so ``import gmbench`` stays light):

* methods: :class:`Method`, :func:`register_method`, :class:`BlackBox` (all a method sees), :class:`Budget`;
* problems: :class:`Problem`, :func:`register_function` (a :class:`FunctionSpec`), :class:`AtomsProblem`,
  :func:`register_system`, :class:`PairEnergy`, :func:`make_problem`, :func:`make_method`;
* running: :func:`run_suite`; checking a plugin: :mod:`gmbench.testing` (``check_problem``, ``check_method``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_API = {
    "Method": "gmbench.methods.base", "register_method": "gmbench.methods.base",
    "make_method": "gmbench.methods.base", "BlackBox": "gmbench.core.blackbox", "Budget": "gmbench.core.budget",
    "BudgetExhausted": "gmbench.core.budget", "Problem": "gmbench.problems.base",
    "register_function": "gmbench.problems", "make_problem": "gmbench.problems",
    "FunctionSpec": "gmbench.problems.functions.spec", "AtomsProblem": "gmbench.problems.atoms.base",
    "register_system": "gmbench.problems.atoms.base", "PairEnergy": "gmbench.physics.potentials",
    "run_suite": "gmbench.run.api", "GmbenchError": "gmbench.core.errors",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        if name in ("Method", "register_method", "make_method"):
            import_module("gmbench.methods")  # the built-in methods register on first use
        if name in ("register_function", "make_problem"):
            import_module("gmbench.problems")
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gmbench' has no attribute {name!r}")
