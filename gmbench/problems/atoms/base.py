"""What every atomistic system shares: :class:`AtomsProblem`, starting-structure samplers, the
MD-protocol record, parameter helpers and :func:`register_system`.

An atomistic system is one module of this package (``lj_cluster``, ``binary_lj``, ``ka_lj``,
``sw_silicon``, ``csh``; a user's own is one ``.py`` file loaded with ``--plugin``) that holds its
typed parameter dataclass, its energy (built from the kernels of :mod:`gmbench.physics.potentials`),
its starting-structure protocol and its registration. x is the flattened positions (3N,); energies
are float64.

Conventions (decisions recorded in ``config()``):

* ``dist`` / ``dist_nearest`` are the permutation-, rotation-, reflection- and translation-invariant
  RMSD to the reference structure (``distance_kind = "rmsd"``, in sigma); ``extra["dist_euclid"]`` is
  sqrt(N) RMSD, the norm of the 3N-vector difference. Periodic systems and clusters without a
  reference get None: there is no known global minimum to measure against (the StriderNET paper,
  Bihani et al. 2023, reports energies only). ``nearest_exact`` is False: the RMSD is a heuristic
  upper bound and the reference minima are putative (Wales & Doye 1997).
* Cluster starts: uniform in a ball of number density ``start_density`` (default 1.0 sigma^-3,
  about that of compact LJ clusters), soft-core pre-relaxed to separations >= ~1.0 sigma inside the
  ball. Bounds: the cube [-(R + 1), R + 1]^3 around the ball of radius R (it contains every start
  and the centred reference minimum).
* Periodic systems: bounds [0, L) per coordinate; starts are wrapped into the box; ``oob`` is measured
  after wrapping (the energy is periodic, so any real vector is a valid configuration).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor

from gmbench.core.autodiff import energy_and_grad as autodiff_energy_and_grad
from gmbench.core.errors import GmbenchError
from gmbench.physics import md
from gmbench.physics.potentials import BatchedEnergy
from gmbench.physics.rmsd import SUCCESS_TOL, align
from gmbench.problems import ProblemEntry, register_problem
from gmbench.problems.base import Assessment, Problem, Properties, Structure

DEFAULT_START_DENSITY = 1.0
START_MIN_SEP = 1.0
BOUNDS_MARGIN = 1.0

#: what ``gmbench list`` says about the shared parameters of the systems
N_HELP = "atoms; default dim/3"
STARTS_HELP = "'md' (seeded MD pool), 'stridernet' (the published frames) or a structure file"
FRAMES_HELP = "file starts only: 'a:b' or a list of frame indices"


@dataclass(frozen=True)
class MDProtocol:
    """A system's recipe for seeded starting frames (hot-liquid MD, as the papers made theirs).

    ``describe(n_atoms)`` gives the parameters that define the frames: they enter the problem's
    ``config()`` (so the cell key) and, hashed, the frame cache's file name. ``generate(n_frames,
    seed, n_atoms)`` runs the protocol: ``(n_frames, N, 3)`` float64 on CPU, every random number
    from one seeded CPU generator. The integrators and thermostats are :mod:`gmbench.physics.md`'s."""

    describe: Callable[[int], dict[str, Any]]
    generate: Callable[[int, int, int], Tensor]

    def frames(self, seed: int, n_frames: int, n_atoms: int, *, cache: bool = True) -> Tensor:
        """The frames for ``seed``, from the cache when present (generated and cached otherwise)."""
        return md.cached_frames(self.describe(n_atoms), seed, n_frames,
                                lambda: self.generate(n_frames, seed, n_atoms), cache=cache)


