"""Policies on disk, and a BlackBox outside the harness (CLI training, transfer, benches)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gmbench.core.blackbox import BlackBox, Budget
from gmbench.core.errors import GmbenchError
from gmbench.models.gnn import PolicyConfig, StriderNet

MODEL_FORMAT = "gmbench-stridernet-1"


def save_model(path: str | Path, net: StriderNet, meta: dict[str, Any]) -> None:
    """``torch.save`` of the weights, the network config and metadata (training cost, config, data)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    single = net if net.n_models == 1 else net.select(0)
    torch.save({"format": MODEL_FORMAT, "config": single.config.as_dict(),
                "state_dict": {k: v.cpu() for k, v in single.state_dict().items()}, "meta": meta}, path)


def load_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[StriderNet, dict[str, Any]]:
    path = Path(path)
    if not path.is_file():
        raise GmbenchError(f"StriderNET model file not found: {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt or foreign file
        raise GmbenchError(f"cannot read StriderNET model {path}: {exc.__class__.__name__}") from None
    if not isinstance(blob, dict) or blob.get("format") != MODEL_FORMAT:
        raise GmbenchError(f"{path} is not a gmbench StriderNET model")
    net = StriderNet(PolicyConfig(**blob["config"]))
    net.load_state_dict(blob["state_dict"])
    return net.to(device), dict(blob.get("meta", {}))


def open_blackbox(problem, seed: int = 0, device: str | torch.device = "cpu", budget: Budget | None = None) -> BlackBox:
    """An (unlimited by default) float64 BlackBox on ``problem``, as the runner builds one."""
    device = torch.device(device)
    problem.prepare()
    return BlackBox.from_problem(problem, budget, seed, torch.float64, device)
