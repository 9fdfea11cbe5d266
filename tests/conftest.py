from __future__ import annotations

import os
from pathlib import Path

import pytest

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
