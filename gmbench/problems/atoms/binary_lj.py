"""``binary-lj-cluster``: the action-functional paper's binary Lennard-Jones cluster.

An 80:20 A/B mixture in open space, untruncated, sigma = 1 for every pair, eps_AA = 1, eps_AB = 1.5,
eps_BB = 0.62 (the seed paper's Appendix A.4; the composition and energies follow the Kob-Andersen
mixture, Kob & Andersen, Phys. Rev. E 51, 4626 (1995), with equal diameters). No global minimum is
known, so there is no reference (f_star None). Starts: a random ball (as ``lj-cluster``), the
StriderNET KA frames (Bihani et al. 2023, 100 atoms) or a structure file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from gmbench.core.errors import GmbenchError
from gmbench.physics import md
import torch
from torch import Tensor

from gmbench.physics.potentials import PairEnergy, binary_species, lennard_jones
from gmbench.physics.space import Free
from gmbench.problems.atoms.base import (
    BOUNDS_MARGIN, DEFAULT_START_DENSITY, FRAMES_HELP, N_HELP, START_MIN_SEP, AtomsProblem, BallSampler,
    cluster_bounds, file_starts, positive, register_system, resolve_n,
)
from gmbench.problems.base import Properties

# what an unconverged basin-hopping run (random start, position moves and A<->B swaps, T = 0.8, a few
# CPU-minutes) reached for eps_AB = 1.5: an upper bound, never a reference minimum
BEST_KNOWN_NOTE = ("no certified global minimum; -650.64 is a loose upper bound from a short basin-hopping run "
                   "(position moves and A<->B swaps, T = 0.8), not a reference")

BINARY_CLUSTER_PROPERTIES = Properties(
    continuous=True, differentiable=True, multimodal=True, global_min_defined=True, unique_minimizer=False,
    smooth_at_xstar=True, multimodal_min_dim=18,
    note="no reference minimum known; singular where atoms coincide",
)


# action-functional binary cluster (the seed paper's App. A.4: sigma = 1 for all pairs)
BINARY_CLUSTER_SIGMA = [[1.0, 1.0], [1.0, 1.0]]
BINARY_CLUSTER_EPSILON = [[1.0, 1.5], [1.5, 0.62]]

def binary_lj_cluster_energy(
    n: int = 100, species: Sequence[int] | Tensor | None = None, *, eps_ab: float = 1.5, eps_bb: float = 0.62
) -> PairEnergy:
    """Open-space, untruncated 80:20 binary LJ cluster (sigma = 1 for all pairs)."""
    species = binary_species(n) if species is None else torch.as_tensor(species, dtype=torch.long)
    eps = [[1.0, eps_ab], [eps_ab, eps_bb]]
    return PairEnergy(Free(), lennard_jones, sigma=BINARY_CLUSTER_SIGMA, epsilon=eps, r_cut=None,
                      species=species, neighbor="dense")


@dataclass(frozen=True)
class BinaryLJParams:
    n: int | None = field(default=None, metadata={"help": N_HELP + ", else 100"})
    eps_ab: float = BINARY_CLUSTER_EPSILON[0][1]
    eps_bb: float = BINARY_CLUSTER_EPSILON[1][1]
    start_density: float = field(default=DEFAULT_START_DENSITY, metadata={"help": "ball starts"})
    starts: str = field(default="ball", metadata={"help": "'ball', 'stridernet' or a structure file"})
    frames: str | list[int] | None = field(default=None, metadata={"help": FRAMES_HELP})


def make_binary_lj_cluster(p: BinaryLJParams, dim: int | None, bounds: Any) -> AtomsProblem:
    name = "binary-lj-cluster"
    n = resolve_n(name, dim, p.n, 100)
    eps_ab = positive(name, "eps_ab", p.eps_ab)
    eps_bb = positive(name, "eps_bb", p.eps_bb)
    density = positive(name, "start_density", p.start_density)
    species = binary_species(n)
    if p.starts == "ball":
        if p.frames is not None:
            raise GmbenchError(f"problem {name!r}: frames applies only to file starts")
        lo, hi = cluster_bounds(name, n, density, bounds)
        sampler: Callable = BallSampler(n, density)
        start_cfg: dict = {"kind": "ball", "density": density, "min_sep": START_MIN_SEP, "prerelax": "soft-core"}
    else:
        stridernet = p.starts == "stridernet"
        path = md.stridernet_file("ka-lj") if stridernet else Path(p.starts)
        if stridernet and n != 100:
            raise GmbenchError(f"problem {name!r}: StriderNET frames have 100 atoms, n = {n}")
        frames = p.frames if p.frames is not None else ("0:100" if stridernet else None)
        sampler, start_cfg = file_starts(name, path, n, frames, None, "stridernet" if stridernet else "file")
        fmin, fmax = float(sampler.frames.min()), float(sampler.frames.max())
        lo, hi = (fmin - BOUNDS_MARGIN, fmax + BOUNDS_MARGIN) if bounds is None else (float(bounds[0]), float(bounds[1]))
        if not (lo <= fmin and hi >= fmax):
            raise GmbenchError(
                f"problem {name!r}: bounds [{lo}, {hi}] do not contain the starting frames [{fmin:.4g}, {fmax:.4g}]")
    cfg = {
        "system": "binary-lj-cluster", "potential": "lennard-jones", "sigma": 1.0,
        "epsilon": [[1.0, eps_ab], [eps_ab, eps_bb]], "cutoff": None, "space": "free",
        "composition": "80:20", "species_order": "(8A,2B) repeated", "f_star": None,
        # what basin hopping found (prose: cell keys do not hash it, gmbench.run.cell.key_configuration)
        "best_known_note": BEST_KNOWN_NOTE,
        "starts": start_cfg,
    }
    return AtomsProblem(name, binary_lj_cluster_energy(n, species, eps_ab=eps_ab, eps_bb=eps_bb), n, species=species,
                        periodic_box=None, lower=lo, upper=hi, sampler=sampler, properties=BINARY_CLUSTER_PROPERTIES,
                        config=cfg)


register_system("binary-lj-cluster", BinaryLJParams, make_binary_lj_cluster, properties=BINARY_CLUSTER_PROPERTIES,
                info={
    "title": "binary LJ cluster of the action-functional paper (A.4): 80:20, sigma 1, eps_AB 1.5, eps_BB 0.62",
    "bounds": "+-(R + 1), R = start-ball radius",
    "dims": "3n (default 300)",
    "reference": "none (no certified global minimum)",
})
