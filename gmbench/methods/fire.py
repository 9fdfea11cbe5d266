"""FIRE (Bitzek, Koskinen, Gähler, Moseler & Gumbsch, PRL 97, 170201, 2006), batched.

Each point of the batch is its own FIRE system with its own dt, α and counter, so a batch of B
points (or B atomic structures flattened to 3N coordinates) relaxes in one tensor program. The
step, in both orderings, is :mod:`gmbench.optim.fire`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from gmbench.core.blackbox import BlackBox
from gmbench.methods.base import Report, register_method
from gmbench.methods.common import LocalMethod, stridernet_presets
from gmbench.optim.fire import FireParams, FireState, fire_init, fire_step


@register_method("fire")
@dataclass
class Fire(LocalMethod):
    """Batched FIRE from ``n_points`` starts, rounds with restarts (see ``gd``).

    Two step orderings (``variant``): ``"ase"`` (default; mix, Euler step, move, optional
    ``max_step`` cap, as ASE's FIRE) and ``"jax-md"`` (velocity Verlet, power before mixing, no cap:
    jax-md 0.2.24's ``fire_descent``, which StriderNET's baseline uses).
    Defaults are Bitzek et al.'s / ASE's (dt 0.1, dt_max 1.0, N_min 5, f_inc 1.1, f_dec 0.5,
    α_start 0.1, f_α 0.99); ``max_step`` (ASE caps each step at 0.2 Å) is off by default for the
    analytic functions, whose scale is the box. ``preset: stridernet-lj | -sw | -csh`` is
    StriderNET's baseline: jax-md order, dt_start 0.01 / 0.5 / 5e-3 (paper Table 6) with its code's
    dt_max = 4 dt_start (the paper's "0.4" diverges on LJ; the authors' ``FIRE_desc``), 1000 / 1000 /
    2000 steps, 10 structures. With ``clamp`` iterates are projected onto the bounds (the velocity
    of a clipped coordinate is zeroed in the ASE variant) or wrapped into a periodic box.
    """

    PRESETS: ClassVar[dict[str, dict]] = stridernet_presets(
        lambda row: {"variant": "jax-md", "dt_start": row.fire_dt, "dt_max": 4.0 * row.fire_dt})

    variant: str = "ase"
    dt_start: float = 0.1
    dt_max: float = 1.0
    n_min: int = 5
    f_inc: float = 1.1
    f_dec: float = 0.5
    alpha_start: float = 0.1
    f_alpha: float = 0.99
    max_step: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.variant not in ("ase", "jax-md"):
            raise ValueError(f"variant must be 'ase' or 'jax-md', got {self.variant!r}")
        if self.variant == "jax-md" and self.max_step is not None:
            raise ValueError("max_step applies to the 'ase' variant only (jax-md's FIRE has no step cap)")

    def fire_params(self) -> FireParams:
        """The step parameters of :mod:`gmbench.optim.fire` (``variant`` is its flavour)."""
        return FireParams(self.dt_start, self.dt_max, self.n_min, self.f_inc, self.f_dec, self.alpha_start,
                          self.f_alpha, flavour=self.variant, max_step=self.max_step)

    def run(self, bb: BlackBox, report: Report) -> None:
        params = self.fire_params()
        if self.variant == "jax-md":
            shift = (lambda r, dr: bb.clamp(r + dr)) if self.clamp else None

            def step_j(s: FireState, e, g) -> FireState:
                return fire_step(s, e, g, params, shift)

            self.rounds(bb, report).run(lambda x0: fire_init(x0, params), step_j)
            return

        def step_a(s: FireState, e, g) -> FireState:
            s = fire_step(s, e, g, params)
            if self.clamp:  # project; a clipped coordinate loses its velocity (not in a periodic box)
                x = bb.clamp(s.x)
                if not bb.periodic:
                    s.v = torch.where(x == s.x, s.v, torch.zeros_like(s.v))
                s.x = x
            return s

        self.rounds(bb, report).run(lambda x0: fire_init(x0, params), step_a)
