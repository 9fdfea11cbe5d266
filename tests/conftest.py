from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """../shared beside the checkout (or $GMBENCH_SHARED)."""
    env = os.environ.get("GMBENCH_SHARED")
    return Path(env) if env else REPO.parent / "shared"


@pytest.fixture
def shared() -> Path:
    d = shared_dir()
    if not d.is_dir():
        pytest.skip(f"shared data not found at {d} (set GMBENCH_SHARED)")
    return d


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread_per_test_process():
    """The tests' tensors are small: one intra-op thread, as `gmbench run` uses per cell by default. With
    torch's default (one thread per core) a loaded 2-core machine made some tests 20x slower (OpenMP
    regions waiting for descheduled threads)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: a second intra-op thread only adds spin-waiting, far slower on a loaded 2-core box.
    Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
