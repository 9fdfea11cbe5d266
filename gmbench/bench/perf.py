"""``gmbench perf``: the speed of gmbench's own kernels, each figure next to its reference, in one process.

Figures (issue 7):

1. energy + gradient throughput of every differentiable Plevris function at B x D (float32), in
   coordinates per second, next to a memory-bandwidth probe (a large tensor copy): the reference is
   the bandwidth-bound rate (8 bytes per coordinate: read x, write the gradient), so the ratio is the
   fraction of the hardware's streaming limit;
2. Adam sweep: coordinate-steps per second of gmbench's ``adam-sweep`` (the method itself, through a
   BlackBox) next to the straightforward implementation (autograd, one ``torch.optim.Adam`` per
   learning rate over the same points, energy summed, ``loss.backward()``);
3. batched FIRE on Kob-Andersen LJ-100 (float64): atom-steps per second of gmbench's FIRE on many
   structures at once next to ASE's FIRE on one structure with a numpy KA calculator;
4. neighbour-list scaling: KA LJ energy + forces (periodic, list rebuilt every call) for growing N,
   time per atom relative to N = 100;
5. StriderNET forward steps and adaptation epochs on LJ-100 next to the paper's Table 10;
6. the peak memory of every measurement (CPU: peak RSS above the RSS before it, from Linux's VmHWM
   after resetting it through ``/proc/self/clear_refs``; CUDA: ``max_memory_allocated``).

Timings: a warm-up call, then the best of ``repeats`` calls, gmbench and its reference interleaved
(g, r, g, r, ...) so that both see the same machine load. Speed is measured here, never asserted in
tests.
"""

from __future__ import annotations

import ctypes
import gc
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gmbench.core.errors import GmbenchError

TABLE10_FORWARD_S = 54.3  # StriderNET paper Table 10, LJ-100, 100 forward steps, CPU
TABLE10_ADAPT_S = 1170.0  # 100 adaptation epochs


@dataclass(frozen=True)
class Sizes:
    eg_batch: int = 10_000
    eg_dim: int = 1_000
    bw_elems: int = 2**26  # 256 MiB of float32 per side of the copy
    adam_fn: str = "rastrigin"
    adam_points: int = 10_000
    adam_dim: int = 1_000
    adam_lrs: tuple[float, ...] = (0.05, 0.1, 0.15, 0.2)
    adam_steps: int = 10
    fire_batch: int = 100
    fire_steps: int = 200
    ase_steps: int = 200
    nl_sizes: tuple[int, ...] = (100, 1_000, 10_000)
    sn_forward_steps: int = 100
    sn_adapt_epochs: int = 100
    repeats: int = 3
    quick: bool = False


QUICK = Sizes(eg_batch=64, eg_dim=100, bw_elems=2**20, adam_points=16, adam_dim=50, adam_lrs=(0.05, 0.1),
              adam_steps=5, fire_batch=4, fire_steps=5, ase_steps=5, nl_sizes=(100, 1_000),
              sn_forward_steps=2, sn_adapt_epochs=1, repeats=1, quick=True)


