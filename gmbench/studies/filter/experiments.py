"""The filter's three experiments: declared properties (step 1), the paper's Adam protocol (step 2) and
learnability by a plain MLP (step 3), each for one function and seed."""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch import Tensor, nn

from gmbench.core.errors import GmbenchError
from gmbench.studies.filter.config import (BOUND, DEPTH, HELD_OUT_BATCHES, LEARN_LR, NON_SMOOTH, PAPER_14, THRESHOLD,
                                           FilterConfig)


def collection() -> list[tuple[str, str]]:
    """(registry name, F number) of the 30 functions, with F18 as the paper's variant."""
    from gmbench.problems.functions.plevris import NAMES

    rows = [(n, f) for n, f in NAMES.items() if f is not None]
    return [("schaffer-f7-paper", "F18*") if n == "schaffer-f7" else (n, f) for n, f in rows]


def step1(dim: int) -> list[dict[str, Any]]:
    """One record per function of the collection: the declared properties and both decisions."""
    from gmbench.problems import PROBLEMS

    recs = []
    for name, fnum in collection():
        p = PROBLEMS.get(name).properties
        assert p is not None
        mm = p.is_multimodal(dim)
        fails = []
        if not p.continuous:
            fails.append("not continuous")
        if not p.differentiable:
            fails.append(f"not differentiable everywhere ({NON_SMOOTH.get(name, p.note or 'see its properties')})")
        if not mm:
            fails.append(f"one local minimum at D={dim} (multimodal from D={p.multimodal_min_dim})" if p.multimodal
                         else f"one local minimum ({p.note or 'analytically'})")
        if not p.global_min_defined:
            fails.append(f"global minimum not attained in R^D ({p.note})" if p.note else
                         "global minimum not attained in R^D")
        if not p.unique_minimizer:
            fails.append(f"global minimizer not unique ({p.note})" if p.note else "global minimizer not unique")
        declared = not fails
        paper = name in PAPER_14
        loose = (p.continuous and p.differentiable and mm and p.global_min_defined)  # without uniqueness
        if declared == paper:
            diff = ""
        elif paper:
            diff = "the paper keeps it; declared properties drop it: " + "; ".join(fails)
        else:
            diff = "declared properties keep it; the paper drops it (it gives no reason)"
        recs.append({
            "function": name, "F": fnum, "continuous": p.continuous, "differentiable": p.differentiable,
            "multimodal": mm, "global_min_defined": p.global_min_defined, "unique_minimizer": p.unique_minimizer,
            "declared": declared, "paper": paper, "loose": loose, "fails": fails, "difference": diff,
            "note": p.note,
        })
    return recs


# ------------------------------------------------------------------------------------------------
# step 2: the paper's Adam protocol
# ------------------------------------------------------------------------------------------------


def step2_one(name: str, cfg: FilterConfig, seed: int) -> dict[str, Any]:
    """Adam sweep on one function; the prediction is the lowest-energy candidate."""
    from gmbench.core.blackbox import BlackBox, Budget
    from gmbench.methods.adam_sweep import AdamSweep
    from gmbench.problems import make_problem
    from gmbench.run.recorder import Inbox, Recorder

    t0 = time.perf_counter()
    try:
        problem = make_problem(name, dim=cfg.dim, bounds=(-BOUND, BOUND))
    except GmbenchError as exc:  # e.g. x* outside [-100, 100]^D
        return {"error": str(exc), "kept": None, "wall_s": 0.0}
    dev = torch.device(cfg.device)
    bb = BlackBox.from_problem(problem, Budget(None, None), seed, torch.float32, dev)
    inbox = Inbox(bb)
    AdamSweep(n_points=cfg.points, n_steps=cfg.steps, lrs=cfg.lrs()).run(bb, inbox)
    rec = Recorder(problem)
    rec.assess(inbox.candidates)
    out: dict[str, Any] = {"n_candidates": len(rec.rows), "n_grad": bb.n_grad, "wall_s": time.perf_counter() - t0,
                           "nearest_exact": rec.nearest_exact}
    best = rec.prediction()  # the harness's one rule (lowest energy, inside the bounds first)
    if best is None:
        out.update(error="no candidate with a finite energy", kept=True)
        return out
    dn, dx = best.dist_nearest, best.dist
    out.update(energy=best.energy, dist_nearest=dn, dist_xstar=dx, lr=best.scalars.get("lr"), oob=best.oob,
               min_dist_nearest=min((r.dist_nearest for r in rec.rows if r.dist_nearest is not None), default=None),
               kept=None if dn is None else bool(dn > THRESHOLD), xstar_kept=None if dx is None else bool(dx > THRESHOLD))
    return out


