"""PLNet and BiLipNet (Wang, Dvijotham & Manchester, ICML 2024) in plain PyTorch.

Specification: the paper (arXiv 2402.01344) and the authors' code. The construction follows the
authors' JAX code (``acfr/PLNet``, ``surrogte_loss/layer.py``); nothing here is copied
from it.

* :class:`BiLipNet` ``G = K_L o F_L o ... o F_1 o K_0``: ``L + 1`` orthogonal (Cayley) layers
  interleaved with ``L`` monotone-Lipschitz layers (MonLipNet, ReLU). Certified for every parameter
  value: ``mu_G |a - b| <= |G(a) - G(b)| <= nu_G |a - b|``, with per-layer bounds
  ``mu**(1/L), nu**(1/L)`` (so ``mu_G = mu``, ``nu_G = nu``).
* :class:`PLNet` ``f(x) = 1/2 |G(x)|^2 + c`` (sum over coordinates, learnable scalar ``c``). It is
  Polyak-Lojasiewicz with constant ``mu_G**2`` and has exactly one stationary point,
  ``x* = G^{-1}(0)``, which :meth:`PLNet.minimizer` computes without any search.
* :meth:`BiLipNet.inverse`: exact inverse for orthogonal layers, Davis-Yin three-operator splitting
  (DYS) per monotone layer with ``alpha = mu_k / (nu_k - mu_k)``, ``lambda = 1``, ``u0 = 0`` (as in the
  authors' code).

Forward form. The monotone layer is evaluated in the *feed-through (FTN) form*, the
one the DYS inverse is derived from, so forward and inverse are the same function for every hidden
width ``N = sum(units)``, whether ``N >= dim`` or ``N < dim``. It is computed through ``Q`` and the
small blocks ``A_k, B_k`` without forming ``S`` (same cost as the "sandwich" form of the PyTorch
ports). :meth:`MonLipLayer.forward_sandwich` is kept for reference; it equals :meth:`forward`
only when ``N >= dim``.

Everything is batched over points (rows), device- and dtype-agnostic (``.to(...)`` the module;
inputs must match its dtype; float32/float64 -- 16-bit types would need the Cayley solves in fp32). ReLU is the only activation (it is its own prox, which DYS needs).

Measured cost (2-core CPU of the dev container, torch 2.13, float32, default widths ``[256]*8``,
depth 2, D = 1000, 9.07M parameters; timings noisy, min-median of 3):
* one forward+backward of ``PLNet`` at B = 1000 (grads w.r.t. x and theta): 1.2-1.8 s;
  w.r.t. x only inside :meth:`BiLipNet.cached` (frozen theta, Cayley matrices cached): 0.4-0.65 s;
* one ``minimizer()`` call (default tol 1e-5 in float32): 0.31 s at the reference initialisation
  (all biases 0, so x* = 0 and 0 DYS iterations: the time is the Cayley solves), 0.65-0.7 s with
  random biases (std 0.1-0.5; 250-285 DYS iterations per monotone layer). In float64 (tol 1e-10)
  about 2.3 s (about 525 iterations per layer).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import torch
from torch import Tensor, nn

__all__ = [
    "cayley",
    "OrthogonalLayer",
    "MonLipLayer",
    "BiLipNet",
    "PLNet",
    "InverseInfo",
    "default_tol",
]


# --------------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------------


def cayley(W: Tensor) -> Tensor:
    """Cayley map: orthonormal columns for tall ``W`` (m >= k), rows for wide ``W``.

    ``Z = U - U^T + V^T V`` with ``U = W[:k]``, ``V = W[k:]``;
    ``Cayley(W) = [(I + Z)^{-1}(I - Z); -2 V (I + Z)^{-1}]``. Computed with one linear solve
    (not an explicit inverse), using that ``(I + Z)^{-1}`` and ``(I - Z)`` commute.
    """
    m, k = W.shape
    if k > m:
        return cayley(W.T).T
    U, V = W[:k], W[k:]
    Z = U - U.T + V.T @ V
    eye = torch.eye(k, dtype=W.dtype, device=W.device)
    # X = (I + Z)^{-T} [(I - Z)^T, V^T]  ->  X^T = [(I - Z)(I + Z)^{-1} ; V (I + Z)^{-1}]
    rhs = torch.cat([(eye - Z).T, V.T], dim=1)
    X = torch.linalg.solve((eye + Z).T, rhs).T
    if m == k:
        return X
    return torch.cat([X[:k], -2.0 * X[k:]], dim=0)


def _glorot_normal_(W: Tensor) -> Tensor:
    """Flax/JAX ``glorot_normal``: truncated (+-2 sd) normal with variance 2/(fan_in + fan_out)."""
    fan_in, fan_out = W.shape[-2], W.shape[-1]
    std = math.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978
    with torch.no_grad():
        return nn.init.trunc_normal_(W, mean=0.0, std=std, a=-2.0 * std, b=2.0 * std)


def _scaled(W: Tensor, a: Tensor) -> Tensor:
    """Weight-norm style scale reparameterisation: ``(a / |W|_F) W``."""
    return (a / torch.linalg.matrix_norm(W)) * W


def default_tol(dtype: torch.dtype) -> float:
    """Default per-layer relative tolerance of the inverse (ours): 1e-10 in float64, 1e-5 in float32,
    1e-2 in 16-bit types (what each precision reliably reaches)."""
    if dtype == torch.float64:
        return 1e-10
    if dtype == torch.float32:
        return 1e-5
    return 1e-2


def _detached(w: dict) -> dict:
    return {
        k: [t.detach() for t in v] if isinstance(v, list) else v.detach() if isinstance(v, Tensor) else v
        for k, v in w.items()
    }


class _CachedMixin:
    """Optional cache of the derived (Cayley) matrices, used while parameters are frozen."""

    _cache: dict | None

    def weights(self) -> dict:
        if self._cache is not None:
            return self._cache
        return self._compute_weights()

    def _compute_weights(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError


class OrthogonalLayer(_CachedMixin, nn.Module):
    """``K(x) = R x + b`` with ``R = Cayley((a / |W|_F) W)`` in SO(n).

    ``W`` Glorot normal, ``a = |W|_F`` at initialisation, ``b = 0`` (or ``N(0, bias_init_std^2)``).
    Exact inverse ``K^{-1}(y) = R^T (y - b)``.
    """

    def __init__(self, dim: int, bias_init_std: float = 0.0, device=None, dtype=None) -> None:
        super().__init__()
        fk = {"device": device, "dtype": dtype}
        self.dim = dim
        self.W = nn.Parameter(_glorot_normal_(torch.empty(dim, dim, **fk)))
        self.a = nn.Parameter(torch.linalg.matrix_norm(self.W.detach()).reshape(()))
        self.b = nn.Parameter(torch.randn(dim, **fk) * bias_init_std if bias_init_std else torch.zeros(dim, **fk))
        self._cache = None

    def _compute_weights(self) -> dict:
        return {"R": cayley(_scaled(self.W, self.a)), "b": self.b}

    def forward(self, x: Tensor) -> Tensor:
        w = self.weights()
        return x @ w["R"].T + w["b"]

    @torch.no_grad()
    def inverse(self, y: Tensor) -> Tensor:
        w = self.weights()
        return (y - w["b"]) @ w["R"]


class MonLipLayer(_CachedMixin, nn.Module):
    """Monotone-Lipschitz layer ``F(x) = mu x + sqrt(gamma/2) S^T z + b_y``, ``gamma = nu - mu``.

    Hidden blocks ``z_1 = relu(sqrt(2 gamma) S_1 x + b_1)``,
    ``z_k = relu(V_k z_{k-1} + sqrt(2 gamma) S_k x + b_k)``, with ``S_k = A_k Q_k - B_k Q_{k-1}``,
    ``V_k = 2 B_k A_{k-1}^T``, ``Q = Cayley((f_q/|F_q|) F_q^T)`` (``N x n``) and
    ``[A_k^T; B_k^T] = Cayley((f_k/|F_k|) F_k)``. ``F`` is ``mu``-strongly monotone and ``nu``-Lipschitz
    for every parameter value.

    Bounds: fixed ``(mu, nu)`` (buffers), or with ``learn_nu=True`` one parameter ``log_nu``
    (initialised at ``log(nu)``) and ``mu = nu / tau`` with the distortion ``tau = nu/mu`` fixed
    (the authors' 20-D experiments' variant; mu and nu are never learned independently).
    """

    def __init__(
        self,
        dim: int,
        units: Sequence[int],
        mu: float,
        nu: float,
        learn_nu: bool = False,
        bias_init_std: float = 0.0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        units = [int(u) for u in units]
        if not units or min(units) < 1:
            raise ValueError(f"units must be a non-empty list of positive widths, got {units}")
        if not (0.0 < mu < nu):
            raise ValueError(f"need 0 < mu < nu, got mu={mu}, nu={nu}")
        fk = {"device": device, "dtype": dtype}
        self.dim = dim
        self.units = units
        self.n_hidden = sum(units)
        self.learn_nu = learn_nu

        def bias(n: int) -> Tensor:
            return torch.randn(n, **fk) * bias_init_std if bias_init_std else torch.zeros(n, **fk)

        self.by = nn.Parameter(bias(dim))
        self.Fq = nn.Parameter(_glorot_normal_(torch.empty(dim, self.n_hidden, **fk)))
        self.fq = nn.Parameter(torch.linalg.matrix_norm(self.Fq.detach()).reshape(()))
        Fab, fab, bh = [], [], []
        prev = 0
        for nz in units:
            F = _glorot_normal_(torch.empty(nz + prev, nz, **fk))
            Fab.append(nn.Parameter(F))
            fab.append(nn.Parameter(torch.linalg.matrix_norm(F).reshape(())))
            bh.append(nn.Parameter(bias(nz)))
            prev = nz
        self.Fab = nn.ParameterList(Fab)
        self.fab = nn.ParameterList(fab)
        self.bh = nn.ParameterList(bh)
        if learn_nu:
            self.log_nu = nn.Parameter(torch.tensor(math.log(nu), **fk))
            self.register_buffer("tau", torch.tensor(nu / mu, **fk))
        else:
            self.register_buffer("mu_", torch.tensor(mu, **fk))
            self.register_buffer("nu_", torch.tensor(nu, **fk))
        self._cache = None

    # -- bounds ------------------------------------------------------------------------------
    def bounds(self) -> tuple[Tensor, Tensor]:
        """Certified ``(mu, nu)`` of this layer, as 0-d tensors."""
        if self.learn_nu:
            nu = torch.exp(self.log_nu)
            return nu / self.tau, nu
        return self.mu_, self.nu_

    # -- derived matrices --------------------------------------------------------------------
    def _compute_weights(self) -> dict:
        mu, nu = self.bounds()
        QT = cayley(_scaled(self.Fq, self.fq))  # (n, N) = Q^T
        AT, BT = [], []  # AT[k] = A_k^T (nz_k, nz_k); BT[k] = B_k^T (nz_{k-1}, nz_k), BT[0] empty
        for k, nz in enumerate(self.units):
            ABT = cayley(_scaled(self.Fab[k], self.fab[k]))
            AT.append(ABT[:nz])
            BT.append(ABT[nz:])
        return {"mu": mu, "gamma": nu - mu, "QT": QT, "AT": AT, "BT": BT, "bh": list(self.bh), "by": self.by}

    def _splits(self) -> list[int]:
        return list(self.units)

    # -- forward (FTN form) ------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        w = self.weights()
        mu, gamma, QT, AT, BT = w["mu"], w["gamma"], w["QT"], w["AT"], w["BT"]
        s2g = torch.sqrt(2.0 * gamma)
        xh = torch.split(x @ QT, self._splits(), dim=-1)  # blocks of (Q x)^T
        zs: list[Tensor] = []
        for k in range(len(self.units)):
            pre = xh[k] @ AT[k]
            if k > 0:
                pre = pre - xh[k - 1] @ BT[k]  # (S_k x)^T = (A_k Q_k x - B_k Q_{k-1} x)^T
            pre = s2g * pre + w["bh"][k]
            if k > 0:
                pre = pre + 2.0 * (zs[-1] @ AT[k - 1].T) @ BT[k]  # (V_k z_{k-1})^T
            zs.append(torch.relu(pre))
        # (M^T z)_k = A_k^T z_k - B_{k+1}^T z_{k+1}, then S^T z = Q^T (M^T z)
        m = []
        for k in range(len(self.units)):
            mk = zs[k] @ AT[k].T
            if k + 1 < len(self.units):
                mk = mk - zs[k + 1] @ BT[k + 1].T
            m.append(mk)
        Stz = torch.cat(m, dim=-1) @ QT.T
        return mu * x + torch.sqrt(gamma / 2.0) * Stz + w["by"]

    def forward_sandwich(self, x: Tensor) -> Tensor:
        """The "sandwich" form of the PyTorch ports. Equals :meth:`forward` iff ``N >= dim``."""
        w = self.weights()
        mu, gamma, QT, AT, BT = w["mu"], w["gamma"], w["QT"], w["AT"], w["BT"]
        nu = mu + gamma
        r2 = math.sqrt(2.0)
        xh = torch.split(torch.sqrt(gamma) * (x @ QT), self._splits(), dim=-1)
        yh: list[Tensor] = []
        h = None
        for k in range(len(self.units)):
            pre = xh[k] @ AT[k]
            if k > 0:
                pre = pre + h @ BT[k]
            u = torch.relu(r2 * pre + w["bh"][k])
            if k > 0:
                yh.append(h - r2 * (u @ BT[k].T))
            h = r2 * (u @ AT[k].T) - xh[k]
        yh.append(h)
        return 0.5 * (mu + nu) * x + 0.5 * torch.sqrt(gamma) * (torch.cat(yh, dim=-1) @ QT.T) + w["by"]

    # -- explicit FTN matrices (for the inverse and for tests) --------------------------------
    def ftn_matrices(self, w: dict | None = None) -> dict:
        """``S`` (N x n), the blocks ``V_k^T`` (nz_{k-1} x nz_k, k >= 1; ``None`` for k = 0), stacked ``b``."""
        if w is None:
            w = self.weights()
        QT, AT, BT = w["QT"], w["AT"], w["BT"]
        Qk = torch.split(QT.T, self._splits(), dim=0)
        S, Vt = [], []
        for k in range(len(self.units)):
            Sk = AT[k].T @ Qk[k]
            if k > 0:
                Sk = Sk - BT[k].T @ Qk[k - 1]
                Vt.append(2.0 * AT[k - 1].T @ BT[k])
            else:
                Vt.append(None)
            S.append(Sk)
        return {"S": torch.cat(S, dim=0), "Vt": Vt, "b": torch.cat(list(w["bh"]), dim=0)}

    # -- inverse (Davis-Yin) -----------------------------------------------------------------
    @torch.no_grad()
    def inverse(
        self,
        y: Tensor,
        tol: float | None = None,
        max_iter: int = 1000,
        alpha_scale: float = 1.0,
        relax: float = 1.0,
    ) -> tuple[Tensor, int, bool, float]:
        """Solve ``F(x) = y`` (rows of ``y``) by DYS on the hidden fixed point ``z = relu((V - g/mu SS^T) z + b_z)``.

        Step ``alpha = alpha_scale * mu / gamma``, relaxation ``relax`` (lambda), ``u0 = 0``. Stops
        as soon as, for every row, the certified bound ``sqrt(gamma) |z(x) - z_half|`` on
        ``|F(x) - y|`` is ``<= tol * max(|y|, 1)``; at most ``max_iter`` DYS updates.

        Returns ``(x, iterations, converged, rel_residual_bound)`` where the last is the max over
        rows of the certified relative residual at the returned ``x``.
        """
        if tol is None:
            tol = default_tol(y.dtype)
        w = self.weights()
        mu, gamma = w["mu"], w["gamma"]
        M = self.ftn_matrices(w)
        S, Vt, b = M["S"], M["Vt"], M["b"]
        St = S.T
        sizes = self._splits()
        offs = [0]
        for nz in sizes:
            offs.append(offs[-1] + nz)
        alpha = float(alpha_scale * mu / gamma)
        g_mu = gamma / mu
        sq_g2 = torch.sqrt(gamma / 2.0)
        sq_g = torch.sqrt(gamma)

        r = y - w["by"]
        bz = (torch.sqrt(2.0 * gamma) / mu) * (r @ St) + b  # (B, N)
        scale = torch.clamp(torch.linalg.vector_norm(y, dim=-1), min=1.0)
        u = torch.zeros_like(bz)

        def forward_sub(rhs: Tensor, coef: float, div: float, relu: bool) -> Tensor:
            # z_k = act((coef * V_k z_{k-1} + rhs_k) / div), block by block
            out = torch.empty_like(rhs)
            for k in range(len(sizes)):
                sl = slice(offs[k], offs[k + 1])
                v = rhs[:, sl]
                if k > 0:
                    v = v + coef * (out[:, offs[k - 1] : offs[k]] @ Vt[k])
                if div != 1.0:
                    v = v / div
                out[:, sl] = torch.relu(v) if relu else v
            return out

        it = 0
        rel = float("inf")
        converged = False
        t = None
        while True:
            zh = torch.relu(u)
            t = zh @ S  # (S^T z_half)^T, (B, n)
            p = bz - g_mu * (t @ St)  # pre-activation of the forward pass at x_half (without V term)
            zz = forward_sub(p, 1.0, 1.0, relu=True)  # true hidden state z(x_half)
            rel_rows = sq_g * torch.linalg.vector_norm(zz - zh, dim=-1) / scale
            rel = float(rel_rows.max()) if rel_rows.numel() else 0.0
            if rel <= tol:
                converged = True
                break
            if it >= max_iter:
                break
            wv = 2.0 * zh - u + alpha * p
            znew = forward_sub(wv, alpha, 1.0 + alpha, relu=False)
            u = u + relax * (znew - zh)
            it += 1
        x = (r - sq_g2 * t) / mu
        return x, it, converged, rel


# --------------------------------------------------------------------------------------------
# networks
# --------------------------------------------------------------------------------------------


@dataclass
class InverseInfo:
    """What :meth:`BiLipNet.inverse` did.

    Per monotone layer ``F_1 .. F_L`` (forward order, although they are solved last to first):
    ``iterations`` (DYS updates), ``converged`` and ``layer_residuals`` (certified bound on
    ``max_rows |F_k(x) - y| / max(|y|, 1)`` at the returned point). ``residual`` is the measured
    ``|G(x) - y|`` per row of the final answer.
    """

    iterations: list[int] = field(default_factory=list)
    converged: list[bool] = field(default_factory=list)
    layer_residuals: list[float] = field(default_factory=list)
    residual: Tensor | None = None
    tol: float = 0.0
    max_iter: int = 0

    @property
    def all_converged(self) -> bool:
        return all(self.converged)

    @property
    def total_iterations(self) -> int:
        return sum(self.iterations)


class BiLipNet(nn.Module):
    """Bi-Lipschitz network ``G = K_L o F_L o ... o K_1 o F_1 o K_0`` .

    Args:
        dim: input = output dimension ``D``.
        units: hidden block widths of every monotone layer. Default ``[256]*8`` (N = 2048): the
            authors' 20-D Rosenbrock experiment; it also keeps ``N >= D`` up
            to D = 2048 where the sandwich form of the PyTorch ports also agrees (our FTN forward is consistent for any N).
        depth: number of monotone layers ``L``. Default 2 (all the authors' surrogate experiments).
        mu, nu: certified bounds of the whole ``G``; per layer ``mu**(1/L), nu**(1/L)``. Default
            ``0.1, 10`` (the constructor defaults of the authors' ``BiLipNet``/``MonLipNet``,
            ``surrogte_loss/layer.py``; also the 1-D toy and the PyTorch-port notebook).
        learn_nu: learn one ``log nu`` per monotone layer at fixed per-layer distortion (the
            authors' 20-D variant). Default False (ours: fixed bounds).
        bias_init_std: std of a normal initialisation of all biases. Default 0 (reference: biases
            are initialised to 0, which gives ``G(0) = 0``, i.e. ``x* = 0`` at initialisation).
        device, dtype: factory kwargs.

    Activation is ReLU (the authors' choice in every experiment; DYS relies on it).
    """

    def __init__(
        self,
        dim: int,
        units: Sequence[int] = (256,) * 8,
        depth: int = 2,
        mu: float = 0.1,
        nu: float = 10.0,
        learn_nu: bool = False,
        bias_init_std: float = 0.0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if dim < 1 or depth < 1:
            raise ValueError(f"need dim >= 1 and depth >= 1, got dim={dim}, depth={depth}")
        if not (0.0 < mu < nu):
            raise ValueError(f"need 0 < mu < nu, got mu={mu}, nu={nu}")
        self.dim, self.depth, self.units = dim, depth, [int(u) for u in units]
        self.mu, self.nu = float(mu), float(nu)
        mu_l, nu_l = mu ** (1.0 / depth), nu ** (1.0 / depth)
        fk = {"device": device, "dtype": dtype}
        self.orth = nn.ModuleList([OrthogonalLayer(dim, bias_init_std, **fk) for _ in range(depth + 1)])
        self.mon = nn.ModuleList(
            [MonLipLayer(dim, self.units, mu_l, nu_l, learn_nu, bias_init_std, **fk) for _ in range(depth)]
        )

    def bounds(self) -> tuple[Tensor, Tensor]:
        """Certified ``(mu_G, nu_G)`` = products of the per-layer bounds (0-d tensors)."""
        mus, nus = zip(*(m.bounds() for m in self.mon))
        return torch.stack(mus).prod(), torch.stack(nus).prod()

    def forward(self, x: Tensor) -> Tensor:
        for k in range(self.depth):
            x = self.orth[k](x)
            x = self.mon[k](x)
        return self.orth[self.depth](x)

    def _layers(self) -> list[nn.Module]:
        return [*self.orth, *self.mon]

    @contextlib.contextmanager
    def cached(self) -> Iterator["BiLipNet"]:
        """Compute the Cayley matrices once (detached) and reuse them inside the ``with`` block.

        For many forward/backward passes w.r.t. ``x`` with frozen parameters (gradient descent on
        ``f``): saves the ``D x D`` solves. Inside the block no gradient reaches the
        parameters (all are used detached), and changes to the parameters made inside the block are
        not reflected in the cached Cayley matrices. Nested use is a no-op.
        """
        layers = self._layers()
        fresh = [layer._cache is None for layer in layers]
        try:
            with torch.no_grad():
                for layer, f in zip(layers, fresh):
                    if f:
                        layer._cache = _detached(layer._compute_weights())
            yield self
        finally:
            for layer, f in zip(layers, fresh):
                if f:
                    layer._cache = None

    @torch.no_grad()
    def inverse(
        self,
        y: Tensor,
        tol: float | None = None,
        max_iter: int = 1000,
        alpha_scale: float = 1.0,
        relax: float = 1.0,
    ) -> tuple[Tensor, InverseInfo]:
        """``G^{-1}(y)`` for ``y`` of shape ``(B, D)`` (or ``(D,)``), layer by layer in reverse order.

        Orthogonal layers: exact. Monotone layers: DYS with ``alpha = alpha_scale * mu_k/gamma_k``,
        ``lambda = relax``, ``u0 = 0``, at most ``max_iter`` updates each, stopping when the
        certified relative residual ``|F_k(x) - y| / max(|y|, 1) <= tol`` for every row
        (``tol=None``: :func:`default_tol` of the dtype). Returns ``(x, InverseInfo)``.
        """
        if tol is None:
            tol = default_tol(y.dtype)
        squeeze = y.dim() == 1
        yb = y.unsqueeze(0) if squeeze else y
        info = InverseInfo(tol=tol, max_iter=max_iter)
        with self.cached():
            x = self.orth[self.depth].inverse(yb)
            per_layer = []
            for k in reversed(range(self.depth)):
                x, it, ok, rel = self.mon[k].inverse(x, tol, max_iter, alpha_scale, relax)
                per_layer.append((it, ok, rel))
                x = self.orth[k].inverse(x)
            for it, ok, rel in reversed(per_layer):
                info.iterations.append(it)
                info.converged.append(ok)
                info.layer_residuals.append(rel)
            info.residual = torch.linalg.vector_norm(self.forward(x) - yb, dim=-1)
        return (x.squeeze(0) if squeeze else x), info


class PLNet(nn.Module):
    """``f(x) = 1/2 |G(x)|^2 + c`` with ``G`` a :class:`BiLipNet` : ``(B, D) -> (B,)``.

    PL with constant ``mu_G^2``; unique stationary point ``x* = G^{-1}(0)``, ``f(x*) = c``.
    ``c`` is a learnable scalar initialised to 0; the norm is a sum over coordinates (the
    authors' JAX code and the paper; not the mean of the PyTorch port). Constructor arguments
    and defaults are those of :class:`BiLipNet` (see there for where each comes from).
    """

    def __init__(
        self,
        dim: int,
        units: Sequence[int] = (256,) * 8,
        depth: int = 2,
        mu: float = 0.1,
        nu: float = 10.0,
        learn_nu: bool = False,
        bias_init_std: float = 0.0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.G = BiLipNet(dim, units, depth, mu, nu, learn_nu, bias_init_std, device=device, dtype=dtype)
        self.c = nn.Parameter(torch.zeros((), device=device, dtype=dtype))

    def forward(self, x: Tensor) -> Tensor:
        g = self.G(x)
        return 0.5 * (g * g).sum(dim=-1) + self.c

    def bounds(self) -> tuple[Tensor, Tensor]:
        return self.G.bounds()

    def cached(self):
        """See :meth:`BiLipNet.cached` (applies to ``G``; the scalar ``c`` stays a live parameter)."""
        return self.G.cached()

    @torch.no_grad()
    def minimizer(
        self, tol: float | None = None, max_iter: int = 1000, **kwargs
    ) -> tuple[Tensor, InverseInfo]:
        """The unique minimiser ``x* = G^{-1}(0)``, shape ``(D,)``, plus the :class:`InverseInfo`."""
        p = self.c
        y = torch.zeros(1, self.dim, device=p.device, dtype=p.dtype)
        x, info = self.G.inverse(y, tol=tol, max_iter=max_iter, **kwargs)
        return x[0], info
