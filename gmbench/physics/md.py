"""Molecular dynamics for starting structures: integrators, thermostats, soft-core packing, cluster
starts, the frame cache and structure files.

Everything here is batched over independent replicas ``(B, N, 3)`` and takes an energy callable; the
system-specific protocols (which liquid, temperature, time step, thermostat and number of steps) live
with their system in :mod:`gmbench.problems.atoms` (``ka_lj``, ``sw_silicon``, ``csh``):

* :func:`langevin_nvt` - BAOAB Langevin dynamics (Leimkuhler & Matthews, "Rational construction of
  stochastic numerical methods for molecular sampling", AMRX 2013);
* :func:`nose_hoover_nvt` - velocity Verlet with a Nose-Hoover chain (Martyna, Tuckerman & Klein,
  J. Chem. Phys. 97, 2635 (1992)), jax-md's ``nvt_nose_hoover`` defaults;
* :func:`soft_pack`, :func:`cluster_starts` - overlap removal and random cluster starts;
* :func:`cached_frames` - generated frames cached as ``.npy`` under ``$GMBENCH_CACHE/atoms/frames``
  (default ``~/.cache/gmbench``), keyed by the protocol's parameters, seed and number of frames.

User files: ``.npy`` of shape (F, N, 3) (or (N, 3)), or anything ASE reads (extxyz, xyz, ...).
Problems reading them raise :class:`~gmbench.core.errors.GmbenchError` with a one-line message.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from gmbench.core.autodiff import energy_and_forces
from gmbench.core.errors import GmbenchError
from gmbench.physics.space import Free

# metal units: (eV/A) / (g/mol) -> A/ps^2
METAL_ACCEL = 9648.533212
KB_EV = 8.617333262e-5  # eV/K

EnergyFn = Callable[[Tensor], Tensor]


# ---------------------------------------------------------------------------------------------
# paths
# ---------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    base = os.environ.get("GMBENCH_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "gmbench"


def stridernet_data_dir() -> Path | None:
    """The published StriderNET arrays (github.com/M3RG-IITD/StriderNET), if present: the folder
    ``data/stridernet`` under ``$GMBENCH_SHARED``, or under ``shared/`` next to the repository."""
    env = os.environ.get("GMBENCH_SHARED")
    root = Path(env) if env else Path(__file__).resolve().parents[3] / "shared"
    d = root / "data" / "stridernet"
    return d if d.is_dir() else None


STRIDERNET_FILES = {
    "ka-lj": "lj100_kob_andersen_frames.npy", "species": "lj100_species.npy", "csh": "csh152_frames.npy",
}


def stridernet_file(key: str) -> Path:
    d = stridernet_data_dir()
    if d is None or not (d / STRIDERNET_FILES[key]).is_file():
        raise GmbenchError(
            f"StriderNET data file {STRIDERNET_FILES[key]} not found"
            " (set GMBENCH_SHARED to the folder holding data/stridernet)"
        )
    return d / STRIDERNET_FILES[key]


# ---------------------------------------------------------------------------------------------
# user files
# ---------------------------------------------------------------------------------------------


def load_frames(path: str | os.PathLike, n_atoms: int | None = None) -> Tensor:
    """Frames (F, N, 3) float64 from a ``.npy`` file or any format ASE reads (extxyz, xyz, ...)."""
    p = Path(path)
    if not p.is_file():
        raise GmbenchError(f"structure file not found: {p}")
    try:
        if p.suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
        else:
            import ase.io

            images = ase.io.read(str(p), index=":")
            if not images:
                raise ValueError("no structures in file")
            sizes = {len(a) for a in images}
            if len(sizes) != 1:
                raise ValueError(f"frames have different atom counts {sorted(sizes)}")
            arr = np.stack([a.get_positions() for a in images])
    except GmbenchError:
        raise
    except Exception as exc:  # unreadable or malformed: one line for the user
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GmbenchError(f"cannot read structures from {p}: {msg}") from None
    if arr.dtype.kind not in "fiu":
        raise GmbenchError(f"cannot read structures from {p}: numeric array expected, got dtype {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[-1] != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise GmbenchError(f"structures in {p} must have shape (frames, atoms, 3), got {arr.shape}")
    if n_atoms is not None and arr.shape[1] != n_atoms:
        raise GmbenchError(f"structures in {p} have {arr.shape[1]} atoms, the problem has {n_atoms}")
    if not np.isfinite(arr).all():
        raise GmbenchError(f"structures in {p} contain NaN or infinite coordinates")
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float64))


# ---------------------------------------------------------------------------------------------
# soft-core packing (removes overlaps of random positions; no autograd, analytic forces)
# ---------------------------------------------------------------------------------------------


@torch.no_grad()
def soft_pack(
    r: Tensor,
    space,
    diameter: Tensor | float,
    species: Tensor | None = None,
    radius: float | None = None,
    steps: int = 300,
    step_size: float = 0.1,
) -> Tensor:
    """Push atoms apart with the soft repulsion U = sum (1 - r^2/d_ab^2)^2 [r < d_ab] by steepest
    descent; ``radius`` confines them to a ball around the origin (clusters). ``r``: (B, N, 3)."""
    B, N, _ = r.shape
    d = torch.as_tensor(diameter, dtype=r.dtype, device=r.device)
    if species is not None and d.dim() == 2:
        sp = species.to(r.device)
        d2 = (d * d)[sp[:, None], sp[None, :]]  # (N, N)
    else:
        d2 = (d * d).reshape(()) * torch.ones(N, N, dtype=r.dtype, device=r.device)
    eye = torch.eye(N, dtype=torch.bool, device=r.device)
    dmax = float(d2.max().sqrt())
    for _ in range(steps):
        dv = space.displacement(r[:, :, None, :], r[:, None, :, :])  # (B, N, N, 3)  i - j
        r2 = (dv * dv).sum(-1)
        over = (r2 < d2) & ~eye
        # -dU/dr_i = sum_j 4 (1 - r2/d2) / d2 * (r_i - r_j)
        w = torch.where(over, 4.0 * (1.0 - r2 / d2) / d2, torch.zeros_like(r2))
        f = (w[..., None] * dv).sum(2)
        if radius is not None:
            rn = r.norm(dim=-1, keepdim=True)
            f = f - 4.0 * torch.clamp(rn - radius, min=0) * r / rn.clamp(min=1e-12)
        step = step_size * dmax * dmax * f
        # cap the move per atom at 0.1 d_max
        s = step.norm(dim=-1, keepdim=True)
        step = step * torch.clamp(0.1 * dmax / s.clamp(min=1e-30), max=1.0)
        r = space.shift(r, step)
        if not bool(over.any()) and (radius is None or bool((r.norm(dim=-1) <= radius).all())):
            break
    if radius is not None:  # project the rare residual escapes back into the ball
        rn = r.norm(dim=-1, keepdim=True)
        r = torch.where(rn > radius, r * (radius / rn), r)
    return r


def random_in_ball(n_struct: int, n_atoms: int, radius: float, generator: torch.Generator) -> Tensor:
    """Uniform points in a ball of ``radius`` (float64, CPU)."""
    g = torch.randn((n_struct, n_atoms, 3), generator=generator, dtype=torch.float64)
    g = g / g.norm(dim=-1, keepdim=True)
    u = torch.rand((n_struct, n_atoms, 1), generator=generator, dtype=torch.float64) ** (1.0 / 3.0)
    return g * u * radius


def cluster_starts(n_struct: int, n_atoms: int, density: float, generator: torch.Generator,
                   min_sep: float = 1.0) -> Tensor:
    """Random cluster starts: uniform in the ball of number density ``density`` (radius
    (3N / (4 pi density))^(1/3)), then soft-core pre-relaxation to separations >= ~``min_sep``
    inside the ball. Returns (n_struct, n_atoms, 3) float64."""
    radius = cluster_radius(n_atoms, density)
    r = random_in_ball(n_struct, n_atoms, radius, generator)
    return soft_pack(r, Free(), min_sep, radius=radius, steps=500)


def cluster_radius(n_atoms: int, density: float) -> float:
    return (3.0 * n_atoms / (4.0 * math.pi * density)) ** (1.0 / 3.0)


# ---------------------------------------------------------------------------------------------
# integrators (batched: every replica is independent)
# ---------------------------------------------------------------------------------------------


def _noise(shape, generator: torch.Generator, like: Tensor) -> Tensor:
    return torch.randn(shape, generator=generator, dtype=torch.float64).to(dtype=like.dtype, device=like.device)


def maxwell_boltzmann(shape, kT: float, mass: float, accel: float, generator: torch.Generator, like: Tensor) -> Tensor:
    """Velocities with variance kT accel / m per component, centre-of-mass motion removed."""
    v = _noise(shape, generator, like) * math.sqrt(kT * accel / mass)
    return v - v.mean(dim=-2, keepdim=True)


def langevin_nvt(
    energy_fn: EnergyFn, r: Tensor, v: Tensor, *, kT: float, dt: float, gamma: float, mass: float, steps: int,
    generator: torch.Generator, shift: Callable[[Tensor, Tensor], Tensor], accel: float = 1.0,
    record_every: int | None = None,
) -> tuple[Tensor, Tensor, list[Tensor]]:
    """BAOAB Langevin dynamics (Leimkuhler-Matthews) for a batch (B, N, 3).

    ``accel`` converts force / mass to acceleration (1 in reduced units, METAL_ACCEL in metal units).
    Returns final positions, velocities and, if ``record_every``, the recorded positions.
    """
    c1 = math.exp(-gamma * dt)
    c2 = math.sqrt((1.0 - c1 * c1) * kT * accel / mass)
    _, f = energy_and_forces(energy_fn, r, analytic=False)
    frames: list[Tensor] = []
    for k in range(1, steps + 1):
        v = v + (0.5 * dt * accel / mass) * f
        r = shift(r, 0.5 * dt * v)
        v = c1 * v + c2 * _noise(v.shape, generator, v)
        r = shift(r, 0.5 * dt * v)
        _, f = energy_and_forces(energy_fn, r, analytic=False)
        v = v + (0.5 * dt * accel / mass) * f
        if record_every and k % record_every == 0:
            frames.append(r.clone())
    return r, v, frames


def nose_hoover_nvt(
    energy_fn: EnergyFn, r: Tensor, v: Tensor, *, kT: float, dt: float, mass: float, steps: int,
    shift: Callable[[Tensor, Tensor], Tensor], tau: float | None = None, chain_length: int = 5,
    chain_steps: int = 2, sy_steps: int = 3, record_every: int | None = None,
) -> tuple[Tensor, Tensor, list[Tensor]]:
    """Velocity Verlet with a Nose-Hoover chain thermostat (Martyna-Tuckerman-Klein), batched.

    Defaults follow jax-md's ``nvt_nose_hoover`` (chain of 5, 2 chain steps, 3rd-order Suzuki-Yoshida,
    tau = 100 dt). Frame 0 (the input) is recorded first when ``record_every`` is set.
    """
    B = r.shape[0]
    dof = r.shape[-2] * r.shape[-1]
    tau = 100.0 * dt if tau is None else tau
    M = chain_length
    Q = torch.full((B, M), kT * tau * tau, dtype=r.dtype, device=r.device)
    Q[:, 0] *= dof
    vxi = torch.zeros((B, M), dtype=r.dtype, device=r.device)
    if sy_steps == 3:
        w1 = 1.0 / (2.0 - 2.0 ** (1.0 / 3.0))
        sy = [w1, 1.0 - 2.0 * w1, w1]
    elif sy_steps == 1:
        sy = [1.0]
    else:
        raise ValueError("sy_steps must be 1 or 3")

    def chain_half(v: Tensor, vxi: Tensor) -> tuple[Tensor, Tensor]:
        vxi = vxi.clone()
        ke2 = mass * (v * v).sum((-1, -2))  # (B,)  = 2 K
        scale = torch.ones(B, dtype=v.dtype, device=v.device)
        for _ in range(chain_steps):
            for w in sy:
                h = w * 0.5 * dt / chain_steps  # this substep's share of the half step
                G = (Q[:, M - 2] * vxi[:, M - 2] ** 2 - kT) / Q[:, M - 1] if M > 1 else (ke2 - dof * kT) / Q[:, 0]
                vxi[:, M - 1] = vxi[:, M - 1] + 0.5 * h * G
                for k in range(M - 2, -1, -1):
                    ex = torch.exp(-0.25 * h * vxi[:, k + 1])
                    Gk = (ke2 - dof * kT) / Q[:, 0] if k == 0 else (Q[:, k - 1] * vxi[:, k - 1] ** 2 - kT) / Q[:, k]
                    vxi[:, k] = (vxi[:, k] * ex + 0.5 * h * Gk) * ex
                s = torch.exp(-h * vxi[:, 0])
                scale = scale * s
                ke2 = ke2 * s * s
                for k in range(0, M - 1):
                    ex = torch.exp(-0.25 * h * vxi[:, k + 1])
                    Gk = (ke2 - dof * kT) / Q[:, 0] if k == 0 else (Q[:, k - 1] * vxi[:, k - 1] ** 2 - kT) / Q[:, k]
                    vxi[:, k] = (vxi[:, k] * ex + 0.5 * h * Gk) * ex
                G = (Q[:, M - 2] * vxi[:, M - 2] ** 2 - kT) / Q[:, M - 1] if M > 1 else (ke2 - dof * kT) / Q[:, 0]
                vxi[:, M - 1] = vxi[:, M - 1] + 0.5 * h * G
        return v * scale[:, None, None], vxi

    _, f = energy_and_forces(energy_fn, r, analytic=False)
    frames: list[Tensor] = [r.clone()] if record_every else []
    for k in range(1, steps + 1):
        v, vxi = chain_half(v, vxi)
        v = v + (0.5 * dt / mass) * f
        r = shift(r, dt * v)
        _, f = energy_and_forces(energy_fn, r, analytic=False)
        v = v + (0.5 * dt / mass) * f
        v, vxi = chain_half(v, vxi)
        if record_every and k % record_every == 0:
            frames.append(r.clone())
    return r, v, frames


# ---------------------------------------------------------------------------------------------
# the frame cache
# ---------------------------------------------------------------------------------------------


def cached_frames(protocol: dict, seed: int, n_frames: int, generate: Callable[[], Tensor], *,
                  cache: bool = True) -> Tensor:
    """Frames made by ``generate()``, cached as ``.npy`` under ``cache_dir()/atoms/frames`` by the
    protocol's parameters (``protocol["system"]`` and a hash of the whole dict), ``seed`` and
    ``n_frames``. A broken cache entry is regenerated; caching is best effort."""
    key = hashlib.sha1(json.dumps(protocol, sort_keys=True).encode()).hexdigest()[:12]
    path = cache_dir() / "atoms" / "frames" / f"{protocol['system']}-{key}-seed{int(seed)}-n{int(n_frames)}.npy"
    if cache and path.is_file():
        try:
            return torch.from_numpy(np.load(path))
        except Exception:
            pass  # a broken cache entry is regenerated
    frames = generate()
    if cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
            np.save(tmp, frames.numpy())
            os.replace(tmp, path)
        except OSError:
            pass  # caching is best effort
    return frames
