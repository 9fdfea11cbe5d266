"""Interatomic energies as plain callables of positions (jax-md style, in torch).

Every energy here is a picklable callable object ``E(R)`` that maps positions ``(..., N, 3)`` to
energies ``(...)``; it holds only potential parameters, species and its space (never an answer).
It works in the dtype and on the device of ``R`` (float64 for every reported energy). Pair potentials
have analytic forces (``PairEnergy.energy_and_forces``; dense systems through the cache-blocked
half-shell kernel :func:`_half_shell_forces`, which visits every pair once with no gather or scatter),
everything else gets forces from autograd (:func:`energy_and_forces`).

Elementwise pair functions (:func:`lennard_jones`, :func:`mie`) take squared distances only, so no
square root appears and, since the pair lists never contain ``i = j``, no ``1/0`` reaches the
backward pass. Periodicity is a separate, composable :mod:`.space`.

Systems (parameters from the papers and the authors' inputs cited at each constant below):

* :func:`lj_cluster_energy` - one-component LJ, open space, untruncated, eps = sigma = 1.
* :func:`kob_andersen_energy` - KA 80:20 binary LJ, periodic (density 1.2), minimum image, cutoff
  2.5 sigma_ab truncated and not shifted (reproduces StriderNET's numbers).
* :func:`binary_lj_cluster_energy` - the action-functional paper's open-space binary cluster
  (sigma_AB = sigma_BB = 1, eps_AB = 1.5, eps_BB = 0.62), untruncated.
* :func:`stillinger_weber_energy` - SW silicon (metal units: eV, Angstrom), periodic.
* :func:`csh_energy` - C-S-H colloidal gel, Mie 28-14, periodic 300 A box, real units (kcal/mol, A).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Callable, Sequence

import torch
from torch import Tensor

from gmbench.core.compile import compile_enabled, maybe_compile
from gmbench.physics.neighbors import VerletList, cell_list_possible, dense_pairs, padded_neighbors, pair_list
from gmbench.physics.space import Free, Periodic, sq_norm3

# ---------------------------------------------------------------------------------------------
# elementwise pair functions of r^2
# ---------------------------------------------------------------------------------------------


def lennard_jones(r2: Tensor, sigma2: Tensor | float, epsilon: Tensor | float) -> Tensor:
    """4 eps [(sigma/r)^12 - (sigma/r)^6], from r^2 and sigma^2."""
    s6 = (sigma2 / r2) ** 3
    return 4.0 * epsilon * (s6 * s6 - s6)


def lennard_jones_dr2(r2: Tensor, sigma2: Tensor | float, epsilon: Tensor | float) -> Tensor:
    """d/d(r^2) of :func:`lennard_jones`: 4 eps (3 s6 - 6 s6^2) / r^2, s6 = (sigma^2 / r^2)^3."""
    s6 = (sigma2 / r2) ** 3
    return 4.0 * epsilon * (3.0 * s6 - 6.0 * s6 * s6) / r2


def mie_prefactor(n: int, m: int) -> float:
    return (n / (n - m)) * (n / m) ** (m / (n - m))


def mie(r2: Tensor, sigma2: Tensor | float, epsilon: Tensor | float, n: int = 28, m: int = 14) -> Tensor:
    """Mie n-m potential C eps [(sigma/r)^n - (sigma/r)^m]; C = 4 for n = 2m (28-14 is "LJ 28-14")."""
    s = sigma2 / r2
    if n % 2 == 0 and m % 2 == 0:
        sn, sm = s ** (n // 2), s ** (m // 2)
    else:
        sn, sm = s ** (n / 2), s ** (m / 2)
    return mie_prefactor(n, m) * epsilon * (sn - sm)


def mie_dr2(r2: Tensor, sigma2: Tensor | float, epsilon: Tensor | float, n: int = 28, m: int = 14) -> Tensor:
    """d/d(r^2) of :func:`mie`: C eps (m/2 s^(m/2) - n/2 s^(n/2)) / r^2, s = sigma^2 / r^2."""
    s = sigma2 / r2
    if n % 2 == 0 and m % 2 == 0:
        sn, sm = s ** (n // 2), s ** (m // 2)
    else:
        sn, sm = s ** (n / 2), s ** (m / 2)
    return mie_prefactor(n, m) * epsilon * (0.5 * m * sm - 0.5 * n * sn) / r2


#: analytic derivatives d u / d(r^2) of the pair functions (forces without autograd)
PAIR_DR2 = {lennard_jones: lennard_jones_dr2, mie: mie_dr2}


# ---------------------------------------------------------------------------------------------
# batched energy callables
# ---------------------------------------------------------------------------------------------


class BatchedEnergy(ABC):
    """Shape handling shared by all energies: ``(..., N, 3) -> (...)``."""

    n_atoms: int | None = None

    def _flat(self, r: Tensor) -> tuple[Tensor, torch.Size]:
        """Check ``r`` is (..., N, 3) with this energy's N; return it as (B, N, 3) and the lead shape."""
        if r.dim() < 2 or r.shape[-1] != 3:
            raise ValueError(f"positions must have shape (..., N, 3), got {tuple(r.shape)}")
        if self.n_atoms is not None and r.shape[-2] != self.n_atoms:
            raise ValueError(f"expected {self.n_atoms} atoms, got {r.shape[-2]}")
        return r.reshape(-1, r.shape[-2], 3), r.shape[:-2]

    def __call__(self, r: Tensor) -> Tensor:
        flat, lead = self._flat(r)
        return self._energy(flat).reshape(lead)

    @abstractmethod
    def _energy(self, r: Tensor) -> Tensor:
        """(B, N, 3) -> (B,)"""

    def _shaped_atom_energies(self, r: Tensor) -> Tensor:
        """Shape handling for ``atom_energies``: ``(..., N, 3) -> (..., N)`` via ``_atom_energies``."""
        flat, lead = self._flat(r)
        return self._atom_energies(flat).reshape(*lead, flat.shape[1])


