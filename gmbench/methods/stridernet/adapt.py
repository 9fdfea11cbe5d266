"""Adapting a trained policy to each target structure (Bihani et al., ICML 2023, Sec. 3.5 and 4.5)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from gmbench.core.blackbox import BlackBox, BudgetExhausted
from gmbench.models.gnn import StriderNet
from gmbench.methods.stridernet.config import AdaptConfig, check_estimator
from gmbench.methods.stridernet.rollout import fire_baseline, loss_of, rollout, update


@dataclass
class AdaptResult:
    best_energy: Tensor  # (K,) lowest energy per target over epochs and seeds
    best_x: Tensor  # (K, 3N)
    best_seed: Tensor  # (K,)
    trace: list[list[float]]  # per epoch: best energy so far per target
    epochs_done: int
    cost: dict[str, float]


def adapt(net: StriderNet, bb: BlackBox, targets: Tensor, cfg: AdaptConfig, *,
          on_improve: Callable[[int, Tensor, float], None] | None = None,
          on_epoch: Callable[[int], None] | None = None,
          generator: torch.Generator | None = None) -> AdaptResult:
    """Adapt a private copy of ``net`` per target and seed (``targets``: (K, 3N)); see the module doc.

    ``on_improve(k, x, e)`` is called after an epoch for every target whose best energy dropped.
    Improvements are reported right after each rollout (before the update). When the time left is
    less than 1.5 epochs, it raises ``BudgetExhausted`` itself rather than be killed mid-update."""
    check_estimator(cfg.estimator)
    K, S = targets.shape[0], cfg.seeds
    M = K * S
    models = net.replicate(M) if net.n_models == 1 else net
    opt = torch.optim.Adam(models.parameters(), lr=cfg.lr)
    model_of = torch.arange(M, device=bb.device)
    x = targets.detach().repeat_interleave(S, dim=0).to(bb.device, bb.dtype)
    best_e = torch.full((M,), math.inf, dtype=bb.dtype, device=bb.device)
    best_x = x.clone()
    t0, e0 = time.perf_counter(), bb.n_energy
    trace: list[list[float]] = []
    reported = torch.full((K,), math.inf, dtype=bb.dtype)
    epoch = 0
    last_epoch_s = 0.0
    for epoch in range(1, cfg.epochs + 1):
        te = time.perf_counter()
        if bb.time_left() < 1.5 * last_epoch_s:  # an epoch would not finish: stop at a clean point
            raise BudgetExhausted("time")
        if on_epoch is not None:
            on_epoch(epoch)
        u_fire = (fire_baseline(bb, x, cfg.T, cfg.fire_dt) if cfg.estimator == "reinforce"
                  else torch.zeros(M, dtype=bb.dtype, device=bb.device))  # cancels from the pathwise gradient
        ro = rollout(models, bb, x, cfg.T, estimator=cfg.estimator, grad=True, model_of=model_of, generator=generator)
        E = ro.energies.detach()  # (T+1, M)
        E = torch.where(torch.isfinite(E), E, torch.full_like(E, math.inf))
        X = torch.stack([s.detach() for s in ro.states])  # (T+1, M, 3N)
        t_best = torch.argmin(E, 0)
        e_ep = E.gather(0, t_best[None])[0]
        better = e_ep < best_e
        best_e = torch.where(better, e_ep, best_e)
        best_x = torch.where(better[:, None], X[t_best, torch.arange(M)], best_x)
        # restart from the lowest-energy structure among the last three states
        last = E[-cfg.restart_from_last:]
        t_last = torch.argmin(last, 0) + (E.shape[0] - last.shape[0])
        x = X[t_last, torch.arange(M)].clone()
        tk = best_e.reshape(K, S).min(1)
        trace.append(tk.values.tolist())
        if on_improve is not None:  # before the update, so a budget stop during it loses nothing
            cpu = tk.values.cpu()
            for k in torch.nonzero(cpu < reported).flatten().tolist():
                reported[k] = cpu[k]
                on_improve(k, best_x[k * S + int(tk.indices[k])], float(cpu[k]))
        loss = loss_of(ro, u_fire, cfg, reduce="sum")
        update(models, opt, loss, cfg.grad_clip)
        del ro, loss
        last_epoch_s = time.perf_counter() - te
    per_target = best_e.reshape(K, S)
    tk = per_target.min(1)
    bx = best_x.reshape(K, S, -1)[torch.arange(K), tk.indices]
    cost = {"adapt_wall_s": time.perf_counter() - t0, "adapt_epochs": float(epoch),
            "adapt_evals": float(bb.n_energy - e0)}
    return AdaptResult(tk.values, bx, tk.indices, trace, epoch, cost)
