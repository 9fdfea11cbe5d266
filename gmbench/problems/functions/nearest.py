"""The nearest global minimizer *inside the box* of a rotated instance whose minimizers form a product set.

Alpine 1, Weierstrass and Quintic have a product set of global minimizers, P = S_1 x ... x S_D (the roots
of one coordinate's term). On instance k, f_k(x) = f(R (x - s) + x*) (:class:`~gmbench.problems.functions.
spec.InstanceTransform`), the minimizers are x = R^T (z - x*) + s for z in P, and only those inside the
search box count. Distances are the same in both frames (R is orthogonal), so for a point x with image
y = R (x - s) + x* the task is

    minimise ||z - y||^2 over z in P  subject to  lo <= R^T (z - x*) + s <= hi,

a closest-point problem over a product set cut by a rotated box (closest-vector-like, NP-hard in
general). R is block-diagonal after two permutations (blocks of at most 40, bbob-largescale), and both
the objective and the box split by block, so every block is solved on its own. For each (point, block):

1. The unconstrained nearest point z0 (coordinate-wise nearest root) gives a lower bound ||y - z0||; where
   it maps into the box it is the answer (exact). Without rotation this is always the case.
2. Blocks whose product of per-coordinate root windows is small are enumerated completely (exact).
3. Otherwise a Lagrangian relaxation of the box constraints (multipliers for the few constraints with the
   least slack, projected supergradient ascent with Polyak steps: Polyak, "Minimization of unsmooth
   functionals", USSR Comput. Math. Math. Phys. 9, 1969; Fisher, "The Lagrangian relaxation method for
   solving integer programming problems", Management Sci. 27, 1981) gives, for multipliers lam, a lower
   bound q(lam) and reduced costs rho_i(r) >= 0 per coordinate and root with
   cost(z) >= q(lam) + sum_i rho_i(z_i) for every z that satisfies the box. Every z with
   sum rho < tau is enumerated (depth-first in levels over moves sorted by reduced cost, batched over all
   rows), so the best in-box point found is the nearest one whenever tau >= its cost - q
   (enumeration within the duality gap, as reduced-cost fixing in Lagrangian branch-and-bound: Nemhauser &
   Wolsey, "Integer and Combinatorial Optimization", Wiley 1988, part II.3). Upper bounds come from the designated
   minimizer x*_k (always in the box), the nearest points of x clamped to shrunken boxes, the multiplier
   iterates and the enumeration itself.

The multipliers are tried only for points with at most :data:`MAX_OPEN` blocks left open by a first pass
without them (a point is exact only when all its blocks are). The result per point is an in-box global
minimizer (its distance is an upper bound on the true nearest distance), a certified lower bound, and
``exact`` = the two agree (every block certified). Where the enumeration would exceed its budget
(:data:`ROW_CAP` subsets per level and row, :data:`MAX_DEPTH` moves), tau is lowered, and the point keeps
the upper bound and the flag False. Everything is batched over points and blocks (no loop over points);
the loops are over chunks of rows, blocks, enumeration levels and multiplier iterations. A point's answer
does not depend on the other points of the batch.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

#: alternative roots per coordinate considered as moves: the 2 nearest on each side of the base root
OFFSETS = (-2, -1, 1, 2)
#: blocks whose per-coordinate root windows multiply to at most this many points are enumerated completely
FULL_MAX = 4096
#: multipliers: constraints with the least slack kept in the relaxation, and ascent iterations
N_MULT = 8
ITERS = 40
#: enumeration budget: subsets kept per row and level (a first pass without multipliers, the pass with
#: them), and the deepest level (moves per subset)
FIRST_CAP = 64
ROW_CAP = 256
MAX_DEPTH = 16
#: points with more blocks than this left open by the first pass skip the multiplier pass
MAX_OPEN = 4
#: rows (point x block) handled at once (memory: about ROWS x ROW_CAP x block size doubles per level)
ROWS = 256
#: margins (in units of the largest gap between consecutive roots) of the shrunken boxes tried for upper bounds
MARGINS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


def nearest_idx(roots: Tensor, u: Tensor, ia: Tensor, ib: Tensor) -> Tensor:
    """Index of the element of ``roots[ia:ib]`` (sorted, non-empty) nearest to each ``u`` (elementwise)."""
    idx = torch.searchsorted(roots, u.contiguous())
    left = torch.minimum(torch.maximum(idx - 1, ia), ib - 1)
    right = torch.minimum(torch.maximum(idx, ia), ib - 1)
    return torch.where((u - roots[left]).abs() <= (roots[right] - u).abs(), left, right)


class RotatedProductSet:
    """The in-box minimizers of a rotated instance of a product-set function, ready for nearest-point
    queries (:meth:`nearest`). ``tf`` is the instance's :class:`InstanceTransform` (rotated),
    ``coord_roots(lo, hi)`` the spec's per-coordinate roots, ``lower``/``upper`` the box (D,) float64."""

    def __init__(self, tf, coord_roots: Callable[[float, float], Tensor], lower: Tensor, upper: Tensor,
                 full_max: int | None = None):
        f64 = torch.float64
        self.tf = tf
        d = tf.shift.numel()
        self.B = tf.blocks.to(f64)  # (nb, bs, bs): t = B w per block, w = B^T v
        nb, bs = self.B.shape[0], self.B.shape[1]
        self.d, self.nb, self.bs, self.pad = d, nb, bs, nb * bs - d
        self.inv_out = torch.argsort(tf.perm_out)
        self.valid = (torch.arange(nb * bs) < d).reshape(nb, bs)
        self.c = self._yv(tf.x_star0.to(f64))  # y = v + c in the v layout
        a, b = tf.image_box(lower.to(f64), upper.to(f64))
        self.roots = coord_roots(float(a.min()), float(b.max())).to(f64)
        av, bv = self._yv(a), self._yv(b)
        ia = torch.searchsorted(self.roots, av.contiguous())
        ib = torch.searchsorted(self.roots, bv.contiguous(), right=True)
        self.ia = torch.where(self.valid, ia, torch.zeros_like(ia))
        self.ib = torch.where(self.valid, ib, torch.ones_like(ib))
        self.usable = self.roots.numel() > 0 and bool((self.ib > self.ia).all())  # a root in every window
        self.wl = self._blk_in(lower.to(f64) - tf.shift).masked_fill(~self.valid, -math.inf)
        self.wu = self._blk_in(upper.to(f64) - tf.shift).masked_fill(~self.valid, math.inf)
        self.tol = 1e-9 * float((upper - lower).max())
        gaps = self.roots.diff()
        self.spacing = float(gaps.max()) if gaps.numel() else 1.0
        self.B_rows = self.B.reshape(nb * bs, bs)  # row k*bs + i: the change of w per unit change of v_i
        self.B_cols = self.B.transpose(1, 2).reshape(nb * bs, bs)  # row k*bs + j: column j of block k
        self.full: dict[int, Tensor] = {}  # block -> every in-box z of that block (n, bs), in y units
        if self.usable:
            for k in range(nb):
                self._enumerate_block(k, FULL_MAX if full_max is None else full_max)

    # ---- layouts ---------------------------------------------------------------------------------------
    def _blk_in(self, u: Tensor) -> Tensor:
        """x-frame (..., D) -> w layout (..., nb, bs) (the rotation's input permutation, padded)."""
        u = torch.nn.functional.pad(u.index_select(-1, self.tf.perm_in), (0, self.pad))
        return u.reshape(*u.shape[:-1], self.nb, self.bs)

    def _yv(self, y: Tensor) -> Tensor:
        """y-frame (..., D) -> v layout (..., nb, bs) (the rotation's output permutation undone, padded)."""
        y = torch.nn.functional.pad(y.index_select(-1, self.inv_out), (0, self.pad))
        return y.reshape(*y.shape[:-1], self.nb, self.bs)

    def _enumerate_block(self, k: int, full_max: int) -> None:
        n = self.valid[k].sum().item()
        sizes = (self.ib[k, :n] - self.ia[k, :n]).tolist()
        if math.prod(sizes) > full_max:
            return
        grids = [self.roots[int(self.ia[k, i]):int(self.ib[k, i])] for i in range(n)]
        z = torch.cartesian_prod(*grids).reshape(-1, n) if n > 1 else grids[0].reshape(-1, 1)
        v = torch.nn.functional.pad(z - self.c[k, :n], (0, self.bs - n))
        w = v @ self.B[k]
        inside = ((w >= self.wl[k] - self.tol) & (w <= self.wu[k] + self.tol)).all(-1)
        self.full[k] = torch.nn.functional.pad(z[inside], (0, self.bs - n))

    # ---- the query ---------------------------------------------------------------------------------------
    def nearest(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """For points x (P, D) float64 on the CPU: (an in-box global minimizer (P, D) whose
        distance is an upper bound on the nearest one's, whether it is the nearest (P,) bool, a certified
        lower bound on the nearest distance (P,))."""
        P = x.shape[0]
        wx = self._blk_in(x - self.tf.shift)
        t = torch.einsum("kij,pkj->pki", self.B, wx)
        ty = t + self.c
        ia, ib = self.ia.expand_as(ty), self.ib.expand_as(ty)
        idx = nearest_idx(self.roots, ty, ia, ib)
        r0 = self.roots[idx]
        cost = torch.where(self.valid, (r0 - ty) ** 2, 0.0).sum(-1)  # (P, nb)
        w0 = torch.einsum("kij,pki->pkj", self.B, torch.where(self.valid, r0 - self.c, 0.0))
        bad = ((w0 < self.wl - self.tol) | (w0 > self.wu + self.tol)).any(-1)
        lower = cost.clone()
        for k, z in self.full.items():  # small blocks: every in-box point is known
            rows = bad[:, k].nonzero(as_tuple=True)[0]
            if rows.numel():
                d2 = torch.cdist(ty[rows, k], z).square()
                best = d2.argmin(-1)
                cost[rows, k] = lower[rows, k] = d2.gather(1, best[:, None])[:, 0]
                idx[rows, k] = torch.searchsorted(self.roots, z[best].contiguous()).clamp(max=self.roots.numel() - 1)
                bad[rows, k] = False
        pi, ki = bad.nonzero(as_tuple=True)
        order = torch.argsort(ki, stable=True)  # rows grouped by block
        pi, ki = pi[order], ki[order]
        for s0 in range(0, pi.numel(), ROWS):
            p, k = pi[s0:s0 + ROWS], ki[s0:s0 + ROWS]
            idx[p, k], cost[p, k], lower[p, k] = self._first(ty[p, k], t[p, k], wx[p, k], k)
        # the multiplier pass, for points with at most MAX_OPEN blocks left open (a point is exact only when
        # all its blocks are, so points with many open blocks keep their upper bounds from the first pass)
        open_ = cost[pi, ki] > lower[pi, ki]
        n_open = torch.bincount(pi[open_], minlength=P)
        pi, ki = pi[open_ & (n_open[pi] <= MAX_OPEN)], ki[open_ & (n_open[pi] <= MAX_OPEN)]
        for s0 in range(0, pi.numel(), ROWS):
            p, k = pi[s0:s0 + ROWS], ki[s0:s0 + ROWS]
            idx[p, k], cost[p, k], lower[p, k] = self._second(ty[p, k], k, idx[p, k], cost[p, k], lower[p, k])
        exact = cost <= lower
        y = self.roots[idx].reshape(P, self.nb * self.bs)[:, :self.d].index_select(-1, self.tf.perm_out)
        near = self.tf.inverse(y)
        return near, exact.all(-1), lower.sum(-1).clamp(min=0).sqrt()

    # ---- one batch of (point, block) rows ------------------------------------------------------------------
    def _w_of(self, k: Tensor, v: Tensor) -> Tensor:
        """w = B_k^T v for rows grouped by block ``k`` (sorted)."""
        out = torch.empty_like(v)
        ks, counts = torch.unique_consecutive(k, return_counts=True)
        s = 0
        for kk, n in zip(ks.tolist(), counts.tolist()):
            out[s:s + n] = v[s:s + n] @ self.B[kk]
            s += n
        return out

    def _first(self, ty: Tensor, t: Tensor, wx: Tensor, k: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Rows (R, bs) whose unconstrained nearest point leaves the box: (the root indices of an in-box
        point (R, bs), its squared distance, a certified lower bound on the nearest one's)."""
        R = ty.shape[0]
        valid, c, ia, ib, wl, wu = self.valid[k], self.c[k], self.ia[k], self.ib[k], self.wl[k], self.wu[k]
        # the designated minimizer x*_k: z = x* (v = 0), in the box by construction
        ub = (t * t).sum(-1)
        best = nearest_idx(self.roots, c, ia, ib)
        # nearest points of x pulled into shrunken boxes (margins in root spacings)
        for m in MARGINS:
            lo, hi = wl + m * self.spacing, wu - m * self.spacing
            wq = torch.where(lo <= hi, torch.minimum(torch.maximum(wx, lo), hi), 0.5 * (wl + wu))
            wq = torch.where(valid, wq, 0.0)
            iq = nearest_idx(self.roots, self._t_of(k, wq) + c, ia, ib)
            ub, best = self._offer(k, iq, ty, ub, best)
        zero = torch.zeros_like(ty)
        ub, best, lb = self._enumerate(k, ty, zero, torch.zeros(R, dtype=ty.dtype), ub, best, FIRST_CAP)
        return best, ub, lb

    def _second(self, ty: Tensor, k: Tensor, best: Tensor, ub: Tensor, lb: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The rows the first pass left open, again with Lagrange multipliers: (indices, ub, lower bound)."""
        g, h, ub, best = self._ascend(k, ty, ub, best)
        ub, best, lb2 = self._enumerate(k, ty, g, h, ub, best, ROW_CAP)
        return best, ub, torch.minimum(torch.maximum(lb, lb2), ub)

    def _t_of(self, k: Tensor, w: Tensor) -> Tensor:
        """t = B_k w for rows grouped by block."""
        out = torch.empty_like(w)
        ks, counts = torch.unique_consecutive(k, return_counts=True)
        s = 0
        for kk, n in zip(ks.tolist(), counts.tolist()):
            out[s:s + n] = w[s:s + n] @ self.B[kk].T
            s += n
        return out

    def _offer(self, k: Tensor, idx: Tensor, ty: Tensor, ub: Tensor, best: Tensor) -> tuple[Tensor, Tensor]:
        """Keep the candidate root indices ``idx`` (R, bs) where they are in the box and nearer than ``ub``."""
        valid = self.valid[k]
        r = self.roots[idx]
        w = self._w_of(k, torch.where(valid, r - self.c[k], 0.0))
        inside = ((w >= self.wl[k] - self.tol) & (w <= self.wu[k] + self.tol)).all(-1)
        cost = torch.where(valid, (r - ty) ** 2, 0.0).sum(-1)
        take = inside & (cost < ub)
        return torch.where(take, cost, ub), torch.where(take[:, None], idx, best)

    def _ascend(self, k: Tensor, ty: Tensor, ub: Tensor, best: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Projected supergradient ascent on the Lagrangian dual of the N_MULT box constraints with the
        least slack at the unconstrained nearest point; returns the best multipliers' linear term g = B_J lam
        (R, bs) and constant h, and the upper bound improved by the in-box iterates."""
        R, bs = ty.shape
        valid, c, ia, ib = self.valid[k], self.c[k], self.ia[k], self.ib[k]
        wl, wu = self.wl[k], self.wu[k]
        i0 = nearest_idx(self.roots, ty, ia, ib)
        w0 = self._w_of(k, torch.where(valid, self.roots[i0] - c, 0.0))
        nm = min(N_MULT, bs)
        J = torch.topk(torch.minimum(wu - w0, w0 - wl), nm, dim=-1, largest=False).indices  # (R, nm)
        BJ = self.B_cols[k[:, None] * bs + J]  # (R, nm, bs): column J of the block
        wlJ, wuJ = wl.gather(1, J), wu.gather(1, J)
        wlz, wuz = torch.nan_to_num(wlJ, neginf=0.0), torch.nan_to_num(wuJ, posinf=0.0)
        lam = torch.zeros(R, nm, dtype=ty.dtype)
        q_best = torch.full((R,), -math.inf, dtype=ty.dtype)
        lam_best = lam.clone()
        mu = torch.ones(R, dtype=ty.dtype)
        for it in range(ITERS):
            g = torch.einsum("rvi,rv->ri", BJ, lam)
            idx = nearest_idx(self.roots, ty - g / 2, ia, ib)
            r = self.roots[idx]
            v = torch.where(valid, r - c, 0.0)
            wJ = torch.einsum("rvi,ri->rv", BJ, v)
            h = (lam.clamp(min=0) * wuz).sum(-1) + (lam.clamp(max=0) * wlz).sum(-1)
            q = torch.where(valid, (r - ty) ** 2 + g * v, 0.0).sum(-1) - h
            up = q > q_best
            q_best = torch.where(up, q, q_best)
            lam_best = torch.where(up[:, None], lam, lam_best)
            ub, best = self._offer(k, idx, ty, ub, best)
            sub = torch.where(lam > 0, wJ - wuJ, torch.where(lam < 0, wJ - wlJ,
                                                             (wJ - wuJ).clamp(min=0) + (wJ - wlJ).clamp(max=0)))
            norm2 = (sub * sub).sum(-1)
            target = q_best + torch.minimum(ub - q_best, 1.0 + 0.1 * q_best.abs())
            step = torch.where(norm2 > 0, mu * (target - q).clamp(min=0) / norm2.clamp(min=1e-300), 0.0)
            lam = lam + step[:, None] * sub
            if it % 8 == 7:
                mu = mu * 0.6
        g = torch.einsum("rvi,rv->ri", BJ, lam_best)
        h = (lam_best.clamp(min=0) * wuz).sum(-1) + (lam_best.clamp(max=0) * wlz).sum(-1)
        return g, h, ub, best

    def _enumerate(self, k: Tensor, ty: Tensor, g: Tensor, h: Tensor, ub: Tensor, best: Tensor,
                   cap: int) -> tuple[Tensor, Tensor, Tensor]:
        """Every point whose reduced cost under the Lagrangian term (g, h) is below tau = ub - q, checked
        against the box. Where the enumeration cannot be complete (a root beyond the listed alternatives,
        the budget, the depth) ``cut`` records the reduced cost below which it still is. Returns (ub, best,
        the certified lower bound min(ub, q + cut)): every in-box point not enumerated costs at least
        q + cut, and every one enumerated at least ub.

        A subset of moves (one alternative root for each of some coordinates of the base point, the
        minimiser of the Lagrangian) is grown one move at a time in the order of the moves' reduced costs,
        so each subset is generated once and a level's children of a subset are a contiguous range of
        moves. Per subset only its reduced-cost sum, its true cost, a bit mask of the moved coordinates
        and the constraints with the least slack are carried; the whole box is checked only for subsets
        nearer than the best point found that pass those constraints."""
        R, bs = ty.shape
        roots, nr = self.roots, self.roots.numel()
        valid, c, ia, ib = self.valid[k], self.c[k], self.ia[k], self.ib[k]
        wl, wu, tol = self.wl[k], self.wu[k], self.tol
        u = ty - g / 2
        i0 = nearest_idx(roots, u, ia, ib)
        r0 = roots[i0]
        q = torch.where(valid, (r0 - ty) ** 2 + g * (r0 - c), 0.0).sum(-1) - h  # the Lagrangian bound
        ub, best = self._offer(k, i0, ty, ub, best)
        w0 = self._w_of(k, torch.where(valid, r0 - c, 0.0))
        cost0 = torch.where(valid, (r0 - ty) ** 2, 0.0).sum(-1)
        off = torch.tensor(OFFSETS)
        A, M = len(OFFSETS), bs * len(OFFSETS)
        cand = i0[..., None] + off  # (R, bs, A)
        ok = (cand >= ia[..., None]) & (cand < ib[..., None]) & valid[..., None]
        rc = roots[cand.clamp(0, nr - 1)]
        base_l = (r0 - u) ** 2
        rho = ((rc - u[..., None]) ** 2 - base_l[..., None]).masked_fill(~ok, math.inf)
        far_i = i0[..., None] + torch.tensor([min(OFFSETS) - 1, max(OFFSETS) + 1])
        ok_far = (far_i >= ia[..., None]) & (far_i < ib[..., None]) & valid[..., None]
        far = ((roots[far_i.clamp(0, nr - 1)] - u[..., None]) ** 2 - base_l[..., None]).masked_fill(~ok_far, math.inf)
        cut = far.amin((-1, -2))  # a point using a root beyond the listed alternatives has sum rho >= far
        tau = torch.minimum(ub - q, cut)
        rho_s, order = torch.sort(rho.reshape(R, M), dim=-1)  # the moves by reduced cost
        coord = order // A
        dv = (rc - r0[..., None]).reshape(R, M).gather(1, order)
        dcost = ((rc - ty[..., None]) ** 2 - ((r0 - ty) ** 2)[..., None]).reshape(R, M).gather(1, order)
        step = (cand - i0[..., None]).reshape(R, M).gather(1, order)
        # the NJ constraints with the least slack at the base point: carried per subset as a prefilter
        nj = min(N_MULT, bs)
        J = torch.topk(torch.minimum(wu - w0, w0 - wl), nj, dim=-1, largest=False).indices
        effJ = self.B_cols[(k[:, None] * bs + J)[:, None, :], coord[:, :, None]] * dv[:, :, None]  # (R, M, nj)
        wlJ, wuJ = wl.gather(1, J) - tol, wu.gather(1, J) + tol
        zeros = torch.zeros(R, 1, nj, dtype=ty.dtype)
        up_sum = torch.cat([zeros, effJ.clamp(min=0).cumsum(1)], 1)  # (R, M + 1, nj): prefix sums of the
        down_sum = torch.cat([zeros, effJ.clamp(max=0).cumsum(1)], 1)  # moves' pushes up and down
        bit = torch.ones((), dtype=torch.long) << coord  # (R, M) coordinate bits (bs <= 62)
        # level 0: the base point of every row
        f_row, f_rank = torch.arange(R), torch.zeros(R, dtype=torch.long)
        f_last = torch.full((R,), -1, dtype=torch.long)
        f_sum, f_cost = torch.zeros(R, dtype=ty.dtype), cost0
        f_mask = torch.zeros(R, dtype=torch.long)
        f_wJ = w0.gather(1, J)
        levels: list[tuple[Tensor, Tensor]] = []  # per level: (parent in the previous level, move)
        found = torch.full((R, 2), -1, dtype=torch.long)  # (level, element) of each row's best subset
        for depth in range(MAX_DEPTH + 1):
            if f_row.numel() == 0:
                break
            lim = torch.full((R, cap), -math.inf, dtype=ty.dtype)
            lim[f_row, f_rank] = tau[f_row] - f_sum
            hi = torch.searchsorted(rho_s, lim)[f_row, f_rank]  # moves with rho < tau - sum
            n_child = (hi - f_last - 1).clamp(min=0)
            # no child can reach the box where even all the affordable later moves together cannot
            # satisfy one of the carried constraints (a necessary condition, so the bound stays valid)
            a0 = f_last + 1
            reach_up = f_wJ + up_sum[f_row, hi] - up_sum[f_row, a0]
            reach_down = f_wJ + down_sum[f_row, hi] - down_sum[f_row, a0]
            n_child = torch.where(((reach_up >= wlJ[f_row]) & (reach_down <= wuJ[f_row])).all(-1), n_child, 0)
            if depth == MAX_DEPTH:  # too deep: tau drops to the cheapest subset not enumerated
                has = n_child > 0
                if bool(has.any()):
                    nxt = f_sum[has] + rho_s[f_row[has], f_last[has] + 1]
                    cut = cut.scatter_reduce(0, f_row[has], nxt, reduce="amin")
                break
            total = int(n_child.sum())
            if total == 0:
                break
            parent = torch.repeat_interleave(torch.arange(f_row.numel()), n_child)
            first = torch.repeat_interleave(torch.cumsum(n_child, 0) - n_child, n_child)
            j = f_last[parent] + 1 + (torch.arange(total) - first)
            row = f_row[parent]  # children stay grouped by row (parents are)
            b = bit[row, j]
            keep = (f_mask[parent] & b) == 0  # one move per coordinate
            parent, j, row, b = parent[keep], j[keep], row[keep], b[keep]
            s = f_sum[parent] + rho_s[row, j]
            # per-row budget: keep the cap smallest sums; tau drops to the smallest one left out
            counts = torch.bincount(row, minlength=R)
            if bool((counts > cap).any()):
                start = torch.cumsum(counts, 0) - counts
                pos = torch.arange(row.numel()) - start[row]
                over = counts > cap
                pad = torch.full((R, int(counts.max())), math.inf, dtype=ty.dtype)
                pad[row, pos] = s
                kth = torch.topk(pad[over], cap + 1, dim=-1, largest=False).values[:, cap]
                cut[over] = torch.minimum(cut[over], kth)
                tau = torch.minimum(tau, cut)
            keep = s < tau[row]
            parent, j, row, b, s = parent[keep], j[keep], row[keep], b[keep], s[keep]
            cost = f_cost[parent] + dcost[row, j]
            wJ = f_wJ[parent] + effJ[row, j]
            levels.append((parent, j))
            # the whole box only for subsets nearer than the best so far that pass the prefilter
            test = (cost < ub[row]) & ((wJ >= wlJ[row]) & (wJ <= wuJ[row])).all(-1)
            if bool(test.any()):
                e = test.nonzero(as_tuple=True)[0]
                w = w0[row[e]] + self._moves_effect(levels, e, row, coord, dv, k, bs)
                inside = ((w >= wl[row[e]] - tol) & (w <= wu[row[e]] + tol)).all(-1)
                e, ce = e[inside], cost[e[inside]]
                if e.numel():
                    rb = torch.full((R,), math.inf, dtype=ty.dtype).scatter_reduce(0, row[e], ce, reduce="amin")
                    better = rb < ub
                    hit = e[(ce == rb[row[e]]) & better[row[e]]]
                    found[row[hit], 0] = depth
                    found[row[hit], 1] = hit
                    ub = torch.where(better, rb, ub)
                    tau = torch.minimum(tau, ub - q)  # only nearer points matter now
            counts = torch.bincount(row, minlength=R)
            f_rank = torch.arange(row.numel()) - (torch.cumsum(counts, 0) - counts)[row]
            f_row, f_last, f_sum, f_cost, f_mask, f_wJ = row, j, s, cost, f_mask[parent] | b, wJ
        rows = (found[:, 0] >= 0).nonzero(as_tuple=True)[0]
        if rows.numel():  # rebuild the improved rows' points: walk their subsets back level by level
            lev, e = found[rows, 0], found[rows, 1].clone()
            new = i0[rows].clone()
            for d in range(len(levels) - 1, -1, -1):
                on = (lev >= d).nonzero(as_tuple=True)[0]
                parent, j = levels[d]
                jj = j[e[on]]
                r_ = rows[on]
                new[on, coord[r_, jj]] += step[r_, jj]
                e[on] = parent[e[on]]
            best[rows] = new
        return ub, best, torch.minimum(ub, q + cut)

    def _moves_effect(self, levels: list[tuple[Tensor, Tensor]], e: Tensor, row: Tensor, coord: Tensor,
                      dv: Tensor, k: Tensor, bs: int) -> Tensor:
        """The change of w (n, bs) made by the moves of the last level's subsets ``e``."""
        r = row[e]
        out = torch.zeros(e.numel(), bs, dtype=dv.dtype)
        for parent, j in reversed(levels):
            jj = j[e]
            out += dv[r, jj][:, None] * self.B_rows[k[r] * bs + coord[r, jj]]
            e = parent[e]
        return out
