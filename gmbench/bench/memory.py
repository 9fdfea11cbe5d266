"""Peak memory of a measurement: on CUDA ``torch.cuda.max_memory_allocated`` above the allocation
before it; on Linux the peak resident set size above the RSS before it (``VmHWM`` from
``/proc/self/status``, reset by writing 5 to ``/proc/self/clear_refs``, see proc(5)), after garbage
collection and glibc's ``malloc_trim``."""

from __future__ import annotations

import ctypes
import gc
from pathlib import Path

import torch

from gmbench.core.budget import synchronize


def _status_kb(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _malloc_trim() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _can_reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_kb("VmHWM") is not None
    except OSError:
        return False


class PeakMemory:
    """Peak memory of what runs inside ``with``: MiB above the level before it (None if unknown)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.mb: float | None = None

    @staticmethod
    def method(device: torch.device) -> str:
        if device.type == "cuda":
            return "CUDA torch.cuda.max_memory_allocated above the allocation before each measurement"
        if _can_reset_hwm():
            return ("peak resident set size above the RSS before each measurement (Linux VmHWM, reset via "
                    "/proc/self/clear_refs; after gc and malloc_trim)")
        return "not available on this platform (no resettable VmHWM)"

    def __enter__(self) -> PeakMemory:
        gc.collect()
        if self.device.type == "cuda":
            synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
        else:
            _malloc_trim()
            self._ok = _can_reset_hwm()
            self._base = _status_kb("VmRSS") or 0
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            synchronize(self.device)
            self.mb = (torch.cuda.max_memory_allocated(self.device) - self._base) / 2**20
        elif self._ok:
            self.mb = max(0, (_status_kb("VmHWM") or 0) - self._base) / 1024
