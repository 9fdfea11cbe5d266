"""``sw-silicon``: Stillinger-Weber silicon in a periodic diamond box (StriderNET's covalent system).

Stillinger & Weber, Phys. Rev. B 31, 5262 (1985), with LAMMPS's ``Si.sw`` parameters in metal units
(eV, Angstrom): eps = 2.1683 eV, sigma = 2.0951 A, a = 1.8, lambda = 21, gamma = 1.2 (the kernel is
:class:`gmbench.physics.potentials.StillingerWeber`). Default 64 atoms = 2 x 2 x 2 conventional cells
of a = 5.431 A (L = 10.862 A), as StriderNET (Bihani et al. 2023, App. B.2); n = 8 k^3 in general.

Starting structures (``starts: md``): liquid silicon, "NVT at 3500 K" (StriderNET App. B.2): the diamond
crystal, a seeded Gaussian jiggle (0.05 A) and Maxwell-Boltzmann velocities at 3500 K, Langevin NVT at
3500 K (damping 0.3 ps = LAMMPS Tdamp, dt = 1 fs) for ``SW_EQUIL_STEPS`` steps, the last frame of each
of the independent replicas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gmbench.core.errors import GmbenchError
from gmbench.physics import md
from gmbench.physics.potentials import StillingerWeber
from gmbench.physics.space import Periodic
from gmbench.problems.atoms.base import (
    FRAMES_HELP, N_HELP, AtomsProblem, MDProtocol, file_starts, md_pool_starts, periodic_bounds, register_system,
    resolve_n,
)
from gmbench.problems.base import Properties

SW_PROPERTIES = Properties(
    continuous=True, differentiable=True, multimodal=True, global_min_defined=True, unique_minimizer=False,
    smooth_at_xstar=True, multimodal_min_dim=6,
    note="the diamond crystal (-2 eps per atom) is the presumed global minimum, but is not used as a reference: "
         "the paper reports energies only",
)

# the liquid protocol (metal units)
PROTOCOL_VERSION = 1
SW_T = 3500.0  # K
SW_DT = 0.001  # ps
SW_TDAMP = 0.3  # ps
SW_EQUIL_STEPS = 4000


def sw_liquid(n_frames: int, seed: int, *, T: float = SW_T, steps: int = SW_EQUIL_STEPS, cells: int = 2,
              device: str | torch.device = "cpu") -> Tensor:
    """``n_frames`` independent SW liquid-Si configurations at ``T`` kelvin (seeded), metal units."""
    gen = torch.Generator().manual_seed(int(seed))
    pos, L = diamond_silicon(cells)
    space = Periodic(L)
    energy = stillinger_weber_energy(L, n_atoms=pos.shape[0])
    r = pos.expand(n_frames, -1, -1).clone()
    r = space.wrap(r + 0.05 * torch.randn(r.shape, generator=gen, dtype=torch.float64)).to(device)
    kT = md.KB_EV * T
    v = md.maxwell_boltzmann(r.shape, kT, SI_MASS, md.METAL_ACCEL, gen, r)
    r, _, _ = md.langevin_nvt(energy, r, v, kT=kT, dt=SW_DT, gamma=1.0 / SW_TDAMP, mass=SI_MASS, steps=steps,
                              generator=gen, shift=space.shift, accel=md.METAL_ACCEL)
    return r.cpu()


def _describe(n_atoms: int) -> dict[str, Any]:
    return {"system": "sw-silicon", "n": n_atoms, "T_K": SW_T, "dt_ps": SW_DT, "thermostat": "langevin",
            "tdamp_ps": SW_TDAMP, "steps": SW_EQUIL_STEPS, "replicas": True, "start": "diamond+0.05A",
            "version": PROTOCOL_VERSION}


def _generate(n_frames: int, seed: int, n_atoms: int) -> Tensor:
    return sw_liquid(n_frames, seed, cells=round((n_atoms / 8) ** (1 / 3)))


PROTOCOL = MDProtocol(_describe, _generate)


# Stillinger-Weber Si (Stillinger & Weber, Phys. Rev. B 31, 5262 (1985); the parameters of LAMMPS Si.sw)
SW_PARAMS = dict(epsilon=2.1683, sigma=2.0951, a=1.80, lam=21.0, gamma=1.20, cos0=-1.0 / 3.0,
                 A=7.049556277, B=0.6022245584, p=4.0, q=0.0)
SI_LATTICE = 5.431  # Angstrom, diamond cubic
SI_MASS = 28.06  # g/mol

def diamond_silicon(cells: int = 2, a: float = SI_LATTICE) -> tuple[Tensor, float]:
    """Diamond-cubic Si, ``cells``^3 conventional cells (8 atoms each): positions (8 cells^3, 3), box."""
    basis = torch.tensor(
        [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0],
         [0.25, 0.25, 0.25], [0.25, 0.75, 0.75], [0.75, 0.25, 0.75], [0.75, 0.75, 0.25]],
        dtype=torch.float64,
    )
    g = torch.arange(cells, dtype=torch.float64)
    cell = torch.stack(torch.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 1, 3)
    pos = ((cell + basis[None]) * a).reshape(-1, 3)
    return pos, cells * a


def stillinger_weber_energy(box: float = 2 * SI_LATTICE, n_atoms: int | None = 64, *, neighbor: str = "auto",
                            skin: float = 0.0) -> StillingerWeber:
    """SW silicon in a periodic cubic box (default 64 atoms, 2x2x2 cells of a = 5.431 A)."""
    return StillingerWeber(Periodic(box), **SW_PARAMS, neighbor=neighbor, skin=skin, n_atoms=n_atoms)


@dataclass(frozen=True)
class SWSiliconParams:
    n: int | None = field(default=None, metadata={"help": N_HELP + ", else 64; 8 k^3"})
    starts: str = field(default="md", metadata={"help": "'md' (seeded MD pool) or a structure file"})
    frames: str | list[int] | None = field(default=None, metadata={"help": FRAMES_HELP})
    md_seed: int = 0
    pool: int = field(default=100, metadata={"help": "MD frames generated"})


def make_sw_silicon(p: SWSiliconParams, dim: int | None, bounds: Any) -> AtomsProblem:
    name = "sw-silicon"
    n = resolve_n(name, dim, p.n, 64)
    cells = round((n / 8) ** (1 / 3))
    if 8 * cells**3 != n:
        raise GmbenchError(f"problem {name!r}: n must be 8 k^3 (a k x k x k diamond supercell), got {n}")
    L = cells * SI_LATTICE
    lo, hi = periodic_bounds(name, L, bounds)
    energy = stillinger_weber_energy(L, n_atoms=n)
    wrap = energy.space.wrap
    if p.starts == "md":
        sampler, start_cfg = md_pool_starts(name, PROTOCOL, n, wrap, p.md_seed, p.pool, p.frames)
    else:
        sampler, start_cfg = file_starts(name, Path(p.starts), n, p.frames, wrap)
    cfg = {
        "system": "sw-silicon", "potential": "stillinger-weber", "units": "metal (eV, Angstrom)", **SW_PARAMS,
        "space": "periodic", "box": L, "lattice": SI_LATTICE, "crystal_energy": -2 * SW_PARAMS["epsilon"] * n,
        "f_star": None, "starts": start_cfg,
    }
    return AtomsProblem(name, energy, n, species=None, periodic_box=L, lower=lo, upper=hi, sampler=sampler,
                        properties=SW_PROPERTIES, config=cfg)


register_system("sw-silicon", SWSiliconParams, make_sw_silicon, properties=SW_PROPERTIES,
                aliases=("sw-si", "stridernet-sw"), info={
    "title": "Stillinger-Weber silicon, 64 atoms, periodic (metal units, eV)",
    "bounds": "periodic [0, 10.862) A",
    "dims": "3n (default 192)",
    "reference": "none; diamond crystal -277.5424 eV",
})
