"""The one energy-and-gradient helper: U(x) and ∇U(x) of a batch by reverse-mode autodiff."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor


def energy_and_grad(fn: Callable[[Tensor], Tensor], x: Tensor, create_graph: bool = False) -> tuple[Tensor, Tensor]:
    """``(e, g)``: the energies ``e = fn(x)`` (one per batch row, any shape ``fn`` returns) and the
    gradient ``g = ∂(Σ e)/∂x`` (shaped like ``x``; rows are independent, so row i of ``g`` is ∇e_i).

    Works under ``torch.no_grad()``. By default ``x`` is detached first and ``e``, ``g`` come back
    detached (no graph is kept). With ``create_graph`` the graph of ``x`` is kept (``x`` itself is
    used if it already requires grad) and ``e``, ``g`` are differentiable (double backward)."""
    with torch.enable_grad():
        if create_graph and x.requires_grad:
            xr = x
        else:
            xr = x.detach().requires_grad_(True)
        e = fn(xr)
        (g,) = torch.autograd.grad(e.sum(), xr, create_graph=create_graph)
    if create_graph:
        return e, g
    return e.detach(), g


def energy_and_forces(energy_fn: Callable[[Tensor], Tensor], r: Tensor, analytic: bool = True
                      ) -> tuple[Tensor, Tensor]:
    """The one energy -> forces protocol: ``(energies, forces = -dE/dr)`` at ``r``, from the potential's
    own ``energy_and_forces(r)`` when it has one and it answers (pair potentials with a registered pair
    derivative: no autograd graph), else minus the autograd gradient. ``analytic=False`` always uses
    autograd (what generated the cached MD start structures, kept bit for bit)."""
    if analytic:
        own = getattr(energy_fn, "energy_and_forces", None)
        out = own(r) if own is not None else None
        if out is not None:
            return out
    e, g = energy_and_grad(energy_fn, r)
    return e, -g
