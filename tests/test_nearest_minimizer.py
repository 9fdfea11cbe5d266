"""The distance to the nearest global minimizer *inside the box* on shifted and rotated instances of the
product-set functions (Alpine 1, Weierstrass), against brute force, and how the Recorder stores its
exactness (the final prediction's flag)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gmbench.problems.functions.nearest as nearest_mod
from gmbench.run.recorder import Candidate, Recorder
from gmbench.problems import make_problem
from gmbench.problems.base import Problem

pytestmark = pytest.mark.usefixtures("one_thread")

ASIN01 = math.asin(0.1)


def _alpine1_zeros(lim: float) -> np.ndarray:
    """Every zero of t (sin t + 0.1) in [-lim, lim], written out: 0, -asin 0.1 + 2 pi k, pi + asin 0.1 + 2 pi k."""
    k = np.arange(-int(lim / (2 * np.pi)) - 2, int(lim / (2 * np.pi)) + 3)
    z = np.concatenate([[0.0], -ASIN01 + 2 * np.pi * k, np.pi + ASIN01 + 2 * np.pi * k])
    z = np.unique(z[np.abs(z) <= lim])
    assert np.abs(np.sin(z[z != 0]) + 0.1).max() < 1e-13 and 0.0 in z
    return z


def _zeros(name: str, lim: float) -> np.ndarray:
    if name == "alpine1":
        return _alpine1_zeros(lim)
    return np.arange(-math.ceil(lim), math.ceil(lim) + 1, dtype=np.float64)  # weierstrass: the integers


def _dense(p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(R, s, x*) with f_k(x) = f(R (x - s) + x*), R as a dense matrix."""
    tf = p._tf
    d = p.dim
    R = (tf._rot(torch.eye(d, dtype=torch.float64), tf.blocks, tf.perm_in, tf.perm_out).T.numpy()
         if tf.rotated else np.eye(d))
    return R, tf.shift.numpy(), tf.x_star0.numpy()


def _all_in_box_minimizers(p) -> np.ndarray:
    """Brute force: every point of the product set of zeros within the box's diagonal of x* (which covers
    every point the box maps to), mapped back to the x frame and kept where inside the box."""
    lo, hi = float(p.lower[0]), float(p.upper[0])
    R, s, xs0 = _dense(p)
    diag = (hi - lo) * math.sqrt(p.dim)
    z = _zeros(p.name, diag + float(np.abs(xs0).max()) + 1.0)
    Y = np.stack(np.meshgrid(*[z] * p.dim, indexing="ij"), -1).reshape(-1, p.dim)
    X = (Y - xs0) @ R + s  # R^T (y - x*) + s, row-wise
    tol = 1e-9 * (hi - lo)
    return X[((X >= lo - tol) & (X <= hi + tol)).all(-1)]


def _points(p, n: int, seed: int) -> torch.Tensor:
    """Uniform points in the box, a quarter of them with one coordinate on a face (where the coordinate-wise
    nearest minimizer most often leaves the box)."""
    g = torch.Generator().manual_seed(seed)
    x = p.lower + (p.upper - p.lower) * torch.rand(n, p.dim, generator=g, dtype=torch.float64)
    m = n // 4
    face = torch.randint(0, p.dim, (m,), generator=g)
    side = torch.randint(0, 2, (m,), generator=g).to(torch.float64)
    x[torch.arange(m), face] = p.lower[0] + (p.upper[0] - p.lower[0]) * side
    return x


CASES = [("alpine1", None), ("weierstrass", None), ("weierstrass", (-3.0, 3.0))]


