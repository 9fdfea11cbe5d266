"""Pair lists for batched positions ``(B, N, 3)``.

Two ways to enumerate the pairs that an energy sums over:

* :func:`dense_pairs` - all pairs ``i < j`` of one structure (``N(N-1)/2`` of them), shared by every
  structure of the batch. No cutoff is needed, so this is what untruncated clusters use, and what
  small periodic systems use (StriderNET's KA-100 has cutoffs beyond L/2, where only the dense
  minimum-image sum is defined).
* :func:`cell_list_pairs` - pairs closer than ``r_list`` in a periodic box, in linear time and memory,
  batched over structures. Needs ``L >= 3 r_list`` (at least 3 cells of side ``r_list`` per side), which
  also guarantees ``r_list <= L/2``, so that the minimum image is the only image in range. Two backends
  give the same pair set:

  - ``"torch"``: a cell list in plain torch (Allen & Tildesley, *Computer Simulation of Liquids*, 2nd ed.,
    2017, section 5.3.2) with cells of side >= ``r_list/2`` (reach two cells) and the half shell of
    neighbour cells. Atoms are sorted by cell (z fastest); the candidates of an atom are contiguous runs
    of the sorted order (one or two per column of neighbour cells), expanded with ``repeat_interleave``:
    no Python loop over atoms, cells or pairs;
  - ``"vesin"``: the C++ cell list of vesin (https://github.com/Luthaf/vesin; ``vesin_torch`` or
    ``vesin``), run with a cut-off a rounding margin above ``r_list``; pairs within the margin of
    ``r_list`` are then decided by gmbench's own distance test, so that the set is exactly the torch
    backend's.

  ``GMBENCH_NEIGHBORS=torch|vesin|auto`` (default ``auto``: vesin when importable and the positions are
  on the CPU, else torch) or the ``backend=`` argument chooses. Both give the same pair set (in
  different orders, so sums over pairs agree to floating-point rounding); the choice is a run-time
  setting, not part of any configuration or cell key.

A pair is in a list when its minimum-image squared distance, computed as ``d = r_i - r_j;
d -= L round(d / L); |d|^2`` in the dtype of the positions, is *strictly* below ``r_list**2`` (as the
energies' own cut-off test ``r2 < rc2``). Atoms with a non-finite coordinate are in no pair. The
lists are exact for coordinates within ``EXACT_RANGE`` (10^6) box lengths of the origin.

:class:`VerletList` keeps a pair list with a skin and rebuilds it only when some atom has moved more
than ``skin/2`` since the last build (or the batch shape changed).

A sparse pair list is a :class:`PairList` of flat indices into the ``B*N`` atoms of the batch; it stores
no periodic shift: callers take the minimum image, the only image within ``r_list <= L/3``.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import Tensor

from gmbench.core.errors import GmbenchError
from gmbench.physics.space import Periodic, sq_norm3

@lru_cache(maxsize=64)
def _triu(n: int, device: str) -> tuple[Tensor, Tensor]:
    ij = torch.triu_indices(n, n, offset=1, device=device)
    return ij[0].contiguous(), ij[1].contiguous()


def dense_pairs(n: int, device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """Indices ``(i, j)`` of all pairs ``i < j`` among ``n`` atoms (cached per size and device)."""
    return _triu(int(n), str(torch.device(device)))


@dataclass
class PairList:
    """Unordered pairs as flat atom indices into ``R.reshape(B*N, 3)``; ``batch`` = structure index."""

    i: Tensor
    j: Tensor
    batch: Tensor
    n_batch: int
    n_atoms: int

    def __len__(self) -> int:
        return int(self.i.numel())

    def directed(self) -> tuple[Tensor, Tensor]:
        """Both directions (i -> j and j -> i): ``(src, dst)``."""
        return torch.cat([self.i, self.j]), torch.cat([self.j, self.i])

    def flat3(self) -> tuple[Tensor, Tensor]:
        """Flat indices ``(3 i + c, 3 j + c)`` (P*3,) of every pair's coordinates in ``R.reshape(-1)``,
        computed once per list."""
        flat = self.__dict__.get("_flat3")
        if flat is None:
            c = torch.arange(3, device=self.i.device)
            flat = self._flat3 = tuple((k[:, None] * 3 + c).reshape(-1) for k in (self.i, self.j))
        return flat

    def gather(self, r: Tensor) -> tuple[Tensor, Tensor]:
        """Positions ``(P, 3)`` of atoms i and j of every pair from ``r`` (B, N, 3): a flat gather (a
        row-wise ``index_select`` of 3-wide rows is several times slower on the CPU; same values)."""
        rf = r.reshape(-1)
        i3, j3 = self.flat3()
        return rf.index_select(0, i3).view(-1, 3), rf.index_select(0, j3).view(-1, 3)

    def memo(self, key, make):
        """A value derived from this list alone (e.g. per-pair parameters), computed once per list."""
        cache = self.__dict__.setdefault("_memo", {})
        if key not in cache:
            cache[key] = make()
        return cache[key]

    def scatter_forces(self, fij: Tensor) -> Tensor:
        """Forces ``(B*N, 3)``: + ``fij`` (P, 3) on atom i and - on atom j of every pair.

        ``index_add_`` along dim 0 of a (P, 3) source walks row by row (about 7x slower on the CPU than
        the same sum over flat indices); the flat form adds the same numbers in the same pair order, so
        the result is bit for bit the row-wise one. Flat indices are kept with the list (a Verlet list
        reuses them until it is rebuilt)."""
        flat = self.flat3()
        src = fij.reshape(-1)
        out = torch.zeros(self.n_batch * self.n_atoms * 3, dtype=fij.dtype, device=fij.device)
        return out.index_add_(0, flat[0], src).index_add_(0, flat[1], src, alpha=-1.0).view(-1, 3)


def n_cells(box: float, r_list: float) -> int:
    return int(box // r_list) if r_list > 0 else 0


def cell_list_possible(space, r_list: float) -> bool:
    return isinstance(space, Periodic) and n_cells(space.box, r_list) >= 3


BACKENDS = ("auto", "torch", "vesin")
_ENV = "GMBENCH_NEIGHBORS"


def neighbor_backend(backend: str | None = None) -> str:
    """The requested cell-list backend: ``backend`` if given, else ``$GMBENCH_NEIGHBORS``, else "auto"."""
    b = (backend if backend is not None else os.environ.get(_ENV, "") or "auto").strip().lower()
    if b not in BACKENDS:
        src = "backend" if backend is not None else _ENV
        raise GmbenchError(f"{src}={b!r}: the neighbour-list backend is one of {', '.join(BACKENDS)}")
    return b


@lru_cache(maxsize=1)
def _vesin_module():
    """``vesin_torch.NeighborList`` (torch tensors, CPU and CUDA builds), else vesin's numpy one, else None.
    Imported lazily, on the first cell list: vesin is an optional peer (extra ``perf``)."""
    try:
        import vesin_torch

        return "torch", vesin_torch.NeighborList
    except Exception:  # noqa: BLE001 - not installed, or no binary for this torch
        pass
    try:
        import vesin

        return "numpy", vesin.NeighborList
    except Exception:  # noqa: BLE001
        return None


def vesin_available() -> bool:
    return _vesin_module() is not None


def _min_image_r2(space: Periodic, ra: Tensor, rb: Tensor) -> Tensor:
    return sq_norm3(space.displacement(ra, rb))


#: coordinates are handled exactly up to this many box lengths from the origin (the rounding margins
#: grow with |r|; beyond it pairs of such far-away atoms may differ from the dense reference's)
EXACT_RANGE = 1e6


def _scale(rf: Tensor, L: float) -> float:
    """Magnitude of the coordinates for the rounding margins: the largest finite |r|, at least L and at
    most ``EXACT_RANGE * L`` (non-finite atoms have NaN distances: in no pair, as in the reference)."""
    a = rf.abs()
    big = float(torch.where(torch.isfinite(a), a, torch.zeros_like(a)).max()) if a.numel() else 0.0
    return min(max(L, big), EXACT_RANGE * L)


def _grid(L: float, r_list: float, dtype: torch.dtype, scale: float) -> tuple[int, int, float]:
    """Cells per side ``nc`` and reach ``k`` (neighbour cells within ``k`` in each direction): cells of
    side >= ``r_list/k`` plus a rounding margin, so that two atoms closer than ``r_list`` (as computed)
    are never more than ``k`` cells apart; ``nc >= 2k + 1`` so that the offsets reach distinct cells.
    Also returns the margin."""
    margin = 64.0 * torch.finfo(dtype).eps * scale
    for k in (2, 1):
        nc = int(L // (r_list / k + margin))
        if nc >= 2 * k + 1:
            return nc, k, margin
    return 3, 1, margin  # L >= 3 r_list but not 3 r_list + margin: 27 cells, all neighbours of each other


@lru_cache(maxsize=16)
def _column_runs(nc: int, k: int, w: float, reach: float, device: str) -> tuple[Tensor, Tensor]:
    """The half shell of neighbour cells of every cell of an ``nc^3`` grid (cell id ``(x nc + y) nc + z``)
    as runs of consecutive cell ids. Per column offset ``(ox, oy)`` of the half plane ``(ox, oy) > (0, 0)``
    (those whose gap in x-y is below ``reach``): cells ``z-k .. z+k``; for the own column ``(0, 0)``:
    cells ``z .. z+k`` (pairs inside the own cell are taken from the atom on). Each column is split at the
    periodic wrap in z into two runs ``[first, last]``; the second is empty (``last < first``) when the
    column does not wrap. Returns ``first``, ``last``: (nc^3, 2C) with the own column's first run first."""
    cols = [(0, 0)] + [(ox, oy) for ox in range(-k, k + 1) for oy in range(-k, k + 1)
                       if (ox, oy) > (0, 0)
                       and (max(abs(ox) - 1, 0) ** 2 + max(abs(oy) - 1, 0) ** 2) * w * w < reach * reach]
    g = torch.arange(nc)
    x, y, z = (t.reshape(-1, 1) for t in torch.meshgrid(g, g, g, indexing="ij"))
    o = torch.tensor(cols)
    col = (torch.remainder(x + o[:, 0], nc) * nc + torch.remainder(y + o[:, 1], nc)) * nc  # cell (cx, cy, 0)
    own = (o[:, 0] == 0) & (o[:, 1] == 0)
    z0 = torch.where(own, z, z - k)  # (nc^3, C)
    z1 = (z + k).expand_as(z0)
    a0, a1 = z0.clamp(min=0), z1.clamp(max=nc - 1)
    # the wrapped part: below 0 -> [z0 + nc, nc - 1]; beyond nc - 1 -> [0, z1 - nc]; else empty
    b0 = torch.where(z0 < 0, z0 + nc, torch.zeros_like(z0))
    b1 = torch.where(z0 < 0, torch.full_like(z0, nc - 1), torch.where(z1 >= nc, z1 - nc, torch.full_like(z1, -1)))
    first = torch.cat([col + a0, col + b0], 1)
    last = torch.cat([col + a1, torch.where(b1 >= b0, col + b1, col + b0 - 1)], 1)
    return first.to(device), last.to(device)


