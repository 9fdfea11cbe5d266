"""The Plevris & Solorzano collection of 30 functions, plus the action-functional paper's Schaffer F7.

V. Plevris and G. Solorzano, "A Collection of 30 Multidimensional Functions for Global Optimization
Benchmarking", *Data* 7(4), 46 (2022), Table 1 and its function definitions. Implemented from the
paper's mathematics, not from the authors' GPL code. No shifts, rotations or biases: f* = 0 for every
function (instances with shifts and rotations are built by the problem, see ``spec.py``). Bounds are the
collection's own (the authors' ``functions.txt``), not the literature's.

Every function maps ``(..., D) -> (...)``, reduces over the last axis, and works in float32 and float64
on any device. Index weights and exponents are 1-based. Reproduces the authors' own 2-D surface data
(the 2-D grids published with the collection) to ~1e-11 absolute.

Numerical choices (all mathematically identical to the collection's formulas):

* **Weierstrass (F06)** is evaluated as ``sum_i sum_k 2 a^k sin^2(pi 3^k x_i)``. Because every ``3^k`` is
  odd, ``cos(2 pi 3^k (x + 0.5)) = -cos(2 pi 3^k x)``, so this equals the collection's form, but the
  phase is centred on the minimizer: f(0) = 0 and grad f(0) = 0 exactly in float32 and float64 (the
  naive form gives ~7e-4 per gradient component at 0 in float64, and a wrong f(0) in float32), and the
  terms are non-negative (no cancellation against ``n (2 - 2^-20)``). At generic points the
  high-frequency terms carry the same rounding as the naive form (~1e-11 absolute in float64, far worse
  in float32); on the integer lattice away from 0, f ~ 1e-14 rather than exactly 0.
* **Rastrigin (F10)** uses ``x^2 + 20 sin^2(pi x)`` per coordinate and **Ackley (F08)** uses
  ``20 (1 - exp(.)) + (e - exp(.))``: no cancellation against ``10 n`` or ``20 + e``, so the value at and
  near x* is accurate (exactly 0 at x*). **Schwefel (F21)** subtracts its constant per coordinate, which
  makes f(c 1) = 0 exactly in float64 (the reference code gives -1.8e-12 at n = 30).
* **Perm (F17)** builds ``j^i`` in floating point; where it would overflow the input dtype (float32 for
  D >= 27) it computes in float64 and casts the result back (it is inf there anyway except near x*).
  It materialises a (..., D, D) tensor: the function is O(D^2) per point, and D <= 143 (float64 overflow
  of 143^143 is the limit), so this is bounded.
* Overflow is not hidden: F03 (|x|^(n+1)), F17 and F25 (prod |x_i|) return inf at large n over much of
  the box. No log-space variants.

Autodiff and subgradients. Every square root / fractional power / ``|.|^p`` whose argument can be 0 is
guarded with the "double where" pattern: the root is taken of a safe substitute (1) where the argument is
0, and the branch value (0) is selected afterwards, so backward never forms ``0 * inf``. Gradients are
therefore finite everywhere, including x*. What they are at non-smooth points:

* smooth functions with a removable singularity of the formula (F05 Drop-Wave at 0, F19 Expanded
  Schaffer F6 at a zero pair, F21 Schwefel at x_i = 0): the true gradient (0 at those points);
* kinks of ``|t|`` and the cone ``||x||`` contribute 0, the minimum-norm element of their
  subdifferential (torch's ``sign(0) = 0`` for ``|t|``, the guard for ``||x||``): F04 at its roots, F07 at
  x_i = 0 and sin x_i = -0.1, F08 and F26 at 0, F23 and F25 at x_i = 0, F27 at x_1 = 0; so the gradient
  at x* of these is 0; ``max |x_i|`` (F24) splits the gradient equally among tied coordinates
  (``amax``), 0 at x = 0;
* infinite-slope points of fractional powers (F11 and F12 on their spheres, F18 / schaffer-f7-paper at a
  zero pair, F27 at x_2 = ... = x_n = 0, F30 at x_i = 0): that term contributes 0, so the returned vector
  is the gradient of the remaining smooth terms (at x* of F11/F12 this is exactly 0).

Fused analytic energy+gradient kernels (``<name>_eg``, registered as ``FunctionSpec.eg``; every function
but F17) give the same energies bit for bit and autograd's gradients with these same
conventions, without an autograd graph: gradient methods (the Adam sweep, gd, adam, fire) use them
through ``FunctionProblem.energy_and_grad_fn``; ``GMBENCH_PLAIN=1`` switches back to autograd.
"""

from __future__ import annotations

import math
import threading
from typing import Callable

import torch
from torch import Tensor

from gmbench.problems.base import Properties
from gmbench.problems.functions.spec import FunctionSpec
from gmbench.problems import register_function

_PI = math.pi
_TWO_PI = 2.0 * math.pi
_E = math.e

# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def _idx(x: Tensor, start: int = 1) -> Tensor:
    """1-based (or ``start``-based) index weights of the last axis, on x's device and dtype."""
    d = x.shape[-1]
    return torch.arange(start, d + start, device=x.device, dtype=x.dtype)


def _safe(a: Tensor) -> tuple[Tensor, Tensor]:
    """(mask a > 0, a with the non-positive entries replaced by 1): the first half of "double where"."""
    pos = a > 0
    return pos, torch.where(pos, a, 1.0)


def _guarded_pow(a: Tensor, p: float) -> Tensor:
    """a**p for a >= 0 with a finite (zero) gradient where a == 0."""
    pos, safe = _safe(a)
    return torch.where(pos, safe.pow(p), 0.0)


def _sqnorm(x: Tensor) -> Tensor:
    return (x * x).sum(-1)


# ------------------------------------------------------------------------------------------------
# the 30 functions
# ------------------------------------------------------------------------------------------------


def sphere(x: Tensor) -> Tensor:
    """F01: sum x_i^2."""
    return (x * x).sum(-1)


def ellipsoid(x: Tensor) -> Tensor:
    """F02: sum i x_i^2."""
    return (x * x * _idx(x)).sum(-1)


def sum_of_different_powers(x: Tensor) -> Tensor:
    """F03: sum |x_i|^(i+1)."""
    return x.abs().pow(_idx(x, 2)).sum(-1)


def quintic(x: Tensor) -> Tensor:
    """F04: sum |x^5 - 3x^4 + 4x^3 + 2x^2 - 10x - 4| (Horner)."""
    p = x - 3.0
    p = p * x + 4.0
    p = p * x + 2.0
    p = p * x - 10.0
    p = p * x - 4.0
    return p.abs().sum(-1)


def drop_wave(x: Tensor) -> Tensor:
    """F05: 1 - (1 + cos(12 ||x||)) / (0.5 ||x||^2 + 2)."""
    return _drop_wave_rho(_sqnorm(x))


_W_A = 0.5
_W_K = 21  # k = 0..20


def weierstrass(x: Tensor) -> Tensor:
    """F06: sum_i sum_k a^k cos(2 pi 3^k (x_i + 0.5)) + n (2 - 2^-20), as sum_i sum_k 2 a^k sin^2(pi 3^k x_i)."""
    s = torch.sin(_PI * x)
    acc = s * s
    for k in range(1, _W_K):
        s = torch.sin((_PI * 3.0**k) * x)
        acc = torch.addcmul(acc, s, s, value=_W_A**k)
    return 2.0 * acc.sum(-1)


def alpine1(x: Tensor) -> Tensor:
    """F07: sum |x_i sin x_i + 0.1 x_i|."""
    return (x * torch.sin(x) + 0.1 * x).abs().sum(-1)


