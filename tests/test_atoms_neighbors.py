"""Cell lists and Verlet lists agree with the dense all-pairs sums (gmbench.physics.neighbors)."""

from __future__ import annotations

import pytest
import torch

import gmbench.problems.atoms  # noqa: F401
from gmbench.physics.neighbors import VerletList, cell_list_pairs, dense_pair_list
from gmbench.core.autodiff import energy_and_forces as _energy_and_forces
from gmbench.physics.potentials import PairEnergy, StillingerWeber, lennard_jones
from gmbench.problems.atoms.ka_lj import kob_andersen_energy
from gmbench.problems.atoms.sw_silicon import SW_PARAMS, diamond_silicon
from gmbench.physics.space import Periodic


def energy_and_forces(energy, r):
    """Autograd forces (the reference these tests hold the analytic and neighbour-list paths to)."""
    return _energy_and_forces(energy, r, analytic=False)


def fcc_liquid(k: int, density: float, noise: float, seed: int = 0) -> tuple[torch.Tensor, float]:
    """A jiggled fcc crystal of 4 k^3 atoms at ``density`` (no overlaps, cheap to make at any size)."""
    g = torch.Generator().manual_seed(seed)
    basis = torch.tensor([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]], dtype=torch.float64)
    a = torch.arange(k, dtype=torch.float64)
    cells = torch.stack(torch.meshgrid(a, a, a, indexing="ij"), -1).reshape(-1, 1, 3)
    p = (cells + basis).reshape(-1, 3)
    L = (p.shape[0] / density) ** (1 / 3)
    p = p * (L / k) + noise * torch.randn(p.shape, generator=g, dtype=torch.float64)
    return torch.remainder(p, L), L


def pair_set(pl) -> set[tuple[int, int]]:
    i, j = torch.minimum(pl.i, pl.j), torch.maximum(pl.i, pl.j)
    return set(zip(i.tolist(), j.tolist()))


