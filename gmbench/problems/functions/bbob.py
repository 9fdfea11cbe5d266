"""COCO's bbob suite: the 24 noiseless single-objective functions, batched and differentiable in torch.

The functions, their instances (x_opt, f_opt, rotations, the T_osz / T_asy / Lambda transformations
and the f_pen boundary penalty) are those of COCO (Hansen, Finck, Ros, Auger, "Real-parameter
black-box optimization benchmarking 2009: noiseless functions definitions", INRIA RR-6829, 2009; and
Hansen et al., "COCO: a platform for comparing continuous optimizers in a black-box setting", Optim.
Methods Softw. 36, 2021). Ported, in our own code, from COCO's public C sources (github.com/numbbo/coco,
``code-experiments/src``: ``suite_bbob.c`` for the seeds, ``suite_bbob_legacy_code.c`` for the random
numbers, x_opt, f_opt and the rotations, ``f_*.c`` for the functions and ``transform_vars_*.c`` /
``transform_obj_*.c`` for the transformations), cross-read with IOHprofiler's C++ port
(github.com/IOHprofiler/IOHexperimenter, ``include/ioh/problem/bbob/*.hpp``). ``tests/test_bbob.py``
compares every function with COCO's ``cocoex`` and IOHprofiler's ``ioh`` (test-only oracles).

* **Instances** are COCO's: instance k >= 1 of function f draws everything from the bbob legacy
  generator (Park-Miller with a Bays-Durham shuffle) seeded with ``rseed = f + 10000 k`` (f4 uses f3's
  seed, f18 f17's, as in COCO), x_opt = 8 floor(10^4 u) / 10^4 - 4, f_opt = round(100 g1 / g2) clamped
  to [-1000, 1000] (Cauchy draw, seed ``rseed`` and ``rseed + 1``), rotations by Gram-Schmidt on
  Gaussian draws (seed ``rseed + 1000000`` for R, ``rseed`` for Q). Instance 0 does not exist in COCO
  and is refused; gmbench's SHA-256 instance recipe and suite ``secret:`` do not apply to bbob.
* **Dimensions** 2..40 (COCO's bbob suite offers 2, 3, 5, 10, 20, 40; the same code defines every D
  in between; its legacy rotation code holds D^2 < 2000).
* **Box**: COCO's [-5, 5]^D. The functions are defined on R^D (with COCO's boundary penalties).
* **Numerics**: every operation follows COCO's order (shift, then the affine maps); values agree with
  COCO and IOHprofiler to <= 2e-12 relative in float64 (<= 5e-9 for f16, f19 and f23, whose formulas
  amplify the rounding of their arguments; docs/bbob.md). Two algebraic rewrites: the Rastrigin sums use
  ``20 sin^2(pi z)`` for ``10 (1 - cos 2 pi z)`` (no cancellation near the optimum) and T_osz uses
  ``exp(0.1 A)`` for ``exp(A)^0.1``. f16 (Weierstrass, frequencies up to 3^11), f19 (cos of s up to
  ~1e6), f21/f22 (Gallagher's peak distances, expanded as matrix products) and f23 (Katsuura, 2^32)
  are computed in float64 whatever the input dtype and cast back: in float32 their high-frequency or
  cancelling terms are noise.

Differentiability (declared in each function's ``properties``, as the Plevris functions do): T_osz is
not differentiable at 0 (its slope oscillates), so functions that rotate or mix its output (f15, f16)
are not differentiable on hyperplanes through x_opt; where T_osz feeds a square or the Rastrigin
cosine directly (f2, f3, f4, f10, f11) the composite is differentiable. f5 (the clamp outside the box),
f7 (plateaus; discontinuous), f13 (sharp ridge), f14 (at x_opt), f17/f18 (fractional powers), f21/f22
(max over peaks), f23 (nowhere smooth) and f24 (min of two funnels) are declared non-differentiable.
At the non-smooth points the returned gradient is autograd's with guarded roots (0 for a branch that
is switched off). f1-f3, f5, f8-f12, f16, f19 and f23 have analytic fused energy+gradient kernels
(``eg``, energies bit for bit the energy function's); the others use autograd.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from gmbench.core.errors import GmbenchError
from gmbench.problems import register_problem
from gmbench.problems.base import EnergyFn, Problem, Properties

BOUND = 5.0
MIN_DIM, MAX_DIM = 2, 40
MAX_INSTANCE = 200_000  # rseed = f + 10000 k stays below 2^31 (COCO's seeds are C longs, 32-bit on Windows)
_TWO_PI = 2.0 * math.pi

# ------------------------------------------------------------------------------------------------
# COCO's legacy random numbers (suite_bbob_legacy_code.c): bbob2009_unif / _gauss / _compute_*
# ------------------------------------------------------------------------------------------------


def legacy_uniform(n: int, seed: int) -> np.ndarray:
    """``bbob2009_unif``: n uniform numbers in (0, 1] from the Park-Miller generator (Schrage's
    method) with a 32-entry Bays-Durham shuffle table, exactly as COCO draws them."""
    seed = abs(int(seed))
    akt = max(seed, 1)
    table = [0] * 32
    for i in range(39, -1, -1):
        tmp = akt // 127773
        akt = 16807 * (akt - tmp * 127773) - 2836 * tmp
        if akt < 0:
            akt += 2147483647
        if i < 32:
            table[i] = akt
    rand = table[0]
    out = [0] * n
    for i in range(n):
        tmp = akt // 127773
        akt = 16807 * (akt - tmp * 127773) - 2836 * tmp
        if akt < 0:
            akt += 2147483647
        k = rand // 67108865
        rand = table[k]
        table[k] = akt
        out[i] = rand
    r = np.asarray(out, dtype=np.float64) / 2.147483647e9
    r[r == 0.0] = 1e-99
    return r


def legacy_gauss(n: int, seed: int) -> np.ndarray:
    """``bbob2009_gauss``: Box-Muller on 2n legacy uniforms (glibc's log/cos, as the C code)."""
    u = legacy_uniform(2 * n, seed)
    g = np.array([math.sqrt(-2.0 * math.log(u[i])) * math.cos(_TWO_PI * u[n + i]) for i in range(n)],
                 dtype=np.float64)
    g[g == 0.0] = 1e-99
    return g


def legacy_rotation(seed: int, dim: int) -> np.ndarray:
    """``bbob2009_compute_rotation``: Gaussian matrix (column-major fill), modified Gram-Schmidt on its
    columns in order. Row i, column j is ``B[i, j]``; COCO's affine maps compute ``B @ x``."""
    g = legacy_gauss(dim * dim, seed)
    b = g.reshape(dim, dim).T.copy()  # B[i][j] = g[j * dim + i]
    for i in range(dim):
        for j in range(i):
            b[:, i] -= float(b[:, i] @ b[:, j]) * b[:, j]
        b[:, i] /= math.sqrt(float(b[:, i] @ b[:, i]))
    return b


def legacy_xopt(seed: int, dim: int) -> np.ndarray:
    """``bbob2009_compute_xopt``: 8 floor(10^4 u) / 10^4 - 4, and -1e-5 instead of 0."""
    x = 8.0 * np.floor(1e4 * legacy_uniform(dim, seed)) / 1e4 - 4.0
    x[x == 0.0] = -1e-5
    return x


def legacy_fopt(function: int, instance: int) -> float:
    """``bbob2009_compute_fopt``: a rounded Cauchy draw in [-1000, 1000] (f4 and f18 use the seeds of
    f3 and f17)."""
    rseed = {4: 3, 18: 17}.get(function, function) + 10000 * instance
    g1 = legacy_gauss(1, rseed)[0]
    g2 = legacy_gauss(1, rseed + 1)[0]
    return min(1000.0, max(-1000.0, math.floor(100.0 * 100.0 * g1 / g2 + 0.5) / 100.0))


def _rseed(function: int, instance: int) -> int:
    return {4: 3, 18: 17}.get(function, function) + 10000 * instance


def _exponents(dim: int) -> np.ndarray:
    """i / (D - 1), i = 0..D-1 (COCO's ``(double) i / ((double) D - 1.0)``)."""
    return np.arange(dim, dtype=np.float64) / (float(dim) - 1.0)


def _powers(base: float, expo: np.ndarray) -> np.ndarray:
    return np.array([math.pow(base, float(e)) for e in expo], dtype=np.float64)


def _lam(alpha: float, dim: int) -> np.ndarray:
    """Lambda^alpha's diagonal: alpha^(0.5 i / (D - 1)) (COCO's transform_vars_conditioning)."""
    return np.array([math.pow(alpha, 0.5 * i / (float(dim) - 1.0)) for i in range(dim)], dtype=np.float64)


def _rot_lam_rot(r: np.ndarray, lam: np.ndarray, q: np.ndarray) -> np.ndarray:
    """M = R diag(lam) Q (COCO's ``current_row[j] += rot1[i][k] * pow(...) * rot2[k][j]``)."""
    return (r * lam[None, :]) @ q


# ------------------------------------------------------------------------------------------------
# batched torch transformations
# ------------------------------------------------------------------------------------------------


def t_osz(z: Tensor) -> Tensor:
    """T_osz (COCO's transform_vars_oscillate), elementwise; 0 at 0 (with a zero gradient there)."""
    nz = z != 0
    t = torch.log(torch.where(nz, z.abs(), 1.0)) / 0.1
    pos = z > 0
    osc = torch.where(pos, torch.sin(t) + torch.sin(0.79 * t), torch.sin(0.55 * t) + torch.sin(0.31 * t))
    mag = torch.exp(0.1 * (t + 0.49 * osc))
    return torch.where(nz, torch.where(pos, mag, -mag), 0.0)


def t_osz_d(z: Tensor) -> tuple[Tensor, Tensor]:
    """(T_osz(z), dT_osz/dz); the derivative is taken as 0 at z = 0, where T_osz has none (its slope
    oscillates between about 0.11 and 2.2): the value autograd gives :func:`t_osz` there."""
    nz = z != 0
    safe = torch.where(nz, z.abs(), 1.0)
    t = torch.log(safe) / 0.1
    pos = z > 0
    c1 = torch.where(pos, z.new_tensor(1.0), z.new_tensor(0.55))  # in z's dtype (a bare 0.55 would be float32)
    c2 = torch.where(pos, z.new_tensor(0.79), z.new_tensor(0.31))
    osc = torch.sin(c1 * t) + torch.sin(c2 * t)
    mag = torch.exp(0.1 * (t + 0.49 * osc))
    val = torch.where(nz, torch.where(pos, mag, -mag), 0.0)
    slope = (mag / safe) * (1.0 + 0.49 * (c1 * torch.cos(c1 * t) + c2 * torch.cos(c2 * t)))
    return val, torch.where(nz, slope, 0.0)


def t_osz_scalar(y: Tensor) -> Tensor:
    """COCO's transform_obj_oscillate (the same map on a value)."""
    return t_osz(y)


def t_asy(z: Tensor, w: Tensor) -> Tensor:
    """T_asy^beta: z^(1 + w_i sqrt(z)) for z > 0 (w_i = beta i / (D - 1)), z otherwise."""
    pos = z > 0
    s = torch.where(pos, z, 1.0)
    return torch.where(pos, s.pow(1.0 + w * s.sqrt()), z)


def t_asy_d(z: Tensor, w: Tensor) -> tuple[Tensor, Tensor]:
    """(T_asy(z), dT_asy/dz): for z > 0, d/dz z^(1 + w sqrt z) = z^(w sqrt z) (1 + w sqrt z + w sqrt(z) log(z) / 2)."""
    pos = z > 0
    s = torch.where(pos, z, 1.0)
    r = s.sqrt()
    e = 1.0 + w * r
    val = s.pow(e)
    d = (val / s) * (e + 0.5 * w * r * torch.log(s))
    return torch.where(pos, val, z), torch.where(pos, d, 1.0)


def f_pen(x: Tensor) -> Tensor:
    """COCO's boundary penalty sum max(0, |x_i| - 5)^2."""
    return torch.clamp(x.abs() - BOUND, min=0).square().sum(-1)


def f_pen_d(x: Tensor) -> tuple[Tensor, Tensor]:
    over = torch.clamp(x.abs() - BOUND, min=0)
    return over.square().sum(-1), 2.0 * over * torch.sign(x)


def _rastrigin(z: Tensor) -> Tensor:
    """10 (D - sum cos 2 pi z) + sum z^2, as sum (z^2 + 20 sin^2(pi z))."""
    s = torch.sin(math.pi * z)
    return torch.addcmul(z * z, s, s, value=20.0).sum(-1)


def _rastrigin_d(z: Tensor) -> tuple[Tensor, Tensor]:
    s = torch.sin(math.pi * z)
    e = torch.addcmul(z * z, s, s, value=20.0).sum(-1)
    return e, 2.0 * z + 20.0 * math.pi * torch.sin(_TWO_PI * z)


def _rosenbrock(z: Tensor) -> Tensor:
    a, b = z[..., :-1], z[..., 1:]
    t1 = a * a - b
    t2 = a - 1.0
    return 100.0 * (t1 * t1).sum(-1) + (t2 * t2).sum(-1)


def _rosenbrock_d(z: Tensor) -> tuple[Tensor, Tensor]:
    a, b = z[..., :-1], z[..., 1:]
    t1 = a * a - b
    t2 = a - 1.0
    e = 100.0 * (t1 * t1).sum(-1) + (t2 * t2).sum(-1)
    g = torch.zeros_like(z)
    g[..., :-1] = 400.0 * t1 * a + 2.0 * t2
    g[..., 1:] -= 200.0 * t1
    return e, g


def _mv(x: Tensor, m: Tensor) -> Tensor:
    """Row vectors times M^T: (..., D) -> (..., D), i.e. COCO's ``M x`` for every point."""
    return x @ m.T


# ------------------------------------------------------------------------------------------------
# the 24 functions: setup (float64 numpy, once per (f, D, instance)) and energy (batched torch)
# ------------------------------------------------------------------------------------------------
# ``setup`` returns (x_opt, f_opt, params): params are what the energy needs, never x_opt itself (the
# shift enters as -x_opt, ``nx``, or pre-multiplied into an affine offset), so no tensor reachable
# from the energy equals x* (the project's guarantee for cooperative methods, tests/test_bbob.py).


def _base(f: int, dim: int, inst: int, xopt_seed_offset: int = 0) -> tuple[int, np.ndarray, float]:
    rs = _rseed(f, inst)
    return rs, legacy_xopt(rs + xopt_seed_offset, dim), legacy_fopt(f, inst)


def _setup_shift(f: int):
    def setup(dim: int, inst: int):
        _, xo, fo = _base(f, dim, inst)
        return xo, fo, {"nx": -xo}
    return setup


def _setup_f2(dim, inst):
    _, xo, fo = _base(2, dim, inst)
    return xo, fo, {"nx": -xo, "c": _powers(1.0e6, _exponents(dim))}


def _setup_f3(dim, inst):
    _, xo, fo = _base(3, dim, inst)
    return xo, fo, {"nx": -xo, "w": 0.2 * np.arange(dim) / (dim - 1.0), "lam": _lam(10.0, dim)}


def _setup_f4(dim, inst):
    _, xo, fo = _base(4, dim, inst)
    xo = xo.copy()
    xo[0::2] = np.abs(xo[0::2])  # the legacy code's step (not in the function definitions)
    return xo, fo, {"nx": -xo, "brs": _powers(math.sqrt(10.0), _exponents(dim)),
                    "even": (np.arange(dim) % 2 == 0).astype(np.float64)}


def _setup_f5(dim, inst):
    _, xo, fo = _base(5, dim, inst)
    sign = np.where(xo < 0.0, -1.0, 1.0)
    s = sign * _powers(math.sqrt(100.0), _exponents(dim))
    return BOUND * sign, fo, {"s": s, "sgn": sign, "c0": float(np.sum(5.0 * np.abs(s)))}


def _setup_rot(f: int, *, xopt_offset: int = 0):
    """f10, f11, f14 (z = R (x - x_opt)); f12 (its x_opt from seed + 1e6)."""
    def setup(dim, inst):
        rs, xo, fo = _base(f, dim, inst, xopt_offset)
        r = legacy_rotation(rs + 1000000, dim)
        p: dict[str, Any] = {"nx": -xo, "R": r}
        if f == 10:
            p["c"] = _powers(1.0e6, _exponents(dim))
        if f == 12:
            p["w"] = 0.5 * np.arange(dim) / (dim - 1.0)
        if f == 14:
            p["e"] = 2.0 + 4.0 * np.arange(dim) / (dim - 1.0)
        return xo, fo, p
    return setup


def _setup_m(f: int, alpha: float):
    """f6, f13, f23: z = R Lambda^alpha Q (x - x_opt)."""
    def setup(dim, inst):
        rs, xo, fo = _base(f, dim, inst)
        r = legacy_rotation(rs + 1000000, dim)
        q = legacy_rotation(rs, dim)
        lam = _powers(math.sqrt(alpha), _exponents(dim))
        p: dict[str, Any] = {"nx": -xo, "M": _rot_lam_rot(r, lam, q)}
        if f == 6:
            p["sgn"] = np.sign(xo)
        return xo, fo, p
    return setup


def _setup_f7(dim, inst):
    rs, xo, fo = _base(7, dim, inst)
    r = legacy_rotation(rs + 1000000, dim)
    q = legacy_rotation(rs, dim)
    c1 = np.array([math.sqrt(math.pow(100.0 / 10.0, i / float(dim - 1))) for i in range(dim)])
    return xo, fo, {"nx": -xo, "A": c1[:, None] * q, "R": r,
                    "c": np.array([math.pow(100.0, i / (float(dim) - 1.0)) for i in range(dim)])}


def _factor(dim: int) -> float:
    return max(1.0, math.sqrt(float(dim)) / 8.0)


def _setup_f8(dim, inst):
    _, xo, fo = _base(8, dim, inst)
    xo = 0.75 * xo
    return xo, fo, {"nx": -xo, "k": _factor(dim)}


def _setup_f9(dim, inst):
    rs = _rseed(9, inst)
    fo = legacy_fopt(9, inst)
    q = legacy_rotation(rs, dim)
    k = _factor(dim)
    return q.sum(axis=0) / (2.0 * k), fo, {"M": k * q}


def _setup_f15(dim, inst):
    rs, xo, fo = _base(15, dim, inst)
    r = legacy_rotation(rs + 1000000, dim)
    q = legacy_rotation(rs, dim)
    return xo, fo, {"nx": -xo, "R": r, "M": _rot_lam_rot(r, _powers(math.sqrt(10.0), _exponents(dim)), q),
                    "w": 0.2 * np.arange(dim) / (dim - 1.0)}


_WK = 12  # Weierstrass summands


def _setup_f16(dim, inst):
    rs, xo, fo = _base(16, dim, inst)
    r = legacy_rotation(rs + 1000000, dim)
    q = legacy_rotation(rs, dim)
    ak = np.array([math.pow(0.5, float(k)) for k in range(_WK)])
    bk = np.array([math.pow(3.0, float(k)) for k in range(_WK)])
    f0 = 0.0
    for k in range(_WK):
        f0 += ak[k] * math.cos(2 * math.pi * bk[k] * 0.5)
    return xo, fo, {"nx": -xo, "R": r, "M": _rot_lam_rot(r, _powers(1.0 / math.sqrt(100.0), _exponents(dim)), q),
                    "ak": ak, "bk": bk, "f0": f0, "pen": 10.0 / dim}


def _setup_schaffers(f: int, cond: float):
    def setup(dim, inst):
        rs, xo, fo = _base(f, dim, inst)
        r = legacy_rotation(rs + 1000000, dim)
        q = legacy_rotation(rs, dim)
        rowscale = np.array([math.pow(math.sqrt(cond), i / (float(dim) - 1.0)) for i in range(dim)])
        return xo, fo, {"nx": -xo, "R": r, "M": rowscale[:, None] * q, "w": 0.5 * np.arange(dim) / (dim - 1.0)}
    return setup


def _setup_f19(dim, inst):
    rs = _rseed(19, inst)
    fo = legacy_fopt(19, inst)
    q = legacy_rotation(rs, dim)
    k = _factor(dim)
    return q.sum(axis=0) / (2.0 * k), fo, {"M": k * q}


_SCHWEFEL_XOPT = 0.5 * 4.2096874637


def _setup_f20(dim, inst):
    rs = _rseed(20, inst)
    fo = legacy_fopt(20, inst)
    u = legacy_uniform(dim, rs)
    sgn = np.where(u - 0.5 < 0.0, -1.0, 1.0)
    xo = sgn * _SCHWEFEL_XOPT
    return xo, fo, {"sgn": sgn, "a2": 2.0 * np.abs(xo), "lam": _lam(10.0, dim)}


def _setup_gallagher(f: int, peaks: int):
    def setup(dim, inst):
        rs = _rseed(f, inst)
        fo = legacy_fopt(f, inst)
        q = legacy_rotation(rs, dim)
        if peaks == 101:
            cond0, b, c = math.sqrt(1000.0), 10.0, 5.0
        else:
            cond0, b, c = 1000.0, 9.8, 4.9
        u = legacy_uniform(peaks - 1, rs)
        order = np.argsort(u, kind="stable")  # rperm[i].index after COCO's qsort by value
        cond = np.empty(peaks)
        cond[0] = cond0
        w = np.empty(peaks)
        w[0] = 10.0
        for i in range(1, peaks):
            cond[i] = math.pow(1000.0, float(order[i - 1]) / float(peaks - 2))
            w[i] = float(i - 1) / float(peaks - 2) * (9.1 - 1.1) + 1.1
        scales = np.empty((peaks, dim))
        for i in range(peaks):
            o = np.argsort(legacy_uniform(dim, rs + 1000 * i), kind="stable")
            scales[i] = [math.pow(cond[i], float(o[j]) / float(dim - 1) - 0.5) for j in range(dim)]
        un = legacy_uniform(dim * peaks, rs)
        xo = 0.8 * (b * un[:dim] - c)
        pts = b * un.reshape(peaks, dim) - c  # peak j's coordinates before rotation
        y = pts @ q.T  # (peaks, D): x_local[:, j] = Q pts_j
        y[0] *= 0.8
        return xo, fo, {"Q": q, "Y": y, "S": scales, "SY": scales * y, "SYY": (scales * y * y).sum(-1), "w": w}
    return setup


def _setup_f24(dim, inst):
    rs = _rseed(24, inst)
    fo = legacy_fopt(24, inst)
    r = legacy_rotation(rs + 1000000, dim)
    q = legacy_rotation(rs, dim)
    sgn = np.where(legacy_gauss(dim, rs) < 0.0, -1.0, 1.0)
    c1 = np.array([math.pow(math.sqrt(100.0), i / float(dim - 1)) for i in range(dim)])
    return 1.25 * sgn, fo, {"sgn": sgn, "M": (r * c1[None, :]) @ q}


# ---- energies: (x (..., D), p: params on x's device/dtype, fopt) -> (...) -------------------------


def e_f1(x, p):
    z = x + p["nx"]
    return (z * z).sum(-1)


def eg_f1(x, p):
    z = x + p["nx"]
    return (z * z).sum(-1), 2.0 * z


def e_f2(x, p):
    z = t_osz(x + p["nx"])
    return (p["c"] * z * z).sum(-1)


def eg_f2(x, p):
    z, dz = t_osz_d(x + p["nx"])
    cz = p["c"] * z
    return (cz * z).sum(-1), 2.0 * cz * dz


def e_f3(x, p):
    return _rastrigin(p["lam"] * t_asy(t_osz(x + p["nx"]), p["w"]))


def eg_f3(x, p):
    a, da = t_osz_d(x + p["nx"])
    b, db = t_asy_d(a, p["w"])
    e, gz = _rastrigin_d(p["lam"] * b)
    return e, gz * p["lam"] * db * da


def _brs(z, p):
    return p["brs"] * torch.where((z > 0) & (p["even"] > 0), 10.0, 1.0)


def e_f4(x, p):
    z = t_osz(x + p["nx"])
    return _rastrigin(_brs(z, p) * z) + 100.0 * f_pen(x)


def e_f5(x, p):
    x5 = BOUND * p["sgn"]  # x_opt: the corner the slope points to (held as its sign)
    z = torch.where(x * x5 < 25.0, x, x5)
    return p["c0"] - (p["s"] * z).sum(-1)


def eg_f5(x, p):
    x5 = BOUND * p["sgn"]
    inside = x * x5 < 25.0
    z = torch.where(inside, x, x5)
    return p["c0"] - (p["s"] * z).sum(-1), torch.where(inside, -p["s"], 0.0).expand_as(x).clone()


def e_f6(x, p):
    z = _mv(x + p["nx"], p["M"])
    y = torch.where(z * p["sgn"] > 0, 1.0e4, 1.0) * z * z
    t = t_osz_scalar(y.sum(-1))
    return torch.where(t > 0, torch.where(t > 0, t, 1.0).pow(0.9), 0.0)


def e_f7(x, p):
    zh = _mv(x + p["nx"], p["A"])
    x1 = zh[..., 0]
    zt = torch.where(zh.abs() > 0.5, torch.floor(zh + 0.5), torch.floor(10.0 * zh + 0.5) / 10.0)
    z = _mv(zt, p["R"])
    core = (p["c"] * z * z).sum(-1)
    return 0.1 * torch.maximum(x1.abs() * 1.0e-4, core) + f_pen(x)


def e_f8(x, p):
    return _rosenbrock(p["k"] * (x + p["nx"]) + 1.0)


def eg_f8(x, p):
    e, g = _rosenbrock_d(p["k"] * (x + p["nx"]) + 1.0)
    return e, p["k"] * g


def e_f9(x, p):
    return _rosenbrock(_mv(x, p["M"]) + 0.5)


def eg_f9(x, p):
    e, g = _rosenbrock_d(_mv(x, p["M"]) + 0.5)
    return e, g @ p["M"]


def e_f10(x, p):
    z = t_osz(_mv(x + p["nx"], p["R"]))
    return (p["c"] * z * z).sum(-1)


def eg_f10(x, p):
    z, dz = t_osz_d(_mv(x + p["nx"], p["R"]))
    cz = p["c"] * z
    return (cz * z).sum(-1), (2.0 * cz * dz) @ p["R"]


def _discus(z):
    return 1.0e6 * z[..., 0] * z[..., 0] + (z[..., 1:] * z[..., 1:]).sum(-1)


def e_f11(x, p):
    return _discus(t_osz(_mv(x + p["nx"], p["R"])))


def eg_f11(x, p):
    z, dz = t_osz_d(_mv(x + p["nx"], p["R"]))
    gz = 2.0 * z
    gz[..., 0] *= 1.0e6
    return _discus(z), (gz * dz) @ p["R"]


def _cigar(z):
    return z[..., 0] * z[..., 0] + 1.0e6 * (z[..., 1:] * z[..., 1:]).sum(-1)


def e_f12(x, p):
    return _cigar(_mv(t_asy(_mv(x + p["nx"], p["R"]), p["w"]), p["R"]))


def eg_f12(x, p):
    a, da = t_asy_d(_mv(x + p["nx"], p["R"]), p["w"])
    z = _mv(a, p["R"])
    gz = 2.0e6 * z
    gz[..., 0] = 2.0 * z[..., 0]
    return _cigar(z), ((gz @ p["R"]) * da) @ p["R"]


def e_f13(x, p):
    z = _mv(x + p["nx"], p["M"])
    r = (z[..., 1:] * z[..., 1:]).sum(-1)
    root = torch.where(r > 0, torch.where(r > 0, r, 1.0).sqrt(), 0.0)
    return 100.0 * root + z[..., 0] * z[..., 0]


def e_f14(x, p):
    z = _mv(x + p["nx"], p["R"])
    s = z.abs().pow(p["e"]).sum(-1)
    return torch.where(s > 0, torch.where(s > 0, s, 1.0).sqrt(), 0.0)


def e_f15(x, p):
    return _rastrigin(_mv(t_asy(t_osz(_mv(x + p["nx"], p["R"])), p["w"]), p["M"]))


def e_f16(x, p):
    z = _mv(t_osz(_mv(x + p["nx"], p["R"])), p["M"])
    arg = _TWO_PI * (z + 0.5)
    acc = torch.zeros_like(z)
    for k in range(_WK):  # 12 frequencies, not a loop over points
        acc = acc + torch.cos(arg * p["bk"][k]) * p["ak"][k]
    s = acc.sum(-1) / x.shape[-1] - p["f0"]
    return 10.0 * s * s * s + p["pen"] * f_pen(x)


def eg_f16(x, p):
    u = _mv(x + p["nx"], p["R"])
    t, dt = t_osz_d(u)
    z = _mv(t, p["M"])
    arg = _TWO_PI * (z + 0.5)
    acc = torch.zeros_like(z)
    dacc = torch.zeros_like(z)
    for k in range(_WK):  # 12 frequencies, not a loop over points
        ab = arg * p["bk"][k]
        acc = acc + torch.cos(ab) * p["ak"][k]
        dacc = dacc - torch.sin(ab) * (p["ak"][k] * _TWO_PI * p["bk"][k])
    s = acc.sum(-1) / x.shape[-1] - p["f0"]
    pen, gpen = f_pen_d(x)
    gz = (30.0 / x.shape[-1]) * (s * s).unsqueeze(-1) * dacc
    return 10.0 * s * s * s + p["pen"] * pen, ((gz @ p["M"]) * dt) @ p["R"] + p["pen"] * gpen


def _schaffers(x, p):
    z = _mv(t_asy(_mv(x + p["nx"], p["R"]), p["w"]), p["M"])
    s = z[..., :-1] * z[..., :-1] + z[..., 1:] * z[..., 1:]
    pos = s > 0
    safe = torch.where(pos, s, 1.0)
    term = torch.where(pos, safe.pow(0.25) * (1.0 + torch.sin(50.0 * safe.pow(0.1)).square()), 0.0)
    mean = term.sum(-1) / (x.shape[-1] - 1.0)
    return mean * mean + 10.0 * f_pen(x)


def _griewank_rosenbrock(z, dim):
    a, b = z[..., :-1], z[..., 1:]
    c1 = a * a - b
    c2 = 1.0 - a
    s = 100.0 * c1 * c1 + c2 * c2
    return 10.0 + 10.0 * (s / 4000.0 - torch.cos(s)).sum(-1) / (dim - 1)


def e_f19(x, p):
    return _griewank_rosenbrock(_mv(x, p["M"]) + 0.5, x.shape[-1])


def eg_f19(x, p):
    dim = x.shape[-1]
    z = _mv(x, p["M"]) + 0.5
    a, b = z[..., :-1], z[..., 1:]
    c1 = a * a - b
    c2 = 1.0 - a
    s = 100.0 * c1 * c1 + c2 * c2
    e = 10.0 + 10.0 * (s / 4000.0 - torch.cos(s)).sum(-1) / (dim - 1)
    ds = (10.0 / (dim - 1)) * (1.0 / 4000.0 + torch.sin(s))
    gz = torch.zeros_like(z)
    gz[..., :-1] = ds * (400.0 * c1 * a - 2.0 * c2)
    gz[..., 1:] -= ds * 200.0 * c1
    return e, gz @ p["M"]


def e_f20(x, p):
    xh = 2.0 * p["sgn"] * x
    zh = torch.cat([xh[..., :1], xh[..., 1:] + 0.25 * (xh[..., :-1] - p["a2"][:-1])], dim=-1)
    z = 100.0 * (p["lam"] * (zh - p["a2"]) + p["a2"])
    az = z.abs()
    pen = torch.clamp(az - 500.0, min=0).square().sum(-1)
    pos = az > 0
    root = torch.where(pos, torch.where(pos, az, 1.0).sqrt(), 0.0)
    return 0.01 * (pen + 418.9828872724339 - (z * torch.sin(root)).sum(-1) / x.shape[-1])


def e_gallagher(x, p):
    t = _mv(x, p["Q"])  # (..., D)
    lead = t.shape[:-1]
    t2 = t.reshape(-1, t.shape[-1])
    d2 = (t2 * t2) @ p["S"].T - 2.0 * (t2 @ p["SY"].T) + p["SYY"]  # (B, peaks): sum_j s_ij (t_j - y_ij)^2
    val = (p["w"] * torch.exp((-0.5 / x.shape[-1]) * d2.clamp(min=0))).amax(-1).reshape(lead)
    f = 10.0 - val
    return t_osz_scalar(f).square() + f_pen(x)


def _katsuura(z: Tensor, grad: bool) -> tuple[Tensor, Tensor | None]:
    """S_i = sum_{j=1..32} |2^j z_i - round(2^j z_i)| / 2^j and, with ``grad``, dS_i/dz_i. The distance
    d_j = |2^j z - round(2^j z)| follows the tent map d_{j+1} = min(2 d_j, 1 - 2 d_j) from d_1; every step
    is exact in binary floating point, so the terms are COCO's bit for bit (COCO rounds 2^j z each time).
    d d_j / dz = s_j 2^j with a sign s_j that flips whenever the tent map folds: dS/dz = sum_j s_j."""
    v = 2.0 * z
    r = v - torch.floor(v + 0.5)
    d = r.abs()
    acc = d * 0.5
    s = torch.sign(r) if grad else None
    gs = s.clone() if grad else None
    for j in range(2, 33):  # 32 binary digits, not a loop over points
        two_d = 2.0 * d
        fold = two_d > 0.5
        d = torch.where(fold, 1.0 - two_d, two_d)
        acc = acc + d * (2.0 ** -j)
        if grad:
            s = torch.where(fold, -s, s)
            gs = gs + s
    return acc, gs


def e_f23(x, p):
    z = _mv(x + p["nx"], p["M"])
    dim = x.shape[-1]
    acc, _ = _katsuura(z, False)
    idx = torch.arange(1, dim + 1, dtype=z.dtype, device=z.device)
    prod = (1.0 + idx * acc).pow(10.0 / math.pow(float(dim), 1.2)).prod(-1)
    return 10.0 / (float(dim) * float(dim)) * (prod - 1.0) + f_pen(x)


def eg_f23(x, p):
    z = _mv(x + p["nx"], p["M"])
    dim = x.shape[-1]
    acc, gs = _katsuura(z, True)
    idx = torch.arange(1, dim + 1, dtype=z.dtype, device=z.device)
    gamma = 10.0 / math.pow(float(dim), 1.2)
    a = 1.0 + idx * acc
    prod = a.pow(gamma).prod(-1)
    pen, gpen = f_pen_d(x)
    c = 10.0 / (float(dim) * float(dim))
    gz = (c * gamma) * prod.unsqueeze(-1) * idx / a * gs
    return c * (prod - 1.0) + pen, gz @ p["M"] + gpen


_MU0 = 2.5


def e_f24(x, p):
    dim = x.shape[-1]
    s = 1.0 - 0.5 / (math.sqrt(dim + 20.0) - 4.1)
    mu1 = -math.sqrt((_MU0 * _MU0 - 1.0) / s)
    xh = 2.0 * p["sgn"] * x
    z = _mv(xh - _MU0, p["M"])
    a = ((xh - _MU0) ** 2).sum(-1)
    b = float(dim) + s * ((xh - mu1) ** 2).sum(-1)
    sn = torch.sin(math.pi * z)
    return torch.minimum(a, b) + 20.0 * (sn * sn).sum(-1) + 1.0e4 * f_pen(x)


# ------------------------------------------------------------------------------------------------
# the collection
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BbobFunction:
    fid: int
    key: str  # alias stem: "bbob-<key>"
    title: str  # cocopp's short name
    properties: Properties
    setup: Callable[[int, int], tuple[np.ndarray, float, dict[str, Any]]]
    energy: Callable[[Tensor, dict[str, Tensor]], Tensor]
    eg: Callable[[Tensor, dict[str, Tensor]], tuple[Tensor, Tensor]] | None = None
    wide: bool = False  # computed in float64 whatever the input dtype
    formula: str = ""

    @property
    def name(self) -> str:
        return f"bbob-f{self.fid}"


_SMOOTH = Properties(differentiable=True, multimodal=False)
_TOSZ_NOTE = "T_osz at 0 has no derivative; squared or fed to a cosine at its minimum here, the composite has one"


def _p(**kw) -> Properties:
    return Properties(**kw)


FUNCTIONS: dict[int, BbobFunction] = {f.fid: f for f in (
    BbobFunction(1, "sphere", "Sphere", _SMOOTH, _setup_shift(1), e_f1, eg_f1, formula="||z||^2, z = x - x_opt"),
    BbobFunction(2, "ellipsoid", "Ellipsoid separable", _p(note=_TOSZ_NOTE), _setup_f2, e_f2, eg_f2,
                 formula="sum 10^(6 (i-1)/(D-1)) z_i^2, z = T_osz(x - x_opt)"),
    BbobFunction(3, "rastrigin", "Rastrigin separable", _p(multimodal=True, note=_TOSZ_NOTE), _setup_f3, e_f3,
                 eg_f3, formula="10 (D - sum cos 2 pi z_i) + ||z||^2, z = Lambda^10 T_asy^0.2(T_osz(x - x_opt))"),
    BbobFunction(4, "bueche-rastrigin", "Skew Rastrigin-Bueche separable", _p(multimodal=True, note=_TOSZ_NOTE),
                 _setup_f4, e_f4, formula="Rastrigin of s_i T_osz(x_i - x_opt,i) + 100 f_pen"),
    BbobFunction(5, "linear-slope", "Linear slope",
                 _p(differentiable=False,
                    note="linear in [-5, 5]^D; kinks where the clamp x_i x_opt,i >= 25 starts (outside the box), "
                         "beyond which f = f_opt"),
                 _setup_f5, e_f5, eg_f5, formula="sum 5 |s_i| - s_i z_i, z_i = x_i clamped at x_opt,i = +-5"),
    BbobFunction(6, "attractive-sector", "Attractive sector", _SMOOTH, _setup_m(6, 10.0), e_f6,
                 formula="T_osz(sum (s_i z_i)^2)^0.9, s_i = 100 where z_i x_opt,i > 0, z = R Lambda^10 Q (x - x_opt)"),
    BbobFunction(7, "step-ellipsoid", "Step-ellipsoid",
                 _p(continuous=False, differentiable=False, multimodal=True, unique_minimizer=False,
                    smooth_at_xstar=False, note="plateaus: the gradient is 0 almost everywhere but for the 1e-4 |z_1| "
                    "term and f_pen"),
                 _setup_f7, e_f7, formula="0.1 max(|z^_1| / 1e4, sum 10^(2 (i-1)/(D-1)) z_i^2) + f_pen"),
    BbobFunction(8, "rosenbrock", "Rosenbrock original", _p(multimodal=True, multimodal_min_dim=4), _setup_f8, e_f8,
                 eg_f8, formula="Rosenbrock of max(1, sqrt(D)/8) (x - x_opt) + 1"),
    BbobFunction(9, "rosenbrock-rotated", "Rosenbrock rotated", _p(multimodal=True, multimodal_min_dim=4),
                 _setup_f9, e_f9, eg_f9, formula="Rosenbrock of max(1, sqrt(D)/8) R x + 1/2"),
    BbobFunction(10, "ellipsoid-rotated", "Ellipsoid", _p(note=_TOSZ_NOTE), _setup_rot(10), e_f10, eg_f10,
                 formula="sum 10^(6 (i-1)/(D-1)) z_i^2, z = T_osz(R (x - x_opt))"),
    BbobFunction(11, "discus", "Discus", _p(note=_TOSZ_NOTE), _setup_rot(11), e_f11, eg_f11,
                 formula="10^6 z_1^2 + sum_{i>1} z_i^2, z = T_osz(R (x - x_opt))"),
    BbobFunction(12, "bent-cigar", "Bent cigar", _SMOOTH, _setup_rot(12, xopt_offset=1000000), e_f12, eg_f12,
                 formula="z_1^2 + 10^6 sum_{i>1} z_i^2, z = R T_asy^0.5(R (x - x_opt))"),
    BbobFunction(13, "sharp-ridge", "Sharp ridge",
                 _p(differentiable=False, smooth_at_xstar=False, note="not differentiable where z_2 = ... = z_D = 0"),
                 _setup_m(13, 10.0), e_f13, formula="z_1^2 + 100 sqrt(sum_{i>1} z_i^2), z = R Lambda^10 Q (x - x_opt)"),
    BbobFunction(14, "different-powers", "Sum of different powers",
                 _p(differentiable=False, smooth_at_xstar=False, note="not differentiable at x_opt only"),
                 _setup_rot(14), e_f14, formula="sqrt(sum |z_i|^(2 + 4 (i-1)/(D-1))), z = R (x - x_opt)"),
    BbobFunction(15, "rastrigin-rotated", "Rastrigin",
                 _p(differentiable=False, multimodal=True, smooth_at_xstar=False,
                    note="T_osz between two rotations: not differentiable on the hyperplanes (R (x - x_opt))_i = 0"),
                 _setup_f15, e_f15,
                 formula="Rastrigin of R Lambda^10 Q T_asy^0.2(T_osz(R (x - x_opt)))"),
    BbobFunction(16, "weierstrass", "Weierstrass",
                 _p(differentiable=False, multimodal=True, unique_minimizer=False, smooth_at_xstar=False,
                    note="T_osz between two rotations; every z in Z^D is a global minimizer"),
                 _setup_f16, e_f16, eg_f16, wide=True,
                 formula="10 (1/D sum_i sum_k 2^-k cos(2 pi 3^k (z_i + 1/2)) - f0)^3 + 10/D f_pen"),
    BbobFunction(17, "schaffers10", "Schaffer F7 condition 10",
                 _p(differentiable=False, multimodal=True, smooth_at_xstar=False,
                    note="s_i^(1/4) is not differentiable where z_i = z_i+1 = 0"),
                 _setup_schaffers(17, 10.0), _schaffers,
                 formula="(1/(D-1) sum sqrt(s_i) + sqrt(s_i) sin^2(50 s_i^0.2))^2 + 10 f_pen, s_i = ||(z_i, z_i+1)||"),
    BbobFunction(18, "schaffers1000", "Schaffer F7 condition 1000",
                 _p(differentiable=False, multimodal=True, smooth_at_xstar=False,
                    note="s_i^(1/4) is not differentiable where z_i = z_i+1 = 0"),
                 _setup_schaffers(18, 1000.0), _schaffers, formula="f17 with condition 1000"),
    BbobFunction(19, "griewank-rosenbrock", "Griewank-Rosenbrock F8F2", _p(multimodal=True), _setup_f19, e_f19,
                 eg_f19, wide=True, formula="10/(D-1) sum (s_i/4000 - cos s_i) + 10, s_i = 100 (z_i^2 - z_i+1)^2 + (z_i - 1)^2"),
    BbobFunction(20, "schwefel", "Schwefel x*sin(x)", _p(multimodal=True), _setup_f20, e_f20,
                 formula="-1/(100 D) sum z_i sin(sqrt|z_i|) + 4.189828872724339 + 100 f_pen(z/100)"),
    BbobFunction(21, "gallagher101", "Gallagher 101 peaks",
                 _p(differentiable=False, multimodal=True, note="max over peaks: ridges where two peaks tie"),
                 _setup_gallagher(21, 101), e_gallagher, wide=True,
                 formula="T_osz(10 - max_i w_i exp(-1/(2D) (x - y_i)^T R^T C_i R (x - y_i)))^2 + f_pen"),
    BbobFunction(22, "gallagher21", "Gallagher 21 peaks",
                 _p(differentiable=False, multimodal=True, note="max over peaks: ridges where two peaks tie"),
                 _setup_gallagher(22, 21), e_gallagher, wide=True, formula="f21 with 21 peaks"),
    BbobFunction(23, "katsuura", "Katsuura",
                 _p(differentiable=False, multimodal=True, smooth_at_xstar=False,
                    note="continuous, differentiable almost nowhere (sums of |2^j z - round(2^j z)|)"),
                 _setup_m(23, 100.0), e_f23, eg_f23, wide=True,
                 formula="10/D^2 prod (1 + i sum_j |2^j z_i - round(2^j z_i)| / 2^j)^(10/D^1.2) - 10/D^2 + f_pen"),
    BbobFunction(24, "lunacek", "Lunacek bi-Rastrigin",
                 _p(differentiable=False, multimodal=True, note="min of two funnels: a kink where they meet"),
                 _setup_f24, e_f24,
                 formula="min(||x^ - 2.5||^2, D + s ||x^ - mu1||^2) + 10 (D - sum cos 2 pi z_i) + 1e4 f_pen"),
)}


@functools.lru_cache(maxsize=512)
def instance_data(fid: int, dim: int, instance: int) -> tuple[np.ndarray, float, dict[str, Any]]:
    """(x_opt, f_opt, energy parameters) of COCO's function ``fid``, instance ``instance``, in ``dim``
    dimensions, float64 numpy (computed once per process)."""
    xo, fo, params = FUNCTIONS[fid].setup(dim, instance)
    xo.setflags(write=False)
    return xo, fo, params


def _device_params(params: dict[str, Any], dtype: torch.dtype, device: torch.device) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        out[k] = torch.as_tensor(v, dtype=dtype, device=device) if isinstance(v, np.ndarray) else v
    return out


class _Params:
    """Per-(dtype, device) cache of one instance's energy parameters (rotations built once)."""

    __slots__ = ("host", "cache", "wide")

    def __init__(self, host: dict[str, Any], wide: bool):
        self.host, self.cache, self.wide = host, {}, wide

    def __call__(self, x: Tensor) -> dict[str, Any]:
        key = (x.dtype, x.device)
        p = self.cache.get(key)
        if p is None:
            p = self.cache[key] = _device_params(self.host, x.dtype, x.device)
        return p


def _energy(fn: BbobFunction, params: _Params, fopt: float) -> EnergyFn:
    energy, wide = fn.energy, fn.wide

    def f(x: Tensor) -> Tensor:
        if wide and x.dtype != torch.float64:
            xw = x.to(torch.float64)
            return (energy(xw, params(xw)) + fopt).to(x.dtype)
        return energy(x, params(x)) + fopt

    f.__name__ = f"{fn.name}_energy"
    return f


def _fused(fn: BbobFunction, params: _Params, fopt: float) -> Callable[..., tuple[Tensor, Tensor]]:
    eg, wide = fn.eg, fn.wide

    def kernel(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if wide and x.dtype != torch.float64:  # the same float64 path as the energy, cast back
            xw = x.to(torch.float64)
            e, g = eg(xw, params(xw))
            e, g = (e + fopt).to(x.dtype), g.to(x.dtype)
        else:
            e, g = eg(x, params(x))
            e = e + fopt
        if out is not None:
            out.copy_(g)
            g = out
        return e, g

    kernel.__name__ = f"{fn.name}_eg"
    return kernel


class BbobProblem(Problem):
    """COCO's bbob function ``fid``, instance ``instance`` (>= 1), in ``dim`` dimensions on [-5, 5]^D.

    The harness knows x_opt (:meth:`x_star`) and f_opt (``f_star``); the energy a method gets holds
    neither (the shift enters as -x_opt or inside an affine offset). Instance data are computed lazily
    (building a suite does not draw rotations) and cached per process."""

    family = "bbob"

    def __init__(self, fn: BbobFunction, dim: int | None, instance: int = 1,
                 bounds: tuple[float, float] | None = None):
        name = fn.name
        if dim is None:
            raise GmbenchError(f"problem {name!r} needs a dimension (dim: N, {MIN_DIM} to {MAX_DIM})")
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise GmbenchError(f"problem {name!r}: dimension must be an integer, got {dim!r}")
        if not MIN_DIM <= dim <= MAX_DIM:
            raise GmbenchError(f"problem {name!r}: impossible dimension {dim} (COCO's bbob is defined for "
                               f"{MIN_DIM} <= dim <= {MAX_DIM})")
        if not isinstance(instance, int) or isinstance(instance, bool):
            raise GmbenchError(f"problem {name!r}: instance must be an integer, got {instance!r}")
        if instance == 0:
            raise GmbenchError(f"problem {name!r}: bbob has no instance 0 (COCO's instances start at 1)")
        if not 1 <= instance <= MAX_INSTANCE:
            raise GmbenchError(f"problem {name!r}: instance must be 1..{MAX_INSTANCE:,} (COCO's seeds "
                               f"f + 10000 k), got {instance}")
        if bounds is not None and (float(bounds[0]), float(bounds[1])) != (-BOUND, BOUND):
            raise GmbenchError(f"problem {name!r}: bbob problems use COCO's box [-5, 5]^D, got bounds "
                               f"[{bounds[0]}, {bounds[1]}]")
        self.fn = fn
        self.name = name
        self.fid = fn.fid
        self.properties = fn.properties
        self.dim = dim
        self.instance = instance
        self.lower = torch.full((dim,), -BOUND, dtype=torch.float64)
        self.upper = torch.full((dim,), BOUND, dtype=torch.float64)
        self.f_star = legacy_fopt(fn.fid, instance)  # cheap; the rest waits for the first evaluation

    def _data(self) -> tuple[np.ndarray, float, dict[str, Any]]:
        return instance_data(self.fid, self.dim, self.instance)

    def energy_fn(self) -> EnergyFn:
        _, fopt, host = self._data()
        return _energy(self.fn, _Params(host, self.fn.wide), fopt)

    def energy_and_grad_fn(self) -> Callable[[Tensor], tuple[Tensor, Tensor]] | None:
        """The analytic-gradient kernel where the function has one (``GMBENCH_PLAIN=1``: autograd)."""
        if self.fn.eg is None or os.environ.get("GMBENCH_PLAIN", "") not in ("", "0"):
            return None
        from gmbench.problems.functions.spec import BlockedEnergyGrad

        _, fopt, host = self._data()
        params = _Params(host, self.fn.wide)
        return BlockedEnergyGrad(_energy(self.fn, params, fopt), eg=_fused(self.fn, params, fopt))

    def x_star(self) -> Tensor:
        return torch.from_numpy(self._data()[0].copy())

    @classmethod
    def memory_bytes(cls, dim: int, batch: int, dtype_bytes: int) -> int:
        """Rotations (a few D x D float64) and one batched evaluation: points, gradient, a dozen (B, D)
        temporaries and the Gallagher distances (B x 101)."""
        return 4 * dim * dim * 8 + 8 * dim * 8 + batch * (14 * dim + 2 * 101) * dtype_bytes

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "dim": self.dim, "bounds": [-BOUND, BOUND], "instance": self.instance,
                "family": "bbob", "function": self.fid, "f_star": self.f_star}


@dataclass(frozen=True)
class BbobParams:
    """Parameters of a bbob problem: COCO's instance number (>= 1; COCO has no instance 0)."""

    instance: int = 1


def _register(fn: BbobFunction) -> None:
    def make(p: BbobParams, dim: int | None, bounds: tuple[float, float] | None) -> Problem:
        return BbobProblem(fn, dim, p.instance, bounds)

    info = {"F": f"f{fn.fid}", "title": fn.title, "bounds": "[-5, 5]", "dims": f">= {MIN_DIM}, <= {MAX_DIM}",
            "formula": fn.formula}
    register_problem(fn.name, BbobParams, make, family="bbob", info=info, properties=fn.properties,
                     aliases=(f"bbob-{fn.key}",))


for _fn in FUNCTIONS.values():
    _register(_fn)

NAMES: dict[str, int] = {fn.name: fn.fid for fn in FUNCTIONS.values()}
