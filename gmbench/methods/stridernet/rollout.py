"""Rollouts of the policy, the FIRE-baseline returns and the loss (Bihani et al., ICML 2023, Sec. 3.2
and 3.4; see the package docstring for the two estimators)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from gmbench.core.blackbox import BlackBox
from gmbench.models.gnn import StriderNet
from gmbench.optim.relax import fire_relax, stridernet_fire
from gmbench.methods.stridernet.config import LearnConfig


@dataclass
class Rollout:
    energies: Tensor  # (T+1, B) U(S_0) ... U(S_T)
    states: list[Tensor]  # T+1 tensors (B, 3N)
    logp: Tensor | None  # (T, B) for the score-function estimator


def rollout(net: StriderNet, bb: BlackBox, x0: Tensor, T: int, *, estimator: str = "pathwise", grad: bool = True,
            model_of: Tensor | None = None, generator: torch.Generator | None = None) -> Rollout:
    """T policy steps from ``x0`` (B, 3N), batched; per-atom energies feed the next step's features.

    ``grad``: keep what the estimator needs for the gradient (pathwise: the whole differentiable
    trajectory; reinforce: log π of every action with the states detached)."""
    st = bb.structure
    N, species, box = st.n_atoms, st.species, st.box
    B = x0.shape[0]
    std = net.config.std
    pathwise = grad and estimator == "pathwise"
    reinforce = grad and estimator == "reinforce"
    x = x0.detach()
    ae = bb.atom_energies(x, graph=pathwise)
    energies, states, logps = [ae.sum(-1)], [x], []
    for _ in range(T):
        r = x.reshape(B, N, 3)
        with torch.set_grad_enabled(grad):
            if pathwise:
                mu = net(r, ae, species, box, model_of)
            else:
                mu = net(r.detach(), ae.detach(), species, box, model_of)
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        a = mu + std * eps
        if reinforce:
            a = a.detach()
            logps.append(-0.5 * ((a - mu) ** 2).sum((1, 2)) / (std * std))
        elif not pathwise:
            a = a.detach()
        x = bb.clamp(x + a.reshape(B, -1))
        ae = bb.atom_energies(x, graph=pathwise)
        energies.append(ae.sum(-1))
        states.append(x)
    return Rollout(torch.stack(energies), states, torch.stack(logps) if logps else None)


def fire_baseline(bb: BlackBox, x0: Tensor, T: int, dt: float) -> Tensor:
    """U after T FIRE steps (StriderNET's ``FIRE_desc``) from each row of ``x0``, charged to ``bb``."""
    _, e = fire_relax(bb.energy_graph, x0.detach(), T, stridernet_fire(dt), shift=lambda r, d: bb.clamp(r + d))
    return e.detach()


def returns(energies: Tensor, u_fire: Tensor, gamma: float) -> Tensor:
    """D_t = Σ_k γ^k R_{t+k}, R_t = U_FIRE − U(S_{t+1}): (T, B)."""
    rew = u_fire[None] - energies[1:]
    T = rew.shape[0]
    out = torch.zeros_like(rew)
    acc = torch.zeros_like(rew[0])
    for t in range(T - 1, -1, -1):  # T <= 20 steps, batched over structures
        acc = rew[t] + gamma * acc
        out[t] = acc
    return out


def loss_of(ro: Rollout, u_fire: Tensor, cfg: LearnConfig, reduce: str = "mean") -> Tensor:
    """The training loss of a rollout, one value per structure reduced by mean (training) or sum
    (adaptation: every model owns one structure, so the sum leaves each model its own gradient)."""
    D = returns(ro.energies, u_fire, cfg.gamma)  # (T, B)
    if cfg.estimator == "pathwise":
        per = -D.sum(0)
    else:
        per = -(ro.logp * D.detach()).sum(0)
    return per.mean() if reduce == "mean" else per.sum()


def update(net: StriderNet, opt: torch.optim.Optimizer, loss: Tensor, clip: float) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    for p in net.parameters():
        if p.grad is not None:
            p.grad.nan_to_num_(0.0, 0.0, 0.0).clamp_(-clip, clip)
    opt.step()