def ackley(x: Tensor) -> Tensor:
    """F08: -20 exp(-0.2 sqrt(mean x^2)) - exp(mean cos 2 pi x) + 20 + e."""
    n = x.shape[-1]
    r = _guarded_pow(_sqnorm(x) / n, 0.5)
    c = torch.cos(_TWO_PI * x).sum(-1) / n
    return -20.0 * torch.expm1(-0.2 * r) + (_E - torch.exp(c))


def griewank(x: Tensor) -> Tensor:
    """F09: sum x^2 / 4000 - prod cos(x_i / sqrt(i)) + 1."""
    p = torch.cos(x / _idx(x).sqrt()).prod(-1)
    return _sqnorm(x) / 4000.0 - p + 1.0


def rastrigin(x: Tensor) -> Tensor:
    """F10: 10 n + sum (x^2 - 10 cos 2 pi x), as sum (x^2 + 20 sin^2(pi x))."""
    s = torch.sin(_PI * x)
    return torch.addcmul(x * x, s, s, value=20.0).sum(-1)


def happycat(x: Tensor) -> Tensor:
    """F11: | ||x||^2 - n |^(1/4) + (0.5 ||x||^2 + sum x) / n + 0.5."""
    n = x.shape[-1]
    rho = _sqnorm(x)
    root = _guarded_pow((rho - n).abs(), 0.25)
    return root + (0.5 * rho + x.sum(-1)) / n + 0.5


def hgbat(x: Tensor) -> Tensor:
    """F12: | ||x||^4 - (sum x)^2 |^(1/2) + (0.5 ||x||^2 + sum x) / n + 0.5."""
    n = x.shape[-1]
    rho = _sqnorm(x)
    s = x.sum(-1)
    root = _guarded_pow((rho * rho - s * s).abs(), 0.5)
    return root + (0.5 * rho + s) / n + 0.5


def rosenbrock(x: Tensor) -> Tensor:
    """F13: sum_{i<n} 100 (x_{i+1} - x_i^2)^2 + (x_i - 1)^2."""
    a = x[..., :-1]
    b = x[..., 1:] - a * a
    c = a - 1.0
    return (100.0 * b * b + c * c).sum(-1)


def high_conditioned_elliptic(x: Tensor) -> Tensor:
    """F14: sum (10^6)^((i-1)/(n-1)) x_i^2."""
    n = x.shape[-1]
    w = torch.pow(1e6, _idx(x, 0) / (n - 1))
    return (x * x * w).sum(-1)


def discus(x: Tensor) -> Tensor:
    """F15: 10^6 x_1^2 + sum_{i>=2} x_i^2."""
    x1 = x[..., 0]
    return 1e6 * x1 * x1 + _sqnorm(x[..., 1:])


def bent_cigar(x: Tensor) -> Tensor:
    """F16: x_1^2 + 10^6 sum_{i>=2} x_i^2."""
    x1 = x[..., 0]
    return x1 * x1 + 1e6 * _sqnorm(x[..., 1:])


_PERM_BETA = 0.5


def perm(x: Tensor) -> Tensor:
    """F17: sum_i [sum_j (j^i + beta)((x_j / j)^i - 1)]^2, beta = 0.5."""
    n = x.shape[-1]
    work = x
    if x.dtype != torch.float64 and n * math.log(max(n, 1)) >= math.log(torch.finfo(x.dtype).max):
        work = x.to(torch.float64)  # j^i overflows the input dtype: compute in float64, cast back
    j = _idx(work)
    i = j.unsqueeze(-1)  # (n, 1): row i, column j
    coef = torch.pow(j, i) + _PERM_BETA  # (n, n)
    y = (work / j).unsqueeze(-2).pow(i)  # (..., n, n): (x_j / j)^i
    inner = ((y - 1.0) * coef).sum(-1)  # (..., n)
    return (inner * inner).sum(-1).to(x.dtype)


def _schaffer_f7_sum(x: Tensor) -> Tensor:
    """S(x) = sum_{i<n} rho^(1/4) (1 + sin^2(50 rho^(1/10))), rho = x_i^2 + x_{i+1}^2."""
    a = x[..., :-1]
    b = x[..., 1:]
    rho = a * a + b * b
    pos, safe = _safe(rho)
    s = safe.sqrt()
    t = torch.sin(50.0 * s.pow(0.2))
    term = torch.where(pos, s.sqrt() * (1.0 + t * t), 0.0)
    return term.sum(-1)


def schaffer_f7(x: Tensor) -> Tensor:
    """F18: [S / (n - 1)]^2."""
    v = _schaffer_f7_sum(x) / (x.shape[-1] - 1)
    return v * v


def schaffer_f7_paper(x: Tensor) -> Tensor:
    """The action-functional paper's Schaffer F7: S / n (no outer square)."""
    return _schaffer_f7_sum(x) / x.shape[-1]


def expanded_schaffer_f6(x: Tensor) -> Tensor:
    """F19: sum_{i<n} g(x_i, x_{i+1}) + g(x_n, x_1), g = 0.5 + (sin^2 sqrt(rho) - 0.5) / (1 + 0.001 rho)^2."""
    y = torch.roll(x, -1, dims=-1)
    rho = x * x + y * y
    pos, safe = _safe(rho)
    s = torch.sin(safe.sqrt())
    s2 = torch.where(pos, s * s, 0.0)
    d = 1.0 + 0.001 * rho
    return (0.5 + (s2 - 0.5) / (d * d)).sum(-1)


def rotated_hyper_ellipsoid(x: Tensor) -> Tensor:
    """F20: sum_i sum_{j<=i} x_j^2 = sum (n + 1 - i) x_i^2."""
    n = x.shape[-1]
    w = torch.arange(n, 0, -1, device=x.device, dtype=x.dtype)
    return (x * x * w).sum(-1)


_SCHWEFEL_K = 418.9828872724337
_SCHWEFEL_C = 420.968746359982025


def schwefel(x: Tensor) -> Tensor:
    """F21: 418.9828872724337 n - sum x_i sin(sqrt |x_i|) (constant subtracted per coordinate)."""
    pos, safe = _safe(x.abs())
    t = torch.where(pos, x * torch.sin(safe.sqrt()), 0.0)
    return (_SCHWEFEL_K - t).sum(-1)


def sum_of_different_powers_2(x: Tensor) -> Tensor:
    """F22: sum |x_i|^(2 + 4 (i-1)/(n-1))."""
    n = x.shape[-1]
    e = _idx(x, 0) * 4.0 / (n - 1) + 2.0
    return x.abs().pow(e).sum(-1)


def xin_she_yang_1(x: Tensor) -> Tensor:
    """F23: (sum |x_i|) exp(-sum sin(x_i^2))."""
    return x.abs().sum(-1) * torch.exp(-torch.sin(x * x).sum(-1))


def schwefel_2_21(x: Tensor) -> Tensor:
    """F24: max |x_i|."""
    return x.abs().amax(-1)


def schwefel_2_22(x: Tensor) -> Tensor:
    """F25: sum |x_i| + prod |x_i|."""
    a = x.abs()
    return a.sum(-1) + a.prod(-1)


def salomon(x: Tensor) -> Tensor:
    """F26: 1 - cos(2 pi ||x||) + 0.1 ||x||."""
    return _salomon_rho(_sqnorm(x))


def modified_ridge(x: Tensor) -> Tensor:
    """F27: |x_1| + 2 (sum_{i>=2} x_i^2)^0.1."""
    return x[..., 0].abs() + 2.0 * _guarded_pow(_sqnorm(x[..., 1:]), 0.1)


