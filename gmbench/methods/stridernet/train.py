"""Training a policy on starting structures (Bihani et al., ICML 2023, Sec. 3.5 and Table 5)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor

from gmbench.core.blackbox import BlackBox
from gmbench.core.errors import GmbenchError
from gmbench.models.gnn import PolicyConfig, StriderNet
from gmbench.methods.stridernet.config import TrainConfig, check_estimator, system_of
from gmbench.methods.stridernet.rollout import fire_baseline, loss_of, rollout, update


@dataclass
class TrainResult:
    net: StriderNet
    history: list[dict[str, float]] = field(default_factory=list)
    best_val: float = math.inf
    best_epoch: int = -1
    cost: dict[str, float] = field(default_factory=dict)


def train(bb: BlackBox, cfg: TrainConfig, structures: Tensor, net: StriderNet | None = None,
          log: Callable[[dict[str, float]], None] | None = None, time_limit: float | None = None) -> TrainResult:
    """Train a policy on ``structures`` (F, 3N) (split 75:25 into training and validation)."""
    check_estimator(cfg.estimator)
    system = system_of(bb)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator(device=bb.device).manual_seed(cfg.seed)
    if net is None:
        net = StriderNet(PolicyConfig(system=system)).to(bb.device)
    F = structures.shape[0]
    if F < 2:
        raise GmbenchError(f"StriderNET training needs at least 2 structures, got {F}")
    perm = torch.randperm(F, generator=torch.Generator().manual_seed(cfg.seed))
    n_val = max(1, int(round(cfg.val_fraction * F)))
    val, tr = structures[perm[:n_val]], structures[perm[n_val:]]
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    res = TrainResult(net)
    best_state = {k: v.clone() for k, v in net.state_dict().items()}
    t0, e0 = time.perf_counter(), bb.n_energy
    per_step = cfg.batch * cfg.accumulate
    order = torch.randperm(tr.shape[0], generator=gen if gen.device.type == "cpu" else None)
    cursor = 0
    for epoch in range(cfg.epochs + 1):
        if epoch % cfg.val_every == 0 or epoch == cfg.epochs:
            with torch.no_grad():
                ro = rollout(net, bb, val, cfg.T_val, estimator=cfg.estimator, grad=False, generator=gen)
            metric = float((ro.energies[-1] - ro.energies[0]).mean())
            row = {"epoch": epoch, "val_dE": metric, "val_E_end": float(ro.energies[-1].mean()),
                   "wall_s": time.perf_counter() - t0, "evals": bb.n_energy - e0}
            if metric < res.best_val:
                res.best_val, res.best_epoch = metric, epoch
                best_state = {k: v.clone() for k, v in net.state_dict().items()}
            res.history.append(row)
            if log:
                log(row)
        if epoch == cfg.epochs or (time_limit is not None and time.perf_counter() - t0 > time_limit):
            break
        idx = order[(torch.arange(per_step) + cursor) % order.numel()]
        cursor += per_step
        x0 = tr[idx]
        u_fire = fire_baseline(bb, x0, cfg.T, cfg.fire_dt)
        ro = rollout(net, bb, x0, cfg.T, estimator=cfg.estimator, grad=True, generator=gen)
        loss = loss_of(ro, u_fire, cfg)
        update(net, opt, loss, cfg.grad_clip)
        row = {"epoch": epoch + 1, "loss": float(loss.detach()), "reward_end": float((u_fire - ro.energies[-1].detach()).mean()),
               "dE": float((ro.energies[-1] - ro.energies[0]).detach().mean())}
        res.history.append(row)
    net.load_state_dict(best_state)
    res.cost = {"train_wall_s": time.perf_counter() - t0, "train_epochs": float(epoch),
                "train_evals": float(bb.n_energy - e0), "train_structures": float(tr.shape[0]),
                "val_structures": float(n_val)}
    return res
