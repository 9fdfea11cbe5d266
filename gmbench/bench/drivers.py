"""``gmbench perf``'s drivers, one per figure, and the run: the speed of gmbench's own kernels, each
next to its references and the public peers, in one process, on identical work.

Figures:

1. energy + gradient throughput of every Plevris function with a fused kernel or a gradient at B x D (float32), in
   coordinates per second, next to a memory-bandwidth probe (a large tensor copy): the reference is
   the bandwidth-bound rate (8 bytes per coordinate: read x, write the gradient), so the ratio is the
   fraction of the hardware's streaming limit;
2. Adam sweep at several scales (50 x D = 100 to 10,000 x D = 1000; rastrigin and the paper's two
   functions, schaffer-f7-paper and alpine1, at the paper suites' 200 points x 100 rates): coordinate-steps
   per second of gmbench's ``adam-sweep`` (the method itself, through a BlackBox) next to the naive
   per-rate ``torch.optim.Adam`` loop and the vectorised plain-torch sweep (eager and under
   ``torch.compile``; compile time reported, not timed);
3. batched FIRE on the StriderNET Kob-Andersen LJ-100 frames (float64): atom-steps per second of
   gmbench's FIRE next to ASE's FIRE (one structure, numpy KA calculator), jax-md's FIRE (``vmap`` +
   ``jit``, the same KA energy, checked) and torch-sim's batched FIRE (its single-species LJ, forces
   checked; gmbench runs the same single-species LJ for that row);
4. neighbour lists: KA LJ energy + forces (periodic, list rebuilt every call) for growing N, time
   per atom relative to N = 100; and building the pair list at N = 1,000 and 10,000 next to vesin
   (pair sets compared);
5. StriderNET forward steps and adaptation epochs on LJ-100 next to the paper's Table 10;
6. harness overhead: the share of a cheap cell's wall time outside the method (Recorder, traces,
   store) and the fixed cost per cell of many tiny cells (:mod:`gmbench.bench.overhead`);
7. CMA-ES: generations per second of ``cma-es-torch``'s kernel (:mod:`gmbench.optim.cma`) next to pycma's
   ask/tell on the same sphere, D, λ and bounds: one instance at D = 100 and 1,000, and many seeds at once
   (B instances batched in torch against pycma running B instances one after another);
8. bbob: energy + gradient of the 24 functions against COCO's and IOHprofiler's originals;
9. sealed runs: throughput of BlackBox calls from a sealed child against the same calls in-process.

Every record also carries the peak memory of its measurement (CPU: peak RSS above the RSS before
it, from Linux's VmHWM after resetting it through ``/proc/self/clear_refs``; CUDA:
``max_memory_allocated``). Peers that are not installed give rows marked skipped
("not installed (pip install gmbench[perf])"); they are imported only here (:mod:`.peers`).

Timings: a warm-up call, then the best of ``repeats`` calls, gmbench and its references interleaved
(g, r, g, r, ...) so that all see the same machine load. Speed is measured here, never asserted in
tests.
"""

from __future__ import annotations

import json
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
        differentiable = entry.properties is not None and entry.properties.differentiable
        rec = Record(1, f"energy+grad {name}", "coord/s", reference=bound, reference_name="bandwidth bound",
                     ratio_meaning="fraction of the bandwidth bound")
        try:
            prob = make_problem(name, dim=sz.eg_dim)
        except GmbenchError as exc:
            if differentiable:
                rec.skipped, rec.notes = True, f"skipped at D = {sz.eg_dim}: {exc}"
                recs.append(rec)
            continue
        if not differentiable and prob.energy_and_grad_fn() is None:
            continue  # no fused kernel, and autograd's subgradients are not a figure worth timing
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
            ok = torch.isfinite(ge) & torch.isfinite(gp)  # overflowing functions (F03, F25 at large D) give inf
            rel = float((ge - gp)[ok].abs().max() / gp[ok].abs().max().clamp_min(1e-30)) if bool(ok.any()) else math.nan
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


def _adam_lrs(n: int) -> list[float]:
    from gmbench.methods.adam_sweep import lr_grid

    return lr_grid(0.05, 0.05 * n, 0.05)


