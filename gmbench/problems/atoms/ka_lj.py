"""``ka-lj``: the periodic Kob-Andersen binary Lennard-Jones glass former (StriderNET's LJ system).

Kob & Andersen, Phys. Rev. E 51, 4626 (1995): 80:20 A/B, sigma_AA = 1, sigma_AB = 0.8, sigma_BB = 0.88,
eps_AA = 1, eps_AB = 1.5, eps_BB = 0.5, number density 1.2, pairs truncated (not shifted) at 2.5 sigma_ab,
single minimum image, as in StriderNET (Bihani et al., "StriderNET: a graph reinforcement learning
approach to optimize atomic structures on rough energy landscapes", ICML 2023, App. B.1), whose reported
energies this cutoff reproduces; ``cutoff: jax`` selects the absolute cutoffs of the authors' JAX
training code instead (for comparison only).

Starting structures (``starts: md``): the T = 2 liquid of StriderNET's LAMMPS input (``in.binary``):
random positions in the box, a short soft-core pre-relaxation (instead of LAMMPS's ``minimize`` on the
bare LJ, which blows up from overlaps without a step cap), then NVT at T = 2.0 with dt = 0.003 tau.
gmbench runs independent replicas in one batch (Langevin, damping time 0.3 tau = LAMMPS's Tdamp) for
``KA_EQUIL_STEPS`` steps and keeps the last frame of each: frames are independent by construction,
where LAMMPS sampled one long trajectory every ~1000 steps. ``starts: stridernet`` uses the published
frames 0-99 (the T = 2 liquid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import torch
from torch import Tensor

from gmbench.core.errors import GmbenchError
from gmbench.physics import md
from gmbench.physics.neighbors import relaxation_skin
from gmbench.physics.potentials import PairEnergy, binary_species, lennard_jones
from gmbench.physics.space import Periodic
from gmbench.problems.atoms.base import (
    FRAMES_HELP, N_HELP, STARTS_HELP, AtomsProblem, MDProtocol, file_starts, md_pool_starts, periodic_bounds,
    register_system, resolve_n,
)
from gmbench.problems.base import Properties

KA_PROPERTIES = Properties(
    continuous=False, differentiable=False, multimodal=True, global_min_defined=True, unique_minimizer=False,
    smooth_at_xstar=True, multimodal_min_dim=6,
    note="truncated, unshifted LJ: the energy jumps where a pair crosses its cutoff; periodic (invariant under "
         "translations by the box and by any vector, and permutations within species); no known global minimum",
)

# the liquid protocol (reduced LJ units)
PROTOCOL_VERSION = 1
KA_T = 2.0
KA_DT = 0.003
KA_TDAMP = 0.3
KA_EQUIL_STEPS = 1000


def relaxing_energy(n: int, species: Tensor, cutoff: str = "2.5sigma") -> PairEnergy:
    """The KA energy with a Verlet skin of 0.3 sigma_AA (:func:`relaxation_skin`) for relaxations and
    MD, which reuse the pair list between nearby configurations; the energies are those of skin 0 (the
    cut-off is applied per pair) and the skin is not part of the problem's configuration or cell key.
    Only boxes with a cell list use it (N >= 256 and L >= 3 (r_c + skin)); N = 100 stays dense."""
    e0 = kob_andersen_energy(n, species, cutoff=cutoff)
    return kob_andersen_energy(n, species, cutoff=cutoff, skin=relaxation_skin(e0.space, float(e0.r_cut.max())))


def ka_liquid(n_frames: int, seed: int, n_atoms: int = 100, *, T: float = KA_T, steps: int = KA_EQUIL_STEPS,
              device: str | torch.device = "cpu") -> Tensor:
    """``n_frames`` independent KA liquid configurations at temperature ``T`` (seeded)."""
    gen = torch.Generator().manual_seed(int(seed))
    L = ka_box(n_atoms, KA_DENSITY)
    sp = binary_species(n_atoms)
    energy = relaxing_energy(n_atoms, sp)
    space = Periodic(L)
    r = (torch.rand((n_frames, n_atoms, 3), generator=gen, dtype=torch.float64) * L).to(device)
    r = md.soft_pack(r, space, torch.tensor(KA_SIGMA, dtype=torch.float64), species=sp, steps=100)
    v = md.maxwell_boltzmann(r.shape, T, 1.0, 1.0, gen, r)
    r, _, _ = md.langevin_nvt(energy, r, v, kT=T, dt=KA_DT, gamma=1.0 / KA_TDAMP, mass=1.0, steps=steps,
                              generator=gen, shift=space.shift)
    return r.cpu()


def _describe(n_atoms: int) -> dict[str, Any]:
    return {"system": "ka-lj", "n": n_atoms, "T": KA_T, "dt": KA_DT, "thermostat": "langevin",
            "tdamp": KA_TDAMP, "steps": KA_EQUIL_STEPS, "replicas": True, "prerelax": "soft-core sigma_ab",
            "version": PROTOCOL_VERSION}


PROTOCOL = MDProtocol(_describe, lambda n_frames, seed, n_atoms: ka_liquid(n_frames, seed, n_atoms))


# Kob-Andersen (Kob & Andersen, Phys. Rev. E 51, 4626 (1995); StriderNET App. B.1): species 0 = A, 1 = B
KA_SIGMA = [[1.0, 0.8], [0.8, 0.88]]
KA_EPSILON = [[1.0, 1.5], [1.5, 0.5]]
KA_CUTOFF_FACTOR = 2.5  # r_c = 2.5 sigma_ab (LAMMPS lj/cut 2.5 with per-pair cutoffs)
KA_DENSITY = 1.2
# the JAX training code's absolute cutoffs (for comparison only; they do not reproduce the paper)
KA_JAX_CUTOFF = [[1.5, 1.25], [1.25, 2.0]]

def ka_box(n: int, density: float = KA_DENSITY) -> float:
    return (n / density) ** (1.0 / 3.0)


def kob_andersen_energy(
    n: int = 100,
    species: Sequence[int] | Tensor | None = None,
    *,
    density: float = KA_DENSITY,
    cutoff: str = "2.5sigma",
    neighbor: str = "auto",
    skin: float = 0.0,
) -> PairEnergy:
    """Periodic KA 80:20 mixture at number density ``density`` (box L = (n/density)^(1/3)).

    ``cutoff="2.5sigma"``: r_c = 2.5 sigma_ab (2.5/2.0/2.2), truncated, not shifted (StriderNET's
    reported numbers); ``cutoff="jax"``: the JAX training code's 1.5/1.25/2.0 (not the paper's).
    Small boxes (cutoff > L/2, e.g. n = 100) use a dense single-minimum-image sum, as the authors' code.
    """
    species = binary_species(n) if species is None else torch.as_tensor(species, dtype=torch.long)
    if species.numel() != n:
        raise ValueError(f"species has {species.numel()} entries, expected {n}")
    if cutoff == "2.5sigma":
        rc = (KA_CUTOFF_FACTOR * torch.tensor(KA_SIGMA, dtype=torch.float64)).tolist()
    elif cutoff == "jax":
        rc = KA_JAX_CUTOFF
    else:
        raise ValueError(f"unknown KA cutoff convention {cutoff!r} (2.5sigma, jax)")
    return PairEnergy(
        Periodic(ka_box(n, density)), lennard_jones, sigma=KA_SIGMA, epsilon=KA_EPSILON, r_cut=rc,
        species=species, neighbor=neighbor, skin=skin,
    )


@dataclass(frozen=True)
class KALJParams:
    n: int | None = field(default=None, metadata={"help": N_HELP + ", else 100"})
    cutoff: Literal["2.5sigma", "jax"] = field(default="2.5sigma",
                                               metadata={"help": "2.5sigma: the paper's; jax: the training code's"})
    starts: str = field(default="md", metadata={"help": STARTS_HELP})
    frames: str | list[int] | None = field(default=None, metadata={"help": FRAMES_HELP})
    md_seed: int = 0
    pool: int = field(default=100, metadata={"help": "MD frames generated"})


def make_ka_lj(p: KALJParams, dim: int | None, bounds: Any) -> AtomsProblem:
    name = "ka-lj"
    n = resolve_n(name, dim, p.n, 100)
    L = ka_box(n, KA_DENSITY)
    lo, hi = periodic_bounds(name, L, bounds)
    energy = relaxing_energy(n, binary_species(n), cutoff=p.cutoff)
    wrap = energy.space.wrap
    if p.starts == "md":
        sampler, start_cfg = md_pool_starts(name, PROTOCOL, n, wrap, p.md_seed, p.pool, p.frames)
    else:
        stridernet = p.starts == "stridernet"
        if stridernet and n != 100:
            raise GmbenchError(f"problem {name!r}: StriderNET frames have 100 atoms, n = {n}")
        path = md.stridernet_file("ka-lj") if stridernet else Path(p.starts)
        # StriderNET's starting structures are the T = 2 liquid, frames 0-99
        frames = p.frames if p.frames is not None else ("0:100" if stridernet else None)
        sampler, start_cfg = file_starts(name, path, n, frames, wrap, "stridernet" if stridernet else "file")
    cfg = {
        "system": "ka-lj", "potential": "lennard-jones", "sigma": KA_SIGMA, "epsilon": KA_EPSILON,
        "cutoff": ([[KA_CUTOFF_FACTOR * s for s in row] for row in KA_SIGMA] if p.cutoff == "2.5sigma"
                   else KA_JAX_CUTOFF),
        "cutoff_convention": f"{p.cutoff}, truncated, not shifted, single minimum image", "density": KA_DENSITY,
        "space": "periodic", "box": L, "composition": "80:20", "species_order": "(8A,2B) repeated",
        "f_star": None, "starts": start_cfg,
    }
    return AtomsProblem(name, energy, n, species=binary_species(n), periodic_box=L, lower=lo, upper=hi,
                        sampler=sampler, properties=KA_PROPERTIES, config=cfg)


register_system("ka-lj", KALJParams, make_ka_lj, properties=KA_PROPERTIES, aliases=("kob-andersen", "stridernet-lj"),
                info={
    "title": "Kob-Andersen 80:20 binary LJ, periodic, density 1.2, r_c 2.5 sigma_ab truncated (StriderNET)",
    "bounds": "periodic [0, L), L = (n/1.2)^(1/3)",
    "dims": "3n (default 300)",
    "reference": "none; StriderNET FIRE baseline from frames 0-99: mean -804.08, min -813.82",
})
