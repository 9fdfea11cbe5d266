"""Analytic test functions as problems: a spec is data, the evaluation a plain torch function."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor

from gmbench.core.compile import compile_enabled, maybe_compile
from gmbench.core.errors import GmbenchError
from gmbench.problems.base import EnergyFn, Problem, Properties, check_bounds
from gmbench.problems.functions.nearest import RotatedProductSet


@dataclass(frozen=True)
class FunctionSpec:
    """Declarative description of one analytic function.

    ``f`` maps a tensor ``(..., D)`` to ``(...)`` (float32 or float64, any device) and must be a
    module-level function that closes over nothing answer-related. ``x_star`` is the designated
    minimizer: a fill value (x* = value * 1) or a function ``dim -> (D,) float64 tensor``.
    Minimizer sets: ``coord_roots(lo, hi)`` gives the per-coordinate roots of a product set within
    [lo, hi] (sorted 1-D float64 tensor); ``known_minimizers(dim)`` gives a finite set ``(K, D)``
    that is complete only if ``minimizers_exact``.
    """

    name: str
    fnum: str | None
    f: EnergyFn
    bound: float
    properties: Properties
    x_star: float | Callable[[int], Tensor] = 0.0
    min_dim: int = 1
    max_dim: int | None = None
    max_dim_reason: str = ""
    coord_roots: Callable[[float, float], Tensor] | None = None
    known_minimizers: Callable[[int], Tensor | None] | None = None
    minimizers_exact: bool = True
    within_native_box: bool = False
    aliases: tuple[str, ...] = ()
    formula: str = ""
    title: str = ""
    grad: Callable[[Tensor], Tensor] | None = None  # analytic gradient (fast path; autograd is the plain one)
    #: fused analytic energy and gradient ``eg(x, out=None) -> (f(x), grad f(x))`` (the gradient written
    #: into ``out`` when given); its energies are bit for bit ``f``'s. Preferred over ``grad`` when set.
    eg: Callable[..., tuple[Tensor, Tensor]] | None = None


#: the derivation of rotated instances, recorded in their configuration (so in their cell keys): 2 = the
#: rotated instance's seed includes ``rotate``. (1, never recorded: rotated instance k reused shifted
#: instance k's shift.)
INSTANCE_RECIPE = 2


class FunctionProblem(Problem):
    """One analytic function in ``dim`` dimensions on a box.

    ``instance`` 0 (the default) is the function as published. ``instance`` k >= 1 is COCO's
    instance k (:class:`InstanceTransform`): f_k(x) = f(R_k (x - s_k) + x*), whose designated
    minimizer x*_k = s_k lies in the inner 80 % of the box, with the same f*; R_k is the identity
    unless ``rotate``. ``secret`` enters the derivation (a suite's leaderboard secret); the problem
    configuration records only its hash. Schwefel, unbounded below outside its native box, gets COCO's
    boundary penalty on its instances (:meth:`_penalty_bound`).

    A rotated instance is derived from a seed that includes ``rotate`` (:meth:`InstanceTransform.seed`),
    so rotated instance k is an independent placement, not shifted instance k's x*_k turned; its
    configuration records ``instance_recipe`` (:data:`INSTANCE_RECIPE`). Rotated cells stored by earlier
    code (whose rotated instance k reused shifted instance k's shift) lack it: they keep their old keys and
    are not reused. Unrotated instances and instance 0 are unchanged (same numbers, same keys)."""

    family = "function"

    def __init__(self, spec: FunctionSpec, dim: int, bounds: tuple[float, float] | None = None,
                 instance: int = 0, rotate: bool = False, secret: str = ""):
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise GmbenchError(f"problem {spec.name!r}: dimension must be an integer, got {dim!r}")
        if dim < spec.min_dim:
            raise GmbenchError(f"problem {spec.name!r}: impossible dimension {dim} (needs dim >= {spec.min_dim})")
        if spec.max_dim is not None and dim > spec.max_dim:
            raise GmbenchError(
                f"problem {spec.name!r}: impossible dimension {dim} (dim <= {spec.max_dim}: {spec.max_dim_reason})"
            )
        lo, hi = (-spec.bound, spec.bound) if bounds is None else (float(bounds[0]), float(bounds[1]))
        check_bounds(spec.name, lo, hi)
        if spec.within_native_box and (lo < -spec.bound or hi > spec.bound):
            raise GmbenchError(
                f"problem {spec.name!r}: bounds [{lo}, {hi}] exceed the native box [-{spec.bound}, {spec.bound}],"
                " outside which the function is unbounded below"
            )
        if not isinstance(instance, int) or isinstance(instance, bool) or instance < 0:
            raise GmbenchError(f"problem {spec.name!r}: instance must be a non-negative integer, got {instance!r}")
        if not isinstance(rotate, bool):
            raise GmbenchError(f"problem {spec.name!r}: rotate must be true or false, got {rotate!r}")
        if rotate and instance == 0:
            raise GmbenchError(f"problem {spec.name!r}: rotate needs an instance >= 1 (instance 0 is the function "
                               "as published)")
        if isinstance(secret, InstanceKey):
            if (secret.name, secret.dim, secret.instance, secret.rotate) != (spec.name, dim, instance, rotate):
                raise GmbenchError(f"problem {spec.name!r}: the instance key is for {secret!r}, not this instance")
        elif not isinstance(secret, str):
            raise GmbenchError(f"problem {spec.name!r}: secret must be a string, got {type(secret).__name__}")
        self.spec = spec
        self.name = spec.name
        self.properties = spec.properties
        self.dim = dim
        self.lower = torch.full((dim,), lo, dtype=torch.float64)
        self.upper = torch.full((dim,), hi, dtype=torch.float64)
        self.instance, self.rotate = instance, rotate
        key = secret if isinstance(secret, InstanceKey) else None
        self._secret_tag = key.tag if key else secret_tag(secret) if secret and instance else ""
        self._seed = key.seed if key else InstanceTransform.seed(spec.name, dim, instance, secret, rotate) if instance else 0
        self._tf: InstanceTransform | None = None
        self._ps: RotatedProductSet | None = None
        if instance:
            self._tf = InstanceTransform.derive(self._seed, dim, lo, hi, rotate, self._x_star0())
            if rotate:
                self.properties = dataclasses.replace(self.properties, note=(
                    (self.properties.note + "; " if self.properties.note else "")
                    + "rotated instance: not separable"))
        xs = self.x_star()
        if bool((xs < lo).any() or (xs > hi).any()):
            raise GmbenchError(
                f"problem {spec.name!r}: bounds [{lo}, {hi}] do not contain the global minimizer x*"
            )

    def energy_fn(self) -> EnergyFn:
        if self._tf is not None:
            return self._tf.energy(self.spec.f, self._penalty_bound())
        return self.spec.f

    def energy_and_grad_fn(self) -> Callable[[Tensor], tuple[Tensor, Tensor]] | None:
        """The analytic-gradient fast path when the spec has one (``GMBENCH_PLAIN=1`` turns it off;
        ``GMBENCH_COMPILE=1`` fuses it with torch.compile, compiled on the first call of each shape).
        For an instance the gradient follows the chain rule, grad_x = R^T grad f(y)."""
        spec = self.spec
        if (spec.grad is None and spec.eg is None) or os.environ.get("GMBENCH_PLAIN", "") not in ("", "0"):
            return None
        f, grad, eg = spec.f, spec.grad, spec.eg
        if eg is not None:
            grad = None  # the fused kernel is used
        if self._tf is not None:
            pen = self._penalty_bound()
            f = self._tf.energy(f, pen)
            grad = None if grad is None else self._tf.gradient(grad, pen)
            eg = None if eg is None else self._tf.energy_and_gradient(eg, pen)
        return BlockedEnergyGrad(f, grad, compile=compile_enabled(), eg=eg)

    def _penalty_bound(self) -> float | None:
        """Functions unbounded below outside their native box (Schwefel) get, on a transformed instance,
        COCO's boundary penalty sum max(0, |y_i| - bound)^2 (Hansen et al. 2009, bbob noiseless function
        definitions, f_pen and f20): zero inside the native box, and large enough outside it that the
        minimum stays f* at x*_k although the moved box reaches beyond the native one."""
        return self.spec.bound if self.spec.within_native_box else None

    def _x_star0(self) -> Tensor:
        xs = self.spec.x_star
        if callable(xs):
            return xs(self.dim).to(torch.float64)
        return torch.full((self.dim,), float(xs), dtype=torch.float64)

    def x_star(self) -> Tensor:
        """The designated minimizer; for an instance k >= 1, x*_k = s_k."""
        if self._tf is not None:
            return self._tf.shift.clone()
        return self._x_star0()

    def nearest_minimizer(self, x: Tensor) -> tuple[Tensor | None, bool]:
        """The nearest global minimizer in the box to each row of ``x``, and whether every returned
        distance is exact (where not, each is an upper bound: see :meth:`nearest_minimizers`)."""
        near, exact = self.nearest_minimizers(x)
        return near, bool(exact.all())

    def nearest_minimizers(self, x: Tensor) -> tuple[Tensor | None, Tensor]:
        """Per point: the nearest known global minimizer inside the box, and whether it is the nearest
        one (a (...,) bool tensor; where False the distance to the returned minimizer is an upper bound)."""
        flags = lambda ok: torch.full(x.shape[:-1], bool(ok), dtype=torch.bool, device=x.device)  # noqa: E731
        if self._tf is not None:
            near, exact = self._nearest_transformed(x)
            return near, exact if isinstance(exact, Tensor) else flags(exact)
        spec = self.spec
        if spec.coord_roots is not None:
            roots = spec.coord_roots(float(self.lower[0]), float(self.upper[0])).to(x)
            return nearest_in_sorted(roots, x), flags(True)
        if spec.known_minimizers is not None:
            known = spec.known_minimizers(self.dim)
            if known is not None:
                known = known.to(x)
                d = torch.cdist(x.reshape(-1, self.dim), known)  # (B, K)
                idx = d.argmin(dim=-1)
                return known[idx].reshape(x.shape), flags(spec.minimizers_exact)
        near, exact = super().nearest_minimizer(x)
        return near, flags(exact)

    def nearest_distance_bounds(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor] | None:
        """Per point (..., D): (certified lower bound, upper bound, exact) of the distance to the nearest
        global minimizer in the box, float64; None where no minimizer is known. The upper bound is the
        distance to the point :meth:`nearest_minimizers` returns; the two agree where ``exact``. Only a
        rotated product set (:mod:`gmbench.problems.functions.nearest`) has a lower bound below the upper
        one; elsewhere an inexact distance (a partly known set) gets the trivial lower bound 0."""
        x64 = x.detach().to("cpu", torch.float64)
        if self._tf is not None and self._tf.rotated and self.spec.coord_roots is not None:
            ps = self._product_set()
            if ps.usable:
                near, exact, lower = ps.nearest(x64.reshape(-1, self.dim))
                upper = torch.linalg.vector_norm(near - x64.reshape(-1, self.dim), dim=-1)
                shape = x.shape[:-1]
                return lower.reshape(shape), upper.reshape(shape), exact.reshape(shape)
        near, exact = self.nearest_minimizers(x64)
        if near is None:
            return None
        upper = torch.linalg.vector_norm(x64 - near.to(x64), dim=-1)
        exact = exact.cpu()
        return torch.where(exact, upper, torch.zeros_like(upper)), upper, exact

    def _product_set(self) -> RotatedProductSet:
        """The rotated instance's in-box minimizer search, built on first use (once per problem)."""
        if self._ps is None:
            self._ps = RotatedProductSet(self._tf, self.spec.coord_roots, self.lower, self.upper)
        return self._ps

    def _nearest_transformed(self, x: Tensor) -> tuple[Tensor | None, bool | Tensor]:
        """Nearest global minimizer *in the box* of f_k(x) = f(R(x - s) + x*), searched in the function's
        own frame y = R(x - s) + x* and mapped back (R is orthogonal, so distances are the same in both
        frames).

        Product sets (``coord_roots``) without rotation: per coordinate, the nearest root inside the image
        of the box (an exact box there), always exact. With rotation the image is a rotated box, and the
        coordinate-wise nearest root can map outside it: :class:`~gmbench.problems.functions.nearest.
        RotatedProductSet` searches the in-box minimizers, returns one per point and flags the points
        where it is certified the nearest (elsewhere its distance is an upper bound). Finite sets
        (``known_minimizers``) are mapped back and kept where in the box."""
        spec, tf = self.spec, self._tf
        x64 = x.detach().to(torch.float64).reshape(-1, self.dim)
        if spec.coord_roots is not None:
            a, b = tf.image_box(self.lower, self.upper)  # (D,) each, float64 cpu
            roots = spec.coord_roots(float(a.min()), float(b.max())).to(x64)
            if roots.numel() == 0:
                return super().nearest_minimizer(x)
            ia = torch.searchsorted(roots, a.to(x64))  # first root >= a_i
            ib = torch.searchsorted(roots, b.to(x64), right=True)  # one past the last root <= b_i
            if bool((ib <= ia).any()):  # a coordinate without a root in its range: x*_k's coordinate is one
                return super().nearest_minimizer(x)
            if not tf.rotated:
                near = tf.inverse(nearest_in_sorted_range(roots, tf.forward(x64), ia, ib))
                return near.reshape(x.shape).to(x), True
            near, exact, _ = self._product_set().nearest(x64.cpu())
            return near.reshape(x.shape).to(x), exact.reshape(x.shape[:-1]).to(x.device)
        if spec.known_minimizers is not None:
            known = spec.known_minimizers(self.dim)
            if known is not None:
                known = tf.inverse(known.to(torch.float64))
                inside = ((known >= self.lower) & (known <= self.upper)).all(dim=-1)
                known = torch.cat([known[inside], self.x_star().unsqueeze(0)]).to(x64)
                d = torch.cdist(x64, known)
                return known[d.argmin(dim=-1)].reshape(x.shape).to(x), spec.minimizers_exact
        return super().nearest_minimizer(x)

    def instance_key(self) -> InstanceKey | None:
        """What rebuilds this instance without its secret (None for instance 0)."""
        if not self.instance:
            return None
        return InstanceKey(self.spec.name, self.dim, self.instance, self.rotate, self._seed, self._secret_tag)

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"name": self.name, "dim": self.dim,
                               "bounds": [float(self.lower[0]), float(self.upper[0])]}
        if self.instance:  # only when not the published function, so existing keys stay the same
            cfg["instance"] = self.instance
            if self.rotate:
                cfg["rotate"] = True
                cfg["instance_recipe"] = INSTANCE_RECIPE  # rotated cells of the old recipe get no match
            if self._secret_tag:
                cfg["secret_sha256"] = self._secret_tag
        return cfg