def fig_adam(sz: Sizes, device: torch.device) -> list[Record]:
    """Per case (function, points, dim, rates, steps): gmbench's adam-sweep method through a BlackBox
    against (a) the naive per-rate ``torch.optim.Adam`` loop and (b) the vectorised plain-torch sweep
    (eager and, in full runs, under ``torch.compile``; the faster of the two is the reference). All
    start from the same points the method draws from the same seed; float32."""
    from gmbench.bench.peers import VectorisedAdam
    from gmbench.core.blackbox import BlackBox, Budget
    from gmbench.methods.adam_sweep import AdamSweep
    from gmbench.problems import make_problem

    out: list[Record] = []
    compiled_refs: dict[str, VectorisedAdam] = {}
    compile_s: dict[str, float] = {}
    ours_compiled_done = False
    for fn_name, n_points, dim, n_lrs, n_steps in sz.adam_cases:
        bounds = [-100.0, 100.0] if fn_name in ("schaffer-f7-paper", "alpine1") else None  # as the paper suites
        prob = make_problem(fn_name, dim=dim, bounds=bounds)
        lrs = _adam_lrs(n_lrs)

        def blackbox(prob=prob) -> BlackBox:
            return BlackBox.from_problem(prob, Budget(None, None), 0, torch.float32, device)

        starts = blackbox().starts(n_points)  # the points the method draws from the same seed
        method = AdamSweep(n_points=n_points, n_steps=n_steps, lrs=lrs, report_every=10**9)

        def ours(method=method, blackbox=blackbox) -> dict[float, float]:
            got: dict[float, float] = {}
            method.run(blackbox(), lambda x, lr, energy_seen: got.__setitem__(lr, min(got.get(lr, math.inf),
                                                                                      energy_seen)))
            return got

        f = prob.energy_fn()
        fast = prob.energy_and_grad_fn() is not None
        vec = VectorisedAdam(f)
        vec_c: VectorisedAdam | None = None
        c_note = ("the torch.compile variant is not measured with --quick" if sz.quick
                  else "the torch.compile variant is not measured (adam_compiled off)")
        if sz.adam_compiled:
            try:
                if fn_name not in compiled_refs:
                    compiled_refs[fn_name] = VectorisedAdam(f, compiled=True)
                vec_c = compiled_refs[fn_name]
                t0 = time.perf_counter()
                vec_c(starts, lrs, n_steps)  # compiles (dynamic shapes: once per function), not timed
                dt = time.perf_counter() - t0
                compile_s.setdefault(fn_name, dt)
                c_note = (f"torch.compile of the whole vectorised step (dynamic shapes): first call incl. compile "
                          f"{compile_s[fn_name]:.1f} s for {fn_name}, this case's first call {dt:.1f} s; not timed")
            except Exception as exc:  # noqa: BLE001 - no C++ compiler, unsupported op: eager only, said so
                vec_c = None
                c_note = f"torch.compile of the vectorised step failed ({type(exc).__name__}: {str(exc)[:120]})"
        big = n_points * dim * len(lrs) >= 2_000_000
        repeats = 1 if big else max(1, sz.repeats - 1)
        want_ours_c = (fast and not sz.quick and not ours_compiled_done and dim >= 1000)

        def ours_compiled(ours=ours) -> dict[float, float]:
            with _env("GMBENCH_COMPILE", "1"):
                return ours()

        fns = [ours, lambda f=f, s=starts, l=lrs, n=n_steps: naive_adam_sweep(f, s, l, n),
               lambda v=vec, s=starts, l=lrs, n=n_steps: v(s, l, n),
               (lambda v=vec_c, s=starts, l=lrs, n=n_steps: v(s, l, n)) if vec_c is not None else None,
               ours_compiled if want_ours_c else None]
        (t, t_naive, t_vec, t_vc, t_oc), (mem, mem_naive, mem_vec, mem_vc, mem_oc), (got, ref, b_vec, b_vc, got_oc) = \
            time_pair(fns, device, repeats)
        ours_compiled_done |= want_ours_c
        work = len(lrs) * n_points * dim * n_steps
        ref = ref.double().cpu()

        def rel_to_naive(best: list[float]) -> float:
            return max(abs(a - float(r)) / max(abs(float(r)), 1e-30) for a, r in zip(best, ref, strict=True))

        def per_rate(g: dict[float, float]) -> list[float]:
            return [g[min(g, key=lambda k, lr=lr: abs(k - lr))] for lr in lrs]  # reported lr is float32-rounded

        rel_ours = rel_to_naive(per_rate(got))
        rel_vec = rel_to_naive(b_vec.double().cpu().tolist())
        rel_vc = rel_to_naive(b_vc.double().cpu().tolist()) if b_vc is not None else None
        how = ("analytic gradient" if fast else "autograd") + ", cache-blocked, in-place update"
        size = f"{fn_name} {n_points} pts x {len(lrs)} rates x D={dim}"
        base = (f"{n_points} points x {len(lrs)} learning rates ({lrs[0]:g}..{lrs[-1]:g}) x {n_steps} steps, D = {dim}, "
                f"float32, same starts; gmbench = the adam-sweep method through a BlackBox ({how}); best energy per "
                f"rate vs the naive loop: gmbench {rel_ours:.1e} relative, vectorised {rel_vec:.1e}"
                + (f", compiled {rel_vc:.1e}" if rel_vc is not None else "")
                + " (float32: the analytic and autograd gradients differ in the last bits and Adam's normalised steps "
                "amplify that at large learning rates; in float64 the sweep equals torch.optim.Adam to 1e-10, "
                f"tests/test_adam_sweep.py); best of {repeats} after a warm-up")
        out.append(Record(
            2, f"adam-sweep {size} vs naive", "coord-steps/s", gmbench=work / t, reference=work / t_naive,
            reference_name="autograd + torch.optim.Adam per learning rate", ratio=t_naive / t,
            ratio_meaning="speed-up", target=">= 10x", met=t_naive / t >= 10, peak_mem_mb=mem,
            reference_peak_mem_mb=mem_naive, notes=base))
        best_t, best_name, best_mem = t_vec, "vectorised plain torch (eager)", mem_vec
        if t_vc is not None and t_vc < t_vec:
            best_t, best_name, best_mem = t_vc, "vectorised plain torch (torch.compile)", mem_vc
        out.append(Record(
            2, f"adam-sweep {size} vs vectorised torch", "coord-steps/s", gmbench=work / t, reference=work / best_t,
            reference_name=best_name, ratio=best_t / t, ratio_meaning="speed-up", target=">= 3x",
            met=best_t / t >= 3, peak_mem_mb=mem, reference_peak_mem_mb=best_mem,
            notes=(f"x (L, P, D), autograd energy summed, the Adam update over all rates with an lr tensor (L, 1, 1); "
                   f"eager {work / t_vec:.3g} coord-steps/s"
                   + (f", torch.compile {work / t_vc:.3g}" if t_vc is not None else "") + f" ({c_note}); " + base),
            extra={"vectorised_eager": work / t_vec, "vectorised_compiled": None if t_vc is None else work / t_vc,
                   "compile_s": compile_s.get(fn_name), "rel_vs_naive_gmbench": rel_ours,
                   "rel_vs_naive_vectorised": rel_vec, "rel_vs_naive_compiled": rel_vc}))
        if t_oc is not None:
            rel_oc = rel_to_naive(per_rate(got_oc))
            out.append(Record(
                2, f"adam-sweep {size} GMBENCH_COMPILE=1 vs naive", "coord-steps/s", gmbench=work / t_oc,
                reference=work / t_naive, reference_name="autograd + torch.optim.Adam per learning rate",
                ratio=t_naive / t_oc, ratio_meaning="speed-up", target=">= 10x", met=t_naive / t_oc >= 10,
                peak_mem_mb=mem_oc, reference_peak_mem_mb=mem_naive,
                notes=(f"GMBENCH_COMPILE=1: energy+gradient fused by torch.compile (compiled in the warm-up, not "
                       f"timed); best energies vs the naive loop {rel_oc:.1e} relative; " + base)))
    return out