def zakharov(x: Tensor) -> Tensor:
    """F28: sum x^2 + s^2 + s^4, s = sum 0.5 i x_i."""
    s = (x * _idx(x)).sum(-1) * 0.5
    s2 = s * s
    return _sqnorm(x) + s2 + s2 * s2


def modified_xin_she_yang_3(x: Tensor) -> Tensor:
    """F29: 10^4 [1 + (exp(-sum (x/15)^10) - 2 exp(-sum x^2)) prod cos^2 x]."""
    e1 = torch.exp(-(x / 15.0).pow(10).sum(-1))
    e2 = torch.exp(-_sqnorm(x))
    p = torch.cos(x).prod(-1)
    return 1e4 * (1.0 + (e1 - 2.0 * e2) * (p * p))


def modified_xin_she_yang_5(x: Tensor) -> Tensor:
    """F30: 10^4 [1 + (sum sin^2 x - exp(-sum x^2)) exp(-sum sin^2 sqrt|x|)]."""
    s = torch.sin(x)
    a = (s * s).sum(-1) - torch.exp(-_sqnorm(x))
    pos, safe = _safe(x.abs())
    t = torch.sin(safe.sqrt())
    b = torch.where(pos, t * t, 0.0).sum(-1)
    return 1e4 * (1.0 + a * torch.exp(-b))


# ------------------------------------------------------------------------------------------------
# analytic gradients (the fast path of gradient methods such as the Adam sweep; autograd is the plain
# path, and tests check that both agree). Same conventions as autograd at the guarded points (module
# docstring).
#
# ``<name>_eg(x, out=None) -> (f(x), grad f(x))`` is a FUSED energy and gradient: shared subexpressions
# (sin and cos of one argument, the Schaffer pair terms, row sums) are computed once, in a few reused
# scratch buffers with ``out=`` / in-place operations, because on a CPU this work is bound by passes
# over memory and by page faults of fresh allocations, not by arithmetic. The gradient is written into
# ``out`` when given. The ENERGY is bit-for-bit the registered function's own: every energy operation
# is the same torch operation, on a tensor of the same shape, in the same order as in ``f`` (in place
# or into a buffer instead of a fresh tensor, which does not change a result). The double-where guards
# of ``f`` are reproduced without boolean tensors (slow on CPU): ``where(a > 0, a, 1)`` becomes
# ``a.clamp_min(tiny)`` (tiny = the smallest subnormal, so every a > 0 is unchanged) and
# ``where(a > 0, v, 0)`` becomes ``v * sign(a)``; both give the same bits for every finite input
# (assuming torch's default of not flushing subnormals). Energies of non-finite inputs may differ.
# These are no-grad kernels (BlockedEnergyGrad runs them under torch.no_grad()).
# ------------------------------------------------------------------------------------------------

_WS = threading.local()
_WS_MAX_ELEMS = 2**20  # larger requests get fresh tensors (not kept alive); at most 8 MiB (float64) a key
_WS_MAX_KEYS = 8  # distinct (shapes, dtype, device) requests kept per thread (a sweep's block and its last one)


def _work(x: Tensor, *shapes: tuple[int, ...]) -> list[Tensor]:
    """Scratch tensors of the given shapes (x's dtype and device), kept per thread and reused by the
    next call with the same shapes (fresh tensors when large or under torch.compile). One call per
    kernel: a second call with the same shapes returns the same memory."""
    if torch.compiler.is_compiling():
        return [torch.empty(s, dtype=x.dtype, device=x.device) for s in shapes]
    key = (shapes, x.dtype, x.device)
    cache = getattr(_WS, "bufs", None)
    if cache is None:
        cache = _WS.bufs = {}
    got = cache.get(key)
    if got is not None:
        return got
    if sum(math.prod(s) for s in shapes) > _WS_MAX_ELEMS:
        return [torch.empty(s, dtype=x.dtype, device=x.device) for s in shapes]
    if len(cache) >= _WS_MAX_KEYS:
        cache.clear()
    got = cache[key] = [torch.empty(s, dtype=x.dtype, device=x.device) for s in shapes]
    return got


def _tiny(x: Tensor) -> float:
    """The smallest positive (subnormal) number of x's dtype: the guard value of ``clamp_min``."""
    return 2.0**-149 if x.dtype == torch.float32 else 2.0**-1074 if x.dtype == torch.float64 else \
        float(torch.finfo(x.dtype).smallest_normal)


def _normal(x: Tensor) -> float:
    """The smallest normal number of x's dtype: guards a divisor where subnormals may be flushed to 0
    (CUDA fast math, ``torch.set_flush_denormal``), which would turn the guard value into 0."""
    return float(torch.finfo(x.dtype).smallest_normal)


def _grad_out(x: Tensor, out: Tensor | None) -> Tensor:
    return torch.empty_like(x, memory_format=torch.contiguous_format) if out is None else out


def _pairs(x: Tensor) -> tuple[Tensor, Tensor, tuple[int, ...]]:
    return x[..., :-1], x[..., 1:], (*x.shape[:-1], x.shape[-1] - 1)


def _rows(v: Tensor) -> Tensor:
    return v.unsqueeze(-1)


def _big_blocks(elems: int) -> Callable[[Callable[..., tuple[Tensor, Tensor]]], Callable[..., tuple[Tensor, Tensor]]]:
    """Mark a kernel whose per-row work (guards, powers, exponentials of row sums: a dozen or more tiny
    operations, each a fixed dispatch cost) is large next to its per-coordinate work: BlockedEnergyGrad
    gives it blocks of ``elems`` elements instead of 2^16. Functions of ||x||^2 alone (two or three
    passes per coordinate) gain little from cache blocking and get 2^20; others 2^18."""
    def mark(eg: Callable[..., tuple[Tensor, Tensor]]) -> Callable[..., tuple[Tensor, Tensor]]:
        eg.block_elems = elems  # type: ignore[attr-defined]
        return eg
    return mark


def sphere_grad(x: Tensor) -> Tensor:
    return 2.0 * x


def sphere_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    (w,) = _work(x, x.shape)
    e = torch.mul(x, x, out=w).sum(-1)
    return e, torch.mul(x, 2.0, out=_grad_out(x, out))


def _weighted_quadratic_eg(x: Tensor, w: Tensor, out: Tensor | None) -> tuple[Tensor, Tensor]:
    """f = sum (x * x * w) (F02, F14, F20 with their weight vectors); grad = 2 w x."""
    (t,) = _work(x, x.shape)
    e = torch.mul(x, x, out=t).mul_(w).sum(-1)
    g = torch.mul(x, w, out=_grad_out(x, out))
    return e, g.mul_(2.0)


def ellipsoid_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    return _weighted_quadratic_eg(x, _idx(x), out)


def high_conditioned_elliptic_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    n = x.shape[-1]
    return _weighted_quadratic_eg(x, torch.pow(1e6, _idx(x, 0) / (n - 1)), out)


def rotated_hyper_ellipsoid_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    n = x.shape[-1]
    return _weighted_quadratic_eg(x, torch.arange(n, 0, -1, device=x.device, dtype=x.dtype), out)


def discus_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    e = discus(x)
    g = torch.mul(x, 2.0, out=_grad_out(x, out))
    g[..., 0].mul_(1e6)
    return e, g


def bent_cigar_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    e = bent_cigar(x)
    g = torch.mul(x, 2e6, out=_grad_out(x, out))
    torch.mul(x[..., 0], 2.0, out=g[..., 0])
    return e, g


