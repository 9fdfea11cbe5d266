"""Gradient descent, x ← x − lr ∇U(x), as a batched ``(init, step)`` pair (jax-md's
``minimize.gradient_descent`` shape): ``gd_init(x) -> state``, ``gd_step(state, e, g, lr) -> state``
with ``e``, ``g`` the energies and gradients at ``state.x`` (rows are independent systems)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class GDState:
    x: Tensor  # (B, ...)
    steps: int = 0


def gd_init(x: Tensor) -> GDState:
    return GDState(x.detach())


def gd_step(state: GDState, e: Tensor | None, g: Tensor, lr: float) -> GDState:
    """One step of every row (``e`` unused); returns a new state."""
    return GDState(state.x - lr * g, state.steps + 1)
