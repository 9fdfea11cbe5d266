"""What ``gmbench perf`` measures gmbench against: the plain autograd energy+gradient, a memory
bandwidth probe, the straightforward ``torch.optim.Adam`` sweep, ASE's FIRE with a numpy Kob-Andersen
calculator, and the inputs they share (jittered lattices, StriderNET's LJ-100 frames when present)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gmbench.bench.timing import time_pair
from gmbench.core.autodiff import energy_and_grad


def autograd_energy_and_grad(f: Callable[[Tensor], Tensor]) -> Callable[[Tensor], tuple[Tensor, Tensor]]:
    """The plain path: what the BlackBox does without a fused kernel."""

    def eg(x: Tensor) -> tuple[Tensor, Tensor]:
        return energy_and_grad(f, x)

    return eg


def bandwidth_probe(device: torch.device, n_elems: int, repeats: int) -> tuple[float, float | None]:
    """Copy bandwidth in bytes/s (read + write) of a float32 tensor of ``n_elems``; peak MiB."""
    src = torch.ones(n_elems, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    (t,), (mem,), _ = time_pair([lambda: dst.copy_(src)], device, max(3, repeats))
    return 2 * 4 * n_elems / t, mem


def naive_adam_sweep(f: Callable[[Tensor], Tensor], starts: Tensor, lrs: list[float], n_steps: int) -> Tensor:
    """The straightforward implementation: per learning rate one torch.optim.Adam over all points,
    energy summed, ``backward()``; best energy seen per rate (every iterate, including the last)."""
    bests = []
    for lr in lrs:
        x = starts.clone().requires_grad_(True)
        opt = torch.optim.Adam([x], lr=lr)
        best = torch.tensor(math.inf, dtype=starts.dtype, device=starts.device)
        for _ in range(n_steps):
            opt.zero_grad()
            e = f(x)
            best = torch.minimum(best, e.detach().min())
            e.sum().backward()
            opt.step()
        with torch.no_grad():
            best = torch.minimum(best, f(x).min())
        bests.append(best)
    return torch.stack(bests)


def _shared_dir() -> Path:
    env = os.environ.get("GMBENCH_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared"


def lattice_config(n: int, density: float = 1.2, seed: int = 0, jitter: float = 0.05, fcc: bool = False) -> Tensor:
    """``n`` atoms on a jittered simple-cubic (or face-centred cubic) lattice at ``density`` (random
    vacancies when n does not fill it), float64 (n, 3) in the box [0, (n/density)^(1/3))^3.

    At density 1.2 the simple-cubic spacing (0.87 for n = 100) is below the Kob-Andersen sigma_AA = 1,
    so FIRE from there first flies apart; the fcc lattice's nearest-neighbour distance (1.03) is not."""
    box = (n / density) ** (1.0 / 3.0)
    per_cell = 4 if fcc else 1
    m = math.ceil((n / per_cell) ** (1.0 / 3.0) - 1e-9)
    g = torch.Generator().manual_seed(seed)
    a = torch.arange(m, dtype=torch.float64)
    cells = torch.stack(torch.meshgrid(a, a, a, indexing="ij"), -1).reshape(-1, 1, 3)
    basis = (torch.tensor([[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5]], dtype=torch.float64)
             if fcc else torch.zeros(1, 3, dtype=torch.float64))
    sites = (cells + basis).reshape(-1, 3)
    sites = sites[torch.randperm(sites.shape[0], generator=g)[:n]]
    r = (sites + (0.25 if fcc else 0.5) + jitter * torch.randn(n, 3, generator=g, dtype=torch.float64)) * (box / m)
    return torch.remainder(r, box)


def ka100_frames(batch: int) -> tuple[Tensor, Tensor, str]:
    """(batch, 100, 3) starting structures, species and where they came from."""
    from gmbench.physics.potentials import binary_species

    d = _shared_dir() / "data" / "stridernet"
    fp, sp = d / "lj100_kob_andersen_frames.npy", d / "lj100_species.npy"
    if fp.is_file() and sp.is_file():
        frames = torch.from_numpy(np.load(fp)[:batch].astype(np.float64))
        species = torch.from_numpy(np.load(sp).astype(np.int64)).reshape(-1)
        if frames.shape[0] == batch:
            return frames, species, f"StriderNET LJ-100 frames 0-{batch - 1}"
    frames = torch.stack([lattice_config(100, seed=s, fcc=True) for s in range(batch)])
    return frames, binary_species(100), "jittered fcc lattices at density 1.2 (StriderNET frames not found)"


class KANumpyCalculator:
    """Kob-Andersen LJ in numpy for ASE: r_c = 2.5 sigma_ab, truncated not shifted, minimum image,
    dense N x N (the same energy as gmbench's ``kob_andersen_energy``)."""

    def __new__(cls, species: np.ndarray, box: float):
        from ase.calculators.calculator import Calculator, all_changes

        from gmbench.problems.atoms.ka_lj import KA_CUTOFF_FACTOR, KA_EPSILON, KA_SIGMA

        class _Calc(Calculator):
            implemented_properties = ["energy", "forces"]

            def __init__(self) -> None:
                super().__init__()
                s = np.asarray(species)
                sig = np.asarray(KA_SIGMA)[s[:, None], s[None, :]]
                self.sig2 = sig**2
                self.eps = np.asarray(KA_EPSILON)[s[:, None], s[None, :]]
                self.rc2 = (KA_CUTOFF_FACTOR * sig) ** 2
                self.box = box
                self.off = ~np.eye(len(s), dtype=bool)

            def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
                super().calculate(atoms, properties, system_changes)
                r = self.atoms.get_positions()
                d = r[:, None, :] - r[None, :, :]
                d -= self.box * np.round(d / self.box)
                r2 = (d * d).sum(-1)
                np.fill_diagonal(r2, 1.0)
                inside = (r2 < self.rc2) & self.off
                s6 = (self.sig2 / r2) ** 3
                e = np.where(inside, 4.0 * self.eps * (s6 * s6 - s6), 0.0)
                # dE/dr2 per pair; force on i = -sum_j dE/dr2 * 2 d_ij
                de = np.where(inside, 4.0 * self.eps * (-6.0 * s6 * s6 + 3.0 * s6) / r2, 0.0)
                self.results["energy"] = 0.5 * e.sum()
                self.results["forces"] = -2.0 * (de[..., None] * d).sum(1)

        return _Calc()