def zakharov_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """grad = 2x + (s + 2 s^3) i, s = sum 0.5 i x_i."""
    i = _idx(x)
    (t,) = _work(x, x.shape)
    s = torch.mul(x, i, out=t).sum(-1) * 0.5
    s2 = s * s
    e = torch.mul(x, x, out=t).sum(-1) + s2 + s2 * s2
    g = torch.mul(x, 2.0, out=_grad_out(x, out))
    return e, g.addcmul_(_rows(s + 2.0 * s * s2), i)


def rastrigin_grad(x: Tensor) -> Tensor:
    """d/dx (x^2 + 20 sin^2(pi x)) = 2x + 20 pi sin(2 pi x)."""
    return torch.sin((2.0 * _PI) * x).mul_(20.0 * _PI).add_(x, alpha=2.0)


def rastrigin_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Energy as ``rastrigin``, gradient bit for bit ``rastrigin_grad``'s."""
    w, s = _work(x, x.shape, x.shape)
    torch.sin(torch.mul(x, _PI, out=w), out=s)
    e = torch.mul(x, x, out=w).addcmul_(s, s, value=20.0).sum(-1)
    torch.sin(torch.mul(x, 2.0 * _PI, out=w), out=w)
    g = torch.mul(w, 20.0 * _PI, out=_grad_out(x, out))
    return e, g.add_(x, alpha=2.0)


def rosenbrock_grad(x: Tensor) -> Tensor:
    a = x[..., :-1]
    b = x[..., 1:] - a * a
    g = torch.zeros_like(x)
    g[..., 1:] = 200.0 * b
    g[..., :-1] += (a - 1.0).mul_(2.0).addcmul_(a, b, value=-400.0)
    return g


def rosenbrock_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Energy as ``rosenbrock``, gradient bit for bit ``rosenbrock_grad``'s."""
    a, x1, ps = _pairs(x)
    b, c, t, u = _work(x, ps, ps, ps, ps)
    torch.sub(x1, torch.mul(a, a, out=b), out=b)
    torch.sub(a, 1.0, out=c)
    torch.mul(b, 100.0, out=t).mul_(b)
    e = t.add_(torch.mul(c, c, out=u)).sum(-1)
    g = _grad_out(x, out)
    g[..., 0] = 0.0
    torch.mul(b, 200.0, out=g[..., 1:])
    g[..., :-1] += c.mul_(2.0).addcmul_(a, b, value=-400.0)
    return e, g


def ackley_grad(x: Tensor) -> Tensor:
    """4 exp(-0.2 r) x / (n r) + (2 pi / n) exp(mean cos 2 pi x) sin(2 pi x), r = sqrt(mean x^2); the
    first term is 0 at r = 0 (the guard's subgradient, as autograd gives)."""
    n = x.shape[-1]
    r = _guarded_pow(_sqnorm(x) / n, 0.5)
    c = torch.cos(_TWO_PI * x).sum(-1) / n
    pos, safe = _safe(r)
    k1 = torch.where(pos, 4.0 * torch.exp(-0.2 * r) / (n * safe), 0.0)
    k2 = torch.exp(c) * (_TWO_PI / n)
    return torch.sin(_TWO_PI * x).mul_(k2.unsqueeze(-1)).addcmul_(x, k1.unsqueeze(-1))


@_big_blocks(2**18)
def ackley_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Energy as ``ackley``, gradient bit for bit ``ackley_grad``'s."""
    n = x.shape[-1]
    w, v = _work(x, x.shape, x.shape)
    r = _guarded_pow(torch.mul(x, x, out=w).sum(-1) / n, 0.5)
    torch.mul(x, _TWO_PI, out=w)
    c = torch.cos(w, out=v).sum(-1) / n
    e = -20.0 * torch.expm1(-0.2 * r) + (_E - torch.exp(c))
    pos, safe = _safe(r)
    k1 = torch.where(pos, 4.0 * torch.exp(-0.2 * r) / (n * safe), 0.0)
    k2 = torch.exp(c) * (_TWO_PI / n)
    g = torch.sin(w, out=_grad_out(x, out))
    return e, g.mul_(_rows(k2)).addcmul_(x, _rows(k1))


def alpine1_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """u = x sin x + 0.1 x, f = sum |u|; grad = sign(u) (sin x + x cos x + 0.1) (0 at the kinks u = 0)."""
    s, u, t = _work(x, x.shape, x.shape, x.shape)
    torch.sin(x, out=s)
    torch.mul(x, s, out=u).add_(torch.mul(x, 0.1, out=t))
    torch.sign(u, out=t)
    e = u.abs_().sum(-1)
    g = torch.cos(x, out=_grad_out(x, out))
    torch.addcmul(s, x, g, out=g)
    return e, g.add_(0.1).mul_(t)


def _schaffer_f7_eg(x: Tensor, out: Tensor | None, paper: bool) -> tuple[Tensor, Tensor]:
    """Pair i: rho = x_i^2 + x_{i+1}^2, s = sqrt rho, q = s^0.2, t = sin 50 q, term = sqrt(s) (1 + t^2);
    d term / d rho = (0.25 (1 + t^2) + 10 q t cos(50 q)) / (s sqrt s), 0 at rho = 0 (the guard)."""
    n = x.shape[-1]
    a, b, ps = _pairs(x)
    z, s, q, c, t, w = _work(x, ps, ps, ps, ps, ps, ps)
    torch.mul(a, a, out=z).add_(torch.mul(b, b, out=s))  # rho
    torch.clamp_min(z, _tiny(x), out=s)  # where(rho > 0, rho, 1) for every rho > 0
    z.sign_()  # 1 where rho > 0, else 0
    s.sqrt_()
    torch.pow(s, 0.2, out=q)
    torch.mul(q, 50.0, out=c)
    torch.sin(c, out=t)
    c.cos_()
    q.mul_(t).mul_(c)  # q t cos(50 q)
    torch.sqrt(s, out=c)  # s^(1/2) = rho^(1/4)
    torch.mul(t, t, out=w).add_(1.0)  # 1 + t^2
    ssum = torch.mul(c, w, out=t).mul_(z).sum(-1)  # where(rho > 0, sqrt(s) (1 + t^2), 0), summed
    if paper:
        e = ssum / n
        scale: Tensor | float = 2.0 / n
    else:
        v = ssum / (n - 1)
        e = v * v
        scale = _rows(v * (4.0 / (n - 1)))  # d e / d S = 2 v / (n - 1), times 2 from d rho / d x
        z.mul_(scale)
        scale = 1.0
    s.mul_(c).clamp_min_(_normal(x))  # rho^(3/4); the clamp only matters where denormals are flushed
    w.mul_(0.25 * scale).add_(q, alpha=10.0 * scale).div_(s).mul_(z)  # k = 2 d term / d rho (x scale)
    g = _grad_out(x, out)
    g[..., -1] = 0.0
    torch.mul(w, a, out=g[..., :-1])
    g[..., 1:].addcmul_(w, b)
    return e, g


def schaffer_f7_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    return _schaffer_f7_eg(x, out, paper=False)


def schaffer_f7_paper_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    return _schaffer_f7_eg(x, out, paper=True)