@dataclass(frozen=True)
class InstanceKey:
    """A suite secret as one instance needs it: the seed of that instance's derivation
    (:meth:`InstanceTransform.seed`, a SHA-256 of the function, dimension, instance number, rotation and
    secret) and the secret's tag, never the secret. The suite loader replaces a problem's ``secret`` by
    its key, so cells, Ray workers and sealed parents hold what rebuilds that one instance and nothing
    that reveals the secret (or any other instance). Its repr hides the seed."""

    name: str
    dim: int
    instance: int
    rotate: bool
    seed: int
    tag: str

    def __repr__(self) -> str:
        return f"InstanceKey({self.name}, dim={self.dim}, instance={self.instance}, secret {self.tag})"


def secret_tag(secret: str) -> str:
    """What a cell records about a suite's secret: a hash, never the secret itself."""
    return hashlib.sha256(("gmbench-secret|" + secret).encode()).hexdigest()[:16]


def nearest_in_sorted_range(roots: Tensor, y: Tensor, ia: Tensor, ib: Tensor) -> Tensor:
    """Coordinate-wise nearest of ``roots[ia_i:ib_i]`` (sorted, non-empty per coordinate) to ``y[..., i]``."""
    idx = torch.searchsorted(roots, y.contiguous())
    left = torch.minimum(torch.maximum(idx - 1, ia), ib - 1)
    right = torch.minimum(torch.maximum(idx, ia), ib - 1)
    lv, rv = roots[left], roots[right]
    return torch.where((y - lv).abs() <= (rv - y).abs(), lv, rv)