def _repeat(values: Tensor, lengths: Tensor, total: int) -> Tensor:
    """``repeat_interleave(values, lengths)`` as int32, by a cumulative sum of the jumps between
    consecutive runs (about twice as fast on CPU when most runs are short)."""
    nz = (lengths > 0).nonzero().squeeze(1)
    v = values.index_select(0, nz).int()
    jumps = v.clone()
    jumps[1:] -= v[:-1]
    out = torch.zeros(total, dtype=torch.int32, device=values.device)
    out.index_copy_(0, (torch.cumsum(lengths, 0) - lengths).index_select(0, nz), jumps)
    return torch.cumsum(out, 0, dtype=torch.int32)


def _torch_cell_pairs(r: Tensor, space: Periodic, r_list: float) -> tuple[Tensor, Tensor]:
    """Cell list in plain torch; unordered pairs (flat atom indices) closer than ``r_list``.

    Atoms are sorted by cell (z fastest), so the neighbour cells of a column are a contiguous run of
    the sorted atoms; the candidates ``(i, j)`` are expanded run by run with ``repeat_interleave``. The
    distance test is done on float32 copies of the wrapped coordinates with the folded minimum image
    ``min(|dx|, L - |dx|)`` and a rounding margin; pairs inside the margin band around ``r_list`` are
    decided by the exact test of the module docstring, so the result is exactly the reference set."""
    B, N, _ = r.shape
    BN = B * N
    L = space.box
    dev = r.device
    rf = r.reshape(BN, 3)
    scale = _scale(rf, L)
    nc, k, margin = _grid(L, r_list, r.dtype, scale)
    ncell = nc**3
    w = L / nc
    rw = space.wrap(rf)
    c3 = torch.floor(rw * (1.0 / w)).long().clamp_(0, nc - 1)
    cid = (c3[:, 0] * nc + c3[:, 1]) * nc + c3[:, 2]
    if B > 1:
        cid += torch.arange(B, device=dev).repeat_interleave(N) * ncell
    order = torch.argsort(cid, stable=True)  # by cell, ascending atom id within a cell
    scid = cid.index_select(0, order)
    counts = torch.bincount(cid, minlength=B * ncell)
    ends = torch.cumsum(counts, 0)
    starts = ends - counts
    first, last = _column_runs(nc, k, w, r_list + 2.0 * margin, str(dev))
    if B > 1:
        base = scid - torch.remainder(scid, ncell)
        loc = scid - base
        fa = first.index_select(0, loc) + base[:, None]
        la = last.index_select(0, loc) + base[:, None]
    else:
        fa, la = first.index_select(0, scid), last.index_select(0, scid)
    jstart = starts.take(fa)  # (BN, runs): sorted positions of each run of candidates
    jend = ends.take(la)
    p = torch.arange(BN, device=dev)
    jstart[:, 0] = p + 1  # own cell: only the atoms after this one
    rowlen = (jend - jstart).masked_fill_(la < fa, 0)
    per_atom = rowlen.sum(1)
    rowlen = rowlen.reshape(-1)
    total = int(per_atom.sum())
    if total == 0:
        e = torch.empty(0, dtype=torch.long, device=dev)
        return e, e
    if total >= 2**31 - 1:
        raise GmbenchError(f"cell list: {total} candidate pairs exceed the int32 range; use smaller batches")
    rowstart = torch.cumsum(rowlen, 0) - rowlen
    # candidate t of run q is the sorted atom jstart[q] + (t - rowstart[q])
    j = torch.arange(total, device=dev, dtype=torch.int32).add_(_repeat(jstart.reshape(-1) - rowstart, rowlen, total))
    i = _repeat(torch.arange(BN, device=dev), per_atom, total)
    f32 = torch.float32
    m = 64.0 * torch.finfo(f32).eps * L + 64.0 * torch.finfo(r.dtype).eps * scale
    rs = rw.index_select(0, order).to(f32).t().contiguous()  # (3, BN)
    r2 = None
    for c in range(3):
        x = rs[c]
        d = x.index_select(0, i).sub_(x.index_select(0, j)).abs_()
        d = torch.minimum(d, L - d)
        r2 = d.mul_(d) if r2 is None else r2.addcmul_(d, d)
    cand = (r2 < (r_list + m) ** 2).nonzero().squeeze(1)
    ic = i.index_select(0, cand)
    jc = j.index_select(0, cand)
    band = (r2.index_select(0, cand) >= (r_list - m) ** 2).nonzero().squeeze(1)
    if band.numel():  # rare: decide these by the exact test
        rsx = rf.index_select(0, order)
        ib, jb = ic.index_select(0, band), jc.index_select(0, band)
        keep = torch.ones(cand.numel(), dtype=torch.bool, device=dev)
        keep[band] = _min_image_r2(space, rsx.index_select(0, ib), rsx.index_select(0, jb)) < r_list * r_list
        idx = keep.nonzero().squeeze(1)
        ic, jc = ic.index_select(0, idx), jc.index_select(0, idx)
    return order.index_select(0, ic), order.index_select(0, jc)


