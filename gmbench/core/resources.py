"""Memory checked before it is used.

A cell's need is estimated from its configuration alone (problems: :meth:`Problem.memory_bytes`,
methods: :meth:`Method.memory_bytes`) and compared with what the device reports free: on CPU the
kernel's ``MemAvailable`` (``/proc/meminfo``, see proc(5): "an estimate of how much memory is
available for starting new applications, without swapping"), on CUDA ``torch.cuda.mem_get_info``
(free bytes on the device). A cell that would not fit is refused when the suite is loaded, with one
line naming the parameter to lower, instead of being killed by the out-of-memory killer (which on a
shared machine may take other people's jobs with it).

The estimates are deliberately simple (products of the sizes that dominate: dimension x points x
bytes per number, atoms squared for dense pair terms, network width) and meant to catch orders of
magnitude, not to predict the peak to the byte. ``GMBENCH_MEMORY_CHECK=0`` turns the check off.
"""

from __future__ import annotations

import os
from pathlib import Path

from gmbench.core.errors import GmbenchError

DTYPE_BYTES = {"float32": 4, "float64": 8}


def check_enabled() -> bool:
    return os.environ.get("GMBENCH_MEMORY_CHECK", "1").strip().lower() not in ("0", "false", "no", "off")


def available_bytes(device: str = "cpu") -> int | None:
    """Free memory the device reports (bytes), or None where it cannot be read."""
    if device.startswith("cuda"):
        try:
            import torch

            index = int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()
            return int(torch.cuda.mem_get_info(index)[0])
        except Exception:  # no CUDA, or a driver that cannot say
            return None
    if device == "mps":
        return None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:  # not Linux: physical pages available (POSIX sysconf, where the platform offers it)
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def human(n: float) -> str:
    """Bytes as 1.5 GB (powers of 1024, one decimal)."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PB"  # pragma: no cover


def refuse_if_too_big(need: int, device: str, what: str, lower: str, available: int | None = None) -> None:
    """Raise a one-line GmbenchError when ``need`` bytes exceed the memory ``device`` reports free."""
    if not check_enabled():
        return
    avail = available_bytes(device) if available is None else available
    if avail is None or need <= avail:
        return
    raise GmbenchError(f"{what} would need about {human(need)} of memory, more than the {human(avail)} {device} "
                       f"reports available: lower {lower} (or set GMBENCH_MEMORY_CHECK=0 to run it anyway)")
