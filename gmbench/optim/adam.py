"""Adam (Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, Algorithm 1) on raw
coordinates, batched over rows, as an ``(init, step)`` pair: ``adam_init(x) -> state``,
``adam_step(state, e, g, lr, ...) -> state`` with ``e``, ``g`` the energies and gradients at ``state.x``.

The update itself lives once, in :func:`adam_update_` (in place, no temporaries beyond one buffer):
the ``adam`` and ``adam-sweep`` methods and StriderNET's Adam baseline all call it. With t the step
number (from 1), m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², x ← x − lr m̂ / (sqrt(v̂) + ε), m̂ = m/(1−β₁ᵗ),
v̂ = v/(1−β₂ᵗ) (torch.optim.Adam's and optax's form: ε added outside the square root, after the
bias correction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


def adam_update_(x: Tensor, m: Tensor, v: Tensor, g: Tensor, t: int, lr: float | Tensor, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, buf: Tensor | None = None) -> Tensor:
    """Step ``t`` (1, 2, ...) of Adam, updating ``x``, ``m`` and ``v`` in place; returns ``x``.

    ``lr`` is a number or a tensor broadcastable against ``x`` (e.g. one learning rate per leading
    row, ``(L, 1, 1)``). ``buf``: optional scratch like ``x``. Written as
    x −= lr·s₂/(1−β₁ᵗ) · m / (sqrt(v) + ε·s₂), s₂ = sqrt(1−β₂ᵗ), which equals the bias-corrected form."""
    m.lerp_(g, 1 - beta1)
    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    s2 = math.sqrt(1 - beta2**t)
    if buf is None:
        buf = torch.empty_like(x)
    torch.sqrt(v, out=buf).add_(eps * s2)
    torch.div(m, buf, out=buf)
    c = s2 / (1 - beta1**t)
    if isinstance(lr, Tensor):
        x.addcmul_(buf, lr, value=-c)
    else:
        x.add_(buf, alpha=-lr * c)
    return x


@dataclass
class AdamState:
    x: Tensor  # (B, ...)
    m: Tensor
    v: Tensor
    steps: int = 0  # t of the last update


def adam_init(x: Tensor) -> AdamState:
    """Moments 0 at a private copy of ``x`` (the step updates it in place)."""
    x = x.detach().clone()
    return AdamState(x, torch.zeros_like(x), torch.zeros_like(x))


def adam_step(state: AdamState, e: Tensor | None, g: Tensor, lr: float | Tensor, beta1: float = 0.9,
              beta2: float = 0.999, eps: float = 1e-8) -> AdamState:
    """One Adam step of every row (``e`` unused). Updates ``state`` in place and returns it."""
    state.steps += 1
    adam_update_(state.x, state.m, state.v, g, state.steps, lr, beta1, beta2, eps)
    return state
