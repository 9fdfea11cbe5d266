"""BlackBox.uniform draws into a reused buffer: the same numbers as a fresh torch.rand and the plain affine
map, for the same seed, over several calls and sizes; each returned tensor stays the caller's."""

import pytest
import torch

from gmbench.core.blackbox import BlackBox
from gmbench.core.budget import Budget, Clock


def _bb(lower, upper, dtype, seed):
    cpu = torch.device("cpu")
    return BlackBox(lambda x: (x * x).sum(-1), lower.numel(), lower, upper, cpu, dtype,
                    torch.Generator().manual_seed(seed), Budget(None, None), Clock(cpu))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_same_numbers_as_the_fresh_formula(dtype):
    D = 37
    lower = torch.linspace(-5.12, -1.0, D, dtype=torch.float64)
    upper = torch.linspace(0.5, 600.0, D, dtype=torch.float64)
    bb = _bb(lower, upper, dtype, seed=123)
    ref = torch.Generator().manual_seed(123)
    lo, hi = lower.to(dtype), upper.to(dtype)
    kept = []
    for n in (5, 200, 3, 200, 1, 0, 512, 64):  # grows, shrinks, regrows
        got = bb.uniform(n)
        u = torch.rand((n, D), generator=ref, dtype=dtype)
        want = lo + (hi - lo) * u
        assert got.shape == (n, D) and got.dtype == dtype
        assert torch.equal(got, want), n
        kept.append((got, want.clone()))
    # earlier results were not overwritten by later draws (the caller owns what uniform returns)
    for got, want in kept:
        assert torch.equal(got, want)
    assert all(not torch.equal(a, b) for (a, _), (b, _) in zip(kept[:2], kept[2:4]) if a.shape == b.shape)


def test_buffer_is_reused_and_points_are_in_bounds():
    D = 8
    lower, upper = -torch.ones(D, dtype=torch.float64), 2 * torch.ones(D, dtype=torch.float64)
    bb = _bb(lower, upper, torch.float64, seed=0)
    bb.uniform(100)
    buf = bb._draw
    x = bb.uniform(40)
    assert bb._draw is buf  # no new draw buffer for a smaller batch
    assert x.data_ptr() != buf.data_ptr()
    assert bool(((x >= lower) & (x < upper)).all())
