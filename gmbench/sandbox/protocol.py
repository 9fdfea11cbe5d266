"""The wire format between a sealed method (the child) and the harness (the parent).

One ``AF_UNIX``/``SOCK_SEQPACKET`` socket pair carries messages; each is a fixed header
``(op, a, b, c)`` (one byte and three signed 64-bit integers) optionally followed by a UTF-8 JSON
tail of at most :data:`MAX_TAIL` bytes. Batches do not travel through the socket: they sit in a shared
buffer (an anonymous ``memfd`` that the child creates, maps and hands to the parent as a file
descriptor), laid out per request as ``[x | out | grad]`` in the cell's dtype. The parent evaluates
straight from the buffer and writes the results back into it, so one call costs one round trip of two
small messages and a copy of the batch into the buffer and of the results out of it.

The parent never unpickles what the child sends: it reads headers, bounded JSON and raw numbers, and
checks every size against the buffer before it reads.
"""

from __future__ import annotations

import json
import mmap
import os
import socket
import struct
from typing import Any

import torch

HEADER = struct.Struct("<B7xqqq")
#: the longest JSON tail either side sends or accepts (report scalars, error text, stop reasons)
MAX_TAIL = 60_000
MSG = HEADER.size + MAX_TAIL

# child -> parent requests (a, b, c as noted)
ENERGY = 1          # a = n points
ENERGY_GRAD = 2     # a = n
ATOMS = 3           # a = n, b = 1: keep the autograd graph (answer: c = graph id), 2: a graph call with no graph
ENERGY_GRAPH = 4    # a = n, b = 1: keep the autograd graph (answer: c = graph id)
VJP = 5             # a = n, b = graph id: the cotangent sits at the buffer's start; the answer is at ``grad``
STARTS = 6          # a = n, b = bytes of generator state at the buffer's start (the answer: points, then state)
REPORT = 7          # the point at the buffer's start; tail: the method's scalars
LOCAL = 8           # a = local minimisations completed
BUFFER = 9          # a = bytes; the memfd travels as SCM_RIGHTS
DONE = 10           # tail: {"stop": ..., "error": ...}
READY = 11          # the method is built; the parent starts the clock and answers GO
SPENT = 12          # the child's own counter found the budget spent (tail: {"reason": ...}); answered EXHAUSTED
# parent -> child answers
OK = 0              # a = values per point in ``out`` (1 for energies, N for per-atom energies), c = graph id
EXHAUSTED = 1       # tail: {"reason": "evals" | "time"}
ERROR = 2           # tail: {"type": "ValueError" | "TypeError" | ..., "message": ...}
GO = 3

OPS = {ENERGY: "energy", ENERGY_GRAD: "energy_and_grad", ATOMS: "atom_energies", ENERGY_GRAPH: "energy_graph",
       VJP: "vjp", STARTS: "starts", REPORT: "report", LOCAL: "count_local", BUFFER: "buffer", DONE: "done",
       READY: "ready", SPENT: "spent"}


def pair() -> tuple[socket.socket, socket.socket]:
    """A connected socket pair that keeps message boundaries."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


def send(sock: socket.socket, op: int, a: int = 0, b: int = 0, c: int = 0, tail: Any = None,
         fds: list[int] | None = None) -> None:
    data = HEADER.pack(op, a, b, c)
    if tail is not None:
        blob = json.dumps(tail, default=str).encode()
        if len(blob) > MAX_TAIL:
            blob = json.dumps({k: (str(v)[:2000] if isinstance(v, str) else v) for k, v in tail.items()}
                              if isinstance(tail, dict) else str(tail)[:2000]).encode()[:MAX_TAIL]
        data += blob
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.sendall(data)


def recv(sock: socket.socket) -> tuple[int, int, int, int, bytes, list[int]] | None:
    """One message: (op, a, b, c, tail bytes, received fds); None at end of stream. A malformed header is
    a ``ValueError``."""
    data, fds, _flags, _addr = socket.recv_fds(sock, MSG, 2)
    if not data:
        for fd in fds:
            os.close(fd)
        return None
    if len(data) < HEADER.size:
        raise ValueError(f"short message ({len(data)} bytes)")
    op, a, b, c = HEADER.unpack_from(data)
    return op, a, b, c, data[HEADER.size:], list(fds)


def tail_json(tail: bytes) -> Any:
    """The JSON tail, or None if there is none or it does not parse."""
    if not tail:
        return None
    try:
        return json.loads(tail.decode("utf-8", "replace"))
    except ValueError:
        return None


class SharedBuffer:
    """A shared memory buffer mapped from a memfd: typed views at byte offsets, bounds-checked."""

    def __init__(self, fd: int, nbytes: int):
        self.fd, self.nbytes = fd, nbytes
        self.map = mmap.mmap(fd, nbytes)
        self._bytes = torch.frombuffer(self.map, dtype=torch.uint8) if nbytes else torch.empty(0, dtype=torch.uint8)

    @classmethod
    def create(cls, nbytes: int) -> "SharedBuffer":
        fd = os.memfd_create("gmbench-sealed", os.MFD_CLOEXEC)
        os.ftruncate(fd, nbytes)
        return cls(fd, nbytes)

    def view(self, offset: int, count: int, dtype: torch.dtype) -> torch.Tensor:
        """``count`` values of ``dtype`` from byte ``offset`` (a view into the shared memory)."""
        size = torch.empty((), dtype=dtype).element_size()
        if offset < 0 or count < 0 or offset % size or offset + count * size > self.nbytes:
            raise ValueError(f"request outside the shared buffer ({offset}+{count}x{size} > {self.nbytes} bytes)")
        return self._bytes[offset:offset + count * size].view(dtype)

    def close(self) -> None:
        self._bytes = torch.empty(0, dtype=torch.uint8)
        try:
            self.map.close()
        except BufferError:  # a view is still alive somewhere; the mapping goes with the process
            pass
        os.close(self.fd)


def layout(n: int, dim: int, k: int, itemsize: int) -> tuple[int, int, int]:
    """Byte offsets of ``out`` (n x k values) and ``grad`` (n x dim) after ``x`` (n x dim), and the total,
    each region aligned to 64 bytes."""
    def up(v: int) -> int:
        return (v + 63) // 64 * 64

    out = up(n * dim * itemsize)
    grad = out + up(n * k * itemsize)
    return out, grad, grad + up(n * dim * itemsize)
