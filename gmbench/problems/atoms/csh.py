"""``csh``: the coarse-grained calcium-silicate-hydrate colloidal gel (StriderNET's C-S-H system).

152 grains (the GCMC saturation of StriderNET's LAMMPS input) interacting by a Mie 28-14 potential,
U = 4 eps [(sigma/r)^28 - (sigma/r)^14] (a colloidal C-S-H model in the spirit of Masoero et al.,
"Nanostructure and nanomechanics of cement: polydisperse colloidal packing", Phys. Rev. Lett. 109,
155503 (2012)), eps = 2660.77425533 kcal/mol, sigma = 50 A, truncated (not shifted) at 150 A, periodic
300 A box, minimum image, LAMMPS real units (Bihani et al. 2023, App. B.3 and the authors' LAMMPS
``pair_coeff``).

Starting structures (``starts: md``) follow the code path of the authors' JAX training code that made
their published frames: from a base structure, Nose-Hoover chain NVT with kT = 1000 kcal/mol (an
energy, not 1000 K), dt = 0.01, mass 1, one frame every 10 steps; frame 0 is the base itself. The base
is frame 0 of the published file (the GD-relaxed GCMC structure) when the StriderNET data is present;
otherwise a seeded random packing of 152 grains relaxed by the same gradient descent (lr 1e-6, 1000
steps) - a documented stand-in for the GCMC structure, which gmbench does not ship.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gmbench.core.errors import GmbenchError
from gmbench.physics import md
from gmbench.core.autodiff import energy_and_forces
from gmbench.physics.potentials import PairEnergy, mie
from gmbench.physics.space import Periodic
from gmbench.problems.atoms.base import (
    FRAMES_HELP, STARTS_HELP, AtomsProblem, MDProtocol, file_starts, md_pool_starts, periodic_bounds,
    register_system, resolve_n,
)
from gmbench.problems.base import Properties

CSH_PROPERTIES = Properties(
    continuous=False, differentiable=False, multimodal=True, global_min_defined=True, unique_minimizer=False,
    smooth_at_xstar=True, multimodal_min_dim=6,
    note="truncated, unshifted Mie 28-14 at 3 sigma (tiny energy jump); periodic; no known global minimum",
)

# the trajectory protocol (real units; kT is an energy in kcal/mol, as in the authors' jax-md code)
PROTOCOL_VERSION = 1
CSH_KT = 1000.0
CSH_DT = 0.01
CSH_MASS = 1.0
CSH_EVERY = 10


def _data_present() -> bool:
    d = md.stridernet_data_dir()
    return d is not None and (d / md.STRIDERNET_FILES["csh"]).is_file()


def csh_base(seed: int) -> tuple[Tensor, str]:
    """Base structure for the C-S-H trajectory: frame 0 of the published frames if present, else a
    seeded random packing relaxed by gradient descent (lr 1e-6, 1000 steps, as the authors' code)."""
    try:
        return md.load_frames(md.stridernet_file("csh"))[0], "stridernet-frame0"
    except GmbenchError:
        pass
    gen = torch.Generator().manual_seed(int(seed))
    L, N = CSH_PARAMS["box"], CSH_PARAMS["n_atoms"]
    space = Periodic(L)
    r = torch.rand((1, N, 3), generator=gen, dtype=torch.float64) * L
    r = md.soft_pack(r, space, CSH_PARAMS["sigma"], steps=1000)
    energy = csh_energy()
    for _ in range(1000):
        _, f = energy_and_forces(energy, r, analytic=False)  # (the cached start: autograd, kept bit for bit)
        r = space.shift(r, 1e-6 * f)
    return r[0], "random-pack-gd"


def csh_trajectory(n_frames: int, seed: int, *, device: str | torch.device = "cpu") -> Tensor:
    """C-S-H frames: NH-chain NVT (kT = 1000 kcal/mol, dt 0.01, mass 1) from the base, every 10 steps."""
    gen = torch.Generator().manual_seed(int(seed))
    base, _ = csh_base(seed)
    space = Periodic(CSH_PARAMS["box"])
    energy = csh_energy()
    r = base[None].to(device)
    v = md.maxwell_boltzmann(r.shape, CSH_KT, CSH_MASS, 1.0, gen, r)
    _, _, frames = md.nose_hoover_nvt(energy, r, v, kT=CSH_KT, dt=CSH_DT, mass=CSH_MASS,
                                      steps=CSH_EVERY * (n_frames - 1), shift=space.shift, record_every=CSH_EVERY)
    return torch.cat(frames, 0).cpu()


def _describe(n_atoms: int) -> dict[str, Any]:
    base = "stridernet-frame0" if _data_present() else "random-pack-gd"
    return {"system": "csh", "n": n_atoms, "kT": CSH_KT, "dt": CSH_DT, "mass": CSH_MASS,
            "thermostat": "nose-hoover-chain", "every": CSH_EVERY, "base": base, "version": PROTOCOL_VERSION}


PROTOCOL = MDProtocol(_describe, lambda n_frames, seed, n_atoms: csh_trajectory(n_frames, seed))


# C-S-H (StriderNET App. B.3 and the authors' LAMMPS pair_coeff: Mie 28-14, eps in kcal/mol, sigma in A)
CSH_PARAMS = dict(epsilon=2660.77425533, sigma=50.0, n=28, m=14, r_cut=150.0, box=300.0, n_atoms=152)


def csh_energy(box: float = CSH_PARAMS["box"], n_atoms: int | None = CSH_PARAMS["n_atoms"], *,
               neighbor: str = "auto") -> PairEnergy:
    """C-S-H grains: Mie 28-14 (= 4 eps[(s/r)^28 - (s/r)^14]), eps = 2660.77425533 kcal/mol,
    sigma = 50 A, cutoff 150 A truncated and not shifted, periodic box (300 A), minimum image."""
    p = CSH_PARAMS
    e = PairEnergy(Periodic(box), mie, sigma=p["sigma"], epsilon=p["epsilon"], r_cut=p["r_cut"],
                   neighbor=neighbor, pair_kwargs={"n": p["n"], "m": p["m"]})
    e.n_atoms = n_atoms
    return e


@dataclass(frozen=True)
class CSHParams:
    n: int | None = field(default=None, metadata={"help": "grains; 152 only"})
    starts: str = field(default="md", metadata={"help": STARTS_HELP})
    frames: str | list[int] | None = field(default=None, metadata={"help": FRAMES_HELP})
    md_seed: int = 0
    pool: int = field(default=100, metadata={"help": "MD frames generated"})


def make_csh(p: CSHParams, dim: int | None, bounds: Any) -> AtomsProblem:
    name = "csh"
    n = resolve_n(name, dim, p.n, CSH_PARAMS["n_atoms"])
    if n != CSH_PARAMS["n_atoms"]:
        raise GmbenchError(f"problem {name!r} has {CSH_PARAMS['n_atoms']} grains (GCMC saturation), got n = {n}")
    L = CSH_PARAMS["box"]
    lo, hi = periodic_bounds(name, L, bounds)
    energy = csh_energy()
    wrap = energy.space.wrap
    if p.starts == "md":
        sampler, start_cfg = md_pool_starts(name, PROTOCOL, n, wrap, p.md_seed, p.pool, p.frames)
    else:
        stridernet = p.starts == "stridernet"
        path = md.stridernet_file("csh") if stridernet else Path(p.starts)
        sampler, start_cfg = file_starts(name, path, n, p.frames, wrap, "stridernet" if stridernet else "file")
    cfg = {
        "system": "csh", "potential": "mie-28-14", "units": "real (kcal/mol, Angstrom)",
        "epsilon": CSH_PARAMS["epsilon"], "sigma": CSH_PARAMS["sigma"], "mie_n": CSH_PARAMS["n"],
        "mie_m": CSH_PARAMS["m"], "cutoff": CSH_PARAMS["r_cut"],
        "cutoff_convention": "truncated, not shifted, minimum image", "space": "periodic", "box": L,
        "f_star": None, "starts": start_cfg,
    }
    return AtomsProblem(name, energy, n, species=None, periodic_box=L, lower=lo, upper=hi, sampler=sampler,
                        properties=CSH_PROPERTIES, config=cfg)


register_system("csh", CSHParams, make_csh, properties=CSH_PROPERTIES, aliases=("c-s-h", "stridernet-csh"), info={
    "title": "C-S-H colloidal gel, 152 grains, Mie 28-14, periodic 300 A box (kcal/mol)",
    "bounds": "periodic [0, 300) A",
    "dims": "456",
    "reference": "none",
})