def _jaxmd_rounding_note() -> str:
    return ("jax-md casts FIRE's parameters with util.static_cast (numpy.min_scalar_type), so Python floats "
            "become float16 and dt and alpha evolve in float16; they are passed as one-element float64 arrays "
            "here (the same algorithm as gmbench's, in float64)")


def fig_fire(sz: Sizes, device: torch.device) -> list[Record]:
    """Batched FIRE on the StriderNET KA LJ-100 frames, float64, StriderNET's FIRE (jax-md order, dt 0.01,
    dt_max 0.04): gmbench against ASE (one structure), jax-md (``vmap`` + ``jit``) and torch-sim (its
    single-species LJ: gmbench runs the same single-species LJ for that row), interleaved in one process."""
    from gmbench.bench.peers import NOT_INSTALLED, JaxMdKA, limit_xla_threads, peer_import, peer_versions
    from gmbench.optim.relax import fire_relax, stridernet_fire
    from gmbench.problems.atoms.ka_lj import KA_CUTOFF_FACTOR, KA_EPSILON, KA_SIGMA, kob_andersen_energy

    versions = peer_versions()
    limit_xla_threads()  # before jax is first imported
    frames, species, origin = ka100_frames(sz.fire_batch)
    energy = kob_andersen_energy(100, species)
    box = energy.space.box
    r = energy.space.wrap(frames).to(device)
    params = stridernet_fire(0.01)
    B, steps = sz.fire_batch, sz.fire_steps
    work = B * 100 * steps

    def ours() -> Tensor:
        return fire_relax(energy, r, steps, params, shift=energy.space.shift)[1]

    # ---- ASE: one structure, the numpy KA calculator
    ase_fn: Callable[[], Any] | None = None
    note_ase = ""
    if peer_import("ase", "ase.optimize") is not None:
        from ase import Atoms
        from ase.optimize import FIRE as AseFIRE

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
        note_ase = f"; numpy KA calculator energy of structure 0 agrees to {abs(e_ase - e_ours):.1e}"

    # ---- jax-md: the same KA energy, vmap + jit over the same frames
    jax_fn: Callable[[], Any] | None = None
    jax_note = NOT_INSTALLED
    jmd: JaxMdKA | None = None
    if peer_import("jax", "jax_md") is not None and device.type == "cpu":
        try:
            jmd = JaxMdKA(species.numpy(), box, steps, params.dt_start, params.dt_max, KA_SIGMA, KA_EPSILON,
                          KA_CUTOFF_FACTOR)
            rn = r.double().cpu().numpy()
            ej, fj = jmd.energies_and_forces(rn)
            e_g, f_g = energy.energy_and_forces(r.double().cpu())
            de0 = abs(float(ej[0]) - float(e_g[0]))
            de = float(np.abs(ej - e_g.numpy()).max())
            df = float(np.abs(fj - f_g.numpy()).max())
            jmd_check = (de0, de, df)
            rj = jmd.to_device(rn)
            comp = jmd.compile(rj)
            jax_fn = lambda: jmd.relax(rj)  # noqa: E731
            jax_note = (f"jax-md {versions['jax_md']} (jax {versions['jax']}) minimize.fire_descent, vmap over the "
                        f"{B} structures + jit, float64 (jax_enable_x64), space.periodic(box); energy = smap.pair over "
                        f"jax-md's energy.lennard_jones truncated at 2.5 sigma_ab, not shifted (jax-md's "
                        f"lennard_jones_pair smooths one cut-off 2.5 max(sigma) from r_onset, a different energy); "
                        f"before timing: energy of frame 0 agrees with gmbench's to {de0:.1e} (all frames {de:.1e}), "
                        f"forces to {df:.1e}; compile {comp:.1f} s (not timed); {jmd.threads_note}; "
                        + _jaxmd_rounding_note())
        except Exception as exc:  # noqa: BLE001 - a peer that fails to run is reported, never fatal
            jax_fn, jax_note = None, f"jax-md failed: {type(exc).__name__}: {str(exc)[:200]}"
    elif device.type != "cpu" and peer_import("jax", "jax_md") is not None:
        jax_note = "jax-md is measured on the CPU only"

    def compiled() -> Tensor:
        with _env("GMBENCH_COMPILE", "1"):
            return ours()

    fns: list[Callable[[], Any] | None] = [ours, ase_fn, jax_fn, None if sz.quick else compiled]
    t0 = time.perf_counter()
    (t, t_ase, t_jax, t_c), (mem, mem_ase, mem_jax, mem_c), (e_ours, _, jax_out, e_c) = time_pair(
        fns, device, 1 if sz.quick else 2)  # best of 2: one 2 s relaxation per repeat and peer
    wall = time.perf_counter() - t0
    base = (f"{origin}, float64, jax-md-order FIRE dt 0.01 / dt_max 0.04, {steps} steps, {B} structures at once, "
            f"analytic LJ forces")
    ase_note = (f"ASE {versions['ase']} FIRE (dt 0.01, dtmax 0.04, default maxstep 0.2; velocity-Verlet-style order "
                f"with a step cap, not jax-md's) on ONE structure for {sz.ase_steps} steps, with a dense numpy "
                f"minimum-image KA calculator (ASE's LennardJones has no per-pair sigma/epsilon){note_ase}"
                if t_ase is not None else f"ASE {NOT_INSTALLED}")
    out = []
    for label, tt, mm in (("eager", t, mem), ("torch.compile", t_c, mem_c)):
        if tt is None:
            continue
        rec = Record(3, f"FIRE KA LJ-100 x {B} ({label}) vs ASE", "atom-steps/s", gmbench=work / tt, peak_mem_mb=mm,
                     reference_name="ASE FIRE, one structure", ratio_meaning="speed-up", target=">= 20x",
                     notes=f"{base}; {ase_note}", peer_version=versions["ase"])
        if label != "eager":
            dmax = float((e_c - e_ours).abs().max())
            rec.notes = (f"GMBENCH_COMPILE=1: the dense pair kernel fused by torch.compile (compiled in the warm-up, "
                         f"not timed; this figure's wall time incl. compile {wall:.0f} s); final energies differ "
                         f"from the eager path by {dmax:.1e}"
                         + (f"; {t_jax / tt:.3g}x jax-md's FIRE in the same run" if t_jax is not None else "")
                         + "; " + rec.notes)
        if t_ase is None:
            rec.skipped = True
        else:
            rec.reference, rec.reference_peak_mem_mb = 100 * sz.ase_steps / t_ase, mem_ase
            rec.ratio = rec.gmbench / rec.reference
            rec.met = rec.ratio >= 20
        out.append(rec)
    if sz.quick:
        out[0].notes += "; the torch.compile variant is not measured with --quick"

    rec = Record(3, f"FIRE KA LJ-100 x {B} (eager) vs jax-md", "atom-steps/s", gmbench=work / t, peak_mem_mb=mem,
                 reference_name="jax-md FIRE, vmap + jit", ratio_meaning="speed-up", target="> 1x",
                 peer_version=versions["jax_md"])
    if t_jax is None:
        rec.skipped, rec.notes = True, jax_note
    else:
        e_j = jax_out[0]
        d = np.abs(e_j - e_ours.double().cpu().numpy()) / np.abs(e_ours.double().cpu().numpy())
        rec.reference, rec.reference_peak_mem_mb = work / t_jax, mem_jax
        rec.ratio = t_jax / t
        rec.met = rec.ratio > 1
        rec.notes = (f"{base}; {jax_note}; after {steps} steps the final energies agree with gmbench's to "
                     f"{float(d.max()):.1e} relative (max over structures; jax-md's velocity_verlet casts dt to "
                     f"float32); peak memory of jax-md is XLA's, outside torch's allocator but in the RSS")
        rec.extra = {"energy_diff_frame0": jmd_check[0], "energy_diff_max": jmd_check[1], "force_diff_max": jmd_check[2],
                     "final_energy_rel_diff_max": float(d.max()), "compile_s": jmd.compile_s if jmd else None}
    out.append(rec)

    # ---- torch-sim: its stock single-species LJ; gmbench runs the same single-species LJ
    out.append(_fire_torch_sim(sz, device, frames, box, params, versions))
    return out


