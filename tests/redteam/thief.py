"""A hostile method for the red-team tests (tests/test_sealed.py): each ``route`` tries one way to find the
answer (x*) from inside the method's process, and reports what it found, or a uniform guess if it found
nothing. A cooperative method never does any of this; the tests check which routes a sealed run closes
and which ones an in-process run leaves open (the README's fairness paragraph lists them)."""

from __future__ import annotations

import gc
import hashlib
import sys
from dataclasses import dataclass

import torch

from gmbench import Method, register_method


def _frames(bb):
    f = sys._getframe()
    while f is not None:
        for v in list(f.f_locals.values()):
            if hasattr(v, "x_star") and getattr(v, "dim", None) == bb.dim:
                return v.x_star()
        f = f.f_back
    return None


def _gc(bb):
    best = None
    for o in gc.get_objects():
        try:
            if hasattr(o, "x_star") and callable(o.x_star) and getattr(o, "dim", None) == bb.dim:
                x = o.x_star().to(bb.dtype)
                e = float(bb.energy(x[None])[0])  # a paid probe picks the right one
                if best is None or e < best[0]:
                    best = (e, x)
        except Exception:  # noqa: BLE001
            continue
    return None if best is None else best[1]


def _closure(bb):
    """Every D-vector reachable from the energy function's closure cells and attributes; paid probes pick."""
    seen, todo, found = set(), [bb._energy], []
    while todo and len(seen) < 10_000:
        o = todo.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        if isinstance(o, torch.Tensor):
            if o.numel() == bb.dim:
                found.append(o.reshape(-1).to(bb.dtype))
            continue
        for c in getattr(o, "__closure__", None) or ():
            todo.append(c.cell_contents)
        for name in ("__self__", "__wrapped__", "func"):
            if hasattr(o, name):
                todo.append(getattr(o, name))
        if hasattr(o, "__dict__"):
            todo.extend(vars(o).values())
        if isinstance(o, (list, tuple)):
            todo.extend(o)
    if not found:
        return None
    e = bb.energy(torch.stack(found))
    return found[int(e.argmin())]


def _suite_secret():
    import os
    import yaml

    argvs = [sys.argv]
    try:
        argvs.append(open(f"/proc/{os.getppid()}/cmdline", "rb").read().decode().split("\0"))
    except OSError:
        pass
    for argv in argvs:
        for i, a in enumerate(argv):
            if a in ("--suite", "-s") and i + 1 < len(argv):
                return yaml.safe_load(open(argv[i + 1]))
    return None


def _argv(bb, name):
    from gmbench.problems import make_problem

    suite = _suite_secret()
    for k in range(1, 6):
        p = make_problem(name, dim=bb.dim, instance=k, secret=suite.get("secret", ""))
        x = p.x_star().to(bb.dtype)
        if float(bb.energy(x[None])[0]) <= 1e-9:
            return x
    return None


def _cells(bb, name):
    from gmbench.problems import make_problem

    for o in gc.get_objects():
        try:
            params = o.problem.params
            if o.problem.name == name and "instance" in params:
                return make_problem(name, dim=bb.dim, **params).x_star().to(bb.dtype)
        except Exception:  # noqa: BLE001
            continue
    return None


def _registry(bb, name):
    from gmbench.problems import make_problem

    for k in range(1, 6):
        x = make_problem(name, dim=bb.dim, instance=k).x_star().to(bb.dtype)
        if float(bb.energy(x[None])[0]) <= 1e-9:
            return x
    return None


def _recipe(bb, name):
    """The instance recipe copied from gmbench's source (public), with no secret: enumerate and probe."""
    lo, hi = float(bb.lower[0]), float(bb.upper[0])
    for k in range(1, 6):
        h = hashlib.sha256(f"gmbench-instance|{name}|{bb.dim}|{k}|".encode()).digest()
        g = torch.Generator().manual_seed(int.from_bytes(h[:8], "little") & (2**63 - 1))
        u = torch.rand(bb.dim, generator=g, dtype=torch.float64)
        x = ((lo + 0.1 * (hi - lo)) + 0.8 * (hi - lo) * u).to(bb.dtype)
        if float(bb.energy(x[None])[0]) <= 1e-9:
            return x
    return None


@register_method("thief")
@dataclass
class Thief(Method):
    route: str = "frames"
    guess_name: str = "schaffer-f7"

    def run(self, bb, report):
        x = None
        try:
            x = {"frames": lambda: _frames(bb), "gc": lambda: _gc(bb), "closure": lambda: _closure(bb),
                 "argv": lambda: _argv(bb, self.guess_name), "cells": lambda: _cells(bb, self.guess_name),
                 "registry": lambda: _registry(bb, self.guess_name),
                 "recipe": lambda: _recipe(bb, self.guess_name)}[self.route]()
        except BaseException:  # noqa: BLE001 - a blocked route is no answer
            x = None
        report(x.to(bb.dtype).reshape(-1) if x is not None else bb.uniform(1)[0], found=float(x is not None))


@register_method("stubborn")
@dataclass
class Stubborn(Method):
    """Reports once, then ignores every stop (it catches BaseException) for ``seconds``."""

    seconds: float = 60.0

    def run(self, bb, report):
        import time

        report(bb.uniform(1)[0])
        t0 = time.perf_counter()
        while True:
            try:
                if time.perf_counter() - t0 >= self.seconds:
                    break
                try:
                    bb.energy(bb.uniform(4))
                except BaseException:  # noqa: BLE001 - hostile on purpose
                    pass
                time.sleep(0.01)
            except BaseException:  # noqa: BLE001
                pass


@register_method("crasher")
@dataclass
class Crasher(Method):
    """Reports once, then ends its own process (as a segfaulting extension would)."""

    def run(self, bb, report):
        import os

        report(bb.uniform(1)[0])
        os._exit(9)
