"""The update rule's settings (Bihani et al., ICML 2023, App. D, Table 5) and small checks."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gmbench.core.blackbox import BlackBox
from gmbench.core.errors import GmbenchError
from gmbench.models.gnn import SYSTEMS

ESTIMATORS = ("pathwise", "reinforce")


@dataclass
class LearnConfig:
    """The update rule shared by training and adaptation (paper Table 5)."""

    estimator: str = "pathwise"
    T: int = 15
    gamma: float = 0.9
    lr: float = 5e-3
    grad_clip: float = 0.1  # element-wise
    fire_dt: float = 0.01  # FIRE baseline inside the reward (dt_max = 4 dt)


@dataclass
class TrainConfig(LearnConfig):
    epochs: int = 800
    batch: int = 4
    accumulate: int = 2
    val_fraction: float = 0.25
    val_every: int = 20
    T_val: int = 20
    seed: int = 0


@dataclass
class AdaptConfig(LearnConfig):
    epochs: int = 1000
    seeds: int = 10
    restart_from_last: int = 3


def check_estimator(name: str) -> str:
    if name not in ESTIMATORS:
        raise GmbenchError(f"unknown StriderNET estimator {name!r} (choose from {', '.join(ESTIMATORS)})")
    return name


def system_of(bb: BlackBox) -> str:
    s = bb.structure
    if s is None or s.system not in SYSTEMS:
        raise GmbenchError(
            f"StriderNET needs an atomistic problem of {', '.join(SYSTEMS)}; got {s.system if s else 'a function'}")
    return s.system


def config_dict(cfg: Any) -> dict[str, Any]:
    return asdict(cfg)