TS_SIGMA, TS_EPSILON, TS_CUTOFF = 0.8, 1.0, 2.0


def _fire_torch_sim(sz: Sizes, device: torch.device, frames: Tensor, box: float, params, versions) -> Record:
    from gmbench.bench.peers import NOT_INSTALLED, TorchSimLJ, peer_import
    from gmbench.optim.relax import fire_relax
    from gmbench.physics.potentials import PairEnergy, lennard_jones
    from gmbench.physics.space import Periodic

    B, steps = sz.fire_batch, sz.torch_sim_steps
    work = B * 100 * steps
    lj = PairEnergy(Periodic(box), lennard_jones, sigma=TS_SIGMA, epsilon=TS_EPSILON, r_cut=TS_CUTOFF)
    r = lj.space.wrap(frames).to(device)
    rec = Record(3, f"FIRE single-species LJ-100 x {B} (eager) vs torch-sim", "atom-steps/s",
                 reference_name="torch-sim batched FIRE (vv_fire) + LennardJonesModel", ratio_meaning="speed-up",
                 target="> 1x", peer_version=versions["torch_sim"])

    def ours() -> Tensor:
        return fire_relax(lj, r, steps, params, shift=lj.space.shift)[1]

    if peer_import("torch_sim") is None or device.type != "cpu":
        (t,), (mem,), _ = time_pair([ours], device, max(1, sz.repeats - 2))
        rec.gmbench, rec.peak_mem_mb, rec.skipped = work / t, mem, True
        rec.notes = NOT_INSTALLED if device.type == "cpu" else "torch-sim is measured on the CPU only"
        return rec
    try:
        tsim = TorchSimLJ(box, 100, B, TS_SIGMA, TS_EPSILON, TS_CUTOFF, params.dt_start, params.dt_max)
        rc = r.double().cpu()
        e_t, f_t = tsim.stock_energies_and_forces(rc)
        e_g, f_g = lj.energy_and_forces(rc)
        de = float((e_t - e_g).abs().max())
        f_ratio = float((f_t * f_g).sum() / (f_g * f_g).sum())
        scale = 0.5 if abs(f_ratio - 2) < 1e-6 else 1.0 if abs(f_ratio - 1) < 1e-6 else None
        if de > 1e-8 * float(e_g.abs().max()) or scale is None:
            raise RuntimeError(f"torch-sim's LJ disagrees with gmbench's on the same positions (energies by {de:.1e}, "
                               f"forces {f_ratio:.4g} x), so the two would not do the same work")
        if scale != 0.5:
            tsim = TorchSimLJ(box, 100, B, TS_SIGMA, TS_EPSILON, TS_CUTOFF, params.dt_start, params.dt_max, scale)
        df1 = float((scale * f_t - f_g).abs().max())
        check = (f"before timing, on the same positions: energies agree with gmbench's to {de:.1e}; torch-sim's stock "
                 f"forces are {f_ratio:.4f} x gmbench's -dE/dr"
                 + (" (each pair's force is added twice from a list holding both directions), so the timed model "
                    "halves them (one multiply per evaluation)" if scale == 0.5 else "")
                 + f"; the forces FIRE uses agree to {df1:.1e}")
        ts_fn = lambda: tsim.relax(rc.to(device), steps)  # noqa: E731
        (t, t_ts), (mem, mem_ts), (e_ours, e_ts) = time_pair([ours, ts_fn], device, 1)
        d = ((e_ts - e_ours.cpu()).abs() / e_ours.cpu().abs())
        rec.gmbench, rec.reference, rec.ratio = work / t, work / t_ts, t_ts / t
        rec.met, rec.peak_mem_mb, rec.reference_peak_mem_mb = rec.ratio > 1, mem, mem_ts
        rec.notes = (f"StriderNET LJ-100 frames' positions with ONE species (torch-sim {versions['torch_sim']} has "
                     f"single-species LJ only): sigma {TS_SIGMA}, epsilon {TS_EPSILON}, cut-off {TS_CUTOFF} (= 2.5 "
                     f"sigma, below L/2 = {box / 2:.2f}, so one image per pair for both; with sigma 1, cut-off 2.5 the "
                     f"overlapping B-B pairs make both relaxations blow up), float64, {steps} steps (torch-sim's model "
                     f"loops over structures in Python), {B} structures, dt 0.01 / dt_max 0.04; {check}; torch-sim's "
                     f"vv_fire orders the FIRE update differently from jax-md's (mixing after the dt/alpha update, "
                     f"power > 0 counter, eps 1e-16), so trajectories may differ once dt adapts: final energies differ by "
                     f"{float(d.median()):.1e} relative (median), {float(d.max()):.1e} (max); best of 1 after a warm-up")
        rec.extra = {"energy_diff_max": de, "stock_force_ratio": f_ratio, "halved_force_diff_max": df1,
                     "final_energy_rel_diff_median": float(d.median())}
    except Exception as exc:  # noqa: BLE001
        (t,), (mem,), _ = time_pair([ours], device, 1)
        rec.gmbench, rec.peak_mem_mb, rec.skipped = work / t, mem, True
        rec.notes = f"torch-sim failed: {type(exc).__name__}: {str(exc)[:200]}"
    return rec


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
    from gmbench.physics.potentials import binary_species
    from gmbench.problems.atoms.ka_lj import kob_andersen_energy

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
    for n in sz.nl_sizes:
        if n >= 1000:
            recs.extend(_nl_build_vs_vesin(n, sz, device))
    return recs