@pytest.mark.parametrize("name,bounds", CASES)
@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("rotate,path", [(True, "full"), (True, "search"), (False, "full")])
def test_stored_nearest_distance_agrees_with_brute_force(name, bounds, dim, rotate, path, monkeypatch):
    """The distance the Recorder stores (``assess_batch``) is the nearest in-box minimizer's where it is
    flagged exact and an upper bound elsewhere; the certified lower bound is below the truth. ``path``:
    small blocks enumerated completely, or (FULL_MAX = 0) the Lagrangian search used in large dimensions."""
    if path == "search":  # (without rotation the coordinate-wise nearest zero in the box is exact: no search)
        monkeypatch.setattr(nearest_mod, "FULL_MAX", 0)
    n_exact = n_all = n_old_wrong = 0
    for k in (1, 2, 3):
        p = make_problem(name, dim=dim, instance=k, rotate=rotate, bounds=bounds)
        M = _all_in_box_minimizers(p)
        assert len(M) >= 1 and float(p.energy_fn()(torch.from_numpy(M)).abs().max()) < 1e-9
        x = _points(p, 1500, seed=10 * k + dim)
        truth = torch.cdist(x, torch.from_numpy(M)).min(-1).values
        stored = p.assess_batch(x)
        d = torch.tensor([a.dist_nearest for a in stored], dtype=torch.float64)
        ex = torch.tensor([a.nearest_exact for a in stored])
        lower, upper, ex2 = p.nearest_distance_bounds(x)
        near, _ = p.nearest_minimizers(x)
        assert torch.equal(ex, ex2) and torch.allclose(upper, d, rtol=0, atol=1e-12)
        # the returned point is a global minimizer inside the box, so its distance bounds the truth from above
        tol = 1e-9 * float(p.upper[0] - p.lower[0])
        assert bool(((near >= p.lower - tol) & (near <= p.upper + tol)).all())
        assert float(p.energy_fn()(near).abs().max()) < 1e-9
        assert bool((d >= truth - 1e-9).all()), "a stored distance below the true in-box distance"
        assert torch.allclose(d[ex], truth[ex], rtol=0, atol=1e-9), "flagged exact but not the nearest"
        assert bool((lower <= truth + 1e-9).all()), "a 'certified' lower bound above the truth"
        n_exact += int(ex.sum())
        n_all += len(x)
        # the coordinate-wise nearest zero (in R^D, ignoring the box) is below the truth for some of these points
        R, s, xs0 = _dense(p)
        y = (x.numpy() - s) @ R.T + xs0
        z = _zeros(name, float(np.abs(y).max()) + 2.0)
        idx = np.abs(y[..., None] - z).argmin(-1)
        old = np.linalg.norm(y - z[idx], axis=-1)
        n_old_wrong += int((old < truth.numpy() - 1e-9).sum())
    assert n_old_wrong > 0, "these points never exercise a nearest minimizer outside the box"
    if not rotate:
        assert n_exact == n_all  # the image of the box is a box: per coordinate, exactly
    print(f"{name} {bounds} D={dim} rotate={rotate} {path}: exact {n_exact}/{n_all}")
    assert n_exact / n_all >= (0.98 if path == "search" else 1.0), n_exact / n_all


def _milp_nearest(p, x: torch.Tensor, radius: float) -> float:
    """The nearest in-box minimizer by mixed-integer programming (scipy's HiGHS, zero gap): one binary per
    coordinate and zero within ``radius`` of the point's image, one zero per coordinate, the box as linear
    constraints on the chosen zeros. ``radius`` must bound the nearest distance from above."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    R, s, xs0 = _dense(p)
    lo, hi = float(p.lower[0]), float(p.upper[0])
    y = R @ (x.numpy() - s) + xs0
    z = _zeros(p.name, float(np.abs(y).max()) + radius + 1.0)
    coord, val = [], []
    for i in range(p.dim):
        zi = z[np.abs(z - y[i]) <= radius + 1e-9]
        coord += [i] * len(zi)
        val += list(zi)
    coord, val = np.array(coord), np.array(val)
    one = coo_matrix((np.ones(len(val)), (coord, np.arange(len(val)))), shape=(p.dim, len(val)))
    A = R.T[:, coord] * val[None, :]  # x = R^T (z - x*) + s
    off = s - R.T @ xs0
    tol = 1e-9 * (hi - lo)
    res = milp((val - y[coord]) ** 2, integrality=np.ones(len(val)), bounds=Bounds(0, 1),
               constraints=[LinearConstraint(one.tocsr(), 1, 1), LinearConstraint(A, lo - off - tol, hi - off + tol)],
               options={"mip_rel_gap": 0.0, "time_limit": 120})
    assert res.status == 0, res.message
    return math.sqrt(max(res.fun, 0.0))


@pytest.mark.parametrize("name,dim,bounds,n", [("alpine1", 100, None, 8), ("alpine1", 40, (-100.0, 100.0), 6),
                                                ("weierstrass", 40, (-3.0, 3.0), 6)])
def test_large_dimensions_against_an_exact_integer_program(name, dim, bounds, n):
    """Blocks of 40 coordinates: no enumeration of the product set is possible, so an exact MILP solver is
    the reference. The returned minimizer's distance bounds the MILP optimum from above (so it is a valid
    radius for the MILP's zeros), equals it where flagged exact, and the lower bound stays below it."""
    p = make_problem(name, dim=dim, instance=2, rotate=True, bounds=bounds)
    g = torch.Generator().manual_seed(3)
    x = p.lower + (p.upper - p.lower) * torch.rand(n, dim, generator=g, dtype=torch.float64)
    lower, upper, exact = p.nearest_distance_bounds(x)
    near, _ = p.nearest_minimizers(x)
    assert bool(((near >= p.lower - 1e-8) & (near <= p.upper + 1e-8)).all())
    assert float(p.energy_fn()(near).abs().max()) < 1e-8
    assert torch.allclose(torch.linalg.vector_norm(near - x, dim=-1), upper, rtol=1e-12)
    for i in range(n):
        truth = _milp_nearest(p, x[i], float(upper[i]))
        assert float(upper[i]) >= truth * (1 - 1e-9) - 1e-9
        assert float(lower[i]) <= truth * (1 + 1e-9) + 1e-9
        if exact[i]:
            assert float(upper[i]) == pytest.approx(truth, rel=1e-9, abs=1e-9)
    if name == "alpine1" and bounds is None:  # the native box at D = 100: both claims are exercised
        assert bool(exact.any()) and not bool(exact.all())