def _as_matrix(v: float | Sequence[Sequence[float]] | None, n_species: int) -> Tensor | None:
    if v is None:
        return None
    t = torch.as_tensor(v, dtype=torch.float64)
    if t.dim() == 0:
        t = t.expand(n_species, n_species).clone()
    if t.shape != (n_species, n_species) or not torch.allclose(t, t.T):
        raise ValueError(f"pair parameter must be a symmetric {n_species}x{n_species} matrix, got {v!r}")
    return t


def _pair_forces(d: Tensor, sig2: Tensor, eps: Tensor, rc2: Tensor | None, pair_fn, du_fn, kw: dict
                 ) -> tuple[Tensor, Tensor, Tensor]:
    """Pair energies summed over the last pair axis, pair forces on i from j, and the pair energies."""
    r2 = sq_norm3(d)
    u = pair_fn(r2, sig2, eps, **kw)
    du = du_fn(r2, sig2, eps, **kw)
    if rc2 is not None:
        inside = r2 < rc2
        u = torch.where(inside, u, torch.zeros_like(u))
        du = torch.where(inside, du, torch.zeros_like(du))
    return u.sum(-1), d * (-2.0 * du).unsqueeze(-1), u


def _dense_pair_forces(r: Tensor, i: Tensor, j: Tensor, sig2: Tensor, eps: Tensor, rc2: Tensor | None, space,
                       pair_fn, du_fn, kw: dict) -> tuple[Tensor, Tensor]:
    """Energies (B,) and forces (B, N, 3) over the shared pairs (i, j) of every structure."""
    d = space.displacement(r[:, i], r[:, j])  # (B, P, 3)
    e, fij, _ = _pair_forces(d, sig2, eps, rc2, pair_fn, du_fn, kw)
    return e, torch.zeros_like(r).index_add(1, i, fij).index_add(1, j, fij, alpha=-1.0)


def _pair_types(sp: Tensor, B: int, S: int, pl) -> Tensor:
    """Pair type ``s_i * S + s_j`` of every pair of a sparse pair list (flat indices into ``B*N``)."""
    spb = sp if B == 1 else sp.repeat(B)
    return spb.index_select(0, pl.i) * S + spb.index_select(0, pl.j)


def _compiled(fn: Callable) -> Callable:
    return maybe_compile(fn, f"gmbench.physics.potentials.{fn.__name__}")


# ---------------------------------------------------------------------------------------------
# the dense "half-shell" kernel: every unordered pair once, no index gather or scatter, cache-blocked
# ---------------------------------------------------------------------------------------------

#: pair terms per block of structures in :func:`_half_shell_forces`: the block's buffers (about 16
#: float64 arrays of this size, 1.3 MB) stay in a 2 MB L2 cache; 1e4-2e4 measured best for N = 100
HALF_SHELL_BLOCK = 10000


def half_shell_offsets(n: int) -> tuple[int, Tensor]:
    """The circulant ("half-shell") enumeration of the unordered pairs of ``n`` atoms: atom i pairs
    with j = (i + k) mod n for k = 1..K, K = floor(n/2), so every pair appears exactly once, except
    for even n where k = n/2 meets each pair twice (from i and from i + n/2). Returns K and the pair
    weights (K,) - 1, and 1/2 in the column k = n/2 for even n - so that weighted sums count every
    pair once. The same enumeration as the "half shell" of the replicated-data and systolic-loop
    N-body methods (e.g. Plimpton, J. Comput. Phys. 117, 1 (1995), Sec. 3)."""
    K = n // 2
    w = torch.ones(K, dtype=torch.float64)
    if n % 2 == 0 and K > 0:
        w[K - 1] = 0.5
    return K, w


