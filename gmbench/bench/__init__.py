"""``gmbench perf``: the speed of gmbench's own kernels, each next to its reference, in one process.

:mod:`.timing` (sizes, records, interleaved best-of timing), :mod:`.memory` (peak memory probes),
:mod:`.references` (the straightforward implementations and ASE calculator gmbench is measured
against), :mod:`.peers` (jax-md, torch-sim, vesin and the vectorised plain-torch Adam sweep; the peers
are optional and imported only when measured), :mod:`.overhead` (the harness's share of a cell),
:mod:`.drivers` (one function per figure, and :func:`run_perf`), :mod:`.render` (the table).
"""

from gmbench.bench.drivers import FIGURES, check_json_path, run_perf
from gmbench.bench.memory import PeakMemory
from gmbench.bench.references import KANumpyCalculator, ka100_frames, lattice_config, naive_adam_sweep
from gmbench.bench.render import render
from gmbench.bench.timing import QUICK, Record, Sizes

__all__ = ["FIGURES", "QUICK", "KANumpyCalculator", "PeakMemory", "Record", "Sizes", "check_json_path", "ka100_frames",
           "lattice_config", "naive_adam_sweep", "render", "run_perf"]
