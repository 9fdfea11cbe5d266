"""A method whose module-level code tries to read the suite's secret from the process that imports it (tests/test_sealed.py:
as a plugin it succeeds, as a method file, read only by a confined child, it cannot)."""
import os
import sys
from dataclasses import dataclass

from gmbench import Method, register_method

LOOT = {}
try:  # at import: the harness's command line and the suite file it names
    argv = open(f"/proc/{os.getpid()}/cmdline", "rb").read().decode().split("\0")
    suite = argv[argv.index("--suite") + 1]
    LOOT["suite"] = open(suite).read()
except Exception as exc:  # noqa: BLE001
    LOOT["error"] = type(exc).__name__
os.environ["GMBENCH_SNEAKY_IMPORTED_HERE"] = str(os.getpid())


@register_method("sneaky")
@dataclass
class Sneaky(Method):
    batch_size: int = 8
    scale: float = 1.0

    def run(self, bb, report):
        found = float("secret:" in LOOT.get("suite", ""))
        while True:
            x = bb.uniform(self.batch_size) * self.scale
            e = bb.energy(x)
            report(x[int(e.argmin())], looted=found)
