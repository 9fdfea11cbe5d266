"""The filter's settings: the paper's values and lists (Appendix A.1), the quick scale, validation."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import torch

from gmbench.core.errors import GmbenchError

PROTOCOL = "filter/1"  # bump when a step's computation changes (invalidates stored rows)
BOUND = 100.0
THRESHOLD = 5.0
DEPTH = 5
LEARN_LR = 1e-3
HELD_OUT_BATCHES = 10

#: the paper's lists (Appendix A.1), as registry names, in the paper's order
PAPER_14 = [
    "drop-wave", "alpine1", "ackley", "griewank", "rastrigin", "happycat", "hgbat", "rosenbrock",
    "schaffer-f7-paper", "expanded-schaffer-f6", "salomon", "xin-she-yang-1", "modified-xin-she-yang-3",
    "modified-xin-she-yang-5",
]
PAPER_8 = [
    "alpine1", "rastrigin", "schaffer-f7-paper", "expanded-schaffer-f6", "xin-she-yang-1",
    "modified-xin-she-yang-3", "modified-xin-she-yang-5", "ackley",
]
PAPER_2 = ["alpine1", "schaffer-f7-paper"]

#: where the paper's non-smooth functions fail to be differentiable (from the formulas of Plevris & Solorzano, Data 7(4), 46, 2022)
NON_SMOOTH = {
    "alpine1": "kinks at x_i = 0 and sin x_i = -0.1",
    "ackley": "at 0 only",
    "happycat": "on the sphere ||x||^2 = D, which contains x*",
    "hgbat": "on two spheres ||x -+ 1/2||^2 = D/4, one containing x*",
    "schaffer-f7-paper": "where x_i = x_{i+1} = 0, including x*",
    "xin-she-yang-1": "where x_i = 0, including x*",
    "salomon": "at 0 only",
    "modified-xin-she-yang-5": "where x_i = 0, including x*",
}

SCALES: dict[str, dict[str, Any]] = {
    "paper": dict(dim=1000, points=10000, steps=10000, lr_start=0.05, lr_stop=5.0, lr_step=0.05,
                  learn_dim=100, learn_steps=1000, learn_points=1000, width=1000, seeds=(0, 1, 2)),
    # minutes on a 2-core CPU; keeps the paper's 1000 training steps (fewer leave every ratio near 1)
    "quick": dict(dim=100, points=200, steps=2000, lr_start=0.1, lr_stop=5.0, lr_step=0.7,
                  learn_dim=20, learn_steps=1000, learn_points=256, width=128, seeds=(0, 1, 2)),
}


@dataclass(frozen=True)
class FilterConfig:
    scale: str = "paper"
    dim: int = 1000
    points: int = 10000
    steps: int = 10000
    lr_start: float = 0.05
    lr_stop: float = 5.0
    lr_step: float = 0.05
    learn_dim: int = 100
    learn_steps: int = 1000
    learn_points: int = 1000
    width: int = 1000
    seeds: tuple[int, ...] = (0, 1, 2)
    device: str = "cpu"
    step2_from: str = "paper"
    until: int = 3

    def lrs(self) -> list[float]:
        from gmbench.methods.adam_sweep import lr_grid

        return lr_grid(self.lr_start, self.lr_stop, self.lr_step)

    def step_config(self, step: int) -> dict[str, Any]:
        """What defines a step's stored rows (its hash); other settings do not invalidate them."""
        if step == 1:
            return {"protocol": PROTOCOL, "step": 1, "dim": self.dim}
        if step == 2:
            return {"protocol": PROTOCOL, "step": 2, "dim": self.dim, "points": self.points, "steps": self.steps,
                    "lrs": self.lrs(), "bound": BOUND, "threshold": THRESHOLD, "dtype": "float32",
                    "device": torch.device(self.device).type}
        return {"protocol": PROTOCOL, "step": 3, "dim": self.learn_dim, "steps": self.learn_steps,
                "points": self.learn_points, "width": self.width, "depth": DEPTH, "lr": LEARN_LR, "bound": BOUND,
                "held_out_batches": HELD_OUT_BATCHES, "device": torch.device(self.device).type}

    def step_hash(self, step: int) -> str:
        blob = json.dumps(self.step_config(step), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def make_config(scale: str = "paper", **overrides: Any) -> FilterConfig:
    """The preset ``scale`` with every non-None override applied, validated (GmbenchError if bad)."""
    if scale not in SCALES:
        raise GmbenchError(f"unknown --scale {scale!r} (use {' or '.join(SCALES)})")
    values: dict[str, Any] = dict(SCALES[scale])
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["seeds"] = tuple(values["seeds"])
    cfg = FilterConfig(scale=scale, **values)
    _validate(cfg)
    return cfg


def _validate(cfg: FilterConfig) -> None:
    for flag, v, lo in (("--dim", cfg.dim, 2), ("--points", cfg.points, 1), ("--steps", cfg.steps, 1),
                        ("--learn-dim", cfg.learn_dim, 2), ("--learn-steps", cfg.learn_steps, 1),
                        ("--learn-points", cfg.learn_points, 2), ("--width", cfg.width, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            why = " (rosenbrock and schaffer's f7 need two coordinates)" if flag in ("--dim", "--learn-dim") else ""
            raise GmbenchError(f"bad {flag} {v!r}: must be an integer >= {lo}{why}")
    for flag, v in (("--lr-start", cfg.lr_start), ("--lr-stop", cfg.lr_stop), ("--lr-step", cfg.lr_step)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise GmbenchError(f"bad {flag} {v!r}: must be a positive number")
    if cfg.lr_stop < cfg.lr_start:
        raise GmbenchError(f"bad learning-rate grid: --lr-stop {cfg.lr_stop} is below --lr-start {cfg.lr_start}")
    if len(cfg.lrs()) > 100000:
        raise GmbenchError("bad learning-rate grid: more than 100,000 rates (check --lr-step)")
    if not cfg.seeds or any(s < 0 for s in cfg.seeds) or len(set(cfg.seeds)) != len(cfg.seeds):
        raise GmbenchError(f"bad --seeds {list(cfg.seeds)!r}: need distinct non-negative seeds")
    if cfg.step2_from not in ("paper", "ours"):
        raise GmbenchError(f"bad --step2-from {cfg.step2_from!r} (use paper or ours)")
    if cfg.until not in (1, 2, 3):
        raise GmbenchError(f"bad --until {cfg.until!r} (use 1, 2 or 3)")
