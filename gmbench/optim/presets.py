"""Published optimiser settings, as data, shared by the methods' presets and the studies.

``STRIDERNET_BASELINES``: the GD, Adam and FIRE baselines of StriderNET (Bihani, Manchanda, Ranu &
Krishnan, ICML 2023, App. D, Table 6) per atomistic system: GD and Adam learning rates, FIRE's
dt_start, and the number of steps. FIRE runs in jax-md's order with dt_max = 4 dt_start, as the
authors' ``FIRE_desc`` (M3RG-IITD/StriderNET): the paper's "dt_max 0.4" diverges on LJ, and only the
code's value reproduces Table 1's FIRE column (:func:`gmbench.optim.fire.stridernet_fire`).
The registered ``gd``/``adam``/``fire`` methods build their ``stridernet`` presets from this table
and ``gmbench.methods.stridernet.baselines`` runs the same kernels with it, so the two cannot drift.
"""

from __future__ import annotations

from typing import NamedTuple


class StriderNetBaseline(NamedTuple):
    gd_lr: float
    adam_lr: float
    fire_dt: float  # dt_start; dt_max = 4 dt_start
    steps: int


STRIDERNET_BASELINES: dict[str, StriderNetBaseline] = {
    "ka-lj": StriderNetBaseline(5e-4, 0.05, 0.01, 1000),
    "sw-silicon": StriderNetBaseline(1e-3, 0.1, 0.5, 1000),
    "csh": StriderNetBaseline(5e-4, 1.0, 5e-3, 2000),
}
