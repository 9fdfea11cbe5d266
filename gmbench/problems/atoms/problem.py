"""Atomic systems as gmbench problems: x is the flattened positions (3N,), energy in float64.

:class:`AtomsProblem` wraps an energy callable (from :mod:`.potentials`), a way to draw starting
structures and, where one exists, a reference structure and energy. The factories below build the
registered problems (``lj-cluster``, ``binary-lj-cluster``, ``ka-lj``, ``sw-silicon``, ``csh``).

Conventions (decisions recorded in ``config()``):

* ``dist`` / ``dist_nearest`` are the permutation-, rotation-, reflection- and translation-invariant
  RMSD to the reference structure (``distance_kind = "rmsd"``, in sigma); ``extra["dist_euclid"]`` is
  sqrt(N) RMSD, the norm of the 3N-vector difference. Periodic systems and clusters without a
  reference get None (``atoms.md`` §4.4, §3.1). ``nearest_exact`` is False: the RMSD is a heuristic
  upper bound and the reference minima are putative.
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
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor

from gmbench.core.errors import GmbenchError
from gmbench.problems.base import Assessment, Problem, Properties, Structure
from gmbench.physics import md
from gmbench.physics.rmsd import RMSD_STARTS, SUCCESS_TOL, align
from gmbench.physics.potentials import (
    BINARY_CLUSTER_EPSILON, CSH_PARAMS, KA_CUTOFF_FACTOR, KA_DENSITY, KA_EPSILON, KA_JAX_CUTOFF, KA_SIGMA,
    SI_LATTICE, SW_PARAMS, BatchedEnergy, binary_lj_cluster_energy, binary_species, csh_energy, ka_box,
    kob_andersen_energy, lj_cluster_energy, stillinger_weber_energy,
)
from gmbench.problems.atoms.structures import CCD_ENERGIES, CCD_TABLE_VERSION, LJ38_ICOSAHEDRAL, reference_structure

DEFAULT_START_DENSITY = 1.0
START_MIN_SEP = 1.0
BOUNDS_MARGIN = 1.0


LJ_CLUSTER_PROPERTIES = Properties(
    continuous=True, differentiable=True, multimodal=True, global_min_defined=True, unique_minimizer=False,
    smooth_at_xstar=True, multimodal_min_dim=18,
    note="singular where atoms coincide; minimizers form an orbit under rotations, reflections, translations and "
         "permutations",
)

BINARY_CLUSTER_PROPERTIES = Properties(
    continuous=True, differentiable=True, multimodal=True, global_min_defined=True, unique_minimizer=False,
    smooth_at_xstar=True, multimodal_min_dim=18,
    note="no reference minimum known; singular where atoms coincide",
)

KA_PROPERTIES = Properties(
    continuous=False, differentiable=False, multimodal=True, global_min_defined=True, unique_minimizer=False,
    smooth_at_xstar=True, multimodal_min_dim=6,
    note="truncated, unshifted LJ: the energy jumps where a pair crosses its cutoff; periodic (invariant under "
         "translations by the box and by any vector, and permutations within species); no known global minimum",
)

SW_PROPERTIES = Properties(
    continuous=True, differentiable=True, multimodal=True, global_min_defined=True, unique_minimizer=False,
    smooth_at_xstar=True, multimodal_min_dim=6,
    note="the diamond crystal (-2 eps per atom) is the presumed global minimum, but is not used as a reference: "
         "the paper reports energies only",
)

CSH_PROPERTIES = Properties(
    continuous=False, differentiable=False, multimodal=True, global_min_defined=True, unique_minimizer=False,
    smooth_at_xstar=True, multimodal_min_dim=6,
    note="truncated, unshifted Mie 28-14 at 3 sigma (tiny energy jump); periodic; no known global minimum",
)


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
    """Random cluster starts (see module doc): (n, 3N) float64 on CPU."""

    def __init__(self, n_atoms: int, density: float, min_sep: float = START_MIN_SEP):
        self.n_atoms, self.density, self.min_sep = n_atoms, density, min_sep

    def __call__(self, n: int, generator: torch.Generator) -> Tensor:
        seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
        g = torch.Generator().manual_seed(seed)
        return md.cluster_starts(n, self.n_atoms, self.density, g, self.min_sep).reshape(n, -1)


class MDSampler:
    """A pool of ``pool`` seeded MD starting frames (md.generate_frames, cached on disk by protocol,
    ``md_seed`` and pool size), wrapped, sampled like :class:`FrameSampler`. The pool is fixed per
    problem configuration, so every method and seed draws from the same structures (as the papers'
    fixed datasets); :meth:`prepare` builds it before the method's clock starts."""

    def __init__(self, system: str, n_atoms: int, wrap: Callable[[Tensor], Tensor], md_seed: int = 0,
                 pool: int = 100):
        self.system, self.n_atoms, self.wrap = system, n_atoms, wrap
        self.md_seed, self.pool = md_seed, pool
        self._frames: FrameSampler | None = None

    def prepare(self) -> None:
        if self._frames is None:
            frames = md.generate_frames(self.system, self.md_seed, self.pool, self.n_atoms)
            self._frames = FrameSampler(frames, self.wrap)

    def __call__(self, n: int, generator: torch.Generator) -> Tensor:
        self.prepare()
        return self._frames(n, generator)


