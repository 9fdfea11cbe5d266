"""The environment manifest recorded with every run: versions, device, host, git commit."""

from __future__ import annotations

import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gmbench import __version__
from gmbench.core.errors import GmbenchError


def resolve_device(spec: str) -> str:
    """'auto' -> 'cuda:0' when a GPU is visible, else 'cpu'; validates 'cpu', 'cuda', 'cuda:N'."""
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if spec == "cpu":
        return "cpu"
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise GmbenchError(f"device {spec!r} requested but CUDA is not available (torch {torch.__version__})")
        idx = 0 if spec == "cuda" else spec.split(":", 1)[1]
        if not str(idx).isdigit() or int(idx) >= torch.cuda.device_count():
            raise GmbenchError(f"device {spec!r}: no such CUDA device ({torch.cuda.device_count()} visible)")
        return f"cuda:{int(idx)}"
    raise GmbenchError(f"unknown device {spec!r} (use auto, cpu, cuda or cuda:N)")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return cpu_name()


def git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if out.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


_FINGERPRINT: str | None = None


def code_fingerprint() -> str:
    """Identity of the gmbench source running in this process: sha256 over the package's ``.py`` files
    (relative path and bytes, in sorted path order), first 16 hex digits; computed once per process.

    Recorded with every run and every cell, so a report can mark cells computed by other code. It is
    deliberately *not* part of the cell key: keys stay stable across code changes, and ``gmbench run
    --rerun-stale`` recomputes cells whose fingerprint differs from the installed code's.
    """
    global _FINGERPRINT
    if _FINGERPRINT is None:
        import hashlib

        root = Path(__file__).resolve().parents[1]
        h = hashlib.sha256()
        for rel in sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py")):
            h.update(rel.encode() + b"\0")
            h.update((root / rel).read_bytes() + b"\0")
        _FINGERPRINT = h.hexdigest()[:16]
    return _FINGERPRINT


def manifest(device: str) -> dict[str, Any]:
    import os

    return {
        "gmbench": __version__,
        "code": code_fingerprint(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "device": device,
        "device_name": device_name(device),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.version.cuda,
        "git_commit": git_commit(),
        "argv": sys.argv,
    }
