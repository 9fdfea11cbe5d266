"""The adam-sweep method's cache-blocked kernel against straightforward references: per-rate
torch.optim.Adam (float64), and one whole (rates x points x D) tensor stepped without blocks (bit for bit)."""

from __future__ import annotations

import math

import pytest
import torch

from gmbench.core.blackbox import BlackBox, Budget, Clock
from gmbench.methods.adam_sweep import AdamSweep, adam_sweep_chunk
from gmbench.optim.adam import adam_update_
from gmbench.problems import make_problem


def _bb(problem, dtype=torch.float64, fast=True) -> BlackBox:
    cpu = torch.device("cpu")
    return BlackBox(problem.energy_fn(), problem.dim, problem.lower, problem.upper, cpu, dtype,
                    torch.Generator().manual_seed(0), Budget(None, None), Clock(cpu), problem.start_sampler(),
                    energy_and_grad=problem.energy_and_grad_fn() if fast else None)


def _torch_adam_bests(f, starts, lrs, n_steps):
    """Per learning rate one torch.optim.Adam over all points; the lowest energy over every iterate
    (including the final one) and the point where it was first reached."""
    out = []
    for lr in lrs:
        x = starts.clone().requires_grad_(True)
        opt = torch.optim.Adam([x], lr=lr)
        best_e, best_x = math.inf, None
        for t in range(n_steps + 1):
            opt.zero_grad()
            e = f(x)
            ed = e.detach()
            i = int(ed.argmin())
            if float(ed[i]) < best_e:
                best_e, best_x = float(ed[i]), x.detach()[i].clone()
            if t == n_steps:
                break
            e.sum().backward()
            opt.step()
        out.append((best_e, best_x))
    return out


@pytest.mark.parametrize("fn", ["rastrigin", "schaffer-f7-paper", "alpine1"])
@pytest.mark.parametrize("block_elems", [2**18, 3 * 7 * 2, 7 * 2])  # one block; 2 points per block; 2 rates of 1 point
def test_sweep_matches_per_rate_torch_optim_adam_in_float64(fn, block_elems):
    problem = make_problem(fn, dim=7)
    lrs, n_points, n_steps = [0.05, 0.3, 1.0], 5, 25
    starts = _bb(problem).starts(n_points)  # what the method draws from the same seed
    expect = _torch_adam_bests(problem.energy_fn(), starts, lrs, n_steps)
    bb = _bb(problem)
    got: dict[float, tuple[float, torch.Tensor]] = {}

    def report(x, lr, energy_seen):
        if lr not in got or energy_seen < got[lr][0]:
            got[lr] = (energy_seen, x.clone())

    AdamSweep(n_points=n_points, n_steps=n_steps, lrs=lrs, report_every=10, block_elems=block_elems).run(bb, report)
    for lr, (e_ref, x_ref) in zip(lrs, expect, strict=True):
        e, x = got[lr]
        assert e == pytest.approx(e_ref, rel=1e-10, abs=1e-12)
        assert torch.allclose(x, x_ref, rtol=0, atol=1e-9)
        assert float(problem.energy_fn()(x)) == pytest.approx(e, rel=1e-12)  # the reported point has that energy
    assert bb.n_grad == len(lrs) * n_points * (n_steps + 1)  # one evaluation per point, rate and step + final scoring


def _unblocked(eg, starts, lrs, n_steps, b1=0.9, b2=0.999, eps=1e-8):
    """The sweep as one (L, P, D) tensor, no blocks: energies, the first lowest point per rate, Adam."""
    n_lr = lrs.numel()
    x = starts.unsqueeze(0).repeat(n_lr, 1, 1)
    m, v = torch.zeros_like(x), torch.zeros_like(x)
    best_e = torch.full((n_lr,), math.inf, dtype=x.dtype)
    best_x = x[:, 0].clone()
    for t in range(1, n_steps + 2):
        e, g = eg(x)
        e = torch.nan_to_num(e, nan=math.inf)
        for k in range(n_lr):
            i = int(e[k].argmin())
            if e[k, i] < best_e[k]:
                best_e[k], best_x[k] = e[k, i], x[k, i]
        if t <= n_steps:
            adam_update_(x, m, v, g, t, lrs.view(-1, 1, 1), b1, b2, eps)
    return best_e, best_x


@pytest.mark.parametrize("fn", ["rastrigin", "ackley"])
def test_blocks_give_bit_identical_results_to_one_tensor(fn):
    problem = make_problem(fn, dim=9)
    bb = _bb(problem, dtype=torch.float32)
    starts = bb.starts(11)
    lrs = torch.tensor([0.02, 0.1, 0.5, 2.0])
    ref_e, ref_x = _unblocked(bb.energy_and_grad, starts, lrs, 30)
    for block in (2**18, 4 * 9 * 3, 9 * 3, 9):  # one block; 3 points; 3 rates of one point; one rate
        e, x = adam_sweep_chunk(bb.energy_and_grad, starts, lrs, 30, block_elems=block)
        assert torch.equal(e, ref_e) and torch.equal(x, ref_x), block


def test_nan_energies_never_become_the_best_point():
    """A point whose energy is NaN is skipped; the rate's best is the lowest finite energy."""
    def eg(x):
        e = (x * x).sum(-1)
        e[..., 0] = math.nan  # point 0 is always NaN (and has the lowest true energy: it starts at 0)
        return e, 2 * x

    starts = torch.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, -1.0]], dtype=torch.float64)
    lrs = torch.tensor([0.1, 0.5], dtype=torch.float64)
    e, x = adam_sweep_chunk(eg, starts, lrs, 5)
    assert torch.isfinite(e).all()
    ref_e, ref_x = _unblocked(eg, starts, lrs, 5)
    assert torch.equal(e, ref_e) and torch.equal(x, ref_x)
    assert not torch.equal(x[0], starts[0])
