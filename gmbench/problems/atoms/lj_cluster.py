"""Lennard-Jones clusters: ``lj-cluster`` (any n) and ``lj13`` ... ``lj150`` (the tabulated sizes).

One-component LJ in open space, untruncated, eps = sigma = 1: E = sum_{i<j} 4 [r_ij^-12 - r_ij^-6].
Reference energies are the putative global minima of the Cambridge Cluster Database (Wales & Doye,
J. Phys. Chem. A 101, 5111 (1997); https://doye.chem.ox.ac.uk/jon/structures/LJ.html), structures
built for n = 13, 38, 55, 147 (:mod:`.structures`). Starts: random in a ball of number density
``start_density``, soft-core pre-relaxed (:func:`gmbench.physics.md.cluster_starts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gmbench.core.errors import GmbenchError
from gmbench.physics.potentials import lj_cluster_energy
from gmbench.physics.rmsd import RMSD_STARTS, SUCCESS_TOL
from gmbench.problems.atoms.base import (
    DEFAULT_START_DENSITY, N_HELP, START_MIN_SEP, AtomsProblem, BallSampler, cluster_bounds, positive,
    register_system, resolve_n,
)
from gmbench.problems.atoms.structures import (
    BUILDABLE, CCD_ENERGIES, CCD_STRUCTURE_LABELS, CCD_TABLE_VERSION, LJ38_ICOSAHEDRAL, reference_structure,
)
from gmbench.problems.base import Properties

LJ_CLUSTER_PROPERTIES = Properties(
    continuous=True, differentiable=True, multimodal=True, global_min_defined=True, unique_minimizer=False,
    smooth_at_xstar=True, multimodal_min_dim=18,
    note="singular where atoms coincide; minimizers form an orbit under rotations, reflections, translations and "
         "permutations",
)


@dataclass(frozen=True)
class LJClusterParams:
    n: int | None = field(default=None, metadata={"help": N_HELP + "; fixed for lj13 ... lj150"})
    start_density: float = field(default=DEFAULT_START_DENSITY,
                                 metadata={"help": "atoms per sigma^3 of the start ball"})


def _lj38_funnel(e: float) -> dict[str, float]:
    """LJ38's second funnel: did the run end at the lowest icosahedral minimum instead of the fcc one?"""
    return {"lj38_icosahedral": float(abs(e - LJ38_ICOSAHEDRAL) < SUCCESS_TOL)}


def make_lj_cluster(p: LJClusterParams, dim: int | None, bounds: Any, *, name: str = "lj-cluster",
                    fixed_n: int | None = None) -> AtomsProblem:
    n_param = p.n
    if fixed_n is not None:
        if n_param is not None and n_param != fixed_n:
            raise GmbenchError(f"problem {name!r} has n = {fixed_n} atoms, got n = {n_param}")
        n_param = fixed_n
    n = resolve_n(name, dim, n_param, None)
    density = positive(name, "start_density", p.start_density)
    lo, hi = cluster_bounds(name, n, density, bounds)
    ref = reference_structure(n)
    f_star = CCD_ENERGIES.get(n)
    cfg = {
        "system": "lj-cluster", "potential": "lennard-jones", "epsilon": 1.0, "sigma": 1.0, "cutoff": None,
        "space": "free", "reference_table": CCD_TABLE_VERSION if f_star is not None else None, "f_star": f_star,
        "reference_structure": "built+relaxed (structures.py)" if ref is not None else None,
        "starts": {"kind": "ball", "density": density, "min_sep": START_MIN_SEP, "prerelax": "soft-core"},
        "rmsd": {"reflections": True, "starts": RMSD_STARTS},
    }
    return AtomsProblem(name, lj_cluster_energy(n), n, species=None, periodic_box=None, lower=lo, upper=hi,
                        sampler=BallSampler(n, density), properties=LJ_CLUSTER_PROPERTIES, config=cfg, reference=ref,
                        f_star=f_star, extra_assess=_lj38_funnel if n == 38 else None)


register_system("lj-cluster", LJClusterParams, make_lj_cluster, properties=LJ_CLUSTER_PROPERTIES, info={
    "title": "Lennard-Jones cluster (untruncated, open space, eps = sigma = 1)",
    "bounds": "+-(R + 1), R = start-ball radius",
    "dims": "3n",
    "reference": f"CCD energies for n in {sorted(CCD_ENERGIES)}; structures for n in {list(BUILDABLE)}",
    "table": CCD_TABLE_VERSION,
})
for _n, _e in CCD_ENERGIES.items():
    register_system(f"lj{_n}", LJClusterParams, partial(make_lj_cluster, name=f"lj{_n}", fixed_n=_n),
                    properties=LJ_CLUSTER_PROPERTIES, info={
        "title": f"LJ{_n} cluster" + (f", {CCD_STRUCTURE_LABELS[_n]}" if _n in CCD_STRUCTURE_LABELS else ""),
        "bounds": "+-(R + 1), R = start-ball radius",
        "dims": str(3 * _n),
        "f_star": _e,
        "reference": "structure + energy" if _n in BUILDABLE else "energy only",
        "table": CCD_TABLE_VERSION,
    })