class FlatEnergy:
    """Answer-free energy on flattened coordinates: ``(..., 3N) -> (...)``."""

    def __init__(self, energy: BatchedEnergy, n_atoms: int):
        self.energy = energy
        self.n_atoms = n_atoms

    def __call__(self, x: Tensor) -> Tensor:
        if x.shape[-1] != 3 * self.n_atoms:
            raise ValueError(f"expected {3 * self.n_atoms} coordinates, got {x.shape[-1]}")
        return self.energy(x.reshape(*x.shape[:-1], self.n_atoms, 3))


class FrameSampler:
    """Answer-free sampler over a fixed set of frames: a generator-driven permutation (repeated
    permutations when more starts than frames are asked for). Returns (n, 3N) float64 on CPU."""

    def __init__(self, frames: Tensor, wrap: Callable[[Tensor], Tensor] | None = None):
        f = frames.to(torch.float64)
        self.frames = (wrap(f) if wrap is not None else f).reshape(f.shape[0], -1).contiguous()

    def __call__(self, n: int, generator: torch.Generator) -> Tensor:
        F = self.frames.shape[0]
        reps = max(1, math.ceil(n / F))
        idx = torch.cat([torch.randperm(F, generator=generator, device=generator.device) for _ in range(reps)])[:n]
        return self.frames[idx.cpu()].clone()


class BallSampler:
    """Random cluster starts (:func:`gmbench.physics.md.cluster_starts`): (n, 3N) float64 on CPU."""

    def __init__(self, n_atoms: int, density: float, min_sep: float = START_MIN_SEP):
        self.n_atoms, self.density, self.min_sep = n_atoms, density, min_sep

    def __call__(self, n: int, generator: torch.Generator) -> Tensor:
        seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
        g = torch.Generator().manual_seed(seed)
        return md.cluster_starts(n, self.n_atoms, self.density, g, self.min_sep).reshape(n, -1)


class MDSampler:
    """A pool of ``pool`` seeded MD starting frames (``protocol.frames``, cached on disk by the
    protocol's parameters, ``md_seed`` and pool size), wrapped, sampled like :class:`FrameSampler`. The
    pool is fixed per problem configuration, so every method and seed draws from the same structures
    (as the papers' fixed datasets); :meth:`prepare` builds it before the method's clock starts."""

    def __init__(self, protocol: "MDProtocol", n_atoms: int, wrap: Callable[[Tensor], Tensor], md_seed: int = 0,
                 pool: int = 100):
        self.protocol, self.n_atoms, self.wrap = protocol, n_atoms, wrap
        self.md_seed, self.pool = md_seed, pool
        self._frames: FrameSampler | None = None

    def prepare(self) -> None:
        if self._frames is None:
            frames = self.protocol.frames(self.md_seed, self.pool, self.n_atoms)
            self._frames = FrameSampler(frames, self.wrap)

    def __call__(self, n: int, generator: torch.Generator) -> Tensor:
        self.prepare()
        return self._frames(n, generator)


