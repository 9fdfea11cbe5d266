"""How reports name a stored problem: one rule per label, from the stored configuration alone."""

from __future__ import annotations

import math
from typing import Any


def instance_label(cfg: dict[str, Any]) -> str:
    """How reports name a problem's instance: "" for the published function, else e.g.
    " instance 2 (rotated)"; a secret-derived instance is marked "secret"."""
    k = cfg.get("instance")
    if not k:
        return ""
    extras = [w for w, on in (("rotated", cfg.get("rotate")), ("secret", cfg.get("secret_sha256"))) if on]
    return f" instance {k}" + (f" ({', '.join(extras)})" if extras else "")


def _dim_bounds(cfg: dict[str, Any], with_bounds: bool = True) -> str:
    s = ""
    dim = cfg.get("dim")
    if dim is not None and not (isinstance(dim, float) and math.isnan(dim)):
        s += f" (D={int(dim)})"
    if with_bounds and cfg.get("bounds"):
        s += f" on [{cfg['bounds'][0]:g}, {cfg['bounds'][1]:g}]^D"
    return s


def problem_title(cfg: dict[str, Any]) -> str:
    """One table's title: 'alpine1 (D=100) on [-100, 100]^D instance 2 (rotated)' (one instance)."""
    return f"{cfg.get('name')}{_dim_bounds(cfg)}{instance_label(cfg)}"


def problem_label(cfg: dict[str, Any]) -> str:
    """A problem pooled over its instances (targets, ECDFs, exports): 'alpine1 (D=100) on [-100, 100]^D',
    a rotated variant labelled apart; atomistic systems without their bounds."""
    s = f"{cfg.get('name')}{_dim_bounds(cfg, with_bounds='n_atoms' not in cfg)}"
    return s + (" rotated" if cfg.get("rotate") else "")
