"""The contract kit: checks a problem or a method (a built-in one or a plugin) against what gmbench
relies on, in the spirit of BoTorch's test-function mixins. Use it in a plugin's own tests::

    from gmbench.testing import check_method, check_problem
    check_problem(make_problem("my-landscape", dim=5))
    check_method("my-method", {"batch_size": 64})

Each check raises ``AssertionError`` with the failed property and returns the measured numbers.

Problems (:func:`check_problem`): f(x*) = f* where both are declared; no sampled point below f*; an
energy batch equals its rows evaluated one by one; float32 energies agree with float64 ones; gradients
are finite wherever the energy is, and a fused analytic energy-and-gradient agrees with autograd.

Methods (:func:`check_method`): a method reports at least one candidate within its evaluation budget,
gives the same run for the same seed (all its randomness from ``bb.generator``), and holds no path to
the answer (no object reachable from the method or its BlackBox is the problem, nor, before the run,
a tensor equal to x*).
"""

from __future__ import annotations

import copy
import functools
import math
import types
from typing import Any

import torch
from torch import Tensor

from gmbench.core.blackbox import BlackBox
from gmbench.core.budget import Budget, BudgetExhausted

__all__ = ["check_problem", "check_method", "reachable"]


def check_problem(problem: Any, n: int = 64, seed: int = 0) -> dict[str, float]:
    """Check one built problem (see the module doc); returns the largest deviations measured."""
    name = problem.config().get("name", type(problem).__name__)
    g = torch.Generator().manual_seed(seed)
    f = problem.energy_fn()
    lo, hi = problem.lower.to(torch.float64), problem.upper.to(torch.float64)
    uniform = lo + (hi - lo) * torch.rand((n, problem.dim), generator=g, dtype=torch.float64)
    starts = problem.start_sampler()(min(n, 8), g).to(torch.float64)  # (cluster starts are costly to make)
    x = torch.cat([uniform, starts])
    out: dict[str, float] = {}
    with torch.no_grad():
        e = f(x)
    assert e.shape == (x.shape[0],), f"{name}: energy of a ({x.shape[0]}, D) batch has shape {tuple(e.shape)}"
    finite = torch.isfinite(e)
    assert bool(finite[:n].any()), f"{name}: no finite energy at {n} uniform points"
    f_star = problem.f_star
    if f_star is not None:
        tol = 1e-6 * max(1.0, abs(f_star))
        below = float((f_star - e[finite]).max())
        out["max_below_f_star"] = below
        assert below <= tol, f"{name}: a sampled point lies {below:.3g} below f* = {f_star}"
        xs = problem.x_star()
        if xs is not None:
            with torch.no_grad():
                e_star = float(f(xs.to(torch.float64)[None])[0])
            out["f_x_star_error"] = abs(e_star - f_star)
            assert abs(e_star - f_star) <= tol, f"{name}: f(x*) = {e_star!r} but f* = {f_star!r}"
    with torch.no_grad():  # a batch is its rows
        rows = torch.stack([f(x[i:i + 1])[0] for i in range(min(8, x.shape[0]))])
    both = torch.isfinite(rows)
    dev = float(_rel(e[:rows.shape[0]][both], rows[both]).max()) if bool(both.any()) else 0.0
    out["batch_vs_rows"] = dev
    assert dev <= 1e-10, f"{name}: a batch's energies differ from its rows' by {dev:.3g} (relative)"
    with torch.no_grad():  # float32 tracks float64
        e32 = f(x.to(torch.float32)).to(torch.float64)
    ok = finite & torch.isfinite(e32) & (e.abs() < 1e30)
    scale = e[ok].abs().median().clamp_min(1.0) if bool(ok.any()) else torch.tensor(1.0)
    dev32 = float(((e32[ok] - e[ok]).abs() / torch.maximum(e[ok].abs(), scale)).max()) if bool(ok.any()) else 0.0
    out["float32_vs_float64"] = dev32
    assert dev32 <= 1e-3, f"{name}: float32 energies differ from float64 by {dev32:.3g} (relative)"
    bb = BlackBox.from_problem(problem, seed=seed)
    xf = x[finite][:16]
    eg, gr = bb.energy_and_grad(xf)
    assert bool(torch.isfinite(gr).all()), f"{name}: a gradient is not finite where the energy is"
    if problem.energy_and_grad_fn() is not None:  # the fused analytic path against autograd
        from gmbench.core.autodiff import energy_and_grad

        ea, ga = energy_and_grad(f, xf)
        dg = float(_rel(gr, ga).max())
        out["fused_vs_autograd_grad"] = dg
        assert torch.equal(eg, ea) or float(_rel(eg, ea).max()) <= 1e-12, f"{name}: fused energies differ"
        assert dg <= 1e-8, f"{name}: fused gradient differs from autograd by {dg:.3g} (relative)"
    return out


