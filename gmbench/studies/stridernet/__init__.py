"""StriderNET's experiments (Bihani, Manchanda, Ranu & Krishnan, ICML 2023): the method and its learning
code live in :mod:`gmbench.methods.stridernet`; this package re-exports them for the CLI
(``gmbench stridernet ...``) and adds the timing benches (``bench``, Table 10), which build problems."""

from __future__ import annotations

from gmbench.methods.stridernet import *  # noqa: F401,F403
from gmbench.methods.stridernet import __all__ as _learning
from gmbench.studies.stridernet.bench import bench_adapt, bench_forward

__all__ = [*_learning, "bench_adapt", "bench_forward"]