class AtomsProblem(Problem):
    family = "atoms"
    distance_kind = "rmsd"
    summaries = ("success",)  # extra["success"] where a reference energy is known

    @staticmethod
    def report_layout(config: dict[str, Any]) -> str:
        """"cluster" with a reference energy (gap, RMSD, success, time to hit); otherwise "energy"
        (no known global minimum: Min and Mean energy over starting structures, StriderNET's Table 1)."""
        return "cluster" if config.get("f_star") is not None else "energy"

    def __init__(
        self,
        name: str,
        energy: BatchedEnergy,
        n_atoms: int,
        *,
        species: Tensor | None,
        periodic_box: float | None,
        lower: float,
        upper: float,
        sampler: Callable[[int, torch.Generator], Tensor],
        properties: Properties,
        config: dict[str, Any],
        reference: Tensor | None = None,
        f_star: float | None = None,
        extra_assess: Callable[[float], dict[str, float]] | None = None,
    ):
        self.name = name
        self.n_atoms = n_atoms
        self.dim = 3 * n_atoms
        self.species = species
        self.box = periodic_box
        self.properties = properties
        self.lower = torch.full((self.dim,), float(lower), dtype=torch.float64)
        self.upper = torch.full((self.dim,), float(upper), dtype=torch.float64)
        self._energy = energy
        self._sampler = sampler
        # the reference energy is stated once, here or in ``config`` (whose "f_star" picks the report's
        # cluster table): either one fills the other; two different values are an error
        if f_star is None:
            f_star = config.get("f_star")
        elif config.get("f_star") is None:
            config = {**config, "f_star": f_star}
        elif float(config["f_star"]) != float(f_star):
            raise ValueError(f"{name}: f_star {f_star} and config['f_star'] {config['f_star']} differ")
        self._config = config
        self._reference = None if reference is None else reference.to(torch.float64).reshape(n_atoms, 3)
        self._rmsd_memo: dict[bytes, float] = {}
        self.f_star = None if f_star is None else float(f_star)
        self._extra_assess = extra_assess  # system-specific extras of one energy (e.g. LJ38's funnel)

    # ---- method side ---------------------------------------------------------------------------
    def energy_fn(self) -> FlatEnergy:
        return FlatEnergy(self._energy, self.n_atoms)

    def start_sampler(self) -> Callable[[int, torch.Generator], Tensor]:
        return self._sampler

    def prepare(self) -> None:
        prep = getattr(self._sampler, "prepare", None)
        if prep is not None:
            prep()

    def structure(self) -> Structure:
        return Structure(self.n_atoms, None if self.species is None else self.species.clone(), self.box,
                         str(self._config.get("system", self.name)), str(self._config.get("units", "reduced LJ")))

    def energy_and_grad_fn(self) -> Callable[[Tensor], tuple[Tensor, Tensor]] | None:
        """The potential's analytic energy and gradient on flat coordinates (pair potentials with a
        registered pair derivative), or None (the BlackBox then uses autograd)."""
        fn = getattr(self._energy, "energy_and_forces", None)
        if fn is None:
            return None
        n, energy = self.n_atoms, self._energy

        def energy_and_grad(x: Tensor) -> tuple[Tensor, Tensor]:
            r = x.reshape(*x.shape[:-1], n, 3)
            out = fn(r)
            if out is None:  # no analytic derivative for this pair function: autograd
                e, g = autodiff_energy_and_grad(energy, r)
                return e, g.reshape(x.shape)
            return out[0], -out[1].reshape(x.shape)

        return energy_and_grad

    def atom_energy_fn(self) -> Callable[[Tensor], Tensor] | None:
        if not hasattr(self._energy, "atom_energies"):
            return None
        n, fn = self.n_atoms, self._energy.atom_energies

        def atom_energies(x: Tensor) -> Tensor:
            return fn(x.reshape(*x.shape[:-1], n, 3))

        return atom_energies

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dim": self.dim,
            "n_atoms": self.n_atoms,
            "bounds": [float(self.lower[0]), float(self.upper[0])],
            **self._config,
        }

    # ---- answer side ---------------------------------------------------------------------------
    def x_star(self) -> Tensor | None:
        return None if self._reference is None else self._reference.reshape(-1).clone()

    def reference_structure(self) -> Tensor | None:
        return None if self._reference is None else self._reference.clone()

    def _species_np(self):
        return None if self.species is None else self.species.numpy()

    def nearest_minimizer(self, x: Tensor) -> tuple[Tensor | None, bool]:
        """The reference moved (rotated/reflected, translated, permuted) onto each row of ``x``."""
        if self._reference is None:
            return None, False
        rows = x.detach().to(torch.float64).cpu().reshape(-1, self.n_atoms, 3)
        out = torch.stack([
            torch.from_numpy(align(r.numpy(), self._reference.numpy(), self._species_np()).aligned) for r in rows
        ])
        return out.reshape(x.shape).to(x), False

    def _rmsd(self, x: Tensor) -> float:
        """RMSD of one candidate (N*3,) to the reference, memoised on the exact coordinates."""
        key = hashlib.sha1(x.numpy().tobytes()).digest()
        hit = self._rmsd_memo.get(key)
        if hit is None:
            hit = align(x.reshape(self.n_atoms, 3).numpy(), self._reference.numpy(), self._species_np()).rmsd
            if len(self._rmsd_memo) >= 4096:
                self._rmsd_memo.pop(next(iter(self._rmsd_memo)))
            self._rmsd_memo[key] = hit
        return hit

    def assess_batch(self, x: Tensor) -> list[Assessment]:
        """Energies (float64, batched), gap, RMSD to the reference (per row), oob, extras."""
        x = x.detach().to("cpu", torch.float64).reshape(-1, self.dim)
        if x.shape[0] == 0:
            return []
        e = self.energy_fn()(x)
        if self.box is None:
            oob = torch.clamp(torch.maximum(self.lower - x, x - self.upper), min=0).amax(dim=-1)
        else:  # periodic: every vector is a configuration (wrapped into the box)
            oob = torch.zeros(x.shape[0], dtype=torch.float64)
        out = []
        for i in range(x.shape[0]):
            ei = float(e[i])
            gap = ei - self.f_star if self.f_star is not None else math.nan
            extra: dict[str, float] = {}
            dist = None
            if self._reference is not None:
                dist = self._rmsd(x[i])
                extra["dist_euclid"] = math.sqrt(self.n_atoms) * dist
            if self.f_star is not None:
                extra["success"] = float(gap < SUCCESS_TOL)
            if self._extra_assess is not None:
                extra.update(self._extra_assess(ei))
            out.append(Assessment(ei, gap, dist, dist, False, float(oob[i]), extra))
        return out

    def assess(self, x: Tensor) -> Assessment:
        return self.assess_batch(x.reshape(1, -1))[0]