NL_CUTOFF = 2.5  # the KA list radius (2.5 sigma_AA, skin 0)


def _nl_build_vs_vesin(n: int, sz: Sizes, device: torch.device) -> list[Record]:
    """Building the half pair list (each unordered pair once) of one structure: gmbench's ``pair_list``
    as called by default (and its pure-torch backend when it has a backend switch) against vesin's
    ``vesin.torch.NeighborList`` on the same positions, cut-off and periodic box; the pair sets compared."""
    import inspect

    from gmbench.bench.peers import NOT_INSTALLED, canonical_pairs, peer_import, peer_versions, vesin_pairs
    from gmbench.physics import neighbors
    from gmbench.physics.space import Periodic

    versions = peer_versions()
    box = (n / 1.2) ** (1.0 / 3.0)
    r = lattice_config(n).to(device)
    space = Periodic(box)
    has_backend = "backend" in inspect.signature(neighbors.pair_list).parameters
    variants: list[tuple[str, Callable[[], Any]]] = [
        ("default", lambda: neighbors.pair_list(r[None], space, NL_CUTOFF))]
    if has_backend:
        variants.append(("pure torch", lambda: neighbors.pair_list(r[None], space, NL_CUTOFF, backend="torch")))
    have_vt = (peer_import("vesin_torch") or peer_import("vesin.torch")) is not None and device.type == "cpu"
    have_vn = peer_import("vesin") is not None and device.type == "cpu"
    fns: list[Callable[[], Any] | None] = [f for _, f in variants]
    fns += [(lambda: vesin_pairs(r, box, NL_CUTOFF, use_torch=True)) if have_vt else None,
            (lambda: vesin_pairs(r, box, NL_CUTOFF, use_torch=False)) if have_vn else None]
    secs, mems, outs = time_pair(fns, device, sz.repeats + 2)
    t_vt, t_vn = secs[len(variants)], secs[len(variants) + 1]
    peer_t, peer_mem, peer_out, peer_name = ((t_vt, mems[len(variants)], outs[len(variants)], "vesin-torch")
                                             if t_vt is not None else
                                             (t_vn, mems[len(variants) + 1], outs[len(variants) + 1], "vesin (numpy)"))
    default_kind = ""
    if has_backend and hasattr(neighbors, "neighbor_backend"):
        try:
            want = neighbors.neighbor_backend()
            default_kind = f"backend {want!r}" + (" (vesin when importable on the CPU)" if want == "auto" else "")
        except Exception:  # noqa: BLE001
            default_kind = ""
    recs = []
    for k, (label, _) in enumerate(variants):
        t, mem, pl = secs[k], mems[k], outs[k]
        ours = canonical_pairs(pl.i, pl.j)
        rec = Record(4, f"pair-list build N={n} (gmbench {label}) vs vesin", "us/atom", gmbench=1e6 * t / n,
                     ratio_meaning="speed-up", target=">= 0.67x (<= 1.5x vesin's time)", peak_mem_mb=mem,
                     reference_name=peer_name if peer_t is not None else "vesin",
                     peer_version=versions["vesin_torch"] if t_vt is not None else versions["vesin"])
        what = (f"jittered simple-cubic lattice, N = {n}, density 1.2, periodic box {box:.3f}, cut-off {NL_CUTOFF}, "
                f"half list, float64; gmbench neighbors.pair_list(r, Periodic(L), {NL_CUTOFF})"
                + (" with backend='torch'" if label == "pure torch" else (f" ({default_kind})" if default_kind else ""))
                + f": {len(ours)} pairs")
        if peer_t is None:
            rec.skipped = True
            rec.notes = f"{what}; " + (f"vesin {NOT_INSTALLED}" if device.type == "cpu" else "vesin is measured on the CPU only")
        else:
            theirs = canonical_pairs(*peer_out)
            same = bool(torch.equal(ours.cpu(), theirs.cpu()))
            rec.reference, rec.reference_peak_mem_mb = 1e6 * peer_t / n, peer_mem
            rec.ratio = peer_t / t
            rec.met = rec.ratio >= 1 / 1.5
            extra = (f"; vesin (numpy, incl. conversion) {1e6 * t_vn / n:.3g} us/atom" if t_vn is not None and
                     t_vt is not None else "")
            rec.notes = (f"{what}; {peer_name} NeighborList(full_list=False, n_threads={torch.get_num_threads()}): "
                         f"{len(theirs)} pairs; pair sets " + ("IDENTICAL" if same else "DIFFER") + extra
                         + f"; best of {sz.repeats + 2}")
            rec.extra = {"pairs_identical": same}
        recs.append(rec)
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