def test_cell_list_finds_exactly_the_dense_pairs():
    r, L = fcc_liquid(6, 1.2, 0.15)  # 864 atoms, 3 cells per side at r_list = 2.5
    space = Periodic(L)
    batch = torch.stack([r, space.wrap(r + 0.7)])  # two structures in one batch
    cl = cell_list_pairs(batch, space, 2.5)
    dn = dense_pair_list(batch, space, 2.5)
    assert len(cl) == len(dn) > 0
    assert pair_set(cl) == pair_set(dn)
    assert torch.equal(cl.batch, cl.i // 864)


@pytest.mark.parametrize("k", [6, 8])  # 864 and 2048 atoms
def test_cell_list_energy_and_forces_equal_dense(k):
    r, L = fcc_liquid(k, 1.2, 0.05, seed=k)
    n = r.shape[0]
    dense = kob_andersen_energy(n, neighbor="dense")
    cell = kob_andersen_energy(n, neighbor="cell")
    assert cell.uses_cell_list(n) and not dense.uses_cell_list(n)
    x = torch.stack([r, torch.remainder(r.roll(1, 0) + 0.1, L)])
    e_d, f_d = energy_and_forces(dense, x)
    e_c, f_c = energy_and_forces(cell, x)
    assert (e_d - e_c).abs().max().item() < 1e-10
    assert (f_d - f_c).abs().max().item() < 1e-10


def test_cell_list_several_thousand_atoms_linear_pairs():
    r, L = fcc_liquid(10, 1.2, 0.05)  # 4000 atoms
    n = r.shape[0]
    E = kob_andersen_energy(n)  # auto: cell list at this size
    assert E.uses_cell_list(n)
    e, f = energy_and_forces(E, r)
    assert torch.isfinite(f).all()
    # the dense sum over all 8 million pairs, in chunks of rows, without autograd
    space = Periodic(L)
    e_ref = torch.zeros((), dtype=torch.float64)
    sig2 = torch.tensor([[1.0, 0.64], [0.64, 0.7744]], dtype=torch.float64)
    eps = torch.tensor([[1.0, 1.5], [1.5, 0.5]], dtype=torch.float64)
    sp = E.species
    for s in range(0, n, 500):
        d = space.displacement(r[s:s + 500, None], r[None])
        r2 = (d * d).sum(-1)
        ii = torch.arange(s, min(s + 500, n))[:, None]
        jj = torch.arange(n)[None]
        a, b = sp[ii], sp[jj]
        u = lennard_jones(r2.clamp(min=1e-12), sig2[a, b], eps[a, b])
        keep = (jj > ii) & (r2 < 6.25 * sig2[a, b])
        e_ref = e_ref + torch.where(keep, u, torch.zeros_like(u)).sum()
    assert float(e) == pytest.approx(float(e_ref), rel=1e-13, abs=1e-10)
    pl = cell_list_pairs(r[None], space, 2.5)
    assert len(pl) / n < 45  # ~ (4/3) pi 2.5^3 1.2 / 2 = 39 pairs per atom: linear in N


def test_pair_across_periodic_boundary():
    L = 9.0
    space = Periodic(L)
    r = torch.tensor([[[0.4, 4.0, 4.0], [L - 0.6, 4.0, 4.0], [4.5, 4.5, 4.5]]], dtype=torch.float64)
    pl = cell_list_pairs(r, space, 2.5)
    assert pair_set(pl) == {(0, 1)}
    E = PairEnergy(space, lennard_jones, r_cut=2.5, neighbor="cell")
    e, f = energy_and_forces(E, r)
    assert float(e) == pytest.approx(4 * (1.0**-12 - 1.0**-6), abs=1e-14)  # distance 1.0 through the boundary
    r_far = r.clone()
    r_far[0, 1, 0] = L - 2.0  # 2.4 apart through the boundary, 6.6 directly: still a pair
    e2 = float(E(r_far))
    assert e2 == pytest.approx(4 * (2.4**-12 - 2.4**-6), rel=1e-12)


def test_verlet_list_reuses_and_rebuilds():
    r, L = fcc_liquid(6, 1.2, 0.05, seed=3)
    n = r.shape[0]
    space = Periodic(L)
    dense = kob_andersen_energy(n, neighbor="dense")
    verlet = kob_andersen_energy(n, neighbor="cell", skin=0.4)
    g = torch.Generator().manual_seed(0)
    x = r[None]
    e0 = verlet(x)
    assert verlet._verlet.n_builds == 1
    for _ in range(3):  # small moves (at most 3 * 0.02 * sqrt(3) = 0.10 < skin/2 in total) keep the list
        x = space.wrap(x + 0.02 * (2 * torch.rand(x.shape, generator=g, dtype=torch.float64) - 1))
        assert float(verlet(x)) == pytest.approx(float(dense(x)), abs=1e-10)
    assert verlet._verlet.n_builds == 1
    x = space.wrap(x + 0.5 * torch.randn(x.shape, generator=g, dtype=torch.float64))
    assert float(verlet(x)) == pytest.approx(float(dense(x)), rel=1e-12)
    assert verlet._verlet.n_builds == 2
    assert float(e0) == pytest.approx(float(dense(r[None])), abs=1e-10)
    vl = VerletList(space, 2.5, skin=0.4)
    vl.pairs(x)
    vl.pairs(torch.cat([x, x]))  # a new batch shape forces a rebuild
    assert vl.n_builds == 2


def test_stillinger_weber_cell_list_equals_dense():
    pos, L = diamond_silicon(3)  # 216 atoms, 4 cells per side at r_c = 3.77 A
    g = torch.Generator().manual_seed(1)
    r = Periodic(L).wrap(pos + 0.3 * torch.randn(pos.shape, generator=g, dtype=torch.float64))
    dense = StillingerWeber(Periodic(L), **SW_PARAMS, neighbor="dense")
    cell = StillingerWeber(Periodic(L), **SW_PARAMS, neighbor="cell")
    verlet = StillingerWeber(Periodic(L), **SW_PARAMS, neighbor="cell", skin=0.5)
    e_d, f_d = energy_and_forces(dense, r)
    for other in (cell, verlet):
        e_c, f_c = energy_and_forces(other, r)
        assert abs(float(e_d - e_c)) < 1e-10
        assert (f_d - f_c).abs().max().item() < 1e-10


def test_cell_list_ten_thousand_atoms():
    r, L = fcc_liquid(14, 1.2, 0.05)  # 10,976 atoms
    n = r.shape[0]
    E = kob_andersen_energy(n)
    e, f = energy_and_forces(E, r)
    assert torch.isfinite(f).all() and -8 < float(e) / n < -4  # jiggled fcc: about -5 per atom
