"""Pair lists for batched positions ``(B, N, 3)``.

Two ways to enumerate the pairs that an energy sums over:

* :func:`dense_pairs` - all pairs ``i < j`` of one structure (``N(N-1)/2`` of them), shared by every
  structure of the batch. No cutoff is needed, so this is what untruncated clusters use, and what
  small periodic systems use (StriderNET's KA-100 has cutoffs beyond L/2, where only the dense
  minimum-image sum is defined).
* :func:`cell_list_pairs` - pairs closer than ``r_list`` in a periodic box, found with a cell list in
  linear time and memory, batched over structures (cell ids are offset per structure). Needs at least
  3 cells per side (``L >= 3 r_list``), which also guarantees that ``r_list <= L/2`` so that the
  minimum image is the only image in range.

:class:`VerletList` keeps a cell-list pair list with a skin and rebuilds it only when some atom has
moved more than ``skin/2`` since the last build (or the batch shape changed).

A sparse pair list is a :class:`PairList` of flat indices into the ``B*N`` atoms of the batch.
No Python loop runs over atoms, pairs or cells; the only loop is over the 13 half-shell offsets.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import Tensor

from gmbench.physics.space import Periodic

# the 13 "forward" neighbour-cell offsets of a half shell (lexicographically positive)
_HALF_SHELL = [o for o in itertools.product((-1, 0, 1), repeat=3) if o > (0, 0, 0)]


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


def n_cells(box: float, r_list: float) -> int:
    return int(box // r_list) if r_list > 0 else 0


def cell_list_possible(space, r_list: float) -> bool:
    return isinstance(space, Periodic) and n_cells(space.box, r_list) >= 3


@torch.no_grad()
def cell_list_pairs(r: Tensor, space: Periodic, r_list: float) -> PairList:
    """All pairs closer than ``r_list`` (minimum image), by a cell list. ``r``: (B, N, 3)."""
    if r.dim() != 3:
        raise ValueError(f"positions must be (B, N, 3), got {tuple(r.shape)}")
    B, N, _ = r.shape
    L = space.box
    nc = n_cells(L, r_list)
    if nc < 3:
        raise ValueError(f"cell list needs box >= 3 r_list (box {L}, r_list {r_list})")
    dev = r.device
    rw = space.wrap(r).reshape(B * N, 3)
    c3 = torch.floor(rw * (nc / L)).long().clamp_(0, nc - 1)  # (BN, 3)
    ncell = nc**3
    bidx = torch.arange(B, device=dev).repeat_interleave(N)
    cid = (c3[:, 0] * nc + c3[:, 1]) * nc + c3[:, 2] + bidx * ncell  # global cell id

    # cell table: (B*ncell, max_occ) of atom ids, -1 padded
    order = torch.argsort(cid, stable=True)
    scid = cid[order]
    counts = torch.bincount(cid, minlength=B * ncell)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(B * N, device=dev) - starts[scid]
    max_occ = int(counts.max())
    table = torch.full((B * ncell, max_occ), -1, dtype=torch.long, device=dev)
    table[scid, rank] = order

    atoms = torch.arange(B * N, device=dev)
    # same cell: j > i
    cand_same = table[cid]  # (BN, max_occ)
    # the 13 forward neighbour cells
    off = torch.tensor(_HALF_SHELL, dtype=torch.long, device=dev)  # (13, 3)
    nb3 = torch.remainder(c3[:, None, :] + off[None], nc)  # (BN, 13, 3)
    nbid = (nb3[..., 0] * nc + nb3[..., 1]) * nc + nb3[..., 2] + (bidx * ncell)[:, None]
    cand_nb = table[nbid].reshape(B * N, -1)  # (BN, 13*max_occ)

    i_s = atoms[:, None].expand_as(cand_same)
    keep_s = cand_same > i_s
    i_n = atoms[:, None].expand_as(cand_nb)
    keep_n = cand_nb >= 0
    i = torch.cat([i_s[keep_s], i_n[keep_n]])
    j = torch.cat([cand_same[keep_s], cand_nb[keep_n]])
    rf = r.reshape(B * N, 3)
    d = space.displacement(rf[i], rf[j])
    close = (d * d).sum(-1) < r_list * r_list
    i, j = i[close], j[close]
    return PairList(i, j, i // N, B, N)


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
        close = (d * d).sum(-1) < r_list * r_list
        i, j = i[close], j[close]
    return PairList(i, j, i // N, B, N)


def pair_list(r: Tensor, space, r_list: float, method: str = "auto") -> PairList:
    """Pairs closer than ``r_list``: ``method`` is "cell", "dense" or "auto" (cell list when possible
    and N >= 256, else dense)."""
    if method == "auto":
        method = "cell" if (r.shape[1] >= 256 and cell_list_possible(space, r_list)) else "dense"
    if method == "cell":
        return cell_list_pairs(r, space, r_list)
    if method == "dense":
        return dense_pair_list(r, space, r_list)
    raise ValueError(f"unknown neighbour method {method!r} (cell, dense, auto)")


class VerletList:
    """A pair list with a skin, rebuilt only when needed.

    ``pairs(r)`` returns pairs closer than ``r_cut + skin`` at the last build. The list stays valid
    (contains every pair closer than ``r_cut``) while no atom has moved more than ``skin/2``
    (minimum image) since the build; it is rebuilt when that fails or when the shape, device or
    dtype of ``r`` changes. With ``skin=0`` it is rebuilt on every call.
    """

    def __init__(self, space, r_cut: float, skin: float = 0.3, method: str = "auto"):
        self.space = space
        self.r_cut = float(r_cut)
        self.skin = float(skin)
        self.method = method
        self._ref: Tensor | None = None
        self._pairs: PairList | None = None
        self.n_builds = 0

    def pairs(self, r: Tensor) -> PairList:
        r = r.detach()
        if self._needs_rebuild(r):
            self._pairs = pair_list(r, self.space, self.r_cut + self.skin, self.method)
            self._ref = r.clone()
            self.n_builds += 1
        assert self._pairs is not None
        return self._pairs

    @torch.no_grad()
    def _needs_rebuild(self, r: Tensor) -> bool:
        ref = self._ref
        if ref is None or self.skin <= 0 or ref.shape != r.shape or ref.device != r.device or ref.dtype != r.dtype:
            return True
        d = self.space.displacement(r, ref)
        return bool(((d * d).sum(-1).max()) >= (0.5 * self.skin) ** 2)


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