class AtomsProblem(Problem):
    family = "atoms"
    distance_kind = "rmsd"

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
        self._config = config
        self._reference = None if reference is None else reference.to(torch.float64).reshape(n_atoms, 3)
        self._rmsd_memo: dict[bytes, float] = {}
        self.f_star = f_star

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
                with torch.enable_grad():
                    rr = r.detach().requires_grad_(True)
                    e = energy(rr)
                    (g,) = torch.autograd.grad(e.sum(), rr)
                return e.detach(), g.reshape(x.shape)
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
            if self._config.get("system") == "lj-cluster" and self.n_atoms == 38:
                extra["lj38_icosahedral"] = float(abs(ei - LJ38_ICOSAHEDRAL) < SUCCESS_TOL)
            out.append(Assessment(ei, gap, dist, dist, False, float(oob[i]), extra))
        return out

    def assess(self, x: Tensor) -> Assessment:
        return self.assess_batch(x.reshape(1, -1))[0]


# ---------------------------------------------------------------------------------------------
# factories
# ---------------------------------------------------------------------------------------------


def _check_params(name: str, params: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise GmbenchError(
            f"problem {name!r}: unknown parameter(s) {', '.join(unknown)} (allowed: {', '.join(allowed) or 'none'})"
        )


def _int_param(name: str, key: str, v: Any, lo: int = 2) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v or int(v) < lo:
        raise GmbenchError(f"problem {name!r}: {key} must be an integer >= {lo}, got {v!r}")
    return int(v)


def _float_param(name: str, key: str, v: Any, positive: bool = True) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or (positive and v <= 0):
        raise GmbenchError(f"problem {name!r}: {key} must be a {'positive ' if positive else ''}number, got {v!r}")
    return float(v)


def _resolve_n(name: str, dim: int | None, n: Any, default: int | None) -> int:
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
    n = _int_param(name, "n", n)
    if dim is not None and dim != 3 * n:
        raise GmbenchError(f"problem {name!r}: dim {dim} disagrees with n = {n} atoms (dim must be {3 * n})")
    return n


def _cluster_bounds(name: str, n: int, density: float, bounds) -> tuple[float, float]:
    radius = md.cluster_radius(n, density)
    if bounds is None:
        return -(radius + BOUNDS_MARGIN), radius + BOUNDS_MARGIN
    lo, hi = float(bounds[0]), float(bounds[1])
    if not (math.isfinite(lo) and math.isfinite(hi)) or not (lo <= -radius and hi >= radius):
        raise GmbenchError(
            f"problem {name!r}: bounds [{lo}, {hi}] must contain the start ball of radius {radius:.4g} around 0"
        )
    return lo, hi


def _periodic_bounds(name: str, box: float, bounds) -> tuple[float, float]:
    if bounds is not None and (abs(float(bounds[0])) > 1e-12 or abs(float(bounds[1]) - box) > 1e-9 * box):
        raise GmbenchError(f"problem {name!r} is periodic: its bounds are the box [0, {box:.10g}], got {list(bounds)}")
    return 0.0, box


def _md_params(name: str, params: dict[str, Any]) -> tuple[int, int]:
    """``md_seed`` (default 0) and ``pool`` (frames generated, default 100) of MD starts."""
    seed = _int_param(name, "md_seed", params.get("md_seed", 0), lo=0)
    pool = _int_param(name, "pool", params.get("pool", 100), lo=1)
    return seed, pool


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


def make_lj_cluster(dim: int | None = None, bounds=None, *, _name: str = "lj-cluster", _fixed_n: int | None = None,
                    **params: Any) -> AtomsProblem:
    """One-component LJ cluster (open space, untruncated). Params: n, start_density."""
    _check_params(_name, params, ("n", "start_density"))
    n_param = params.get("n")
    if _fixed_n is not None:
        if n_param is not None and _int_param(_name, "n", n_param) != _fixed_n:
            raise GmbenchError(f"problem {_name!r} has n = {_fixed_n} atoms, got n = {n_param}")
        n_param = _fixed_n
    n = _resolve_n(_name, dim, n_param, None)
    density = _float_param(_name, "start_density", params.get("start_density", DEFAULT_START_DENSITY))
    lo, hi = _cluster_bounds(_name, n, density, bounds)
    ref = reference_structure(n)
    f_star = CCD_ENERGIES.get(n)
    cfg = {
        "system": "lj-cluster", "potential": "lennard-jones", "epsilon": 1.0, "sigma": 1.0, "cutoff": None,
        "space": "free", "reference_table": CCD_TABLE_VERSION if f_star is not None else None, "f_star": f_star,
        "reference_structure": "built+relaxed (structures.py)" if ref is not None else None,
        "starts": {"kind": "ball", "density": density, "min_sep": START_MIN_SEP, "prerelax": "soft-core"},
        "rmsd": {"reflections": True, "starts": RMSD_STARTS},
    }
    props = LJ_CLUSTER_PROPERTIES
    return AtomsProblem(_name, lj_cluster_energy(n), n, species=None, periodic_box=None, lower=lo, upper=hi,
                        sampler=BallSampler(n, density), properties=props, config=cfg, reference=ref, f_star=f_star)


def make_binary_lj_cluster(dim: int | None = None, bounds=None, **params: Any) -> AtomsProblem:
    """Action-functional binary LJ cluster (open space, 80:20, sigma = 1, eps_AB 1.5, eps_BB 0.62).

    Params: n (default 100), eps_ab, eps_bb, start_density, starts ("ball" | "stridernet" | a file),
    frames ("a:b" subset of a file's frames). No reference minimum is known (f_star None)."""
    name = "binary-lj-cluster"
    _check_params(name, params, ("n", "eps_ab", "eps_bb", "start_density", "starts", "frames"))
    n = _resolve_n(name, dim, params.get("n"), 100)
    eps_ab = _float_param(name, "eps_ab", params.get("eps_ab", BINARY_CLUSTER_EPSILON[0][1]))
    eps_bb = _float_param(name, "eps_bb", params.get("eps_bb", BINARY_CLUSTER_EPSILON[1][1]))
    density = _float_param(name, "start_density", params.get("start_density", DEFAULT_START_DENSITY))
    species = binary_species(n)
    starts = params.get("starts", "ball")
    if starts == "ball":
        if params.get("frames") is not None:
            raise GmbenchError(f"problem {name!r}: frames applies only to file starts")
        lo, hi = _cluster_bounds(name, n, density, bounds)
        sampler: Callable = BallSampler(n, density)
        start_cfg: dict = {"kind": "ball", "density": density, "min_sep": START_MIN_SEP, "prerelax": "soft-core"}
    else:
        path = md.stridernet_file("ka-lj") if starts == "stridernet" else Path(str(starts))
        if starts == "stridernet" and n != 100:
            raise GmbenchError(f"problem {name!r}: StriderNET frames have 100 atoms, n = {n}")
        default_frames = "0:100" if starts == "stridernet" else None
        sampler, info = _file_sampler(name, path, n, params.get("frames", default_frames), None)
        start_cfg = {"kind": "stridernet" if starts == "stridernet" else "file", **info}
        fmin, fmax = float(sampler.frames.min()), float(sampler.frames.max())
        lo, hi = (fmin - BOUNDS_MARGIN, fmax + BOUNDS_MARGIN) if bounds is None else (float(bounds[0]), float(bounds[1]))
        if not (lo <= fmin and hi >= fmax):
            raise GmbenchError(
                f"problem {name!r}: bounds [{lo}, {hi}] do not contain the starting frames [{fmin:.4g}, {fmax:.4g}]")
    cfg = {
        "system": "binary-lj-cluster", "potential": "lennard-jones", "sigma": 1.0,
        "epsilon": [[1.0, eps_ab], [eps_ab, eps_bb]], "cutoff": None, "space": "free",
        "composition": "80:20", "species_order": "(8A,2B) repeated", "f_star": None,
        "best_known_note": "no certified global minimum; -650.64 is a loose BH upper bound (atoms.md §3.1), "
                           "not a reference",
        "starts": start_cfg,
    }
    props = BINARY_CLUSTER_PROPERTIES
    return AtomsProblem(name, binary_lj_cluster_energy(n, species, eps_ab=eps_ab, eps_bb=eps_bb), n, species=species,
                        periodic_box=None, lower=lo, upper=hi, sampler=sampler, properties=props, config=cfg)


def make_ka_lj(dim: int | None = None, bounds=None, **params: Any) -> AtomsProblem:
    """Periodic Kob-Andersen 80:20 LJ at density 1.2 (StriderNET). Params: n (default 100), cutoff
    ("2.5sigma" | "jax"), starts ("md" | "stridernet" | a file), frames ("a:b")."""
    name = "ka-lj"
    _check_params(name, params, ("n", "cutoff", "starts", "frames", "md_seed", "pool"))
    n = _resolve_n(name, dim, params.get("n"), 100)
    cutoff = params.get("cutoff", "2.5sigma")
    if cutoff not in ("2.5sigma", "jax"):
        raise GmbenchError(f"problem {name!r}: cutoff must be '2.5sigma' (the paper's) or 'jax', got {cutoff!r}")
    L = ka_box(n, KA_DENSITY)
    lo, hi = _periodic_bounds(name, L, bounds)
    starts = params.get("starts", "md")
    energy = kob_andersen_energy(n, binary_species(n), cutoff=cutoff)
    wrap = energy.space.wrap
    if starts == "md":
        if params.get("frames") is not None:
            raise GmbenchError(f"problem {name!r}: frames applies only to file starts")
        md_seed, pool = _md_params(name, params)
        sampler: Callable = MDSampler("ka-lj", n, wrap, md_seed, pool)
        start_cfg: dict = {"kind": "md", "md_seed": md_seed, "pool": pool, **md.protocol("ka-lj", n)}
    else:
        if starts == "stridernet" and n != 100:
            raise GmbenchError(f"problem {name!r}: StriderNET frames have 100 atoms, n = {n}")
        path = md.stridernet_file("ka-lj") if starts == "stridernet" else Path(str(starts))
        # StriderNET's starting structures are the T = 2 liquid, frames 0-99 (stridernet.md §2.1)
        default_frames = "0:100" if starts == "stridernet" else None
        sampler, info = _file_sampler(name, path, n, params.get("frames", default_frames), wrap)
        start_cfg = {"kind": "stridernet" if starts == "stridernet" else "file", **info}
    cfg = {
        "system": "ka-lj", "potential": "lennard-jones", "sigma": KA_SIGMA, "epsilon": KA_EPSILON,
        "cutoff": [[KA_CUTOFF_FACTOR * s for s in row] for row in KA_SIGMA] if cutoff == "2.5sigma" else KA_JAX_CUTOFF,
        "cutoff_convention": f"{cutoff}, truncated, not shifted, single minimum image", "density": KA_DENSITY,
        "space": "periodic", "box": L, "composition": "80:20", "species_order": "(8A,2B) repeated",
        "f_star": None, "starts": start_cfg,
    }
    props = KA_PROPERTIES
    return AtomsProblem(name, energy, n, species=binary_species(n), periodic_box=L, lower=lo, upper=hi,
                        sampler=sampler, properties=props, config=cfg)


def make_sw_silicon(dim: int | None = None, bounds=None, **params: Any) -> AtomsProblem:
    """Stillinger-Weber Si, periodic diamond box (default 64 atoms = 2x2x2 cells, L = 10.862 A), eV.
    Params: n (8 k^3), starts ("md" | a file), frames."""
    name = "sw-silicon"
    _check_params(name, params, ("n", "starts", "frames", "md_seed", "pool"))
    n = _resolve_n(name, dim, params.get("n"), 64)
    cells = round((n / 8) ** (1 / 3))
    if 8 * cells**3 != n:
        raise GmbenchError(f"problem {name!r}: n must be 8 k^3 (a k x k x k diamond supercell), got {n}")
    L = cells * SI_LATTICE
    lo, hi = _periodic_bounds(name, L, bounds)
    energy = stillinger_weber_energy(L, n_atoms=n)
    wrap = energy.space.wrap
    starts = params.get("starts", "md")
    if starts == "md":
        if params.get("frames") is not None:
            raise GmbenchError(f"problem {name!r}: frames applies only to file starts")
        md_seed, pool = _md_params(name, params)
        sampler: Callable = MDSampler("sw-silicon", n, wrap, md_seed, pool)
        start_cfg: dict = {"kind": "md", "md_seed": md_seed, "pool": pool, **md.protocol("sw-silicon", n)}
    else:
        sampler, info = _file_sampler(name, Path(str(starts)), n, params.get("frames"), wrap)
        start_cfg = {"kind": "file", **info}
    cfg = {
        "system": "sw-silicon", "potential": "stillinger-weber", "units": "metal (eV, Angstrom)", **SW_PARAMS,
        "space": "periodic", "box": L, "lattice": SI_LATTICE, "crystal_energy": -2 * SW_PARAMS["epsilon"] * n,
        "f_star": None, "starts": start_cfg,
    }
    props = SW_PROPERTIES
    return AtomsProblem(name, energy, n, species=None, periodic_box=L, lower=lo, upper=hi, sampler=sampler,
                        properties=props, config=cfg)


def make_csh(dim: int | None = None, bounds=None, **params: Any) -> AtomsProblem:
    """C-S-H colloidal gel: 152 grains, Mie 28-14, periodic 300 A box, kcal/mol.
    Params: starts ("md" | "stridernet" | a file), frames."""
    name = "csh"
    _check_params(name, params, ("n", "starts", "frames", "md_seed", "pool"))
    n = _resolve_n(name, dim, params.get("n"), CSH_PARAMS["n_atoms"])
    if n != CSH_PARAMS["n_atoms"]:
        raise GmbenchError(f"problem {name!r} has {CSH_PARAMS['n_atoms']} grains (GCMC saturation), got n = {n}")
    L = CSH_PARAMS["box"]
    lo, hi = _periodic_bounds(name, L, bounds)
    energy = csh_energy()
    wrap = energy.space.wrap
    starts = params.get("starts", "md")
    if starts == "md":
        if params.get("frames") is not None:
            raise GmbenchError(f"problem {name!r}: frames applies only to file starts")
        md_seed, pool = _md_params(name, params)
        sampler: Callable = MDSampler("csh", n, wrap, md_seed, pool)
        start_cfg: dict = {"kind": "md", "md_seed": md_seed, "pool": pool, **md.protocol("csh", n)}
    else:
        path = md.stridernet_file("csh") if starts == "stridernet" else Path(str(starts))
        sampler, info = _file_sampler(name, path, n, params.get("frames"), wrap)
        start_cfg = {"kind": "stridernet" if starts == "stridernet" else "file", **info}
    cfg = {
        "system": "csh", "potential": "mie-28-14", "units": "real (kcal/mol, Angstrom)",
        "epsilon": CSH_PARAMS["epsilon"], "sigma": CSH_PARAMS["sigma"], "mie_n": CSH_PARAMS["n"],
        "mie_m": CSH_PARAMS["m"], "cutoff": CSH_PARAMS["r_cut"],
        "cutoff_convention": "truncated, not shifted, minimum image", "space": "periodic", "box": L,
        "f_star": None, "starts": start_cfg,
    }
    props = CSH_PROPERTIES
    return AtomsProblem(name, energy, n, species=None, periodic_box=L, lower=lo, upper=hi, sampler=sampler,
                        properties=props, config=cfg)
