"""Adam sweep timing: gmbench's adam-sweep through a BlackBox against the naive per-rate
torch.optim.Adam loop and a vectorised-over-rates plain-torch sweep (eager and torch.compile'd),
interleaved in one process, one thread, float32, best of ``--repeats`` in CPU time (process_time: robust
to other processes on a shared machine; the compile time is printed, not counted). Best energies per
rate are compared with gmbench's (relative difference; float32 rounding differs between them).

    python scripts/bench_adam.py --fn rastrigin --points 50 --dim 100 --steps 20
"""

from __future__ import annotations

import argparse
import math
import os
import time

import torch

from gmbench.bench.references import naive_adam_sweep
from gmbench.core.blackbox import BlackBox, Budget, Clock
from gmbench.methods.adam_sweep import AdamSweep
from gmbench.problems import make_problem


def vectorised_sweep(f, starts, lrs, n_steps, b1=0.9, b2=0.999, eps=1e-8):
    """What an expert writes without tricks: x (L, P, D), autograd on the summed energy, Adam
    (torch.optim.Adam's update, in place) vectorised over rates with an (L, 1, 1) learning-rate tensor;
    the lowest energy per rate over every iterate, including the last."""
    L = len(lrs)
    lr = torch.tensor(lrs, dtype=starts.dtype, device=starts.device).view(L, 1, 1)
    x = starts.unsqueeze(0).repeat(L, 1, 1).requires_grad_(True)
    m, v = torch.zeros_like(x), torch.zeros_like(x)
    best = torch.full((L,), math.inf, dtype=starts.dtype, device=starts.device)
    for t in range(1, n_steps + 1):
        e = f(x)
        (g,) = torch.autograd.grad(e.sum(), x)
        with torch.no_grad():
            best = torch.minimum(best, e.amin(1))
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v / (1 - b2**t)).sqrt_().add_(eps)
            x.sub_(lr / (1 - b1**t) * m / denom)
    with torch.no_grad():
        return torch.minimum(best, f(x).amin(1))


def make_compiled(f, b1=0.9, b2=0.999, eps=1e-8):
    """The vectorised sweep with its whole step (energies, gradient by torch.func.grad, best, Adam) in
    one torch.compile'd function (inductor fuses it into one loop); the bias corrections enter as
    0-dim tensors so that nothing recompiles between steps."""
    grad = torch.func.grad(lambda y: f(y).sum())

    @torch.compile(dynamic=False, fullgraph=True)
    def step(x, m, v, lr, best, c1, c2):
        e, g = f(x), grad(x)
        best = torch.minimum(best, e.amin(1))
        m = m * b1 + g * (1 - b1)
        v = v * b2 + g * g * (1 - b2)
        x = x - (lr / c1) * m / ((v / c2).sqrt() + eps)
        return x, m, v, best

    @torch.compile(dynamic=False, fullgraph=True)
    def last(x, best):
        return torch.minimum(best, f(x).amin(1))

    def sweep(starts, lrs, n_steps):
        L = len(lrs)
        lr = torch.tensor(lrs, dtype=starts.dtype).view(L, 1, 1)
        x = starts.unsqueeze(0).repeat(L, 1, 1)
        m, v = torch.zeros_like(x), torch.zeros_like(x)
        best = torch.full((L,), math.inf, dtype=starts.dtype)
        for t in range(1, n_steps + 1):
            c1 = torch.tensor(1 - b1**t, dtype=starts.dtype)
            c2 = torch.tensor(1 - b2**t, dtype=starts.dtype)
            x, m, v, best = step(x, m, v, lr, best, c1, c2)
        return last(x, best)

    return sweep


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fn", default="rastrigin")
    ap.add_argument("--points", type=int, default=50)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--lrs", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip", default="", help="comma list of: naive,vec,comp")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    prob = make_problem(args.fn, dim=args.dim)
    lrs = [0.05 * (i + 1) for i in range(args.lrs)]
    f = prob.energy_fn()

    def blackbox():
        gen = torch.Generator().manual_seed(0)
        return BlackBox(f, prob.dim, prob.lower, prob.upper, torch.device("cpu"), torch.float32, gen,
                        Budget(None, None), Clock(torch.device("cpu")), prob.start_sampler(),
                        energy_and_grad=prob.energy_and_grad_fn())

    starts = blackbox().starts(args.points)
    method = AdamSweep(n_points=args.points, n_steps=args.steps, lrs=lrs, report_every=10**9)

    def ours():
        got = {}
        method.run(blackbox(), lambda x, lr, energy_seen: got.__setitem__(lr, min(got.get(lr, math.inf), energy_seen)))
        return torch.tensor([got[k] for k in sorted(got)])

    skip = set(args.skip.split(","))
    fns = {"gmbench": ours}
    if "naive" not in skip:
        fns["naive"] = lambda: naive_adam_sweep(f, starts, lrs, args.steps)
    if "vec" not in skip:
        fns["vectorised"] = lambda: vectorised_sweep(f, starts, lrs, args.steps)
    if "comp" not in skip:
        comp = make_compiled(f)
        t0 = time.perf_counter()
        comp(starts, lrs, args.steps)
        print(f"compile {time.perf_counter() - t0:.1f} s")
        fns["compiled"] = lambda: comp(starts, lrs, args.steps)
    best = {k: math.inf for k in fns}
    res = {}
    for _ in range(args.repeats):
        for k, fn in fns.items():
            t0 = time.process_time()  # CPU time of this (one-thread) process: robust to other processes' load
            res[k] = fn()
            best[k] = min(best[k], time.process_time() - t0)
    work = len(lrs) * args.points * args.dim * args.steps
    print(f"{args.fn} P={args.points} D={args.dim} L={len(lrs)} steps={args.steps} load={os.getloadavg()[0]:.2f}")
    for k in fns:
        rel = float(((res[k].double() - res["gmbench"].double()).abs() / res["gmbench"].double().abs()).max())
        print(f"  {k:11s} {best[k]*1e3:9.2f} ms  {work / best[k]:.3e} coord-steps/s  gmbench x{best[k] / best['gmbench']:.2f}"
              f"  rel.diff {rel:.1e}")


if __name__ == "__main__":
    main()
