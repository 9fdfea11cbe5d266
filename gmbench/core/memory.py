"""Memory-aware batching: how many rows of a batched computation fit in the memory the device reports.

A method that splits its work into chunks caps its chunk at :func:`chunk_rows` rows, so a paper-scale
cell (e.g. the Adam sweep over 10,000 points x D = 1000 x 100 learning rates) shrinks its chunks on a
small GPU instead of failing with out-of-memory. The cap only ever *lowers* a method's configured chunk
size: where memory is plentiful the chunks, and so the results under an evaluation budget, are the same
on every machine.

Free memory is what :func:`gmbench.core.resources.available_bytes` reads (``torch.cuda.mem_get_info``
on CUDA, which accounts for other processes; ``MemAvailable`` from ``/proc/meminfo`` on the CPU, see
proc(5)), plus on CUDA what PyTorch's caching allocator holds but does not use. Where the platform
does not say, no cap.
"""

from __future__ import annotations

import torch

UNKNOWN_ROWS = 2**62  # no information: never the binding cap


def free_bytes(device: torch.device | str) -> int | None:
    """Bytes a new allocation on ``device`` can use now (gmbench.core.resources.available_bytes, plus on
    CUDA what PyTorch's caching allocator has reserved but not used), or None when the platform does not say."""
    from gmbench.core.resources import available_bytes

    device = torch.device(device)
    if device.type != "cuda":
        return available_bytes(device.type)
    index = device.index if device.index is not None else torch.cuda.current_device()
    free = available_bytes(f"cuda:{index}")
    if free is not None:
        free += max(0, torch.cuda.memory_reserved(index) - torch.cuda.memory_allocated(index))
    return free


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
