"""Helpers shared by tests: a BlackBox over a problem, and the object-graph walk that checks no path
leads from what a method gets to the answer."""

from __future__ import annotations

import functools
import types

import torch

from gmbench.core.blackbox import BlackBox, Budget, Clock
from gmbench.problems import Problem


def make_bb(problem: Problem, budget: Budget = Budget(None, None), dtype=torch.float64) -> BlackBox:
    g = torch.Generator().manual_seed(0)
    return BlackBox(problem.energy_fn(), problem.dim, problem.lower, problem.upper, torch.device("cpu"), dtype, g,
                    budget, Clock(torch.device("cpu")), problem.start_sampler())


def reachable(root, max_depth: int = 8):
    """Every object reachable from ``root`` through attributes, slots, closures, bound selves and containers
    (not module globals: those are the interpreter's, not a path the harness hands out)."""
    seen, stack, found = set(), [(root, 0)], []
    while stack:
        obj, depth = stack.pop()
        if id(obj) in seen or depth > max_depth or isinstance(obj, (types.ModuleType, type)):
            continue
        seen.add(id(obj))
        found.append(obj)
        kids = []
        if isinstance(obj, dict):
            kids += list(obj.keys()) + list(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            kids += list(obj)
        if hasattr(obj, "__dict__") and not isinstance(obj, types.FunctionType):
            kids += list(vars(obj).values())
        for cls in type(obj).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if hasattr(obj, slot):
                    kids.append(getattr(obj, slot))
        if isinstance(obj, types.FunctionType):
            kids += [c.cell_contents for c in (obj.__closure__ or ()) if _has_contents(c)]
            kids += list(obj.__defaults__ or ()) + list((obj.__kwdefaults__ or {}).values())
        if isinstance(obj, types.MethodType):
            kids.append(obj.__self__)
            kids.append(obj.__func__)
        if isinstance(obj, functools.partial):
            kids += [obj.func, *obj.args, *obj.keywords.values()]
        stack += [(k, depth + 1) for k in kids]
    return found


def _has_contents(cell) -> bool:
    try:
        cell.cell_contents
        return True
    except ValueError:
        return False