class InstanceTransform:
    """The instance transformation of COCO (Hansen et al., "COCO: a platform for comparing continuous
    optimizers in a black-box setting", Optim. Methods Softw. 36, 2021, sec. 3; bbob function
    definitions, 2009): y = R (x - s) + x*, so f_k(x) = f(y) has its designated minimizer at x*_k = s
    and the same f*. s is uniform in the inner 80 % of the box, [lo + 0.1 (hi - lo), hi - 0.1 (hi - lo)].

    R (with ``rotate``) is a permuted block-diagonal orthogonal matrix R = P_out B P_in as in
    bbob-largescale (Varelas et al., "A comparative study of large-scale variants of CMA-ES", PPSN
    2018, sec. 3; Elhara et al., "COCO: the large scale black-box optimization benchmarking
    (bbob-largescale) test suite", arXiv:1903.06396, sec. 2): blocks of at most 40 coordinates (the
    last one the remainder), each Haar-random (QR of a Gaussian matrix with the signs of R's diagonal
    folded into Q; Mezzadri, Notices AMS 54(5), 2007, sec. 5), and P_in/P_out uniformly random
    permutations (bbob-largescale uses truncated uniform swaps; a full permutation couples any
    coordinates). Evaluating y costs O(40 D).

    Everything is drawn in float64 from a CPU ``torch.Generator`` seeded by a SHA-256 of (name, D, k,
    secret, and "rotated" for a rotated instance), so the same instance is the same in any process, on any
    device and in any dtype."""

    BLOCK = 40

    def __init__(self, shift: Tensor, perm_in: Tensor | None, blocks: Tensor | None, sizes: list[int],
                 perm_out: Tensor | None, x_star0: Tensor):
        self.shift, self.perm_in, self.blocks, self.sizes, self.perm_out = shift, perm_in, blocks, sizes, perm_out
        self.x_star0 = x_star0
        self.rotated = blocks is not None

    @staticmethod
    def seed(name: str, dim: int, k: int, secret: str, rotate: bool = False) -> int:
        """The generator seed of instance ``k``. A rotated instance's seed includes ``rotate``, so its shift
        is independent of the unrotated instance k's (whose seed, and so every unrotated instance, is
        the one of the first recipe)."""
        tail = "|rotated" if rotate else ""
        h = hashlib.sha256(f"gmbench-instance|{name}|{dim}|{k}|{secret}{tail}".encode()).digest()
        return int.from_bytes(h[:8], "little") & (2**63 - 1)

    @classmethod
    def derive(cls, seed: int, dim: int, lo: float, hi: float, rotate: bool, x_star0: Tensor) -> "InstanceTransform":
        """The instance of generator seed ``seed`` (:meth:`seed`) in ``dim`` dimensions on the box
        [lo, hi]^dim, of a function whose published minimizer is ``x_star0``."""
        g = torch.Generator(device="cpu").manual_seed(seed)
        u = torch.rand(dim, generator=g, dtype=torch.float64)
        shift = (lo + 0.1 * (hi - lo)) + 0.8 * (hi - lo) * u
        if not rotate:
            return cls(shift, None, None, [dim], None, x_star0)
        bs = min(cls.BLOCK, dim)
        sizes = [bs] * (dim // bs) + ([dim % bs] if dim % bs else [])
        blocks = torch.zeros(len(sizes), bs, bs, dtype=torch.float64)
        for i, n in enumerate(sizes):  # at most D/40 small QRs, once per problem
            q, r = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
            blocks[i, :n, :n] = q * torch.sign(torch.diagonal(r)).masked_fill(torch.diagonal(r) == 0, 1.0)
            if n < bs:
                blocks[i, n:, n:] = torch.eye(bs - n, dtype=torch.float64)
        perm_in = torch.randperm(dim, generator=g)
        perm_out = torch.randperm(dim, generator=g)
        return cls(shift, perm_in, blocks, sizes, perm_out, x_star0)

    # ---- float64 maps (harness side) ------------------------------------------------------------
    def _rot(self, u: Tensor, blocks: Tensor, perm_in: Tensor, perm_out: Tensor, transpose: bool = False) -> Tensor:
        """R u (or R^T u) for u (..., D) on u's device and dtype: permutation, block matmul, permutation."""
        d = u.shape[-1]
        nb, bs = blocks.shape[0], blocks.shape[1]
        lead = u.shape[:-1]
        if not transpose:
            v = u.index_select(-1, perm_in)
            v = torch.nn.functional.pad(v, (0, nb * bs - d)).reshape(*lead, nb, bs)
            v = torch.einsum("kij,...kj->...ki", blocks, v).reshape(*lead, nb * bs)[..., :d]
            return v.index_select(-1, perm_out)
        v = u.index_select(-1, torch.argsort(perm_out))
        v = torch.nn.functional.pad(v, (0, nb * bs - d)).reshape(*lead, nb, bs)
        v = torch.einsum("kji,...kj->...ki", blocks, v).reshape(*lead, nb * bs)[..., :d]
        return v.index_select(-1, torch.argsort(perm_in))

    def forward(self, x: Tensor) -> Tensor:
        """y = R (x - s) + x* (float64, on x's device)."""
        u = x - self.shift.to(x)
        if self.rotated:
            u = self._rot(u, self.blocks.to(x), self.perm_in.to(x.device), self.perm_out.to(x.device))
        return u + self.x_star0.to(x)

    def inverse(self, y: Tensor) -> Tensor:
        """x = R^T (y - x*) + s."""
        u = y - self.x_star0.to(y)
        if self.rotated:
            u = self._rot(u, self.blocks.to(y), self.perm_in.to(y.device), self.perm_out.to(y.device), transpose=True)
        return u + self.shift.to(y)

    def image_box(self, lower: Tensor, upper: Tensor) -> tuple[Tensor, Tensor]:
        """Per-coordinate range of y over the box (exact image without rotation, its bounding box with)."""
        c = 0.5 * (lower + upper)
        h = 0.5 * (upper - lower)
        yc = self.forward(c.unsqueeze(0))[0]
        if not self.rotated:
            return yc - h, yc + h
        yh = self._rot(h.unsqueeze(0), self.blocks.abs(), self.perm_in, self.perm_out)[0]  # |R| h
        return yc - yh, yc + yh

    # ---- method side: closures over the arrays in the layout evaluation uses ---------------------
    def _arrays(self) -> Callable[[Tensor], tuple]:
        """Per dtype/device cache of the evaluation arrays. The shift is kept permuted and in block
        layout (nb, bs), the form the block product consumes."""
        d = self.shift.numel()
        if self.rotated:
            nb, bs = self.blocks.shape[0], self.blocks.shape[1]
            s_blk = torch.nn.functional.pad(self.shift[self.perm_in], (0, nb * bs - d)).reshape(nb, bs)
            host = (self.perm_in, self.blocks, s_blk, self.perm_out, torch.argsort(self.perm_out),
                    torch.argsort(self.perm_in), self.x_star0)
        else:
            host = (None, None, self.shift.reshape(1, d), None, None, None, self.x_star0)
        cache: dict = {}

        def arrays(x: Tensor) -> tuple:
            key = (x.dtype, x.device)
            if key not in cache:
                cache[key] = tuple(None if a is None else a.to(x.device) if a.dtype == torch.int64
                                   else a.to(device=x.device, dtype=x.dtype) for a in host)
            return cache[key]

        return arrays

    def energy(self, f: EnergyFn, pen_bound: float | None) -> EnergyFn:
        """The method-side energy f_k(x) = f(R (x - s) + x*) (+ the boundary penalty where needed)."""
        arrays = self._arrays()

        def f_k(x: Tensor) -> Tensor:
            y = _apply(x, arrays(x))
            e = f(y)
            if pen_bound is not None:
                e = e + torch.clamp(y.abs() - pen_bound, min=0).square().sum(dim=-1)
            return e

        return f_k

    def gradient(self, grad: Callable[[Tensor], Tensor], pen_bound: float | None) -> Callable[[Tensor], Tensor]:
        """grad f_k(x) = R^T grad f(y) (chain rule)."""
        arrays = self._arrays()

        def grad_k(x: Tensor) -> Tensor:
            a = arrays(x)
            y = _apply(x, a)
            gy = grad(y)
            if pen_bound is not None:
                gy = gy + 2 * torch.clamp(y.abs() - pen_bound, min=0) * torch.sign(y)
            return _apply_t(gy, a)

        return grad_k

    def energy_and_gradient(self, eg: Callable[..., tuple[Tensor, Tensor]],
                            pen_bound: float | None) -> Callable[..., tuple[Tensor, Tensor]]:
        """(f_k(x), grad f_k(x)) from a fused kernel ``eg`` of f: the energy is :meth:`energy`'s, bit for
        bit (same operations), the gradient R^T grad f(y)."""
        arrays = self._arrays()

        def eg_k(x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
            a = arrays(x)
            y = _apply(x, a)
            rotated = a[1] is not None
            e, gy = eg(y, None if rotated else out)
            if pen_bound is not None:
                over = torch.clamp(y.abs() - pen_bound, min=0)
                e = e + over.square().sum(dim=-1)
                gy = gy.add_(2 * over * torch.sign(y))
            if not rotated:
                return e, gy
            g = _apply_t(gy, a)
            if out is not None:
                out.copy_(g)
                g = out
            return e, g

        if hasattr(eg, "block_elems"):
            eg_k.block_elems = eg.block_elems  # type: ignore[attr-defined]
        return eg_k


def _apply(x: Tensor, a: tuple) -> Tensor:
    perm_in, blocks, s_blk, perm_out, _, _, xs0 = a
    d = x.shape[-1]
    if blocks is None:
        return x - s_blk[0] + xs0
    nb, bs = blocks.shape[0], blocks.shape[1]
    lead = x.shape[:-1]
    u = torch.nn.functional.pad(x.index_select(-1, perm_in), (0, nb * bs - d)).reshape(*lead, nb, bs) - s_blk
    v = torch.einsum("kij,...kj->...ki", blocks, u).reshape(*lead, nb * bs)[..., :d]
    return v.index_select(-1, perm_out) + xs0


def _apply_t(g: Tensor, a: tuple) -> Tensor:
    _, blocks, _, _, inv_out, inv_in, _ = a
    if blocks is None:
        return g
    d = g.shape[-1]
    nb, bs = blocks.shape[0], blocks.shape[1]
    lead = g.shape[:-1]
    v = torch.nn.functional.pad(g.index_select(-1, inv_out), (0, nb * bs - d)).reshape(*lead, nb, bs)
    v = torch.einsum("kji,...kj->...ki", blocks, v).reshape(*lead, nb * bs)[..., :d]
    return v.index_select(-1, inv_in)


def nearest_in_sorted(roots: Tensor, x: Tensor) -> Tensor:
    """Coordinate-wise nearest element of the sorted 1-D tensor ``roots`` (batched, no loops)."""
    idx = torch.searchsorted(roots, x.contiguous()).clamp(1, roots.numel() - 1) if roots.numel() > 1 else None
    if idx is None:
        return roots.expand_as(x).clone()
    left, right = roots[idx - 1], roots[idx]
    return torch.where((x - left).abs() <= (right - x).abs(), left, right)


class BlockedEnergyGrad:
    """``x -> (f(x), grad(x))`` computed in row blocks of about ``block_elems`` elements, so that a
    block and its temporaries stay in cache between the energy and the gradient passes (a big batch
    otherwise streams every intermediate through main memory). Energies are exactly ``f``'s.

    With a fused kernel ``eg`` (``eg(x, out) -> (energy, gradient)``, energies bit for bit ``f``'s) the
    blocks' gradients are written straight into the result; otherwise ``f`` and ``grad`` are called.
    Runs under ``torch.no_grad()`` (the kernels use in-place and ``out=`` operations)."""

    __slots__ = ("block_elems", "f", "grad", "eg", "kernel")

    def __init__(self, f: EnergyFn, grad: Callable[[Tensor], Tensor] | None = None, block_elems: int | None = None,
                 compile: bool = False, eg: Callable[..., tuple[Tensor, Tensor]] | None = None):
        if grad is None and eg is None:
            raise GmbenchError("BlockedEnergyGrad needs a gradient function or a fused energy-and-gradient kernel")
        if block_elems is None:  # a kernel may ask for bigger blocks (``eg.block_elems``), else 2^16 elements
            block_elems = getattr(eg, "block_elems", 2**16)
        self.f, self.grad, self.eg, self.block_elems = f, grad, eg, int(block_elems)
        self.kernel = _compiled_eg(f, grad, eg) if compile else None

    def _eg(self, x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if self.kernel is not None:
            return self.kernel(x)
        if self.eg is not None:
            return self.eg(x, out)
        return self.f(x), self.grad(x)

    def __call__(self, x: Tensor, out: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(energies, gradient); the gradient is written into ``out`` (contiguous, x's shape) when given."""
        with torch.no_grad():
            d = x.shape[-1]
            flat = x.reshape(-1, d)
            n = flat.shape[0]
            rows = max(1, self.block_elems // d)
            if rows >= 64:  # whole multiples of 64 rows: a vectorised kernel's scalar tail (float32 pow
                rows -= rows % 64  # differs from its vector lanes in the last ulp) then falls where it
                # falls in the whole batch, so the energies equal f's on the whole batch, not only per block
            if n <= rows:
                e, g = self._eg(x, out)
                if out is not None and g is not out:
                    out.copy_(g)
                    g = out
                return e, g
            e = torch.empty(n, dtype=x.dtype, device=x.device)
            g = torch.empty_like(flat, memory_format=torch.contiguous_format) if out is None else out.view(n, d)
            for r0 in range(0, n, rows):  # blocks of points, not points
                gb_out = g[r0:r0 + rows]
                eb, gb = self._eg(flat[r0:r0 + rows], gb_out)
                e[r0:r0 + rows] = eb
                if gb is not gb_out:
                    gb_out.copy_(gb)
            return e.reshape(x.shape[:-1]), (g.reshape(x.shape) if out is None else out)


_COMPILED_EG: dict = {}


def _compiled_eg(f: EnergyFn, grad: Callable[[Tensor], Tensor] | None,
                 eg: Callable[..., tuple[Tensor, Tensor]] | None = None) -> Callable[[Tensor], tuple[Tensor, Tensor]]:
    """Energy and gradient fused into one torch.compile kernel (one per function; eager if it fails)."""
    key = (f, grad, eg)
    if key not in _COMPILED_EG:
        if eg is not None:
            def fused(x: Tensor) -> tuple[Tensor, Tensor]:
                return eg(x)
            name = getattr(eg, "__name__", eg)
        else:
            def fused(x: Tensor) -> tuple[Tensor, Tensor]:
                return f(x), grad(x)
            name = getattr(f, "__name__", f)

        _COMPILED_EG[key] = maybe_compile(fused, f"energy+gradient of {name!s}")
    return _COMPILED_EG[key]