# ---------------------------------------------------------------------------------------------
# parameters and starts
# ---------------------------------------------------------------------------------------------


def resolve_n(name: str, dim: int | None, n: Any, default: int | None) -> int:
    if dim is not None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0 or dim % 3:
            raise GmbenchError(f"problem {name!r}: dim must be 3 x (number of atoms), got {dim!r}")
    if n is None:
        if dim is not None:
            n = dim // 3
        elif default is not None:
            n = default
        else:
            raise GmbenchError(f"problem {name!r} needs the number of atoms (n: N) or dim = 3N")
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise GmbenchError(f"problem {name!r}: n must be an integer >= 2, got {n!r}")
    if dim is not None and dim != 3 * n:
        raise GmbenchError(f"problem {name!r}: dim {dim} disagrees with n = {n} atoms (dim must be {3 * n})")
    return n


def cluster_bounds(name: str, n: int, density: float, bounds) -> tuple[float, float]:
    radius = md.cluster_radius(n, density)
    if bounds is None:
        return -(radius + BOUNDS_MARGIN), radius + BOUNDS_MARGIN
    lo, hi = float(bounds[0]), float(bounds[1])
    if not (math.isfinite(lo) and math.isfinite(hi)) or not (lo <= -radius and hi >= radius):
        raise GmbenchError(
            f"problem {name!r}: bounds [{lo}, {hi}] must contain the start ball of radius {radius:.4g} around 0"
        )
    return lo, hi


def periodic_bounds(name: str, box: float, bounds) -> tuple[float, float]:
    if bounds is not None and (abs(float(bounds[0])) > 1e-12 or abs(float(bounds[1]) - box) > 1e-9 * box):
        raise GmbenchError(f"problem {name!r} is periodic: its bounds are the box [0, {box:.10g}], got {list(bounds)}")
    return 0.0, box


