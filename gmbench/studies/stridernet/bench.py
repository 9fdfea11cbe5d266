"""Timing benches of the policy (for ``gmbench perf``; Bihani et al., ICML 2023, App. I, Table 10)."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from gmbench.core.budget import synchronize
from gmbench.models.gnn import PolicyConfig, StriderNet
from gmbench.problems import make_problem
from gmbench.methods.stridernet.adapt import adapt
from gmbench.methods.stridernet.config import AdaptConfig
from gmbench.methods.stridernet.model_io import load_model, open_blackbox
from gmbench.methods.stridernet.rollout import rollout


def _bench_setup(n_atoms: int, batch: int, device: str | torch.device, model: str | Path | None):
    problem = make_problem("ka-lj", n=n_atoms, starts="md", pool=max(batch, 10))
    bb = open_blackbox(problem, 0, device)
    if model is not None:
        net, _ = load_model(model, bb.device)
    else:
        torch.manual_seed(0)
        net = StriderNet(PolicyConfig(system="ka-lj")).to(bb.device)
    return bb, net, bb.starts(batch)


def bench_forward(n_steps: int = 100, batch: int = 1, n_atoms: int = 100, device: str | torch.device = "cpu",
                  model: str | Path | None = None) -> float:
    """Seconds for ``n_steps`` StriderNET forward steps (graph build, per-atom energies, network,
    sampled move) on ``batch`` KA-LJ structures of ``n_atoms`` atoms (paper Table 10: 54.3 s for 100
    steps on LJ-100). MD starting frames are generated (and cached) before the clock starts."""
    bb, net, x = _bench_setup(n_atoms, batch, device, model)
    rollout(net, bb, x, 2, grad=False)  # warm-up
    synchronize(bb.device)
    t = time.perf_counter()
    with torch.no_grad():
        rollout(net, bb, x, n_steps, grad=False)
    synchronize(bb.device)
    return time.perf_counter() - t


def bench_adapt(n_epochs: int = 100, T: int = 15, n_atoms: int = 100, device: str | torch.device = "cpu",
                model: str | Path | None = None, estimator: str = "pathwise") -> float:
    """Seconds for ``n_epochs`` adaptation epochs (one T-step trajectory and one update each) on one
    KA-LJ structure with one seed (paper Table 10: 1170 s per 100 epochs on LJ-100)."""
    bb, net, x = _bench_setup(n_atoms, 1, device, model)
    cfg = AdaptConfig(epochs=1, seeds=1, T=T, estimator=estimator)
    adapt(net, bb, x, cfg)  # warm-up
    cfg = AdaptConfig(epochs=n_epochs, seeds=1, T=T, estimator=estimator)
    synchronize(bb.device)
    t = time.perf_counter()
    adapt(net, bb, x, cfg)
    synchronize(bb.device)
    return time.perf_counter() - t