def _rel(a: Tensor, b: Tensor) -> Tensor:
    return (a - b).abs() / torch.maximum(b.abs(), torch.ones_like(b))


def check_method(method: Any, params: dict[str, Any] | None = None, problem: Any = None, evals: int = 2000,
                 seed: int = 0, dtype: torch.dtype = torch.float64) -> dict[str, float]:
    """Run ``method`` (a registered name, or a built :class:`~gmbench.methods.base.Method` whose
    configuration is reused) twice with the same seed on ``problem`` (default: a shifted 5-D sphere
    instance) under an evaluation budget of ``evals`` and check the contract (see the module doc)."""
    from gmbench.run.recorder import Inbox, Recorder
    from gmbench.methods import make_method
    from gmbench.problems import make_problem

    if problem is None:
        problem = make_problem("sphere", dim=5, instance=1)
    if isinstance(method, str):
        name = method
        build = lambda: make_method(name, dict(params or {}), system=problem.config().get("system"))  # noqa: E731
    else:  # a built method (a plugin's, registered or not): a fresh copy per run
        name = method.name or type(method).__name__
        build = lambda: copy.deepcopy(method)  # noqa: E731
    runs = []
    for _ in range(2):
        m = build()
        bb = BlackBox.from_problem(problem, Budget(None, evals), seed=seed, dtype=dtype)
        inbox = Inbox(bb)
        leaked = _answer_in(reachable((m, bb, inbox)), problem)  # before the run: what the method is handed
        assert not leaked, f"{name}: the answer is reachable from what the method gets ({leaked})"
        try:
            m.run(bb, inbox)
        except BudgetExhausted:
            pass
        # after it (a method may find x* itself, so only a Problem object counts as a leak here)
        leaked = _answer_in(reachable((m, bb, inbox)), problem, tensors=False)
        assert not leaked, f"{name}: the method holds the answer after its run ({leaked})"
        runs.append((bb, inbox))
    (bb, inbox), (bb2, inbox2) = runs
    assert inbox.candidates, f"{name}: reported no candidate within {evals} evaluations"
    same = (bb.n_cost == bb2.n_cost and len(inbox.candidates) == len(inbox2.candidates)
            and all(torch.equal(a.x, b.x) for a, b in zip(inbox.candidates, inbox2.candidates)))
    assert same, f"{name}: two runs with the same seed differ"
    rec = Recorder(problem, m.summaries, dtype=dtype)
    rec.assess(inbox.candidates)
    s = rec.summary()
    assert "final_energy" in s and math.isfinite(s["final_energy"]), f"{name}: no finite reported energy"
    return {"n_cost": float(bb.n_cost), "n_grad": float(bb.n_grad), "candidates": float(len(inbox.candidates)),
            "final_energy": float(s["final_energy"]), "final_gap": float(s["final_gap"])}


def _answer_in(objs: list[Any], problem: Any, tensors: bool = True) -> str:
    """What of the answer ``objs`` hold: a Problem, or (``tensors``) a tensor equal to x* (unless x* is
    a bound)."""
    from gmbench.problems.base import Problem

    if any(isinstance(o, Problem) for o in objs):
        return "a Problem"
    xs = problem.x_star() if tensors else None
    if xs is None or torch.equal(xs, problem.lower.to(xs)) or torch.equal(xs, problem.upper.to(xs)):
        return ""
    for o in objs:
        if isinstance(o, Tensor) and o.shape == xs.shape and torch.equal(o.detach().to("cpu", xs.dtype), xs):
            return "a tensor equal to x*"
    return ""


def reachable(root: Any, max_depth: int = 8) -> list[Any]:
    """Every object reachable from ``root`` through attributes, slots, closures, bound selves and
    containers (not module globals: those are the interpreter's, not a path the harness hands out)."""
    seen, stack, found = set(), [(root, 0)], []
    while stack:
        obj, depth = stack.pop()
        if id(obj) in seen or depth > max_depth or isinstance(obj, (types.ModuleType, type)):
            continue
        seen.add(id(obj))
        found.append(obj)
        kids: list[Any] = []
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
            kids += [obj.__self__, obj.__func__]
        if isinstance(obj, functools.partial):
            kids += [obj.func, *obj.args, *obj.keywords.values()]
        stack += [(k, depth + 1) for k in kids]
    return found


def _has_contents(cell: Any) -> bool:
    try:
        cell.cell_contents
        return True
    except ValueError:
        return False