def _file_digest(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


def _parse_frames(name: str, spec: Any, n_frames: int) -> slice | list[int]:
    """``frames``: "a:b" (a python slice of the file's frames), a list of frame indices, or None."""
    if spec is None:
        return slice(0, n_frames)
    if isinstance(spec, (list, tuple)):
        if not spec or any(isinstance(i, bool) or not isinstance(i, int) for i in spec):
            raise GmbenchError(f"problem {name!r}: frames must be a non-empty list of integers, got {spec!r}")
        bad = [i for i in spec if not -n_frames <= i < n_frames]
        if bad:
            raise GmbenchError(f"problem {name!r}: frame indices {bad} are outside the file's {n_frames} frames")
        if len(set(spec)) != len(spec):
            raise GmbenchError(f"problem {name!r}: frames lists an index twice: {spec!r}")
        return [int(i) for i in spec]
    try:
        a, b = (str(spec).split(":") + [""])[:2]
        sl = slice(int(a) if a.strip() else None, int(b) if b.strip() else None)
    except ValueError:
        raise GmbenchError(f"problem {name!r}: frames must look like 'start:stop' or be a list, got {spec!r}") from None
    if len(range(n_frames)[sl]) == 0:
        raise GmbenchError(f"problem {name!r}: frames {spec!r} selects no frame of {n_frames}")
    return sl


def _file_sampler(name: str, path: Path, n_atoms: int, frames_spec, wrap) -> tuple[FrameSampler, dict]:
    frames = md.load_frames(path, n_atoms)
    sl = _parse_frames(name, frames_spec, frames.shape[0])
    sel = frames[sl]
    if isinstance(sl, list):
        desc: Any = sl
    else:
        desc = f"{sl.start or 0}:{sl.stop if sl.stop is not None else frames.shape[0]}"
    info = {"file": str(path), "sha1": _file_digest(path), "frames": desc, "n_frames": int(sel.shape[0])}
    return FrameSampler(sel, wrap), info


def md_pool_starts(name: str, protocol: MDProtocol, n: int, wrap: Callable[[Tensor], Tensor], md_seed: int,
                   pool: int, frames: Any) -> tuple[MDSampler, dict[str, Any]]:
    """Starts drawn from a seeded MD pool, and the ``starts`` entry of the configuration."""
    if frames is not None:
        raise GmbenchError(f"problem {name!r}: frames applies only to file starts")
    if md_seed < 0:
        raise GmbenchError(f"problem {name!r}: md_seed must be an integer >= 0, got {md_seed!r}")
    if pool < 1:
        raise GmbenchError(f"problem {name!r}: pool must be an integer >= 1, got {pool!r}")
    return (MDSampler(protocol, n, wrap, md_seed, pool),
            {"kind": "md", "md_seed": md_seed, "pool": pool, **protocol.describe(n)})


def file_starts(name: str, path: Path, n: int, frames: Any, wrap: Callable[[Tensor], Tensor] | None,
                kind: str = "file") -> tuple[FrameSampler, dict[str, Any]]:
    """Starts drawn from the frames of a structure file (``kind`` "file" or "stridernet")."""
    sampler, info = _file_sampler(name, path, n, frames, wrap)
    return sampler, {"kind": kind, **info}


def positive(name: str, key: str, v: float) -> float:
    """A finite positive number (the type is already checked by the parameter dataclass)."""
    if not math.isfinite(v) or v <= 0:
        raise GmbenchError(f"problem {name!r}: {key} must be a positive number, got {v!r}")
    return v


def register_system(
    name: str,
    params: type,
    make: Callable[[Any, int | None, Any], AtomsProblem],
    *,
    info: dict[str, Any],
    properties: Properties,
    aliases: tuple[str, ...] = (),
) -> ProblemEntry:
    """Register an atomistic system: ``make(p, dim, bounds)`` builds it from its typed parameters ``p``
    (an instance of the dataclass ``params``); ``info`` is what ``gmbench list`` shows (title, bounds,
    dims, reference). The parameters are listed from ``params`` itself."""
    return register_problem(name, params, make, family="atoms", info=info, properties=properties, aliases=aliases)