def test_rows_are_independent_of_the_batch():
    """A point's answer does not depend on the other points assessed with it (budgets are per point and block)."""
    p = make_problem("alpine1", dim=100, instance=1, rotate=True)
    g = torch.Generator().manual_seed(7)
    x = p.lower + (p.upper - p.lower) * torch.rand(24, 100, generator=g, dtype=torch.float64)
    lo, up, ex = p.nearest_distance_bounds(x)
    one = [p.nearest_distance_bounds(x[i:i + 1]) for i in range(len(x))]
    assert torch.equal(up, torch.cat([o[1] for o in one])) and torch.equal(ex, torch.cat([o[2] for o in one]))
    assert torch.allclose(lo, torch.cat([o[0] for o in one]), rtol=1e-12, atol=0)  # (GEMM batch sizes: ulps)
    assert bool(ex.any()) and not bool(ex.all()), "both kinds of point in the batch"


def test_paper_box_is_certified():
    """alpine1 at D = 100 on [-100, 100], the suites' rotated instances: the search certifies the uniform
    points whose coordinate-wise nearest minimizer leaves the box (they exist), all of them here."""
    p = make_problem("alpine1", dim=100, instance=3, rotate=True, bounds=(-100.0, 100.0))
    x = _points(p, 400, seed=1)
    lower, upper, exact = p.nearest_distance_bounds(x)
    R, s, xs0 = _dense(p)
    y = (x.numpy() - s) @ R.T + xs0
    z = _zeros("alpine1", float(np.abs(y).max()) + 4.0)
    x0 = (z[np.abs(y[..., None] - z).argmin(-1)] - xs0) @ R + s  # the coordinate-wise nearest, mapped back
    outside = ((x0 < -100 - 1e-7) | (x0 > 100 + 1e-7)).any(-1)
    assert int(outside.sum()) > 20
    assert bool(exact.all()) and torch.allclose(lower, upper, rtol=1e-12)


# ---- the Recorder stores the final prediction's flag -----------------------------------------------------

class _HalfKnown(Problem):
    """x* = 0 in [-1, 1]^2; the nearest-minimizer distance is exact only for points with x_0 >= 0."""

    name = "_half-known"
    dim = 2
    lower = -torch.ones(2, dtype=torch.float64)
    upper = torch.ones(2, dtype=torch.float64)

    def energy_fn(self):
        return lambda x: (x * x).sum(-1)

    def x_star(self):
        return torch.zeros(2, dtype=torch.float64)

    def nearest_minimizers(self, x):
        return torch.zeros_like(x), x[..., 0] >= 0


def _cand(x: list[float], t: float) -> Candidate:
    return Candidate(t=t, n_energy=1, n_grad=0, n_cost=1, x=torch.tensor(x, dtype=torch.float64), scalars={})


def test_recorder_stores_the_final_candidates_flag_not_an_and():
    rec = Recorder(_HalfKnown())
    rec.assess([_cand([-0.9, 0.5], 0.1), _cand([0.1, 0.1], 0.2), _cand([-0.5, 0.0], 0.3)])
    assert rec.exact == [False, True, False]
    s = rec.summary()
    assert s["final_energy"] == pytest.approx(0.02) and s["nearest_exact"] is True and rec.nearest_exact is True
    assert s["min_dist_nearest_exact"] is False  # a minimum over upper bounds is only an upper bound
    rec = Recorder(_HalfKnown())
    rec.assess([_cand([0.9, 0.5], 0.1), _cand([-0.1, 0.1], 0.2)])
    s = rec.summary()
    assert s["final_energy"] == pytest.approx(0.02) and s["nearest_exact"] is False and rec.nearest_exact is False


def test_the_table_marks_only_inexact_final_distances():
    from gmbench.report.tables import METRICS, render

    base = {"suite": "s", "problem": "alpine1 (D=100)", "seeds_done": 1, "seeds_total": 1, "failed": 0,
            "unavailable": None, "errors": [], "overrun_max_s": 0.0, "contended": None, "config": {"name": "alpine1"},
            "final_gap": None, **{c: None for _, c in METRICS}}
    one = {"median": 1.5, "min": 1.5, "max": 1.5, "n": 1}
    two = {"median": 2.5, "min": 2.5, "max": 2.5, "n": 1}
    recs = [{**base, "method": "a", "nearest_exact": True, "final_dist_nearest": one},
            {**base, "method": "b", "nearest_exact": False, "final_dist_nearest": two}]
    out = render(recs, "markdown")
    line = {ln.split("|")[1].strip(): ln for ln in out.splitlines() if ln.startswith("| a") or ln.startswith("| b")}
    assert "≤ 2.5" in line["b"] and "≤" not in line["a"] and "1.5" in line["a"]
    assert "'≤' marks an upper bound" in out and "≥" not in out