def fig_overhead(sz: Sizes, device: torch.device) -> list[Record]:
    """The harness's share of a cheap cell and its fixed cost per cell (see :mod:`gmbench.bench.overhead`);
    run on the CPU whatever ``--device`` says (the cells are CPU cells)."""
    from gmbench.bench.overhead import overhead_records

    return overhead_records(sz.quick)


def fig_cma(sz: Sizes, device: torch.device) -> list[Record]:
    """CMA-ES generations per second, gmbench's batched torch kernel against pycma, on identical work: the
    sphere in [-5, 5]^D, σ₀ = 2, the same x0 rows, pycma's default λ, full or diagonal covariance as the
    case says (both algorithms are the same, checked in tests/test_cma.py; from D = 300 on both use
    pycma's two-point step-size adaptation), ``generations`` ask/tell generations from a fresh start per
    timed call (construction included for both). Each side gets as many BLAS/OpenMP threads as torch has
    (threadpoolctl). Unit: instance-generations per second (B x generations / s)."""
    from threadpoolctl import threadpool_limits

    from gmbench.bench.peers import NOT_INSTALLED, peer_import, peer_versions, pycma_generations
    from gmbench.optim.cma import cma_init, cma_params, cma_step

    version = peer_versions().get("cma")
    have = peer_import("cma") is not None
    threads = torch.get_num_threads()
    recs = []
    for dim, B, gens, diagonal in sz.cma_cases:
        params = cma_params(dim, None, diagonal)
        eig = [0]  # eigendecompositions per timed call (each of B matrices at once)
        lo = torch.full((dim,), -5.0, dtype=torch.float64, device=device)
        hi = -lo
        x0 = -5 + 10 * torch.rand(B, dim, generator=torch.Generator().manual_seed(0), dtype=torch.float64)

        def ours(params=params, lo=lo, hi=hi, x0=x0, gens=gens, eig=eig) -> Tensor:
            with threadpool_limits(limits=threads):
                g = torch.Generator(device=device).manual_seed(0)
                st = cma_init(x0.to(device), 2.0, params, g, lo, hi)
                for _ in range(gens):
                    f = (st.x * st.x).sum(-1)
                    cma_step(st, f)
                eig[0] = st.n_eigen
                return f.min(-1).values.cpu()

        def theirs(params=params, x0=x0, gens=gens, diagonal=diagonal) -> np.ndarray:
            with threadpool_limits(limits=threads):
                return pycma_generations(x0.numpy(), 2.0, -5.0, 5.0, params.popsize, diagonal, gens)

        work = B * gens
        cov = "diagonal" if diagonal else "full"
        name = (f"CMA-ES D={dim} λ={params.popsize} {cov}, " + ("1 instance" if B == 1 else f"{B} instances batched")
                + " vs pycma")
        rec = Record(7, name, "generations/s", reference_name="pycma ask/tell" + ("" if B == 1 else f", {B} runs in turn"),
                     ratio_meaning="speed-up", target=">= 1x" if B == 1 else ">= 10x", peer_version=version)
        what = (f"sphere in [-5, 5]^{dim}, sigma0 2, λ {params.popsize}, {cov} covariance, "
                + ("TPA" if params.tpa else "CSA") + f" step size, {gens} generations from a fresh start per call, "
                f"{B} instance{'s' if B > 1 else ''}, float64, {threads} thread(s) each, device {device.type}")
        if not have:
            (t,), (mem,), _ = time_pair([ours], device, 1)
            rec.gmbench, rec.peak_mem_mb, rec.skipped = work / t, mem, True
            rec.notes = f"pycma {NOT_INSTALLED}; {what}"
            recs.append(rec)
            continue
        reps = 1 if sz.quick or B * gens * dim >= 300_000 else sz.repeats
        (t, t_ref), (mem, mem_ref), (f_ours, f_ref) = time_pair([ours, theirs], device, reps)
        rec.gmbench, rec.reference, rec.ratio = work / t, work / t_ref, t_ref / t
        rec.met = rec.ratio >= (1 if B == 1 else 10)
        rec.peak_mem_mb, rec.reference_peak_mem_mb = mem, mem_ref
        eig_note = ""
        if not diagonal:  # the LAPACK share: what batching cannot remove on a CPU
            A = torch.randn(B, dim, dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(device)
            C = A @ A.transpose(-1, -2) / dim + torch.eye(dim, dtype=torch.float64, device=device)  # a random SPD C
            (t_eig,), _, _ = time_pair([lambda C=C: torch.linalg.eigh(C)], device, 2)
            eig_note = (f"; {eig[0]} batched eigendecompositions per call ({1e3 * t_eig / B:.3g} ms per {dim}x{dim} "
                        f"matrix): {100 * eig[0] * t_eig / t:.0f} % of gmbench's time")
            rec.extra["eigh_share"] = eig[0] * t_eig / t
        lg_ours = float(np.median(np.log10(np.maximum(f_ours.numpy(), 1e-300))))
        lg_ref = float(np.median(np.log10(np.maximum(f_ref, 1e-300))))
        rec.notes = (f"{what}; median log10 f of the last generation: gmbench {lg_ours:.2f}, pycma {lg_ref:.2f} "
                     f"(same algorithm, different random numbers); {1e3 * t / work:.3g} ms vs {1e3 * t_ref / work:.3g} ms "
                     f"per instance-generation{eig_note}; best of {reps} after a warm-up")
        rec.extra.update({"log10_f_gmbench": lg_ours, "log10_f_pycma": lg_ref, "instances": B, "generations": gens,
                          "dim": dim, "popsize": params.popsize, "diagonal": diagonal})
        recs.append(rec)
    return recs


def fig_bbob(sz: Sizes, device: torch.device) -> list[Record]:
    """bbob: energy and gradient of all 24 functions (instance 1) at one batch of points in [-5, 5]^D,
    float64, gmbench's batched kernels (analytic where the function has one, autograd otherwise) against
    the original implementations evaluating the energy alone, one point at a time (COCO's ``cocoex`` and
    IOHprofiler's ``ioh``: neither evaluates a batch nor a gradient), on the same points, interleaved.
    Unit: points per second over the 24 functions (24 B / s). Each row checks agreement: the largest
    relative energy difference over all 24 B values."""
    from gmbench.bench.peers import peer_import, peer_versions
    from gmbench.problems import make_problem
    from gmbench.problems.functions.bbob import FUNCTIONS

    versions = peer_versions()
    fids = sorted(FUNCTIONS)
    analytic = [f for f in fids if FUNCTIONS[f].eg is not None]
    recs = []
    for dim in sz.bbob_dims:
        B = sz.bbob_batch
        x = -5 + 10 * torch.rand(B, dim, generator=torch.Generator().manual_seed(dim), dtype=torch.float64)
        probs = [make_problem(f"bbob-f{f}", dim=dim, instance=1) for f in fids]
        kernels = [p.energy_and_grad_fn() or autograd_energy_and_grad(p.energy_fn()) for p in probs]
        xd, xn = x.to(device), x.numpy()

        def ours(kernels=kernels, xd=xd) -> Tensor:
            return torch.stack([k(xd)[0] for k in kernels]).cpu()  # the gradients are computed and dropped

        peers: list[tuple[str, Callable[[], np.ndarray] | None]] = []
        mods = peer_import("cocoex")
        if mods is not None:
            mods[0].log_level("error")
            suite = mods[0].Suite("bbob", "instances: 1", f"dimensions: {dim}")
            cps = [suite.get_problem_by_function_dimension_instance(f, dim, 1) for f in fids]
            peers.append(("cocoex", lambda cps=cps, xn=xn, suite=suite: np.array([[p(v) for v in xn] for p in cps])))
        else:
            peers.append(("cocoex", None))
        mods = peer_import("ioh")
        if mods is not None:
            ps = [mods[0].get_problem(f, 1, dim, mods[0].ProblemClass.BBOB) for f in fids]
            peers.append(("ioh", lambda ps=ps, xn=xn: np.array([[p(v) for v in xn] for p in ps])))
        else:
            peers.append(("ioh", None))
        reps = 1 if sz.quick else sz.repeats
        secs, mems, outs = time_pair([ours] + [fn for _, fn in peers], device, reps)
        work = len(fids) * B
        e_ours = outs[0].numpy()
        for (name, fn), t_ref, mem_ref, e_ref in zip(peers, secs[1:], mems[1:], outs[1:]):
            dist = {"cocoex": "coco-experiment", "ioh": "ioh"}[name]
            rec = Record(8, f"bbob energy+grad, 24 functions, D={dim}, batch {B:,} vs {name}", "points/s",
                         gmbench=work / secs[0], peak_mem_mb=mems[0], ratio_meaning="speed-up",
                         reference_name=f"{name} energy only, one point at a time", peer_version=versions.get(name))
            what = (f"instance 1, {B:,} uniform points in [-5, 5]^{dim} (the same for both), float64, device "
                    f"{device.type}; gmbench: energy + gradient, analytic for f{', f'.join(map(str, analytic))}, "
                    "autograd for the others")
            if fn is None:
                rec.skipped = True
                rec.notes = f"{name} not installed (pip install {dist}); {what}"
                recs.append(rec)
                continue
            rel = float(np.max(np.abs(e_ours - e_ref) / np.maximum(1.0, np.abs(e_ref))))
            rec.reference, rec.ratio, rec.reference_peak_mem_mb = work / t_ref, t_ref / secs[0], mem_ref
            rec.notes = (f"{what}; {name}: energy only, a Python loop over points (no batch path, no gradient: a "
                         f"forward-difference gradient would cost D + 1 = {dim + 1} evaluations, "
                         f"{work / t_ref / (dim + 1):.3g} points/s with it); max relative energy difference "
                         f"{rel:.1e}; best of {reps} after a warm-up")
            rec.extra = {"max_rel_energy_diff": rel, "functions": len(fids), "batch": B, "dim": dim,
                         "analytic": analytic, "peer_fd_gradient_points_per_s": work / t_ref / (dim + 1)}
            recs.append(rec)
    return recs


def fig_sealed(sz: Sizes, device: torch.device) -> list[Record]:
    """Sealed against in-process (:mod:`gmbench.sandbox`): the same probe method (:mod:`gmbench.sandbox.probe`)
    times its BlackBox calls in this process and in a sealed child, rounds interleaved, best of each. Cases:
    schaffer-f7 energies at D = 100 in batches of 1, 100, 1,000 and 10,000 points, and a force call
    (energy and gradient) of 100 LJ-100 structures. Ratio: sealed / in-process throughput. On a shared
    machine two runs of the same in-process calls differ by 10-30 %, so each row also gives the boundary's
    cost measured within the sealed run itself: the child's time per call minus the parent's time serving
    it (timed around the parent's request handler), and ``boundary_share``, that cost's share of the
    call. CPU only (a sealed run is CPU-only)."""
    import gmbench.sandbox.probe  # noqa: F401  (registers the probe method)
    from gmbench.core.blackbox import Budget
    from gmbench.run import sealed as sealed_mod
    from gmbench.run.cell import make_cell
    from gmbench.run.execute import execute

    batches, calls = ((1, 100, 1_000), (200, 50, 5)) if sz.quick else ((1, 100, 1_000, 10_000), (3_000, 500, 100, 10))
    cases = [("schaffer-f7", {"dim": 100}, {"batches": list(batches), "calls": list(calls)}, "energy, D=100"),
             ("lj-cluster", {"problem_params": {"n": 100}},
              {"batches": [100], "calls": [5 if sz.quick else 40], "grad": True}, "LJ-100 force call")]
    rounds = 1 if sz.quick else sz.repeats
    served: dict[int, list[float]] = {}
    handle = sealed_mod.Session._handle

    def timed(self: Any, op: int, a: int, *rest: Any) -> Any:  # the parent's time per request, by batch size
        t0 = time.perf_counter()
        out = handle(self, op, a, *rest)
        if op in (1, 2):  # energy, energy and gradient (gmbench.sandbox.protocol)
            served.setdefault(a, []).append(time.perf_counter() - t0)
        return out

    recs = []
    sealed_mod.Session._handle = timed
    try:
        for problem, where, params, what in cases:
            best: dict[bool, dict[int, float]] = {False: {}, True: {}}
            for _ in range(rounds):
                for sealed in (False, True):
                    cell = make_cell(problem, "sealed-probe", Budget(), method_params=params, **where)
                    cell.sealed = sealed
                    res = execute(cell)
                    if res.row["status"] != "done":
                        raise GmbenchError(f"perf: the sealed probe failed: {res.row['error']}")
                    for row in res.trace:
                        sc = json.loads(row[8])
                        b = int(sc["batch"])
                        best[sealed][b] = max(best[sealed].get(b, 0.0), sc["points_per_s"])
            for b in params["batches"]:
                inner, outer = best[False][b], best[True][b]
                serve = min(served.pop(b, [math.nan]))  # best, as the call times are
                call = b / outer
                share = (call - serve) / call
                recs.append(Record(
                    9, f"sealed vs in-process, {what}, batch {b:,}", "points/s", gmbench=outer, reference=inner,
                    reference_name="the same calls in-process", ratio=outer / inner,
                    ratio_meaning="sealed / in-process throughput",
                    target=">= 0.9 (batches >= 1,000 points)" if b >= 1_000 or "LJ" in what else "",
                    met=(outer / inner >= 0.9) if b >= 1_000 or "LJ" in what else None,
                    notes=(f"{problem}, float64, one thread; per call {call * 1e6:.0f} us sealed, {b / inner * 1e6:.0f} "
                           f"us in-process; boundary cost {(call - serve) * 1e6:.0f} us per call ({share:.0%} of a "
                           f"sealed call; the parent served it in {serve * 1e6:.0f} us); best of {rounds} "
                           "interleaved rounds"),
                    extra={"batch": b, "sealed_s_per_call": call, "in_process_s_per_call": b / inner,
                           "parent_serve_s_per_call": serve, "boundary_share": share}))
    finally:
        sealed_mod.Session._handle = handle
    return recs


FIGURES: dict[int, tuple[str, Callable[[Sizes, torch.device], list[Record]]]] = {
    1: ("energy + gradient throughput", fig_energy_grad),
    2: ("Adam sweep", fig_adam),
    3: ("batched FIRE on KA LJ-100", fig_fire),
    4: ("neighbour-list scaling", fig_neighbors),
    5: ("StriderNET", fig_stridernet),
    6: ("harness overhead", fig_overhead),
    7: ("CMA-ES vs pycma", fig_cma),
    8: ("bbob vs COCO and IOHprofiler", fig_bbob),
    9: ("sealed runs vs in-process", fig_sealed),
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
    from gmbench.bench.peers import peer_versions

    machine.update(peer_versions())  # jax, jax_md, torch_sim, vesin, vesin_torch, ase: version or None
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