@lru_cache(maxsize=8)
def _vesin_calculator(nl_cls, cutoff: float, n_threads: int):
    """One vesin calculator per cut-off and thread count, kept: it reuses its buffers between calls
    (a fresh one costs about 20 % more at N = 10,000). The lock serialises its use across threads."""
    return nl_cls(cutoff=cutoff, full_list=False, n_threads=n_threads), threading.Lock()


def _vesin_cell_pairs(r: Tensor, space: Periodic, r_list: float, nl_cls, kind: str) -> tuple[Tensor, Tensor] | None:
    """vesin's half list per structure at a cut-off a rounding margin above ``r_list`` (a superset of
    the reference set); pairs within the margin band around ``r_list`` are decided by the exact test of
    the module docstring. Unordered flat pairs; None when a coordinate is not finite (vesin refuses
    those)."""
    B, N, _ = r.shape
    L = space.box
    rf = r.reshape(B * N, 3)
    if not bool(torch.isfinite(rf).all()):
        return None  # vesin refuses non-finite coordinates: the torch cell list handles them
    m = 64.0 * torch.finfo(r.dtype).eps * 2.0 ** math.ceil(math.log2(_scale(rf, L)))  # few distinct values
    nl, lock = _vesin_calculator(nl_cls, r_list + m, max(1, torch.get_num_threads()))
    r64 = r.detach().to(torch.float64)
    ii, jj = [], []
    for b in range(B):  # one call per structure (vesin has no batch axis)
        if kind == "torch":
            box = torch.eye(3, dtype=torch.float64, device=r.device) * L
            with lock:
                i, j, d = nl.compute(r64[b], box, True, "ijd")
            i, j, d = i.to(r.device, torch.long), j.to(r.device, torch.long), d.to(r.device)
        else:
            import numpy as np

            with lock:
                i, j, d = nl.compute(r64[b].cpu().numpy(), np.eye(3) * L, True, "ijd")
            i = torch.from_numpy(i.astype(np.int64, copy=False)).to(r.device)
            j = torch.from_numpy(j.astype(np.int64, copy=False)).to(r.device)
            d = torch.from_numpy(d).to(r.device)
        if b:
            i, j = i + b * N, j + b * N
        band = (d >= r_list - m).nonzero().squeeze(1)
        if band.numel():  # rare: decide these by gmbench's own test
            ib, jb = i.index_select(0, band), j.index_select(0, band)
            keep = torch.ones_like(d, dtype=torch.bool)
            keep[band] = (ib != jb) & (_min_image_r2(space, rf[ib], rf[jb]) < r_list * r_list)
            idx = keep.nonzero().squeeze(1)
            i, j = i.index_select(0, idx), j.index_select(0, idx)
        ii.append(i)
        jj.append(j)
    if B == 1:
        return ii[0], jj[0]
    return torch.cat(ii), torch.cat(jj)


