"""Structural distance between cluster configurations, and energy-based success.

RMSD(X, Y) = min over R in O(3), t, and permutations pi within each species of
sqrt((1/N) sum_i |x_i - (R y_pi(i) + t)|^2), in sigma.

Computed as usual for cluster comparison: centre both at their unweighted centroids (optimal t);
from each of several initial orientations, alternate (a) the optimal assignment per species block for
the current rotation (``scipy.optimize.linear_sum_assignment`` on squared distances) and (b) the
optimal rotation for that assignment (W. Kabsch, Acta Cryst. A32, 922 (1976); the assignment is the
Hungarian method, Kuhn 1955), until the assignment stops changing; keep the smallest value.
Reflections are allowed by default (the energy is invariant under improper rotations, so the mirror
image of a minimum is a minimum): the Kabsch step then optimises over O(3). Species are never
permuted across blocks.

Starts (recorded by :data:`RMSD_STARTS`): the given atom order first; then candidate rotations - the
identity (and inversion), the 8 principal-axes sign frames (4 proper ones without reflections),
anchor-pair frames (y's atoms matched to two anchor atoms of x by radius and angle; these make the
search reliable for clusters whose principal axes are degenerate, e.g. icosahedra and the truncated
octahedron) and ``n_random`` seeded random rotations (plus mirror images when reflections are
allowed) - are scored by a cheap nearest-neighbour proxy and the best ``n_refine`` are iterated to
convergence. The result is an upper bound on the true RMSD, exact when the
structures match. ``sqrt(N) * RMSD`` is the Euclidean norm of the 3N-vector difference.

Periodic systems get no RMSD: the papers report energies only (StriderNET, Bihani et al. 2023, Table 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.transform import Rotation

SUCCESS_TOL = 1e-4  # eps: success when E - E_ref < SUCCESS_TOL (the CCD energies carry 6 decimals)
N_RANDOM_STARTS = 16
N_REFINE = 8
RMSD_STARTS = (
    f"given order; then the best {N_REFINE} by a nearest-neighbour proxy of: identity (+inversion), 8 principal-axes"
    f" frames, anchor-pair frames (8x4, x2 mirrored), {N_RANDOM_STARTS} random rotations (x2 mirrored, seed 0)"
)


@dataclass
class Alignment:
    rmsd: float
    aligned: np.ndarray  # Y moved onto X: R y_perm + t, in X's atom order (N, 3)
    perm: np.ndarray  # perm[i]: index of the atom of Y matched to atom i of X
    rotation: np.ndarray  # (3, 3), applied as R @ y
    n_starts: int

    @property
    def reflected(self) -> bool:
        return bool(np.linalg.det(self.rotation) < 0)


def kabsch(x: np.ndarray, y: np.ndarray, allow_reflection: bool = True) -> np.ndarray:
    """Rotation R minimising sum |x_i - R y_i|^2 for centred x, y (N, 3); O(3) or SO(3)."""
    h = y.T @ x  # sum_i y_i x_i^T
    u, _, vt = np.linalg.svd(h)
    v = vt.T
    if allow_reflection:
        return v @ u.T
    d = np.sign(np.linalg.det(v @ u.T)) or 1.0
    return v @ np.diag([1.0, 1.0, d]) @ u.T


def _blocks(species: np.ndarray | None, n: int) -> list[np.ndarray]:
    if species is None:
        return [np.arange(n)]
    species = np.asarray(species).reshape(-1)
    return [np.flatnonzero(species == s) for s in np.unique(species)]


def _assign(xc: np.ndarray, yr: np.ndarray, blocks: list[np.ndarray]) -> np.ndarray:
    perm = np.empty(xc.shape[0], dtype=np.int64)
    for b in blocks:
        diff = xc[b][:, None, :] - yr[b][None, :, :]
        cost = np.einsum("ijk,ijk->ij", diff, diff)
        rows, cols = linear_sum_assignment(cost)
        perm[b[rows]] = b[cols]
    return perm


def _principal_frame(z: np.ndarray) -> np.ndarray:
    _, vecs = np.linalg.eigh(z.T @ z)
    return vecs


def _frame(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """Orthonormal frame (columns) from two non-collinear vectors, by Gram-Schmidt."""
    na = np.linalg.norm(a)
    if na < 1e-12:
        return None
    e1 = a / na
    c = b - (b @ e1) * e1
    nc = np.linalg.norm(c)
    if nc < 1e-6 * max(1.0, np.linalg.norm(b)):
        return None
    e2 = c / nc
    return np.stack([e1, e2, np.cross(e1, e2)], axis=1)


def _anchor_starts(xc, yc, sx, sy, allow_reflection: bool, k1: int = 8, k2: int = 4) -> list[np.ndarray]:
    """Rotations mapping a pair of anchor atoms of y onto a pair of x: x's outermost atom a1 and the
    large-radius atom a2 most orthogonal to it; candidates b1, b2 in y of the same species, matched
    by radius (and by the a1-a2 angle)."""
    rx, ry = np.linalg.norm(xc, axis=1), np.linalg.norm(yc, axis=1)
    if rx.max() < 1e-9:
        return []
    a1 = int(np.argmax(rx))
    far = np.flatnonzero(rx > 0.5 * rx.max())
    cos_x = (xc[far] @ xc[a1]) / (rx[far] * rx[a1] + 1e-300)
    a2 = int(far[np.argmin(np.abs(cos_x))])
    fx = _frame(xc[a1], xc[a2])
    if fx is None:
        return []
    ang = float(np.clip(xc[a1] @ xc[a2] / (rx[a1] * rx[a2]), -1, 1))
    c1 = np.flatnonzero(sy == sx[a1])
    c1 = c1[np.argsort(np.abs(ry[c1] - rx[a1]), kind="stable")[:k1]]
    c2all = np.flatnonzero(sy == sx[a2])
    rots = []
    for b1 in c1:
        c2 = c2all[c2all != b1]
        if c2.size == 0:
            continue
        cos_y = (yc[c2] @ yc[b1]) / (ry[c2] * ry[b1] + 1e-300)
        score = np.abs(ry[c2] - rx[a2]) + rx[a2] * np.abs(cos_y - ang)
        for b2 in c2[np.argsort(score, kind="stable")[:k2]]:
            fy = _frame(yc[b1], yc[b2])
            if fy is None:
                continue
            rots.append(fx @ fy.T)
            if allow_reflection:
                rots.append(fx @ np.diag([1.0, 1.0, -1.0]) @ fy.T)
    return rots


def _starts(xc, yc, sx, sy, allow_reflection: bool, n_random: int, seed: int) -> list[np.ndarray]:
    rots = [np.eye(3)] + ([-np.eye(3)] if allow_reflection else [])
    ex, ey = _principal_frame(xc), _principal_frame(yc)
    for signs in np.array(np.meshgrid([1, -1], [1, -1], [1, -1])).T.reshape(-1, 3):
        r = ex @ np.diag(signs.astype(float)) @ ey.T
        if allow_reflection or np.linalg.det(r) > 0:
            rots.append(r)
    rots += _anchor_starts(xc, yc, sx, sy, allow_reflection)
    rnd = Rotation.random(n_random, random_state=seed).as_matrix() if n_random > 0 else np.zeros((0, 3, 3))
    for r in rnd:
        rots.append(r)
        if allow_reflection:
            rots.append(r @ np.diag([1.0, 1.0, -1.0]))
    return rots


def _proxy_scores(xc, yc, same: np.ndarray, rots: np.ndarray) -> np.ndarray:
    """Cheap score per rotation: sum over x atoms of the squared distance to the nearest same-species
    atom of the rotated y (a lower bound on the assignment cost)."""
    yr = np.einsum("kij,nj->kni", rots, yc)  # (K, N, 3)
    cross = np.einsum("nd,kmd->knm", xc, yr)  # (K, N, N)
    d2 = (xc * xc).sum(1)[None, :, None] + (yc * yc).sum(1)[None, None, :] - 2.0 * cross
    d2 = np.where(same[None], d2, np.inf)
    return np.maximum(d2.min(-1), 0.0).sum(-1)


def align(
    x,
    y,
    species=None,
    *,
    allow_reflection: bool = True,
    n_random: int = N_RANDOM_STARTS,
    seed: int = 0,
    n_refine: int = N_REFINE,
    max_iter: int = 100,
    exact_tol: float = 1e-9,
) -> Alignment:
    """Best superposition of ``y`` onto ``x`` (both (N, 3), same species labels) - see module doc."""
    x = np.asarray(_np(x), dtype=np.float64).reshape(-1, 3)
    y = np.asarray(_np(y), dtype=np.float64).reshape(-1, 3)
    if x.shape != y.shape:
        raise ValueError(f"structures differ in size: {x.shape} vs {y.shape}")
    n = x.shape[0]
    cx, cy = x.mean(0), y.mean(0)
    xc, yc = x - cx, y - cy
    sp = np.zeros(n, dtype=np.int64) if species is None else np.asarray(_np(species)).reshape(-1)
    blocks = _blocks(sp, n)

    def refine(perm: np.ndarray | None, rot: np.ndarray | None) -> tuple[float, np.ndarray, np.ndarray]:
        if perm is None:
            perm = _assign(xc, yc @ rot.T, blocks)
        for _ in range(max_iter):
            rot = kabsch(xc, yc[perm], allow_reflection)
            new = _assign(xc, yc @ rot.T, blocks)
            if np.array_equal(new, perm):
                break
            perm = new
        rot = kabsch(xc, yc[perm], allow_reflection)
        d = xc - yc[perm] @ rot.T
        return float(np.sqrt(np.einsum("ij,ij->", d, d) / n)), perm, rot

    best = refine(np.arange(n), None)  # the given atom order
    n_done = 1
    if best[0] >= exact_tol:
        rots = np.stack(_starts(xc, yc, sp, sp, allow_reflection, n_random, seed))
        scores = _proxy_scores(xc, yc, sp[:, None] == sp[None, :], rots)
        for k in np.argsort(scores, kind="stable")[:n_refine]:
            res = refine(None, rots[k])
            n_done += 1
            if res[0] < best[0]:
                best = res
            if best[0] < exact_tol:
                break
    value, perm, rot = best
    aligned = yc[perm] @ rot.T + cx
    return Alignment(value, aligned, perm, rot, n_done)


def rmsd(x, y, species=None, **kwargs) -> float:
    """Permutation-, rotation- (and by default reflection-) and translation-invariant RMSD."""
    return align(x, y, species, **kwargs).rmsd


def energy_gap(energy: float, reference: float | None) -> float:
    """E - E_ref (NaN where no reference energy is known)."""
    return float("nan") if reference is None else float(energy) - float(reference)


def success(energy: float, reference: float | None, tol: float = SUCCESS_TOL) -> bool:
    """Success by energy: E - E_ref < tol (1e-4 eps by default)."""
    return reference is not None and float(energy) - float(reference) < tol


def _np(a):
    try:
        import torch

        if isinstance(a, torch.Tensor):
            return a.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    return np.asarray(a)
