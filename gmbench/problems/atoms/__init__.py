"""Atomic-structure problems: LJ clusters (CCD), the action-functional binary LJ cluster, and the
StriderNET systems (periodic Kob-Andersen LJ, Stillinger-Weber Si, C-S-H gel).

Modules:

* :mod:`.space` - ``Free`` and ``Periodic(L)`` displacement/shift (minimum image);
* :mod:`.potentials` - batched energies ``(..., N, 3) -> (...)`` and their parameters;
* :mod:`.neighbors` - dense pairs, batched cell lists, Verlet lists with skin;
* :mod:`.relax` - FIRE (jax-md 0.2.24 semantics, StriderNET parameters) and a tight L-BFGS;
* :mod:`.structures` - the CCD energy table and built reference minima (LJ13, 38, 55, 147);
* :mod:`.metrics` - permutation/rotation/reflection-invariant RMSD, energy gap, success;
* :mod:`.md` - seeded MD starting frames (cached) and user structure files;
* :mod:`.problem` - :class:`AtomsProblem` and the factories registered below.

Registered problems: ``lj-cluster`` (param n), ``lj13`` ... ``lj150`` (the CCD sizes, fixed n),
``binary-lj-cluster``, ``ka-lj``, ``sw-silicon``, ``csh``.
"""

from __future__ import annotations

from functools import partial

from gmbench.problems import PROBLEMS, ProblemEntry
from gmbench.problems.atoms.problem import (
    BINARY_CLUSTER_PROPERTIES, CSH_PROPERTIES, KA_PROPERTIES, LJ_CLUSTER_PROPERTIES, SW_PROPERTIES, AtomsProblem,
    make_binary_lj_cluster, make_csh, make_ka_lj, make_lj_cluster, make_sw_silicon,
)
from gmbench.problems.atoms.structures import BUILDABLE, CCD_ENERGIES, CCD_STRUCTURE_LABELS, CCD_TABLE_VERSION


def _register() -> None:
    PROBLEMS.register(
        "lj-cluster",
        ProblemEntry(make_lj_cluster, "atoms", {
            "title": "Lennard-Jones cluster (untruncated, open space, eps = sigma = 1)",
            "params": "n (atoms), start_density (default 1.0)",
            "bounds": "+-(R + 1), R = start-ball radius",
            "dims": "3n",
            "reference": f"CCD energies for n in {sorted(CCD_ENERGIES)}; structures for n in {list(BUILDABLE)}",
            "table": CCD_TABLE_VERSION,
        }, LJ_CLUSTER_PROPERTIES),
    )
    for n, e in CCD_ENERGIES.items():
        PROBLEMS.register(
            f"lj{n}",
            ProblemEntry(partial(make_lj_cluster, _name=f"lj{n}", _fixed_n=n), "atoms", {
                "title": f"LJ{n} cluster" + (f", {CCD_STRUCTURE_LABELS[n]}" if n in CCD_STRUCTURE_LABELS else ""),
                "params": "start_density (default 1.0)",
                "bounds": "+-(R + 1), R = start-ball radius",
                "dims": str(3 * n),
                "f_star": e,
                "reference": "structure + energy" if n in BUILDABLE else "energy only",
                "table": CCD_TABLE_VERSION,
            }, LJ_CLUSTER_PROPERTIES),
        )
    PROBLEMS.register(
        "binary-lj-cluster",
        ProblemEntry(make_binary_lj_cluster, "atoms", {
            "title": "binary LJ cluster of the action-functional paper (A.4): 80:20, sigma 1, eps_AB 1.5, eps_BB 0.62",
            "params": "n (default 100), eps_ab, eps_bb, start_density, starts (ball|stridernet|file), frames",
            "bounds": "+-(R + 1), R = start-ball radius",
            "dims": "3n (default 300)",
            "reference": "none (no certified global minimum)",
        }, BINARY_CLUSTER_PROPERTIES),
    )
    PROBLEMS.register(
        "ka-lj",
        ProblemEntry(make_ka_lj, "atoms", {
            "title": "Kob-Andersen 80:20 binary LJ, periodic, density 1.2, r_c 2.5 sigma_ab truncated (StriderNET)",
            "params": "n (default 100), cutoff (2.5sigma|jax), starts (md|stridernet|file), frames",
            "bounds": "periodic [0, L), L = (n/1.2)^(1/3)",
            "dims": "3n (default 300)",
            "reference": "none; StriderNET FIRE baseline from frames 0-99: mean -804.08, min -813.82",
        }, KA_PROPERTIES),
        ("kob-andersen", "stridernet-lj"),
    )
    PROBLEMS.register(
        "sw-silicon",
        ProblemEntry(make_sw_silicon, "atoms", {
            "title": "Stillinger-Weber silicon, 64 atoms, periodic (metal units, eV)",
            "params": "n (8k^3, default 64), starts (md|file), frames",
            "bounds": "periodic [0, 10.862) A",
            "dims": "3n (default 192)",
            "reference": "none; diamond crystal -277.5424 eV",
        }, SW_PROPERTIES),
        ("sw-si", "stridernet-sw"),
    )
    PROBLEMS.register(
        "csh",
        ProblemEntry(make_csh, "atoms", {
            "title": "C-S-H colloidal gel, 152 grains, Mie 28-14, periodic 300 A box (kcal/mol)",
            "params": "starts (md|stridernet|file), frames",
            "bounds": "periodic [0, 300) A",
            "dims": "456",
            "reference": "none",
        }, CSH_PROPERTIES),
        ("c-s-h", "stridernet-csh"),
    )


_register()

__all__ = ["AtomsProblem", "make_lj_cluster", "make_binary_lj_cluster", "make_ka_lj", "make_sw_silicon", "make_csh"]
