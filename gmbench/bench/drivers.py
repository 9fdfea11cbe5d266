"""``gmbench perf``'s drivers, one per figure, and the run: the speed of gmbench's own kernels, each
next to its reference, in one process.

Figures:

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

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gmbench.bench.memory import PeakMemory
from gmbench.bench.references import (KANumpyCalculator, autograd_energy_and_grad, bandwidth_probe, ka100_frames,
                                      lattice_config, naive_adam_sweep)
from gmbench.bench.timing import QUICK, Record, Sizes, time_pair
from gmbench.core.errors import GmbenchError

TABLE10_FORWARD_S = 54.3  # StriderNET paper Table 10, LJ-100, 100 forward steps, CPU
TABLE10_ADAPT_S = 1170.0  # 100 adaptation epochs


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
        (t, t_plain), (mem, mem_plain), (out_f, out_p) = time_pair(
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
    (t, t_ref, t_c), (mem, mem_ref, mem_c), (got, ref, got_c) = time_pair(fns, device, max(1, sz.repeats - 1))
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
    (t, t_ref, t_c), (mem, mem_ref, mem_c), (e_ours, _, e_c) = time_pair(fns, device, max(1, sz.repeats - 1))
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
            (t,), (mem,), _ = time_pair([lambda en=energy, r=r: en.energy_and_forces(r)], device, sz.repeats + 2)
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