class _HalfShellPlan:
    """Buffers and their per-block views for :func:`_half_shell_forces` at one (B, N, dtype, device):
    built once and reused by every call with that shape, so a step creates no tensors and no views
    inside the block loop (each costs microseconds of dispatch, comparable to a block's arithmetic)."""

    @staticmethod
    def key_for(B: int, N: int, K: int, dtype: torch.dtype, device: torch.device) -> tuple:
        return (B, N, K, min(B, max(1, HALF_SHELL_BLOCK // (N * K))), dtype, device)

    def __init__(self, B: int, N: int, K: int, dtype: torch.dtype, device: torch.device):
        opts = dict(dtype=dtype, device=device)
        self.key = self.key_for(B, N, K, dtype, device)
        bs = self.key[3]
        self.xe = torch.empty(3, B, 2 * N, **opts)  # (3, B, 2N): partner j = i + k without a modulo
        self.e = torch.empty(B, **opts)
        self.f = torch.empty(3, B, N, **opts)
        xi_all, xj_all = self.xe[:, :, :N, None], self.xe.unfold(-1, K, 1)[:, :, 1:N + 1]  # x_i, x_{i+k}
        dbuf, tbuf = torch.empty(3, bs, N, K, **opts), torch.empty(3, bs, N, K, **opts)
        r2buf = torch.empty(bs, N, K, **opts)
        ibuf, sbuf, abuf = tbuf.unbind(0)  # 1/r^2, s6, 4 eps s6 reuse the scratch once r^2 is formed
        z = torch.zeros(3, bs, N * (N + 2), **opts)
        # pair (i, k) of structure b at flat z[c, b, i N + (i + k)]: rows of stride N + 1
        gbuf = z.as_strided((3, bs, N, K), (z.stride(0), z.stride(1), N + 1, 1), 1)
        colbuf = torch.empty(3, bs, N, **opts)
        self.blocks = []
        for b0 in range(0, B, bs):
            b1 = min(B, b0 + bs)
            nb = b1 - b0
            self.blocks.append((
                xi_all[:, b0:b1], xj_all[:, b0:b1], dbuf[:, :nb], tbuf[:, :nb], r2buf[:nb].view(nb, -1),
                r2buf[:nb], ibuf[:nb], sbuf[:nb], abuf[:nb], self.e[b0:b1], gbuf[:, :nb], self.f[:, b0:b1],
                z[:, :nb].view(3, nb, N + 2, N), colbuf[:, :nb]))


def _half_shell_forces(r: Tensor, box: float | None, tables: tuple, lj: bool, pair_fn, du_fn, kw: dict,
                       forces: bool = True, plan: _HalfShellPlan | None = None
                       ) -> tuple[Tensor, Tensor | None]:
    """Energies (B,) and forces (B, N, 3) of a pair potential over all pairs of each structure.

    The same sum as :func:`_dense_pair_forces` (all pairs i < j, minimum image when ``box`` is given,
    ``u`` zero at and beyond the cut-off), restructured for eager CPU execution:

    * pairs in the circulant order of :func:`half_shell_offsets`: the partner coordinates of atom i
      are the window ``x[i+1 : i+K+1]`` of the doubled coordinate array, a strided view, so there is
      no gather; component-major layout ``(3, b, N, K)``;
    * the reaction force on j = (i + k) mod N is summed without a scatter: the pair forces are
      written into a zeroed buffer with row stride N + 1, which puts pair (i, k) at flat position
      i N + (i + k), and summing the buffer's rows of length N adds each to atom (i + k) mod N;
    * blocks of about ``HALF_SHELL_BLOCK`` pair terms (a few structures) with every intermediate in
      buffers of a :class:`_HalfShellPlan` (reused across calls when ``plan`` fits), so the working
      set stays in cache and no step pays for fresh pages or new views;
    * ``tables`` = per-(i, k) sigma^2, epsilon, r_cut^2 (or None) and pair weights (K,), built once per
      potential (:meth:`PairEnergy._half_shell_tables`); the cut-off test is ``r^2 < r_c^2`` as in
      the general path (written as 1.0 / 0.0, which zeroes 1/r^2 beyond the cut-off); for
      Lennard-Jones (``lj``) the epsilon table holds 4 eps times the pair weight, and energy and force
      share s6 = (sigma^2/r^2)^3: u = 4 eps (s6^2 - s6), -2 du/d(r^2) = 12 (4 eps s6^2 - 2 eps s6) / r^2.

    ``forces=False`` returns (energies, None) and skips the force part. The returned tensors are new.
    """
    B, N, _ = r.shape
    sig2, eps, rc2, wts = tables
    K = sig2.shape[1]
    if K == 0:
        e = torch.zeros(B, dtype=r.dtype, device=r.device)
        return e, torch.zeros_like(r) if forces else None
    if plan is None or plan.key != _HalfShellPlan.key_for(B, N, K, r.dtype, r.device):
        plan = _HalfShellPlan(B, N, K, r.dtype, r.device)
    xt = r.permute(2, 0, 1)  # (3, B, N)
    plan.xe[:, :, :N].copy_(xt)
    plan.xe[:, :, N:].copy_(xt)
    inv_box = None if box is None else 1.0 / box
    for xi, xj, d, tmp, tmp0, r2, inv, s6, a, e, g, f, zrows, col in plan.blocks:
        torch.sub(xi, xj, out=d)  # (3, nb, N, K): x_i - x_{i+k}
        if box is not None:  # minimum image, as Periodic.displacement: d - L round(d / L)
            torch.mul(d, inv_box, out=tmp).round_()
            d.sub_(tmp, alpha=box)
        torch.sum(torch.mul(d, d, out=tmp), 0, out=r2)  # (nb, N, K)
        if lj:
            # inv = 1/r^2 inside the cut-off, 0 outside (so u = 0 there)
            if rc2 is None:
                torch.reciprocal(r2, out=inv)
            else:
                torch.lt(r2, rc2, out=inv).div_(r2)  # the test r^2 < r_c^2 as 1.0 / 0.0
            torch.mul(inv, sig2, out=s6).pow_(3)
            torch.mul(s6, eps, out=a)  # 4 eps s6 (eps: 4 eps times the pair weight)
            b = s6.mul_(a)  # 4 eps s6^2
            torch.sum(torch.sub(b.view(tmp0.shape), a.view(tmp0.shape), out=tmp0), 1, out=e)
            if not forces:
                continue
            w = b.sub_(a, alpha=0.5).mul_(inv)  # -2 du/d(r^2) / 12
        else:
            if rc2 is not None:  # r^2 -> inf outside the cut-off, where u and du/d(r^2) vanish
                r2.div_(torch.lt(r2, rc2, out=inv))
            torch.sum(pair_fn(r2, sig2, eps, **kw).mul_(wts).view(tmp0.shape), 1, out=e)
            if not forces:
                continue
            w = du_fn(r2, sig2, eps, **kw).mul_(wts)  # -2 du/d(r^2) / -2
        torch.mul(d, w, out=g)  # pair forces on i from j = i + k, placed at atom (i + k) mod N's column
        torch.sum(g, -1, out=f)
        f.sub_(torch.sum(zrows, -2, out=col))
    e_out = plan.e.clone()
    if not forces:
        return e_out, None
    return e_out, plan.f.permute(1, 2, 0).mul(12.0 if lj else -2.0).contiguous()


class PairEnergy(BatchedEnergy):
    """E = sum_{i<j} u(r_ij^2; sigma_ab, eps_ab) [r_ij < r_cut_ab]: truncated, not shifted.

    ``species``: (N,) integer labels 0..S-1 (None: one species). ``sigma``, ``epsilon``, ``r_cut``:
    scalars or symmetric S x S matrices (``r_cut=None``: untruncated). ``neighbor``: "dense" (all
    pairs, minimum image if periodic), "cell" (cell list / Verlet list with ``skin``; periodic,
    needs L >= 3 (r_cut + skin)), or "auto" (cell list when possible and N >= 256).

    Dense evaluations without an autograd graph (``energy_and_forces``, and energies of positions
    that do not require grad) in open space or the cubic box use :func:`_half_shell_forces`; with
    ``GMBENCH_COMPILE=1`` the compiled general pair-list kernel :func:`_dense_pair_forces` is used
    instead, and autograd always goes through the differentiable pair-list path (same numbers to
    rounding).
    """

    def __init__(
        self,
        space,
        pair_fn: Callable[..., Tensor] = lennard_jones,
        *,
        sigma: float | Sequence[Sequence[float]] = 1.0,
        epsilon: float | Sequence[Sequence[float]] = 1.0,
        r_cut: float | Sequence[Sequence[float]] | None = None,
        species: Sequence[int] | Tensor | None = None,
        neighbor: str = "auto",
        skin: float = 0.0,
        pair_kwargs: dict | None = None,
    ):
        self.space = space
        self.pair_fn = pair_fn
        self.pair_kwargs = dict(pair_kwargs or {})
        if species is not None:
            species = torch.as_tensor(species, dtype=torch.long).reshape(-1)
            self.n_species = int(species.max()) + 1
            self.n_atoms = int(species.numel())
        else:
            self.n_species = 1
        self.species = species
        S = self.n_species
        sig = _as_matrix(sigma, S)
        self.sigma2 = sig * sig
        self.epsilon = _as_matrix(epsilon, S)
        rc = _as_matrix(r_cut, S)
        self.r_cut = rc
        self.rc2 = None if rc is None else rc * rc
        if neighbor not in ("dense", "cell", "auto"):
            raise ValueError(f"unknown neighbour method {neighbor!r}")
        if neighbor == "cell" and (rc is None or not cell_list_possible(space, float(rc.max()) + skin)):
            raise ValueError("a cell list needs a periodic box and a cutoff with L >= 3 (r_cut + skin)")
        self.neighbor = neighbor
        self.skin = float(skin)
        self._verlet: VerletList | None = None
        self._cache: dict = {}

    # parameters in the dtype/device of the positions, per pair type t = s_i * S + s_j
    def _params(self, like: Tensor) -> tuple:
        key = (like.dtype, like.device)
        if key not in self._cache:
            f = lambda t: None if t is None else t.to(dtype=like.dtype, device=like.device).reshape(-1)  # noqa: E731
            sp = None if self.species is None else self.species.to(like.device)
            self._cache[key] = (f(self.sigma2), f(self.epsilon), f(self.rc2), sp)
        return self._cache[key]

    def _half_shell_ok(self, n_atoms: int) -> bool:
        """Whether a dense evaluation without an autograd graph takes the half-shell kernel: open space
        or the cubic minimum-image box, no cell list, and not ``GMBENCH_COMPILE=1`` (which compiles the
        general pair-list kernel instead)."""
        return type(self.space) in (Free, Periodic) and not compile_enabled() and not self.uses_cell_list(n_atoms)

    def _half_shell(self, r: Tensor, du_fn) -> tuple[Tensor, Tensor | None]:
        """:func:`_half_shell_forces` on ``r`` (B, N, 3) with this potential's tables and buffers;
        forces only when ``du_fn`` is given."""
        lj = self.pair_fn is lennard_jones
        return _half_shell_forces(r, self.space.box if self.space.periodic else None, self._half_shell_tables(r, lj),
                                  lj, self.pair_fn, du_fn, self.pair_kwargs, forces=du_fn is not None,
                                  plan=self._half_shell_plan(r))

    def _half_shell_tables(self, like: Tensor, lj: bool) -> tuple:
        """Per-(i, k) parameters of the pair (i, (i + k) mod N) for :func:`_half_shell_forces`, built
        once per atom count, dtype and device (species do not change along a relaxation)."""
        N = like.shape[1]
        key = ("half", N, lj, like.dtype, like.device)
        if key not in self._cache:
            K, wts = half_shell_offsets(N)
            i = torch.arange(N)[:, None]
            j = (i + torch.arange(1, K + 1)[None, :]) % N
            t = torch.zeros(N, K, dtype=torch.long) if self.species is None else (
                self.species[i] * self.n_species + self.species[j])
            sig2 = self.sigma2.reshape(-1)[t]
            eps = self.epsilon.reshape(-1)[t]
            if lj:
                eps = 4.0 * eps * wts
            rc2 = None if self.rc2 is None else self.rc2.reshape(-1)[t]
            f = lambda v: None if v is None else v.to(dtype=like.dtype, device=like.device).contiguous()  # noqa: E731
            self._cache[key] = (f(sig2), f(eps), f(rc2), f(wts))
        return self._cache[key]

    def _half_shell_plan(self, r: Tensor) -> _HalfShellPlan | None:
        """The kernel's buffers for this batch shape, kept for the next call (one shape at a time).
        The buffers are shared by the calls on this object, so one energy object must not be evaluated
        from several threads at once (gmbench runs cells in processes; a copy per thread is safe)."""
        B, N, _ = r.shape
        K = N // 2
        if K == 0:
            return None
        plan = self._cache.get("half_plan")
        if plan is None or plan.key != _HalfShellPlan.key_for(B, N, K, r.dtype, r.device):
            plan = self._cache["half_plan"] = _HalfShellPlan(B, N, K, r.dtype, r.device)
        return plan

    def uses_cell_list(self, n_atoms: int) -> bool:
        if self.neighbor == "dense" or self.r_cut is None:
            return False
        if self.neighbor == "cell":
            return True
        return n_atoms >= 256 and cell_list_possible(self.space, float(self.r_cut.max()) + self.skin)

    def _pair_terms(self, r2: Tensor, t: Tensor | None, like: Tensor) -> Tensor:
        sig2, eps, rc2, _ = self._params(like)
        if t is None:
            e = self.pair_fn(r2, sig2[0], eps[0], **self.pair_kwargs)
            if rc2 is not None:
                e = torch.where(r2 < rc2[0], e, torch.zeros_like(e))
        else:
            e = self.pair_fn(r2, sig2[t], eps[t], **self.pair_kwargs)
            if rc2 is not None:
                e = torch.where(r2 < rc2[t], e, torch.zeros_like(e))
        return e

    def _cell_pairs(self, r: Tensor):
        """The cell-list (Verlet, with ``skin``) pairs of ``r`` (B, N, 3); the list is kept between calls."""
        if self._verlet is None:
            self._verlet = VerletList(self.space, float(self.r_cut.max()), self.skin, method="cell")
        return self._verlet.pairs(r)

    def _terms(self, r: Tensor):
        """Pair terms and their atoms: dense ``(B, P)`` with shared ``(i, j)`` of shape (P,), or
        cell-list terms ``(P,)`` with flat indices into the ``B*N`` atoms and a ``batch`` index."""
        B, N, _ = r.shape
        sp = self._params(r)[3]
        S = self.n_species
        if not self.uses_cell_list(N):
            i, j = dense_pairs(N, r.device)
            d = self.space.displacement(r[:, i], r[:, j])  # (B, P, 3)
            r2 = (d * d).sum(-1)
            t = None if sp is None else sp[i] * S + sp[j]
            return "dense", self._pair_terms(r2, t, r), i, j, None
        pl = self._cell_pairs(r)
        r2 = sq_norm3(self.space.displacement(*pl.gather(r)))
        t = None if sp is None else _pair_types(sp, B, S, pl)
        return "cell", self._pair_terms(r2, t, r), pl.i, pl.j, pl.batch

    def energy_and_forces(self, r: Tensor) -> tuple[Tensor, Tensor] | None:
        """Energies ``(...)`` and forces ``(..., N, 3)`` from the analytic pair derivative, in one pass
        without autograd (the same pairs and cut-offs as the energy; agrees with autograd to rounding).
        None when the pair function has no registered derivative (use autograd then)."""
        du_fn = PAIR_DR2.get(self.pair_fn)
        if du_fn is None:
            return None
        lead, N = r.shape[:-2], r.shape[-2]
        r = r.detach().reshape(-1, N, 3)
        B = r.shape[0]
        sig2, eps, rc2, sp = self._params(r)
        S = self.n_species
        if not self.uses_cell_list(N):
            if self._half_shell_ok(N):
                e, f = self._half_shell(r, du_fn)
                return e.reshape(lead), f.reshape(*lead, N, 3)
            i, j = dense_pairs(N, r.device)
            k = 0 if sp is None else sp[i] * S + sp[j]
            kernel = _compiled(_dense_pair_forces) if compile_enabled() else _dense_pair_forces
            e, f = kernel(r, i, j, sig2[k], eps[k], None if rc2 is None else rc2[k], self.space, self.pair_fn,
                          du_fn, self.pair_kwargs)
            return e.reshape(lead), f.reshape(*lead, N, 3)
        pl = self._cell_pairs(r)
        d = self.space.displacement(*pl.gather(r))  # (P, 3)
        if sp is None:
            ps = (sig2[0], eps[0], None if rc2 is None else rc2[0])
        else:  # per-pair parameters, once per list (a Verlet list reuses them until it is rebuilt)
            def per_pair():
                k = _pair_types(sp, B, S, pl)
                return (sig2.index_select(0, k), eps.index_select(0, k),
                        None if rc2 is None else rc2.index_select(0, k))

            ps = pl.memo(("pair params", id(self), r.dtype, r.device), per_pair)
        _, fij, u = _pair_forces(d, *ps, self.pair_fn, du_fn, self.pair_kwargs)
        e = torch.zeros(B, dtype=r.dtype, device=r.device).index_add_(0, pl.batch, u)
        f = pl.scatter_forces(fij)
        return e.reshape(lead), f.reshape(*lead, N, 3)

    def _energy(self, r: Tensor) -> Tensor:
        if not (r.requires_grad and torch.is_grad_enabled()) and self._half_shell_ok(r.shape[1]):
            return self._half_shell(r.detach(), None)[0]  # no autograd graph wanted: energies only
        kind, e, _, _, batch = self._terms(r)
        if kind == "dense":
            return e.sum(-1)
        return torch.zeros(r.shape[0], dtype=r.dtype, device=r.device).index_add(0, batch, e)

    def atom_energies(self, r: Tensor) -> Tensor:
        """Per-atom energies ``(..., N)``: half of every pair term to each of its two atoms, so they
        sum exactly to the energy (dense and cell-list paths alike)."""
        return self._shaped_atom_energies(r)

    def _atom_energies(self, r: Tensor) -> Tensor:
        B, N, _ = r.shape
        kind, e, i, j, _ = self._terms(r)
        h = 0.5 * e
        if kind == "dense":
            out = torch.zeros(B, N, dtype=h.dtype, device=h.device)
            return out.index_add(1, i, h).index_add(1, j, h)
        out = torch.zeros(B * N, dtype=h.dtype, device=h.device)
        return out.index_add(0, i, h).index_add(0, j, h).reshape(B, N)

    def __getstate__(self):  # caches do not travel
        s = dict(self.__dict__)
        s["_cache"], s["_verlet"] = {}, None
        return s


class StillingerWeber(BatchedEnergy):
    """Stillinger-Weber silicon (one species), periodic or open.

    E = sum_{i<j} phi2(r_ij) + sum_i sum_{j<k; j,k != i} phi3(r_ij, r_ik, theta_jik),
    phi2 = A eps [B (sigma/r)^p - (sigma/r)^q] exp(sigma / (r - a sigma)),
    phi3 = lambda eps (cos theta_jik - cos theta0)^2
           * exp(gamma sigma / (r_ij - a sigma)) exp(gamma sigma / (r_ik - a sigma)),
    all terms zero beyond r = a sigma. The three-body sum runs over a padded neighbour matrix
    (atoms x max neighbours), vectorised over the pairs (j, k) of each atom's neighbours. In a periodic
    box smaller than 2 a sigma the neighbours are every periodic image within the cut-off (the
    minimum image alone would miss some), built densely for those small N (neighbour options unused).
    """

    def __init__(
        self,
        space,
        *,
        epsilon: float = 2.1683,
        sigma: float = 2.0951,
        a: float = 1.80,
        lam: float = 21.0,
        gamma: float = 1.20,
        cos0: float = -1.0 / 3.0,
        A: float = 7.049556277,
        B: float = 0.6022245584,
        p: float = 4.0,
        q: float = 0.0,
        neighbor: str = "auto",
        skin: float = 0.0,
        n_atoms: int | None = None,
    ):
        self.space = space
        self.params = dict(epsilon=epsilon, sigma=sigma, a=a, lam=lam, gamma=gamma, cos0=cos0, A=A, B=B, p=p, q=q)
        self.r_cut = a * sigma
        self.neighbor = neighbor
        self.skin = float(skin)
        self.n_atoms = n_atoms
        self._verlet: VerletList | None = None

    def _pairs(self, r: Tensor):
        if self.skin > 0:
            if self._verlet is None:
                self._verlet = VerletList(self.space, self.r_cut, self.skin, method=self.neighbor)
            return self._verlet.pairs(r)
        return pair_list(r.detach(), self.space, self.r_cut, self.neighbor)

    def _needs_images(self) -> bool:
        """True for a periodic box smaller than twice the cut-off (e.g. the 8-atom cell, L = 5.431 A <
        2 a sigma = 7.54 A): there one atom can see several images of another, and of itself, within the
        cut-off, so a single minimum image is not enough."""
        box = getattr(self.space, "box", None)
        return bool(getattr(self.space, "periodic", False)) and box is not None and box < 2.0 * self.r_cut

    def _image_neighbors(self, r: Tensor) -> tuple[Tensor, Tensor]:
        """Neighbour vectors over every periodic image inside the cut-off, for small boxes.

        The minimum-image vector d0 (|d0_k| <= L/2) plus every lattice shift n L with
        |n_k| L < r_c + L/2 (built once per call, independent of N); (atom, image) candidates are
        masked by r < r_c, excluding an atom's own zero-shift copy, then compacted to the largest
        neighbour count. Returns d (B N, M, 3), i -> (j, image), and the valid mask (B N, M)."""
        Bt, N, _ = r.shape
        L, rc = float(self.space.box), self.r_cut
        nmax = math.ceil((rc + 0.5 * L) / L)
        g = torch.arange(-nmax, nmax + 1, dtype=r.dtype, device=r.device)
        shifts = torch.stack(torch.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3) * L  # (S, 3)
        S = shifts.shape[0]
        d0 = self.space.displacement(r[:, None, :, :], r[:, :, None, :])  # (B, N_i, N_j, 3), i -> j
        d = (d0[:, :, :, None, :] + shifts).reshape(Bt * N, N * S, 3)
        r2 = (d * d).sum(-1)
        eye = torch.eye(N, dtype=torch.bool, device=r.device)[:, :, None] & (shifts == 0).all(-1)  # (N, N, S)
        self_img = eye.reshape(1, N, N * S).expand(Bt, -1, -1).reshape(Bt * N, N * S)
        valid = (r2.detach() < rc * rc) & ~self_img
        M = max(int(valid.sum(-1).max()), 1)
        order = torch.argsort(valid.to(torch.int8), dim=-1, descending=True, stable=True)[:, :M]
        return d.gather(1, order[..., None].expand(-1, -1, 3)), valid.gather(1, order)

    def atom_energies(self, r: Tensor) -> Tensor:
        """Per-atom energies ``(..., N)``: each two-body term half to each atom, each three-body term
        to its central atom i (the vertex of theta_jik); they sum exactly to the energy."""
        return self._shaped_atom_energies(r)

    def _energy(self, r: Tensor) -> Tensor:
        return self._atom_energies(r).sum(-1)

    def _atom_energies(self, r: Tensor) -> Tensor:
        P = self.params
        Bt, N, _ = r.shape
        eps, sig, a = P["epsilon"], P["sigma"], P["a"]
        rc = a * sig
        if self._needs_images():
            d, valid = self._image_neighbors(r)
        else:
            pl = self._pairs(r)
            src, dst = pl.directed()
            nbr = padded_neighbors(src, dst, Bt * N)  # (BN, M)
            valid = nbr >= 0
            rf = r.reshape(Bt * N, 3)
            d = self.space.displacement(rf[nbr.clamp(min=0)], rf[:, None, :])  # (BN, M, 3), i -> j
        r2 = (d * d).sum(-1)
        r2 = torch.where(valid, r2, torch.full_like(r2, 0.25 * rc * rc))
        rr = torch.sqrt(r2)
        inside = valid & (rr < rc)
        rs = torch.where(inside, rr, torch.full_like(rr, 0.5 * rc))  # safe radius for masked slots
        zero = torch.zeros_like(rs)
        # two-body (each pair seen from both ends: half of it)
        sr = sig / rs
        phi2 = P["A"] * eps * (P["B"] * sr ** P["p"] - sr ** P["q"]) * torch.exp(sig / (rs - rc))
        e2 = 0.5 * torch.where(inside, phi2, zero).sum(-1)
        # three-body over neighbour pairs (j, k), j < k
        g = torch.where(inside, torch.exp(P["gamma"] * sig / (rs - rc)), zero)  # (BN, M)
        M = d.shape[1]
        if M >= 2:
            jj, kk = dense_pairs(M, r.device)
            u = d / rs[..., None]
            cos = (u[:, jj] * u[:, kk]).sum(-1)  # (BN, T)
            e3 = (P["lam"] * eps * (cos - P["cos0"]) ** 2 * g[:, jj] * g[:, kk]).sum(-1)
        else:
            e3 = torch.zeros_like(e2)
        return (e2 + e3).reshape(Bt, N)

    def __getstate__(self):
        s = dict(self.__dict__)
        s["_verlet"] = None
        return s


# ---------------------------------------------------------------------------------------------
# helpers every system uses (each system's constants and energy live in its own file under
# gmbench/problems/atoms/: ka_lj, binary_lj, sw_silicon, csh, lj_cluster)
# ---------------------------------------------------------------------------------------------

def binary_species(n: int, frac_a: float = 0.8) -> Tensor:
    """80:20 labels in StriderNET's order: (8 A, 2 B) repeated, then the remainder r = n mod 10 as
    round(0.8 r) A then B. Gives exactly ``lj100_species.npy`` for n = 100 (B at 8, 9, 18, 19, ...)."""
    if abs(frac_a - 0.8) > 1e-12:
        n_a = int(math.floor(frac_a * n + 0.5))
        return torch.cat([torch.zeros(n_a, dtype=torch.long), torch.ones(n - n_a, dtype=torch.long)])
    block = torch.tensor([0] * 8 + [1] * 2, dtype=torch.long)
    full = block.repeat(n // 10)
    rem = n % 10
    n_a = int(math.floor(0.8 * rem + 0.5))
    tail = torch.tensor([0] * n_a + [1] * (rem - n_a), dtype=torch.long)
    return torch.cat([full, tail])


def lj_cluster_energy(n_atoms: int | None = None) -> PairEnergy:
    """One-component LJ cluster: open space, untruncated, eps = sigma = 1."""
    e = PairEnergy(Free(), lennard_jones, sigma=1.0, epsilon=1.0, r_cut=None, neighbor="dense")
    e.n_atoms = n_atoms
    return e