def expanded_schaffer_f6_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Pair (x_i, x_{i+1 mod n}): rho, r = sqrt rho, s = sin r, d = 1 + 0.001 rho;
    k = d g / d rho = s cos(r) / (r d^2) - 0.002 (s^2 - 0.5) / d^3 (first part 0 at rho = 0);
    grad_i = 2 x_i (k_i + k_{i-1})."""
    z, d, r, s, c, t = _work(x, x.shape, x.shape, x.shape, x.shape, x.shape, x.shape)
    torch.mul(x, x, out=z)
    d[..., :-1] = z[..., 1:]  # roll(x, -1)^2
    d[..., -1] = z[..., 0]
    z.add_(d)  # rho
    torch.clamp_min(z, _tiny(x), out=d)
    z.sign_()
    torch.sqrt(d, out=r)
    d.mul_(0.001).add_(1.0)  # 1 + 0.001 rho (0.001 tiny rounds to 0, as 0.001 * 0)
    torch.sin(r, out=s)
    torch.cos(r, out=c)
    c.mul_(s).div_(r.clamp_min_(_normal(x)))  # s cos(r) / r (the clamp: only where denormals are flushed)
    s.mul_(s).mul_(z).sub_(0.5)  # where(rho > 0, s^2, 0) - 0.5
    torch.mul(d, d, out=r)  # d^2
    s.div_(r)
    e = torch.add(s, 0.5, out=t).sum(-1)
    c.mul_(z).div_(r).add_(s.div_(d), alpha=-0.002)  # k
    t[..., 1:] = c[..., :-1]  # roll(k, 1)
    t[..., 0] = c[..., -1]
    t.add_(c)
    g = torch.mul(t, x, out=_grad_out(x, out))
    return e, g.mul_(2.0)


def _rho_eg(x: Tensor, out: Tensor | None, energy: Callable[[Tensor], Tensor],
            k: Callable[[Tensor], tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor]:
    """Functions of rho = ||x||^2 (and s = sum x): e = energy(rho), grad = A x + B with (A, B) = k(rho)."""
    (w,) = _work(x, x.shape)
    rho = torch.mul(x, x, out=w).sum(-1)
    a, b = k(rho)
    g = torch.mul(x, _rows(a), out=_grad_out(x, out))
    if b is not None:
        g.add_(_rows(b))
    return energy(rho), g


def _drop_wave_rho(rho: Tensor) -> Tensor:
    pos, safe = _safe(rho)
    c = torch.where(pos, torch.cos(12.0 * safe.sqrt()), 1.0)
    return 1.0 - (1.0 + c) / (0.5 * rho + 2.0)


@_big_blocks(2**20)
def drop_wave_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """d f / d rho = 6 sin(12 r) / (r v) + 0.5 (1 + cos 12 r) / v^2, v = 0.5 rho + 2 (first term 0 at 0)."""
    def k(rho):
        pos, safe = _safe(rho)
        r = safe.sqrt()
        v = 0.5 * rho + 2.0
        c = torch.where(pos, torch.cos(12.0 * r), 1.0)
        d = torch.where(pos, 6.0 * torch.sin(12.0 * r) / r, 0.0) / v + 0.5 * (1.0 + c) / (v * v)
        return 2.0 * d, None
    return _rho_eg(x, out, _drop_wave_rho, k)


def _salomon_rho(rho: Tensor) -> Tensor:
    r = _guarded_pow(rho, 0.5)
    return 1.0 - torch.cos(_TWO_PI * r) + 0.1 * r


@_big_blocks(2**20)
def salomon_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """grad = (2 pi sin(2 pi r) + 0.1) x / r, 0 at r = 0."""
    def k(rho):
        pos, safe = _safe(rho)
        r = safe.sqrt()
        return torch.where(pos, (_TWO_PI * torch.sin(_TWO_PI * r) + 0.1) / r, 0.0), None
    return _rho_eg(x, out, _salomon_rho, k)


@_big_blocks(2**20)
def happycat_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """grad = 2 x (0.25 |rho - n|^(-3/4) sign(rho - n) + 0.5 / n) + 1 / n (root term 0 on the sphere)."""
    n = x.shape[-1]
    w, = _work(x, x.shape)
    rho = torch.mul(x, x, out=w).sum(-1)
    sx = x.sum(-1)
    dev = rho - n
    q = dev.abs()
    root = _guarded_pow(q, 0.25)
    e = root + (0.5 * rho + sx) / n + 0.5
    pos, safe = _safe(q)
    k = torch.where(pos, 0.25 * safe.pow(-0.75), 0.0) * torch.sign(dev)
    g = torch.mul(x, _rows(2.0 * k + 1.0 / n), out=_grad_out(x, out))
    return e, g.add_(1.0 / n)


@_big_blocks(2**20)
def hgbat_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """q = rho^2 - s^2: grad = k (4 rho x - 2 s) + (x + 1) / n, k = 0.5 |q|^(-1/2) sign q (0 at q = 0)."""
    n = x.shape[-1]
    w, = _work(x, x.shape)
    rho = torch.mul(x, x, out=w).sum(-1)
    s = x.sum(-1)
    qq = rho * rho - s * s
    q = qq.abs()
    root = _guarded_pow(q, 0.5)
    e = root + (0.5 * rho + s) / n + 0.5
    pos, safe = _safe(q)
    k = torch.where(pos, 0.5 * safe.pow(-0.5), 0.0) * torch.sign(qq)
    g = torch.mul(x, _rows(4.0 * rho * k + 1.0 / n), out=_grad_out(x, out))
    return e, g.add_(_rows(1.0 / n - 2.0 * s * k))


def griewank_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """grad = x / 2000 + (p / cos w_i) sin(w_i) / sqrt(i), w_i = x_i / sqrt(i), p = prod cos w (the
    product rule as autograd applies it: p / cos w_i)."""
    si = _idx(x).sqrt()
    w, c = _work(x, x.shape, x.shape)
    g = _grad_out(x, out)
    torch.div(x, si, out=w)
    p = torch.cos(w, out=c).prod(-1)
    e = torch.mul(x, x, out=g).sum(-1) / 4000.0 - p + 1.0
    torch.sin(w, out=w).div_(c).div_(si).mul_(_rows(p))
    return e, torch.add(w, x, alpha=1.0 / 2000.0, out=g)


def xin_she_yang_1_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """f = A B, A = sum |x|, B = exp(-sum sin x^2): grad = B sign(x) - 2 A B x cos(x^2)."""
    w, v = _work(x, x.shape, x.shape)
    a = torch.abs(x, out=w).sum(-1)
    torch.mul(x, x, out=w)
    bexp = torch.exp(-torch.sin(w, out=v).sum(-1))
    e = a * bexp
    w.cos_().mul_(x)
    g = torch.sign(x, out=_grad_out(x, out)).mul_(_rows(bexp))
    return e, g.addcmul_(w, _rows(-2.0 * a * bexp))


@_big_blocks(2**18)
def modified_xin_she_yang_3_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """f = 1e4 (1 + (e1 - 2 e2) p^2): grad = 1e4 p^2 (-(2/3) e1 (x/15)^9 + 4 e2 x) - 2e4 (e1 - 2 e2) p (p / cos x) sin x."""
    w, v, c = _work(x, x.shape, x.shape, x.shape)
    torch.div(x, 15.0, out=w)
    e1 = torch.exp(-torch.pow(w, 10, out=v).sum(-1))
    torch.mul(w, w, out=v).mul_(v).mul_(v).mul_(w)  # (x/15)^9
    e2 = torch.exp(-torch.mul(x, x, out=w).sum(-1))
    p = torch.cos(x, out=c).prod(-1)
    pp = p * p
    m = e1 - 2.0 * e2
    e = 1e4 * (1.0 + m * pp)
    torch.sin(x, out=w).div_(c)  # tan x
    g = torch.mul(v, _rows(pp * e1 * (-1e4 * 10.0 / 15.0)), out=_grad_out(x, out))
    g.addcmul_(x, _rows(pp * e2 * 4e4))
    return e, g.addcmul_(w, _rows(-2e4 * m * pp))


def modified_xin_she_yang_5_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """f = 1e4 (1 + a exp(-b)), a = sum sin^2 x - exp(-||x||^2), b = sum sin^2 sqrt|x|:
    grad = 1e4 exp(-b) (2 sin x cos x + 2 x exp(-||x||^2) - a sin(r) cos(r) sign(x) / r), r = sqrt|x|
    (the last term 0 at x_i = 0)."""
    s, w, r, z = _work(x, x.shape, x.shape, x.shape, x.shape)
    g = _grad_out(x, out)
    torch.sin(x, out=s)
    ssum = torch.mul(s, s, out=w).sum(-1)
    e2 = torch.exp(-torch.mul(x, x, out=w).sum(-1))
    a = ssum - e2
    torch.abs(x, out=w)
    torch.clamp_min(w, _tiny(x), out=r).sqrt_()  # sqrt(where(|x| > 0, |x|, 1)) where |x| > 0
    torch.sign(x, out=z)
    torch.sin(r, out=w)  # t
    b = torch.mul(w, w, out=g).mul_(z).mul_(z).sum(-1)  # where(|x| > 0, t^2, 0), summed
    eb = torch.exp(-b)
    e = 1e4 * (1.0 + a * eb)
    w.mul_(torch.cos(r, out=g)).div_(r.clamp_min_(_normal(x))).mul_(z)  # sin(r) cos(r) sign(x) / r
    torch.cos(x, out=r).mul_(s).mul_(2.0)  # 2 sin x cos x
    torch.mul(x, _rows(2.0 * e2), out=g).add_(r).addcmul_(w, _rows(-a))
    return e, g.mul_(_rows(1e4 * eb))


def _powers_eg(x: Tensor, e: Tensor, out: Tensor | None) -> tuple[Tensor, Tensor]:
    """f = sum |x_i|^e_i (F03, F22): grad = e |x|^(e - 1) sign(x), as autograd's pow rule gives it
    (0 at x_i = 0, since every e_i - 1 >= 1; inf where |x|^(e - 1) overflows)."""
    a, t = _work(x, x.shape, x.shape)
    torch.abs(x, out=a)
    en = torch.pow(a, e, out=t).sum(-1)
    g = torch.pow(a, e - 1.0, out=_grad_out(x, out)).mul_(e)
    return en, g.mul_(torch.sign(x, out=t))


def sum_of_different_powers_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    return _powers_eg(x, _idx(x, 2), out)


def sum_of_different_powers_2_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    n = x.shape[-1]
    return _powers_eg(x, _idx(x, 0) * 4.0 / (n - 1) + 2.0, out)


def quintic_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """f = sum |p(x_i)| (Horner): grad = sign(p) p', p' by the derivative of the same Horner recurrence
    (0 at the roots, the kink's minimum-norm subgradient)."""
    p, d = _work(x, x.shape, x.shape)
    g = _grad_out(x, out)
    torch.sub(x, 3.0, out=p)
    torch.add(p, x, out=d)  # d(p1 x + 4)/dx = p1 + x
    for c in (4.0, 2.0, -10.0):
        p.mul_(x).add_(c)
        d.mul_(x).add_(p)  # d(p_k x + c')/dx = d_k x + p_k
    p.mul_(x).sub_(4.0)
    torch.sign(p, out=g)
    return p.abs_().sum(-1), g.mul_(d)


@_big_blocks(2**20)
def modified_ridge_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """grad_1 = sign(x_1); grad_i = 0.4 x_i q^(-0.9), q = sum_{i>=2} x_i^2 (0 at q = 0, the infinite slope)."""
    e = modified_ridge(x)
    q = _sqnorm(x[..., 1:])
    pos, safe = _safe(q)
    k = torch.where(pos, 0.4 * safe.pow(-0.9), 0.0)
    g = torch.mul(x, _rows(k), out=_grad_out(x, out))
    torch.sign(x[..., 0], out=g[..., 0])
    return e, g


def schwefel_2_21_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """f = max |x_i|: grad = sign(x_i) / k on the k tied maxima (autograd's amax rule), 0 elsewhere."""
    (a,) = _work(x, x.shape)
    torch.abs(x, out=a)
    m = a.amax(-1)
    g = torch.eq(a, _rows(m), out=torch.empty(x.shape, dtype=torch.bool, device=x.device))
    cnt = g.sum(-1)
    res = torch.sign(x, out=_grad_out(x, out)).mul_(g).div_(_rows(cnt).to(x.dtype))
    return m, res


def schwefel_2_22_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """f = sum |x| + prod |x|: grad = sign(x) (1 + p / |x_i|) (autograd's product rule, p / x_i, where no
    coordinate is 0; where one is, p = 0 and the others' products are 0, and sign(0) = 0 at the zeros)."""
    (a,) = _work(x, x.shape)
    torch.abs(x, out=a)
    p = a.prod(-1)
    e = a.sum(-1) + p
    _, safe = _safe(a)  # p = 0 wherever some |x_i| = 0, so p / 1 = 0 there
    t = torch.div(_rows(p), safe, out=safe).add_(1.0)
    return e, torch.sign(x, out=_grad_out(x, out)).mul_(t)


def weierstrass_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """grad = sum_k 4 a^k pi 3^k sin(pi 3^k x) cos(pi 3^k x)."""
    w, s, acc = _work(x, x.shape, x.shape, x.shape)
    g = _grad_out(x, out)
    for k in range(_W_K):
        fk = _PI * 3.0**k
        torch.sin(torch.mul(x, fk, out=w), out=s)
        w.cos_()
        if k == 0:
            torch.mul(s, s, out=acc)
            torch.mul(s, w, out=g).mul_(4.0 * fk)
        else:
            acc.addcmul_(s, s, value=_W_A**k)
            g.addcmul_(s, w, value=4.0 * _W_A**k * fk)
    return 2.0 * acc.sum(-1), g


def schwefel_eg(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """grad = -(sin r + 0.5 r cos r), r = sqrt|x| (0 at x_i = 0, the guard). The energy's guard
    where(|x| > 0, x sin sqrt|x|, 0) is x sin(...) itself: 0 at x = 0."""
    a, r, z = _work(x, x.shape, x.shape, x.shape)
    g = _grad_out(x, out)
    torch.abs(x, out=a)
    torch.clamp_min(a, _tiny(x), out=r).sqrt_()
    torch.sign(a, out=z)
    torch.sin(r, out=a)
    e = torch.mul(x, a, out=g).neg_().add_(_SCHWEFEL_K).sum(-1)  # K - t
    torch.cos(r, out=g).mul_(r).mul_(0.5).add_(a).mul_(z)
    return e, g.neg_()


# ------------------------------------------------------------------------------------------------
# minimizer sets
# ------------------------------------------------------------------------------------------------

QUINTIC_R = -0.40262794118612379474  # real root of t^3 - 2t^2 + 4t + 2
_ASIN01 = math.asin(0.1)


def _quintic_roots(lo: float, hi: float) -> Tensor:
    r = torch.tensor(sorted((-1.0, QUINTIC_R, 2.0)), dtype=torch.float64)
    return r[(r >= lo) & (r <= hi)]


def _alpine1_roots(lo: float, hi: float) -> Tensor:
    """All zeros of t (sin t + 0.1) in [lo, hi]: 0, -asin 0.1 + 2 pi k, pi + asin 0.1 + 2 pi k."""
    vals = [0.0] if lo <= 0.0 <= hi else []
    for base in (-_ASIN01, _PI + _ASIN01):
        k0 = math.ceil((lo - base) / _TWO_PI)
        k1 = math.floor((hi - base) / _TWO_PI)
        vals += [v for v in (base + _TWO_PI * k for k in range(k0 - 1, k1 + 2)) if lo <= v <= hi]
    return torch.tensor(sorted(vals), dtype=torch.float64)


def _integer_roots(lo: float, hi: float) -> Tensor:
    """Weierstrass: every integer is a zero of each coordinate's term (period 1)."""
    return torch.arange(math.ceil(lo), math.floor(hi) + 1, dtype=torch.float64)


def _perm_x_star(dim: int) -> Tensor:
    return torch.arange(1, dim + 1, dtype=torch.float64)


# zeros of F17 for n = 3 (x* = (1, 2, 3) and three others; Perm is not unique), refined to full double
# precision by Newton's method
_PERM3_ZEROS = (
    (1.0, 2.0, 3.0),
    (1.6857975667505813409, 1.1348976469012142811, 3.0451556496408086891),
    (1.4860263267926980097, 3.0678295774482591308, 1.2310058897148249188),
    (1.0796695170650307359, 3.0392525940076907988, 1.7840828416224346265),
)


def _perm_known(dim: int) -> Tensor:
    if dim == 2:
        return torch.tensor([[1.0, 2.0], [23.0 / 13.0, 14.0 / 13.0]], dtype=torch.float64)
    if dim == 3:
        return torch.tensor(_PERM3_ZEROS, dtype=torch.float64)
    return _perm_x_star(dim).unsqueeze(0)


# ------------------------------------------------------------------------------------------------
# registration
# ------------------------------------------------------------------------------------------------

_U = Properties(differentiable=True, multimodal=False)  # smooth, one local minimum, unique minimizer
_HAPPY_NOTE = (
    "analytically one local minimum for n >= 2, but local searchers stall on the non-differentiable "
    "{sphere}, so it behaves multimodal in practice (the CEC suites list it as multimodal)"
)


def _reg(
    name: str,
    fnum: str | None,
    f: Callable[[Tensor], Tensor],
    bound: float,
    props: Properties,
    title: str,
    formula: str,
    **kw,
) -> None:
    register_function(FunctionSpec(name=name, fnum=fnum, f=f, bound=bound, properties=props, title=title,
                                   formula=formula, eg=FUSED_EG.get(name), **kw))


#: registry name -> fused energy-and-gradient kernel (the analytic fast path); F17 (Perm, O(D^2) per
#: point) uses autograd
FUSED_EG: dict[str, Callable[..., tuple[Tensor, Tensor]]] = {
    "sphere": sphere_eg, "ellipsoid": ellipsoid_eg, "sum-of-different-powers": sum_of_different_powers_eg,
    "quintic": quintic_eg, "sum-of-different-powers-2": sum_of_different_powers_2_eg,
    "modified-ridge": modified_ridge_eg, "schwefel-2.21": schwefel_2_21_eg, "schwefel-2.22": schwefel_2_22_eg, "drop-wave": drop_wave_eg, "weierstrass": weierstrass_eg,
    "alpine1": alpine1_eg, "ackley": ackley_eg, "griewank": griewank_eg, "rastrigin": rastrigin_eg,
    "happycat": happycat_eg, "hgbat": hgbat_eg, "rosenbrock": rosenbrock_eg,
    "high-conditioned-elliptic": high_conditioned_elliptic_eg, "discus": discus_eg, "bent-cigar": bent_cigar_eg,
    "schaffer-f7": schaffer_f7_eg, "schaffer-f7-paper": schaffer_f7_paper_eg,
    "expanded-schaffer-f6": expanded_schaffer_f6_eg, "rotated-hyper-ellipsoid": rotated_hyper_ellipsoid_eg,
    "schwefel": schwefel_eg, "xin-she-yang-1": xin_she_yang_1_eg, "salomon": salomon_eg, "zakharov": zakharov_eg,
    "modified-xin-she-yang-3": modified_xin_she_yang_3_eg, "modified-xin-she-yang-5": modified_xin_she_yang_5_eg,
}


_reg("sphere", "F01", sphere, 100.0, _U, "Sphere", "sum x_i^2", grad=sphere_grad)
_reg("ellipsoid", "F02", ellipsoid, 100.0, _U, "Ellipsoid", "sum i x_i^2")
_reg("sum-of-different-powers", "F03", sum_of_different_powers, 10.0, _U, "Sum of Different Powers",
     "sum |x_i|^(i+1)")
_reg("quintic", "F04", quintic, 20.0,
     Properties(differentiable=False, multimodal=True, unique_minimizer=False, smooth_at_xstar=False,
                note="3^n global minimizers {-1, r, 2}^n, r = -0.40262794118612379 (the authors' header says 2)"),
     "Quintic", "sum |x_i^5 - 3x_i^4 + 4x_i^3 + 2x_i^2 - 10x_i - 4|",
     x_star=-1.0, coord_roots=_quintic_roots)
_reg("drop-wave", "F05", drop_wave, 5.12, Properties(multimodal=True), "Drop-Wave",
     "1 - (1 + cos(12 ||x||)) / (0.5 ||x||^2 + 2)")
_reg("weierstrass", "F06", weierstrass, 0.5,
     Properties(multimodal=True, unique_minimizer=False,
                note="unique minimizer 0 in the native box [-0.5, 0.5]^n; every integer vector is a global "
                "minimizer in R^n (period 1)"),
     "Weierstrass", "sum_i sum_{k=0}^{20} a^k cos(2 pi b^k (x_i + 0.5)) + n (2 - 2^-20), a = 0.5, b = 3",
     coord_roots=_integer_roots)
_reg("alpine1", "F07", alpine1, 10.0,
     Properties(differentiable=False, multimodal=True, unique_minimizer=False, smooth_at_xstar=False,
                note="8^n global minimizers in [-10, 10]^n, infinitely many in R^n (the authors' header says "
                "unique)"),
     "Alpine 1", "sum |x_i sin x_i + 0.1 x_i|", coord_roots=_alpine1_roots, aliases=("alpine 1",))
_reg("ackley", "F08", ackley, 32.768,
     Properties(differentiable=False, multimodal=True, smooth_at_xstar=False, note="non-differentiable at 0 only"),
     "Ackley", "-20 exp(-0.2 sqrt(sum x_i^2 / n)) - exp(sum cos(2 pi x_i) / n) + 20 + e", grad=ackley_grad)
_reg("griewank", "F09", griewank, 100.0, Properties(multimodal=True), "Griewank",
     "sum x_i^2 / 4000 - prod cos(x_i / sqrt(i)) + 1")
_reg("rastrigin", "F10", rastrigin, 5.12, Properties(multimodal=True), "Rastrigin",
     "10 n + sum (x_i^2 - 10 cos(2 pi x_i))", grad=rastrigin_grad)
_reg("happycat", "F11", happycat, 20.0,
     Properties(differentiable=False, multimodal=False, smooth_at_xstar=False,
                note=_HAPPY_NOTE.format(sphere="sphere ||x||^2 = n")),
     "HappyCat", "| ||x||^2 - n |^(1/4) + (0.5 ||x||^2 + sum x_i) / n + 0.5", x_star=-1.0)
_reg("hgbat", "F12", hgbat, 15.0,
     Properties(differentiable=False, multimodal=False, smooth_at_xstar=False,
                note=_HAPPY_NOTE.format(sphere="spheres ||x -+ 1/2||^2 = n/4")),
     "HGBat", "| ||x||^4 - (sum x_i)^2 |^(1/2) + (0.5 ||x||^2 + sum x_i) / n + 0.5", x_star=-1.0)
_reg("rosenbrock", "F13", rosenbrock, 10.0,
     Properties(multimodal=True, multimodal_min_dim=4, note="one local minimum for n <= 3, two for n >= 4"),
     "Rosenbrock", "sum_{i<n} 100 (x_{i+1} - x_i^2)^2 + (x_i - 1)^2", x_star=1.0, min_dim=2, grad=rosenbrock_grad)
_reg("high-conditioned-elliptic", "F14", high_conditioned_elliptic, 100.0, _U, "High Conditioned Elliptic",
     "sum (10^6)^((i-1)/(n-1)) x_i^2", min_dim=2)
_reg("discus", "F15", discus, 100.0, _U, "Discus", "10^6 x_1^2 + sum_{i>=2} x_i^2")
_reg("bent-cigar", "F16", bent_cigar, 100.0, _U, "Bent Cigar", "x_1^2 + 10^6 sum_{i>=2} x_i^2")
_reg("perm", "F17", perm, 50.0,
     Properties(multimodal=True, unique_minimizer=False,
                note="minimizer set only partly known: n = 2 has (1, 2) and (23/13, 14/13), n = 3 at least four "
                "zeros; the literature's 'unique x* = (1..n)' is wrong. Native box [-50, 50] holds x* only for "
                "n <= 50 (use bounds [-n, n] beyond)"),
     "Perm D, beta", "sum_i [sum_j (j^i + 0.5)((x_j / j)^i - 1)]^2",
     x_star=_perm_x_star, max_dim=143,
     max_dim_reason="j^i overflows float64 for n >= 144, so f(x*) would be NaN (inf * 0)",
     known_minimizers=_perm_known, minimizers_exact=False)
_reg("schaffer-f7", "F18", schaffer_f7, 100.0,
     Properties(differentiable=False, multimodal=True, smooth_at_xstar=False,
                note="non-differentiable where x_i = x_{i+1} = 0"),
     "Schaffer F7", "[1/(n-1) sum_{i<n} sqrt(s_i) (1 + sin^2(50 s_i^0.2))]^2, s_i = sqrt(x_i^2 + x_{i+1}^2)",
     min_dim=2)
_reg("schaffer-f7-paper", None, schaffer_f7_paper, 100.0,
     Properties(differentiable=False, multimodal=True, smooth_at_xstar=False,
                note="the action-functional paper's variant of F18: V = S/n with no outer square; F18 = (n V/(n-1))^2"),
     "Schaffer F7 (action-functional paper)",
     "1/n sum_{i<n} sqrt(s_i) (1 + sin^2(50 s_i^0.2)), s_i = sqrt(x_i^2 + x_{i+1}^2)",
     min_dim=2, aliases=("schaffer's f7",))
_reg("expanded-schaffer-f6", "F19", expanded_schaffer_f6, 100.0, Properties(multimodal=True),
     "Expanded Schaffer F6",
     "sum_{i<n} g(x_i, x_{i+1}) + g(x_n, x_1), g(u, v) = 0.5 + (sin^2 sqrt(u^2+v^2) - 0.5) / (1 + 0.001(u^2+v^2))^2",
     aliases=("expanded schaffer's f6",))
_reg("rotated-hyper-ellipsoid", "F20", rotated_hyper_ellipsoid, 100.0, _U, "Rotated Hyper-ellipsoid",
     "sum_i sum_{j<=i} x_j^2")
_reg("schwefel", "F21", schwefel, 500.0,
     Properties(multimodal=True, global_min_defined=False,
                note="unbounded below in R^n: the minimum c 1 exists only within the native box [-500, 500]^n"),
     "Schwefel", "418.9828872724337 n - sum x_i sin(sqrt|x_i|)", x_star=_SCHWEFEL_C, within_native_box=True)
_reg("sum-of-different-powers-2", "F22", sum_of_different_powers_2, 10.0, _U, "Sum of Different Powers 2",
     "sum |x_i|^(2 + 4 (i-1)/(n-1))", min_dim=2)
_reg("xin-she-yang-1", "F23", xin_she_yang_1, 6.283185307,
     Properties(differentiable=False, multimodal=True, smooth_at_xstar=False,
                note="Jamil & Yang's / SciPy's 'Xin-She Yang 2'"),
     "Xin-She Yang 1", "(sum |x_i|) exp(-sum sin(x_i^2))")
_reg("schwefel-2.21", "F24", schwefel_2_21, 100.0,
     Properties(differentiable=False, smooth_at_xstar=False), "Schwefel 2.21", "max |x_i|")
_reg("schwefel-2.22", "F25", schwefel_2_22, 100.0,
     Properties(differentiable=False, smooth_at_xstar=False), "Schwefel 2.22", "sum |x_i| + prod |x_i|")
_reg("salomon", "F26", salomon, 20.0,
     Properties(differentiable=False, multimodal=True, smooth_at_xstar=False, note="non-differentiable at 0 only"),
     "Salomon", "1 - cos(2 pi ||x||) + 0.1 ||x||")
_reg("modified-ridge", "F27", modified_ridge, 100.0,
     Properties(differentiable=False, smooth_at_xstar=False), "Modified Ridge",
     "|x_1| + 2 (sum_{i>=2} x_i^2)^0.1")
_reg("zakharov", "F28", zakharov, 10.0, _U, "Zakharov",
     "sum x_i^2 + (sum 0.5 i x_i)^2 + (sum 0.5 i x_i)^4")
_reg("modified-xin-she-yang-3", "F29", modified_xin_she_yang_3, 20.0, Properties(multimodal=True),
     "Modified Xin-She Yang 3", "10^4 [1 + (exp(-sum (x_i/15)^10) - 2 exp(-sum x_i^2)) prod cos^2 x_i]")
_reg("modified-xin-she-yang-5", "F30", modified_xin_she_yang_5, 100.0,
     Properties(differentiable=False, multimodal=True, smooth_at_xstar=False),
     "Modified Xin-She Yang 5",
     "10^4 [1 + (sum sin^2 x_i - exp(-sum x_i^2)) exp(-sum sin^2 sqrt|x_i|)]")

#: registry name -> collection number (the 30 functions), plus the paper's variant (None)
NAMES: dict[str, str | None] = {
    "sphere": "F01", "ellipsoid": "F02", "sum-of-different-powers": "F03", "quintic": "F04",
    "drop-wave": "F05", "weierstrass": "F06", "alpine1": "F07", "ackley": "F08", "griewank": "F09",
    "rastrigin": "F10", "happycat": "F11", "hgbat": "F12", "rosenbrock": "F13",
    "high-conditioned-elliptic": "F14", "discus": "F15", "bent-cigar": "F16", "perm": "F17",
    "schaffer-f7": "F18", "expanded-schaffer-f6": "F19", "rotated-hyper-ellipsoid": "F20",
    "schwefel": "F21", "sum-of-different-powers-2": "F22", "xin-she-yang-1": "F23",
    "schwefel-2.21": "F24", "schwefel-2.22": "F25", "salomon": "F26", "modified-ridge": "F27",
    "zakharov": "F28", "modified-xin-she-yang-3": "F29", "modified-xin-she-yang-5": "F30",
    "schaffer-f7-paper": None,
}

#: the action-functional paper's 14 function names (its Plevris & Solorzano selection) -> registry name
PAPER_NAMES: dict[str, str] = {
    "drop-wave": "drop-wave", "alpine 1": "alpine1", "ackley": "ackley", "griewank": "griewank",
    "rastrigin": "rastrigin", "happycat": "happycat", "hgbat": "hgbat", "rosenbrock": "rosenbrock",
    "schaffer's f7": "schaffer-f7-paper", "expanded schaffer's f6": "expanded-schaffer-f6",
    "salomon": "salomon", "xin-she yang 1": "xin-she-yang-1", "modified xin-she yang 3": "modified-xin-she-yang-3",
    "modified xin-she yang 5": "modified-xin-she-yang-5",
}
