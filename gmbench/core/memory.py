"""Memory-aware batching: how many rows of a batched computation fit in the memory the device reports.

A method that splits its work into chunks caps its chunk at :func:`chunk_rows` rows, so a paper-scale
cell (e.g. the Adam sweep over 10,000 points x D = 1000 x 100 learning rates) shrinks its chunks on a
small GPU instead of failing with out-of-memory. The cap only ever *lowers* a method's configured chunk
size: where memory is plentiful the chunks, and so the results under an evaluation budget, are the same
on every machine.

Free memory: ``torch.cuda.mem_get_info`` on CUDA (free bytes on the device, which accounts for other
processes; plus what PyTorch's caching allocator holds but does not use), ``MemAvailable`` from
``/proc/meminfo`` on the CPU (the kernel's estimate of memory available without swapping, see
proc(5)). Where neither is known (another OS), no cap.
"""

from __future__ import annotations

from pathlib import Path

import torch

UNKNOWN_ROWS = 2**62  # no information: never the binding cap


def free_bytes(device: torch.device | str) -> int | None:
    """Bytes a new allocation on ``device`` can use now, or None when the platform does not say."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        cached_unused = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(free + max(0, cached_unused))
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the value is in kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def chunk_rows(bytes_per_row: int, device: torch.device | str, fraction: float = 0.5) -> int:
    """How many rows of ``bytes_per_row`` bytes fit in ``fraction`` of the device's free memory (at least 1)."""
    if bytes_per_row <= 0:
        raise ValueError(f"bytes_per_row must be positive, got {bytes_per_row}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    free = free_bytes(device)
    if free is None:
        return UNKNOWN_ROWS
    return max(1, int(free * fraction) // int(bytes_per_row))
