"""Reference LJ cluster minima: the Cambridge Cluster Database energies and self-built structures.

``CCD_ENERGIES`` are the putative global minima of the untruncated LJ cluster (eps = sigma = 1) from
the Cambridge Cluster Database (Wales & Doye, J. Phys. Chem. A 101, 5111 (1997); Doye's tables,
https://doye.chem.ox.ac.uk/jon/structures/LJ/tables.150.html; LJ98: Leary & Doye, Phys. Rev. E 60,
R6320 (1999)), versioned as ``CCD_TABLE_VERSION``; the version is recorded with every result.

No CCD coordinates ship with gmbench. :func:`reference_structure` builds the known global minima
geometrically and relaxes them in float64 with L-BFGS to max |grad| < 1e-9:

* N = 13, 55, 147 (and 309): Mackay icosahedra with 1, 2, 3 (4) shells;
* N = 38: the fcc truncated octahedron (6 + 8 + 24 atoms around an octahedral hole).

Each built structure is checked against its table energy to 1e-6 at build time. Structures are
memoised in the process (each takes well under a second to rebuild).
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import torch
from torch import Tensor

from gmbench.physics.potentials import lj_cluster_energy
from gmbench.optim.relax import lbfgs_relax

# recorded in every LJ problem's configuration (prose: cell keys do not hash it, gmbench.run.cell.key_configuration)
CCD_TABLE_VERSION = ("ccd-lj-2025.1 (Cambridge Cluster Database, Wales & Doye, J. Phys. Chem. A 101, 5111 (1997): "
                     "N = 13, 19, 26, 38, 55, 75, 98, 100, 147, 150)")

CCD_ENERGIES: dict[int, float] = {
    13: -44.326801,
    19: -72.659782,
    26: -108.315616,
    38: -173.928427,
    55: -279.248470,
    75: -397.492331,
    98: -543.665361,
    100: -557.039820,
    147: -876.461207,
    150: -893.310258,
}

CCD_STRUCTURE_LABELS: dict[int, str] = {
    13: "Mackay icosahedron (Ih)",
    19: "double icosahedron (D5h)",
    26: "polyicosahedral (Td)",
    38: "fcc truncated octahedron (Oh)",
    55: "Mackay icosahedron (Ih)",
    75: "Marks decahedron (D5h)",
    98: "Leary tetrahedron (Td)",
    147: "Mackay icosahedron (Ih)",
}

# the lowest icosahedral minimum of LJ38, the bottom of its second funnel (Doye, Wales & Miller,
# J. Chem. Phys. 109, 8143 (1998))
LJ38_ICOSAHEDRAL = -173.252378

# second Mackay shell of 309 is not in the table but is the 4-shell Mackay icosahedron
MACKAY_SIZES = {1: 13, 2: 55, 3: 147, 4: 309}
BUILDABLE = (13, 38, 55, 147)


def ccd_energy(n: int) -> float | None:
    return CCD_ENERGIES.get(int(n))


def _icosahedron() -> tuple[Tensor, list[tuple[int, int]], list[tuple[int, int, int]]]:
    phi = (1 + 5**0.5) / 2
    v = []
    for a, b in itertools.product((-1.0, 1.0), repeat=2):
        v += [(0.0, a, b * phi), (a, b * phi, 0.0), (b * phi, 0.0, a)]
    V = torch.tensor(v, dtype=torch.float64)
    V = V / V.norm(dim=1, keepdim=True)  # unit circumradius
    d = torch.cdist(V, V)
    edge = d[d > 1e-9].min()
    close = (d - edge).abs() < 1e-9
    edges = [(i, j) for i in range(12) for j in range(i + 1, 12) if close[i, j]]
    faces = [(i, j, k) for i, j in edges for k in range(j + 1, 12) if close[i, k] and close[j, k]]
    assert len(edges) == 30 and len(faces) == 20
    return V, edges, faces


def mackay_icosahedron(shells: int, spacing: float = 1.1) -> Tensor:
    """Mackay icosahedron with ``shells`` shells (13, 55, 147, 309 atoms); shell radius k * spacing."""
    V, edges, faces = _icosahedron()
    pts = [torch.zeros(1, 3, dtype=torch.float64)]
    for k in range(1, shells + 1):
        pts.append(V * k)
        for i, j in edges:
            s = torch.arange(1, k, dtype=torch.float64)[:, None]
            pts.append((k - s) * V[i] + s * V[j])
        for i, j, l in faces:
            st = [(s, t) for s in range(1, k) for t in range(1, k - s)]
            if st:
                c = torch.tensor(st, dtype=torch.float64)
                pts.append((k - c[:, :1] - c[:, 1:]) * V[i] + c[:, :1] * V[j] + c[:, 1:] * V[l])
    return torch.cat(pts) * spacing


def truncated_octahedron_38(nn: float = 1.1) -> Tensor:
    """The 38-atom fcc truncated octahedron: fcc sites (odd coordinate sum) at |p|^2 in {1, 3, 5}
    around an octahedral hole at the origin; nearest-neighbour distance ``nn``."""
    g = torch.arange(-2, 3, dtype=torch.float64)
    p = torch.stack(torch.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    odd = p.sum(1).remainder(2) == 1
    r2 = (p * p).sum(1)
    sel = odd & ((r2 == 1) | (r2 == 3) | (r2 == 5))
    pts = p[sel]
    assert pts.shape[0] == 38
    return pts * (nn / math.sqrt(2.0))


def build_unrelaxed(n: int) -> Tensor:
    if n == 38:
        return truncated_octahedron_38()
    shells = {v: k for k, v in MACKAY_SIZES.items()}.get(n)
    if shells is None:
        raise ValueError(f"no geometric construction for LJ{n} (available: {BUILDABLE})")
    return mackay_icosahedron(shells)


@lru_cache(maxsize=16)
def _relaxed(n: int) -> tuple[Tensor, float, float]:
    x0 = build_unrelaxed(n)
    x, e, gmax = lbfgs_relax(lj_cluster_energy(n), x0, gtol=1e-10)
    x = x - x.mean(0)
    return x, e, gmax


def reference_structure(n: int, check: bool = True) -> Tensor | None:
    """Relaxed global-minimum structure (N, 3) float64, centred at the origin, or None if gmbench
    cannot build LJ``n``. With ``check``, asserts that its energy matches the CCD table to 1e-6."""
    if n not in BUILDABLE:  # only sizes whose built structure is checked against the CCD table
        return None
    x, e, _ = _relaxed(int(n))
    ref = CCD_ENERGIES.get(int(n))
    if check and ref is not None and abs(e - ref) > 1e-6:
        raise RuntimeError(f"LJ{n}: relaxed reference energy {e:.8f} does not match the CCD value {ref}")
    return x.clone()


def reference_info(n: int) -> dict:
    """Energy, residual gradient and label of the built reference (for reports and tests)."""
    x, e, gmax = _relaxed(int(n))
    return {"n": n, "energy": e, "ccd": CCD_ENERGIES.get(n), "max_grad": gmax, "label": CCD_STRUCTURE_LABELS.get(n, "")}