@torch.no_grad()
def cell_list_pairs(r: Tensor, space: Periodic, r_list: float, backend: str | None = None) -> PairList:
    """All pairs closer than ``r_list`` (minimum image), by a cell list. ``r``: (B, N, 3).

    ``backend``: "torch", "vesin" or "auto" (None: ``$GMBENCH_NEIGHBORS``, default "auto" = vesin when
    importable and ``r`` is on the CPU). Both give the same set of unordered pairs."""
    if r.dim() != 3:
        raise ValueError(f"positions must be (B, N, 3), got {tuple(r.shape)}")
    B, N, _ = r.shape
    L = space.box
    if n_cells(L, r_list) < 3:
        raise ValueError(f"cell list needs box >= 3 r_list (box {L}, r_list {r_list})")
    want = neighbor_backend(backend)
    vs = None
    if want == "vesin" or (want == "auto" and r.device.type == "cpu"):
        vs = _vesin_module()
        if vs is None and want == "vesin":
            raise GmbenchError(f"{_ENV}=vesin: vesin is not installed (pip install 'gmbench[perf]')")
    if vs is not None and vs[0] == "numpy" and r.device.type != "cpu" and want == "auto":
        vs = None
    found = None if vs is None else _vesin_cell_pairs(r, space, r_list, vs[1], vs[0])
    a, b = found if found is not None else _torch_cell_pairs(r, space, r_list)
    return PairList(a, b, a // N, B, N)


@torch.no_grad()
def dense_pair_list(r: Tensor, space, r_list: float | None = None) -> PairList:
    """All pairs (optionally only those closer than ``r_list``) as a sparse :class:`PairList`."""
    B, N, _ = r.shape
    i0, j0 = dense_pairs(N, r.device)
    off = (torch.arange(B, device=r.device) * N)[:, None]
    i = (i0[None] + off).reshape(-1)
    j = (j0[None] + off).reshape(-1)
    if r_list is not None:
        rf = r.reshape(B * N, 3)
        d = space.displacement(rf[i], rf[j])
        close = sq_norm3(d) < r_list * r_list
        i, j = i[close], j[close]
    return PairList(i, j, i // N, B, N)


def pair_list(r: Tensor, space, r_list: float, method: str = "auto", backend: str | None = None) -> PairList:
    """Pairs closer than ``r_list``: ``method`` is "cell", "dense" or "auto" (cell list when possible
    and N >= 256, else dense); ``backend``: the cell list's (see :func:`cell_list_pairs`)."""
    if method == "auto":
        method = "cell" if (r.shape[1] >= 256 and cell_list_possible(space, r_list)) else "dense"
    if method == "cell":
        return cell_list_pairs(r, space, r_list, backend)
    if method == "dense":
        return dense_pair_list(r, space, r_list)
    raise ValueError(f"unknown neighbour method {method!r} (cell, dense, auto)")


def relaxation_skin(space, r_cut: float, skin: float = 0.3) -> float:
    """The Verlet skin for an energy whose list a relaxation or an MD run reuses: ``skin`` (0.3 sigma
    for LJ) where a cell list stays possible with it (``L >= 3 (r_cut + skin)``), else the largest skin
    that keeps it possible, else 0 (dense pairs, no list). A skin changes no energy (the cut-off is
    applied to every pair) and is a run-time setting, not part of a problem's configuration."""
    if not isinstance(space, Periodic) or n_cells(space.box, r_cut) < 3:
        return 0.0
    room = space.box / 3.0 * (1.0 - 1e-9) - r_cut
    return float(max(0.0, min(float(skin), room)))


class VerletList:
    """A pair list with a skin, rebuilt only when needed (Verlet, Phys. Rev. 159, 98, 1967; Allen &
    Tildesley, *Computer Simulation of Liquids*, 2nd ed., 2017, section 5.3.1).

    ``pairs(r)`` returns pairs closer than ``r_cut + skin`` at the last build. The list stays valid
    (contains every pair closer than ``r_cut``) while no atom has moved more than ``skin/2``
    (minimum image) since the build; it is rebuilt when that fails. One list is kept per batch shape,
    dtype and device (the last ``keep`` of them), so that a relaxation's batch and the occasional
    assessment of single structures in float64 do not evict each other. With ``skin=0`` it is rebuilt
    on every call. Energies apply their own cut-off to every pair, so a skin changes no energy.
    """

    def __init__(self, space, r_cut: float, skin: float = 0.3, method: str = "auto", backend: str | None = None,
                 keep: int = 4):
        self.space = space
        self.r_cut = float(r_cut)
        self.skin = float(skin)
        self.method = method
        self.backend = backend
        self.keep = int(keep)
        self._lists: dict[tuple, tuple[Tensor, PairList]] = {}
        self.n_builds = 0

    def pairs(self, r: Tensor) -> PairList:
        r = r.detach()
        if self.skin <= 0:
            self.n_builds += 1
            return pair_list(r, self.space, self.r_cut, self.method, self.backend)
        key = (tuple(r.shape), r.dtype, r.device)
        hit = self._lists.pop(key, None)  # re-inserted below: the dict is in least-recently-used order
        if hit is None or self._needs_rebuild(r, hit[0]):
            hit = (r.clone(), pair_list(r, self.space, self.r_cut + self.skin, self.method, self.backend))
            self.n_builds += 1
        self._lists[key] = hit
        while len(self._lists) > max(1, self.keep):
            self._lists.pop(next(iter(self._lists)))
        return hit[1]

    @torch.no_grad()
    def _needs_rebuild(self, r: Tensor, ref: Tensor) -> bool:
        d = self.space.displacement(r, ref)
        return bool(sq_norm3(d).max() >= (0.5 * self.skin) ** 2)


def padded_neighbors(src: Tensor, dst: Tensor, n_total: int) -> Tensor:
    """Directed pairs -> neighbour matrix ``(n_total, M)`` of ``dst`` per ``src`` (-1 padded)."""
    dev = src.device
    if src.numel() == 0:
        return torch.full((n_total, 0), -1, dtype=torch.long, device=dev)
    order = torch.argsort(src, stable=True)
    s, d = src[order], dst[order]
    counts = torch.bincount(s, minlength=n_total)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(s.numel(), device=dev) - starts[s]
    m = int(counts.max())
    nbr = torch.full((n_total, m), -1, dtype=torch.long, device=dev)
    nbr[s, rank] = d
    return nbr