# ------------------------------------------------------------------------------------------------
# step 3: learnability
# ------------------------------------------------------------------------------------------------


def _mlp(d: int, width: int, g: torch.Generator, device: torch.device) -> nn.Sequential:
    """in -> width x4 -> 1, ReLU; PyTorch's default Linear init (U(+-1/sqrt(fan_in))) drawn from ``g``."""
    sizes = [d] + [width] * (DEPTH - 1) + [1]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.utils.skip_init(nn.Linear, a, b, device=device)  # no draw from the global RNG
        bound = 1.0 / math.sqrt(a)
        with torch.no_grad():
            lin.weight.uniform_(-bound, bound, generator=g)
            lin.bias.uniform_(-bound, bound, generator=g)
        layers.append(lin)
        if i < DEPTH - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def step3_one(name: str, cfg: FilterConfig, seed: int) -> dict[str, Any]:
    """Train the plain MLP on one function for one seed; learnable if held-out loss < batch-mean loss."""
    from gmbench.problems import make_problem

    t0 = time.perf_counter()
    try:
        problem = make_problem(name, dim=cfg.learn_dim, bounds=(-BOUND, BOUND))
    except GmbenchError as exc:
        return {"error": str(exc), "learnable": None, "wall_s": 0.0}
    f = problem.energy_fn()
    dev = torch.device(cfg.device)
    g = torch.Generator(device=dev).manual_seed(seed)
    d, n = cfg.learn_dim, cfg.learn_points

    def sample(k: int) -> tuple[Tensor, Tensor]:
        x = (torch.rand((k, d), generator=g, device=dev, dtype=torch.float32) * 2.0 - 1.0) * BOUND
        with torch.no_grad():
            y = f(x.to(torch.float64))  # targets in float64, normalised, then float32
        return x, y

    _, y0 = sample(max(10000, 10 * n))
    mu, sd = float(y0.mean()), float(y0.std())
    out: dict[str, Any] = {"norm_mean": mu, "norm_std": sd}
    if not (math.isfinite(mu) and math.isfinite(sd)) or sd <= 0:
        out.update(constant=True, loss=None, baseline=0.0, ratio=None, learnable=False,
                   note=("f is constant on the sample (std 0): nothing to learn" if sd == 0
                         else "non-finite values on the sample"), wall_s=time.perf_counter() - t0)
        return out

    def norm(y: Tensor) -> Tensor:
        return ((y - mu) / sd).to(torch.float32)

    net = _mlp(d, cfg.width, g, dev)
    opt = torch.optim.Adam(net.parameters(), lr=LEARN_LR)
    train_loss, train_base = [], []
    for _ in range(cfg.learn_steps):
        x, y = sample(n)
        yn = norm(y)
        loss = torch.mean((net(x).squeeze(-1) - yn) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        train_loss.append(float(loss.detach()))
        train_base.append(float(yn.var(unbiased=False)))
    losses, bases = [], []
    with torch.no_grad():
        for _ in range(HELD_OUT_BATCHES):
            x, y = sample(n)
            yn = norm(y)
            losses.append(float(torch.mean((net(x).squeeze(-1) - yn) ** 2)))
            bases.append(float(yn.var(unbiased=False)))
    loss_v, base_v = sum(losses) / len(losses), sum(bases) / len(bases)
    last = min(10, len(train_loss))
    out.update(constant=False, loss=loss_v, baseline=base_v,
               ratio=loss_v / base_v if base_v > 0 else None,
               learnable=bool(math.isfinite(loss_v) and loss_v < base_v),
               train_loss_last10=sum(train_loss[-last:]) / last, train_baseline_last10=sum(train_base[-last:]) / last,
               wall_s=time.perf_counter() - t0)
    return out