@dataclass
class Record:
    figure: int
    name: str
    unit: str
    gmbench: float | None = None
    reference: float | None = None
    reference_name: str = ""
    ratio: float | None = None
    ratio_meaning: str = ""
    target: str = ""
    met: bool | None = None
    peak_mem_mb: float | None = None
    reference_peak_mem_mb: float | None = None
    skipped: bool = False
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# timing and memory
# ---------------------------------------------------------------------------------------------


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _status_kb(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _malloc_trim() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _can_reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_kb("VmHWM") is not None
    except OSError:
        return False


class PeakMemory:
    """Peak memory of what runs inside ``with``: MiB above the level before it (None if unknown)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.mb: float | None = None

    @staticmethod
    def method(device: torch.device) -> str:
        if device.type == "cuda":
            return "CUDA torch.cuda.max_memory_allocated above the allocation before each measurement"
        if _can_reset_hwm():
            return ("peak resident set size above the RSS before each measurement (Linux VmHWM, reset via "
                    "/proc/self/clear_refs; after gc and malloc_trim)")
        return "not available on this platform (no resettable VmHWM)"

    def __enter__(self) -> PeakMemory:
        gc.collect()
        if self.device.type == "cuda":
            _sync(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
        else:
            _malloc_trim()
            self._ok = _can_reset_hwm()
            self._base = _status_kb("VmRSS") or 0
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            _sync(self.device)
            self.mb = (torch.cuda.max_memory_allocated(self.device) - self._base) / 2**20
        elif self._ok:
            self.mb = max(0, (_status_kb("VmHWM") or 0) - self._base) / 1024


def _time_pair(fns: list[Callable[[], Any] | None], device: torch.device, repeats: int
               ) -> tuple[list[float | None], list[float | None], list[Any]]:
    """Best wall time of each callable over ``repeats`` interleaved rounds (after one warm-up each,
    which is also where peak memory is measured). Returns (seconds, peak MiB, warm-up results)."""
    secs: list[float | None] = [None if f is None else math.inf for f in fns]
    mems: list[float | None] = [None] * len(fns)
    outs: list[Any] = [None] * len(fns)
    for k, f in enumerate(fns):
        if f is None:
            continue
        with PeakMemory(device) as pm:
            outs[k] = f()
            _sync(device)
        mems[k] = pm.mb
    for _ in range(repeats):
        for k, f in enumerate(fns):
            if f is None:
                continue
            _sync(device)
            t0 = time.perf_counter()
            f()
            _sync(device)
            secs[k] = min(secs[k], time.perf_counter() - t0)  # type: ignore[type-var]
    return secs, mems, outs


# ---------------------------------------------------------------------------------------------
# 1. energy + gradient throughput
# ---------------------------------------------------------------------------------------------


def autograd_energy_and_grad(f: Callable[[Tensor], Tensor]) -> Callable[[Tensor], tuple[Tensor, Tensor]]:
    """The plain path: what the BlackBox does without a fused kernel."""

    def eg(x: Tensor) -> tuple[Tensor, Tensor]:
        with torch.enable_grad():
            xr = x.detach().requires_grad_(True)
            e = f(xr)
            (g,) = torch.autograd.grad(e.sum(), xr)
        return e.detach(), g

    return eg


def bandwidth_probe(device: torch.device, n_elems: int, repeats: int) -> tuple[float, float | None]:
    """Copy bandwidth in bytes/s (read + write) of a float32 tensor of ``n_elems``; peak MiB."""
    src = torch.ones(n_elems, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    (t,), (mem,), _ = _time_pair([lambda: dst.copy_(src)], device, max(3, repeats))
    return 2 * 4 * n_elems / t, mem


def fig_energy_grad(sz: Sizes, device: torch.device) -> list[Record]:
    from gmbench.problems import PROBLEMS, make_problem
    from gmbench.problems.functions.plevris import NAMES

    bw, bw_mem = bandwidth_probe(device, sz.bw_elems, sz.repeats)
    bound = bw / 8.0  # coordinates/s if only x were read and the gradient written
    recs = [Record(1, "memory bandwidth (tensor copy)", "GB/s", gmbench=bw / 1e9, peak_mem_mb=bw_mem,
                   notes=f"{sz.bw_elems * 4 / 2**20:.0f} MiB float32 copy, read + write counted; the bound for "
                   f"energy+grad is bandwidth / 8 B per coordinate = {bound:.3g} coord/s")]
    g = torch.Generator(device=device).manual_seed(0)
    for name in NAMES:
        entry = PROBLEMS.get(name)
        if entry.properties is None or not entry.properties.differentiable:
            continue
        rec = Record(1, f"energy+grad {name}", "coord/s", reference=bound, reference_name="bandwidth bound",
                     ratio_meaning="fraction of the bandwidth bound")
        try:
            prob = make_problem(name, dim=sz.eg_dim)
        except GmbenchError as exc:
            rec.skipped, rec.notes = True, f"skipped at D = {sz.eg_dim}: {exc}"
            recs.append(rec)
            continue
        lo, hi = float(prob.lower[0]), float(prob.upper[0])
        x = lo + (hi - lo) * torch.rand(sz.eg_batch, sz.eg_dim, generator=g, device=device, dtype=torch.float32)
        plain = autograd_energy_and_grad(prob.energy_fn())
        fused = prob.energy_and_grad_fn()
        (t, t_plain), (mem, mem_plain), (out_f, out_p) = _time_pair(
            [(lambda f=fused, x=x: f(x)) if fused is not None else None, lambda f=plain, x=x: f(x)], device,
            sz.repeats)
        n = x.numel()
        if fused is not None:
            rec.gmbench, rec.peak_mem_mb = n / t, mem
            ge, gp = out_f[1].double(), out_p[1].double()
            rel = float((ge - gp).abs().max() / gp.abs().max().clamp_min(1e-30))
            rec.notes = (f"analytic gradient, cache-blocked; the autograd path in the same run: {n / t_plain:.3g} "
                         f"coord/s (analytic / autograd = {t_plain / t:.2f}); max |grad diff| / max |grad| = "
                         f"{rel:.1e} (float32)")
            rec.extra = {"autograd_coord_per_s": n / t_plain, "autograd_peak_mem_mb": mem_plain}
        else:
            rec.gmbench, rec.peak_mem_mb = n / t_plain, mem_plain
            rec.notes = "autograd"
        rec.ratio = rec.gmbench / bound
        recs.append(rec)
    return recs


# ---------------------------------------------------------------------------------------------
# 2. Adam sweep
# ---------------------------------------------------------------------------------------------


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


def fig_adam(sz: Sizes, device: torch.device) -> list[Record]:
    from gmbench.core.blackbox import BlackBox, Budget, Clock
    from gmbench.methods.adam_sweep import AdamSweep
    from gmbench.problems import make_problem

    prob = make_problem(sz.adam_fn, dim=sz.adam_dim)
    lrs = list(sz.adam_lrs)

    def blackbox() -> BlackBox:
        gen = torch.Generator(device=device).manual_seed(0)
        return BlackBox(prob.energy_fn(), prob.dim, prob.lower, prob.upper, device, torch.float32, gen,
                        Budget(None, None), Clock(device), prob.start_sampler(),
                        energy_and_grad=prob.energy_and_grad_fn())

    starts = blackbox().starts(sz.adam_points)  # the points the method draws from the same seed
    method = AdamSweep(n_points=sz.adam_points, n_steps=sz.adam_steps, lrs=lrs, report_every=10**9)

    def ours() -> dict[float, float]:
        got: dict[float, float] = {}
        method.run(blackbox(), lambda x, lr, energy_seen: got.__setitem__(lr, min(got.get(lr, math.inf),
                                                                                  energy_seen)))
        return got

    def ours_compiled() -> dict[float, float]:
        with _env("GMBENCH_COMPILE", "1"):
            return ours()

    f = prob.energy_fn()
    fast = prob.energy_and_grad_fn() is not None
    fns = [ours, lambda: naive_adam_sweep(f, starts, lrs, sz.adam_steps),
           ours_compiled if fast and not sz.quick else None]
    (t, t_ref, t_c), (mem, mem_ref, mem_c), (got, ref, got_c) = _time_pair(fns, device, max(1, sz.repeats - 1))
    work = len(lrs) * sz.adam_points * sz.adam_dim * sz.adam_steps
    ref = ref.double().cpu()
    out = []
    for label, tt, mm, g in (("eager", t, mem, got), ("torch.compile", t_c, mem_c, got_c)):
        if tt is None:
            continue
        ours_best = [g[min(g, key=lambda k, lr=lr: abs(k - lr))] for lr in lrs]  # reported lr is float32-rounded
        rel = max(abs(a - float(r)) / max(abs(float(r)), 1e-30) for a, r in zip(ours_best, ref, strict=True))
        ratio = t_ref / tt
        how = ("analytic gradient" if fast else "autograd") + ", cache-blocked, in-place update"
        if label != "eager":
            how = "GMBENCH_COMPILE=1: energy+gradient fused by torch.compile (compiled in the warm-up), " + how
        out.append(Record(
            2, f"adam-sweep {sz.adam_fn} D={sz.adam_dim} ({label})", "coord-steps/s", gmbench=work / tt,
            reference=work / t_ref, reference_name="autograd + torch.optim.Adam per learning rate", ratio=ratio,
            ratio_meaning="speed-up", target=">= 10x", met=ratio >= 10, peak_mem_mb=mm, reference_peak_mem_mb=mem_ref,
            notes=(f"{sz.adam_points} points x {len(lrs)} learning rates x {sz.adam_steps} steps, float32, same "
                   f"starts; gmbench = the adam-sweep method through a BlackBox ({how}); best energies per "
                   f"learning rate agree with the reference to {rel:.1e} relative")))
    return out


# ---------------------------------------------------------------------------------------------
# 3. batched FIRE vs ASE, 4. neighbour-list scaling
# ---------------------------------------------------------------------------------------------


def _shared_dir() -> Path:
    env = os.environ.get("GMBENCH_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared"


def lattice_config(n: int, density: float = 1.2, seed: int = 0, jitter: float = 0.05) -> Tensor:
    """``n`` atoms on a jittered simple-cubic lattice at ``density`` (random vacancies when n is not a
    cube), float64 (n, 3) in the box [0, (n/density)^(1/3))^3."""
    box = (n / density) ** (1.0 / 3.0)
    m = math.ceil(n ** (1.0 / 3.0) - 1e-9)
    g = torch.Generator().manual_seed(seed)
    a = torch.arange(m, dtype=torch.float64)
    sites = torch.stack(torch.meshgrid(a, a, a, indexing="ij"), -1).reshape(-1, 3)
    sites = sites[torch.randperm(m**3, generator=g)[:n]]
    r = (sites + 0.5 + jitter * torch.randn(n, 3, generator=g, dtype=torch.float64)) * (box / m)
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
    frames = torch.stack([lattice_config(100, seed=s) for s in range(batch)])
    return frames, binary_species(100), "jittered lattices (StriderNET frames not found)"


class KANumpyCalculator:
    """Kob-Andersen LJ in numpy for ASE: r_c = 2.5 sigma_ab, truncated not shifted, minimum image,
    dense N x N (the same energy as gmbench's ``kob_andersen_energy``)."""

    def __new__(cls, species: np.ndarray, box: float):
        from ase.calculators.calculator import Calculator, all_changes

        from gmbench.physics.potentials import KA_CUTOFF_FACTOR, KA_EPSILON, KA_SIGMA

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


def fig_fire(sz: Sizes, device: torch.device) -> list[Record]:
    from gmbench.physics.potentials import kob_andersen_energy
    from gmbench.optim.relax import fire_relax, stridernet_fire

    frames, species, origin = ka100_frames(sz.fire_batch)
    energy = kob_andersen_energy(100, species)
    r = energy.space.wrap(frames).to(device)
    params = stridernet_fire(0.01)

    def ours() -> Tensor:
        return fire_relax(energy, r, sz.fire_steps, params, shift=energy.space.shift)[1]

    ase_fn: Callable[[], Any] | None = None
    note_ref = ""
    try:
        from ase import Atoms
        from ase.optimize import FIRE as AseFIRE

        box = energy.space.box
        calc = KANumpyCalculator(species.numpy(), box)
        pos0 = r[0].double().cpu().numpy()

        def ase_run() -> float:
            atoms = Atoms(numbers=np.full(100, 18), positions=pos0, cell=[box] * 3, pbc=True)
            atoms.calc = calc
            opt = AseFIRE(atoms, dt=0.01, dtmax=0.04, logfile=None)
            for _ in range(sz.ase_steps):
                opt.step()
            return float(atoms.get_potential_energy())

        ase_fn = ase_run
        a = Atoms(numbers=np.full(100, 18), positions=pos0, cell=[box] * 3, pbc=True)
        a.calc = calc
        e_ase = a.get_potential_energy()
        e_ours = float(energy(r[0].double().cpu()))
        note_ref = f"; numpy KA calculator energy of structure 0 agrees to {abs(e_ase - e_ours):.1e}"
    except ImportError:
        pass
    def compiled() -> Tensor:
        with _env("GMBENCH_COMPILE", "1"):
            return ours()

    fns: list[Callable[[], Any] | None] = [ours, ase_fn, None if sz.quick else compiled]
    t0 = time.perf_counter()
    (t, t_ref, t_c), (mem, mem_ref, mem_c), (e_ours, _, e_c) = _time_pair(fns, device, max(1, sz.repeats - 1))
    wall = time.perf_counter() - t0
    base = (f"{origin}, float64, jax-md-order FIRE dt 0.01 / dt_max 0.04, {sz.fire_steps} steps, "
            f"{sz.fire_batch} structures at once, analytic LJ forces")
    ref_note = (f"ASE {__import__('ase').__version__} FIRE (dt 0.01, dtmax 0.04, default maxstep 0.2; "
                f"velocity-Verlet-style order with a step cap, not jax-md's) with a dense numpy minimum-image "
                f"KA calculator (ASE's LennardJones has no per-pair sigma/epsilon){note_ref}"
                if t_ref is not None else "reference skipped: ASE is not installed (pip install ase)")
    out = []
    for label, tt, mm in (("eager", t, mem), ("torch.compile", t_c, mem_c)):
        if tt is None:
            continue
        rec = Record(3, f"FIRE KA LJ-100 x {sz.fire_batch} ({label})", "atom-steps/s",
                     gmbench=sz.fire_batch * 100 * sz.fire_steps / tt, peak_mem_mb=mm,
                     reference_name="ASE FIRE, one structure", ratio_meaning="speed-up", target=">= 50x",
                     notes=f"{base}; {ref_note}")
        if label != "eager":
            dmax = float((e_c - e_ours).abs().max())
            rec.notes = (f"GMBENCH_COMPILE=1: the dense pair kernel fused by torch.compile (compiled in the warm-up, "
                         f"not timed; this figure's wall time incl. compile {wall:.0f} s); final energies differ "
                         f"from the eager path by {dmax:.1e}; " + rec.notes)
        if t_ref is None:
            rec.skipped = True
        else:
            rec.reference, rec.reference_peak_mem_mb = 100 * sz.ase_steps / t_ref, mem_ref
            rec.ratio = rec.gmbench / rec.reference
            rec.met = rec.ratio >= 50
        out.append(rec)
    if sz.quick:
        out[0].notes += "; the torch.compile variant is not measured with --quick"
    return out


class _env:
    """Set an environment variable inside ``with`` (restored after)."""

    def __init__(self, key: str, value: str):
        self.key, self.value = key, value

    def __enter__(self) -> None:
        self.old = os.environ.get(self.key)
        os.environ[self.key] = self.value

    def __exit__(self, *exc: object) -> None:
        if self.old is None:
            os.environ.pop(self.key, None)
        else:
            os.environ[self.key] = self.old


def fig_neighbors(sz: Sizes, device: torch.device) -> list[Record]:
    """Energy + forces (the analytic path FIRE uses) per atom as N grows, for one structure: with the
    pair list rebuilt on every call (skin 0, the default), and with a Verlet list (skin 0.3) reused,
    which is what a relaxation pays between rebuilds."""
    from gmbench.physics.potentials import binary_species, kob_andersen_energy

    recs = []
    base: dict[str, float] = {}
    n0 = sz.nl_sizes[0]
    for n in sz.nl_sizes:
        if n == 100:
            r, origin = ka100_frames(1)[0][0], "LJ-100 frame 0"
        else:
            r, origin = lattice_config(n), "jittered simple-cubic lattice at density 1.2"
        r = r.to(device).unsqueeze(0)
        for mode, skin in (("list rebuilt every call", 0.0), ("Verlet list reused, skin 0.3", 0.3)):
            energy = kob_andersen_energy(n, binary_species(n), skin=skin)
            (t,), (mem,), _ = _time_pair([lambda en=energy, r=r: en.energy_and_forces(r)], device, sz.repeats + 2)
            per_atom = t / n
            base.setdefault(mode, per_atom)
            cell = energy.uses_cell_list(n)
            kind = ("cell list" if cell else "dense minimum-image pairs (no list: cut-off > L/3)")
            ratio = per_atom / base[mode]
            first = n == n0
            recs.append(Record(
                4, f"LJ energy+forces N={n} ({mode if cell else 'dense, no list'})", "us/atom",
                gmbench=1e6 * per_atom, reference=1e6 * base[mode], reference_name=f"time per atom at N={n0}",
                ratio=ratio, ratio_meaning="time per atom relative to the smallest N",
                target="" if first else "<= 2x", met=None if first else ratio <= 2.0, peak_mem_mb=mem,
                notes=f"{origin}, float64, one structure, {kind}; {t * 1e3:.3g} ms per call"))
            if not cell:  # N = 100: the same dense sum either way
                base.setdefault("Verlet list reused, skin 0.3", per_atom)
                break
    return recs


# ---------------------------------------------------------------------------------------------
# 5. StriderNET
# ---------------------------------------------------------------------------------------------


def fig_stridernet(sz: Sizes, device: torch.device) -> list[Record]:
    try:
        from gmbench.studies.stridernet.core import bench_adapt, bench_forward
    except ImportError as exc:
        return [Record(5, "StriderNET", "s", skipped=True, notes=f"skipped: StriderNET not available ({exc})")]
    out = []
    for name, fn, arg, n, ref in (
            ("StriderNET 100 forward steps LJ-100", bench_forward, "n_steps", sz.sn_forward_steps, TABLE10_FORWARD_S),
            ("StriderNET 100 adaptation epochs LJ-100", bench_adapt, "n_epochs", sz.sn_adapt_epochs, TABLE10_ADAPT_S)):
        with PeakMemory(device) as pm:
            s = fn(**{arg: n}, device=device)
        s100 = s * 100.0 / n
        ratio = ref / s100
        out.append(Record(
            5, name, "s", gmbench=s100, reference=ref, reference_name="paper Table 10 (CPU)", ratio=ratio,
            ratio_meaning="speed-up", target=">= 20x", met=ratio >= 20, peak_mem_mb=pm.mb,
            notes=(f"measured {n} and scaled to 100" if n != 100 else "measured 100")
            + f"; {torch.get_num_threads()} torch threads; one timed call after the bench's own warm-up"))
    return out


# ---------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------

FIGURES: dict[int, tuple[str, Callable[[Sizes, torch.device], list[Record]]]] = {
    1: ("energy + gradient throughput", fig_energy_grad),
    2: ("Adam sweep", fig_adam),
    3: ("batched FIRE on KA LJ-100", fig_fire),
    4: ("neighbour-list scaling", fig_neighbors),
    5: ("StriderNET", fig_stridernet),
}


def check_json_path(path: Path | None) -> None:
    """Fail early (before minutes of measurement) when the JSON file cannot be written."""
    if path is None:
        return
    if path.is_dir():
        raise GmbenchError(f"cannot write --json {path}: it is a directory")
    if not path.parent.is_dir():
        raise GmbenchError(f"cannot write --json {path}: folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise GmbenchError(f"cannot write --json {path}: permission denied")


def run_perf(device: str, quick: bool = False, only: list[int] | None = None, threads: int | None = None,
             progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    from gmbench.core.env import manifest

    dev = torch.device(device)
    if threads is not None:
        torch.set_num_threads(threads)
    sz = QUICK if quick else Sizes()
    machine = manifest(device)
    machine["load_average_start"] = list(os.getloadavg())
    machine["torch_threads"] = torch.get_num_threads()
    try:
        import ase

        machine["ase"] = ase.__version__
    except ImportError:
        machine["ase"] = None
    records: list[Record] = []
    t_all = time.perf_counter()
    for k, (title, fn) in FIGURES.items():
        if only and k not in only:
            continue
        if progress:
            progress(f"{k}. {title}")
        t0 = time.perf_counter()
        recs = fn(sz, dev)
        for r in recs:
            r.extra["figure_wall_s"] = round(time.perf_counter() - t0, 3)
        records.extend(recs)
    machine["load_average_end"] = list(os.getloadavg())
    return {
        "gmbench_perf": 1,
        "quick": quick,
        "sizes": asdict(sz),
        "machine": machine,
        "timing": "best of interleaved repeats after a warm-up; gmbench and reference back to back",
        "peak_memory_method": PeakMemory.method(dev),
        "wall_s": round(time.perf_counter() - t_all, 2),
        "figures": {str(k): t for k, (t, _) in FIGURES.items()},
        "records": [_clean(asdict(r)) for r in records],
    }


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    """Non-finite floats become None (JSON has no inf/nan)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, float) and not math.isfinite(v):
            v = None
        elif isinstance(v, dict):
            v = _clean(v)
        out[k] = v
    return out


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if v == 0 or 0.01 <= abs(v) < 1e5:
        return f"{v:.3g}"
    return f"{v:.3e}"


def render(res: dict[str, Any]) -> str:
    from tabulate import tabulate

    m = res["machine"]
    rows = []
    for r in res["records"]:
        ratio = "-" if r["ratio"] is None else (f"{r['ratio']:.3g}x" if r["ratio_meaning"] != "fraction of the bandwidth bound"
                                                  else f"{100 * r['ratio']:.1f}%")
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        mem = _fmt(r["peak_mem_mb"]) + (f" / {_fmt(r['reference_peak_mem_mb'])}" if r["reference_peak_mem_mb"] is not None
                                        else "")
        rows.append([r["figure"], r["name"] + (" (skipped)" if r["skipped"] else ""), _fmt(r["gmbench"]),
                     _fmt(r["reference"]), r["unit"], ratio, (r["target"] + " " + met).strip(), mem])
    head = (f"gmbench perf{' --quick' if res['quick'] else ''} on {m['device']} ({m['device_name']}, "
            f"{m['cpu_count']} CPUs, {m['torch_threads']} torch threads); gmbench {m['gmbench']}, torch {m['torch']}, "
            f"numpy {m['numpy']}, ASE {m['ase'] or 'not installed'}, Python {m['python']}; "
            f"load average {m['load_average_start'][0]:.2f} -> {m['load_average_end'][0]:.2f}; {res['wall_s']:.0f} s")
    table = tabulate(rows, headers=["#", "figure", "gmbench", "reference", "unit", "ratio", "target", "peak MiB (g / ref)"],
                     tablefmt="github", disable_numparse=True)
    notes = "\n".join(f"  [{r['figure']}] {r['name']}: {r['notes']}" for r in res["records"] if r["notes"])
    return (f"{head}\n\n{table}\n\nratio: speed-up over the reference; for energy+grad the fraction of the "
            f"bandwidth bound; for neighbour lists time per atom relative to N = 100.\n"
            f"peak memory: {res['peak_memory_method']}\n\nnotes:\n{notes}\n")


__all__ = ["QUICK", "KANumpyCalculator", "Record", "Sizes", "check_json_path", "lattice_config", "naive_adam_sweep",
           "render", "run_perf"]
