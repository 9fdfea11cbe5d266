"""Per-atom energies sum exactly to the energy, for every potential and both pair-list paths, and
reach the BlackBox through the registered problems."""

from __future__ import annotations

import pytest
import torch

from gmbench.physics import md
from gmbench.physics.potentials import lj_cluster_energy
from gmbench.problems.atoms.binary_lj import binary_lj_cluster_energy
from gmbench.problems.atoms.csh import csh_energy
from gmbench.problems.atoms.ka_lj import kob_andersen_energy
from gmbench.problems.atoms.sw_silicon import diamond_silicon, stillinger_weber_energy

pytestmark = pytest.mark.usefixtures("one_thread")


def _jiggle(r: torch.Tensor, scale: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return r + scale * torch.randn(r.shape, generator=g, dtype=r.dtype)


def _check(energy, r):
    a = energy.atom_energies(r)
    assert a.shape == r.shape[:-1]
    torch.testing.assert_close(a.sum(-1), energy(r), rtol=1e-12, atol=1e-9)
    return a


def test_lj_cluster_and_binary_cluster():
    g = torch.Generator().manual_seed(1)
    r = md.cluster_starts(3, 13, 1.0, g, 1.0)
    a = _check(lj_cluster_energy(13), r)
    assert torch.isfinite(a).all() and not torch.allclose(a[:, 0], a[:, 1])
    _check(binary_lj_cluster_energy(13), r)


def test_ka_dense_and_cell_list_agree():
    n = 600  # L = 7.94 >= 3 * 2.5: the cell-list path exists
    L = (n / 1.2) ** (1 / 3)
    g = torch.Generator().manual_seed(2)
    r = torch.rand((2, n, 3), generator=g, dtype=torch.float64) * L
    dense = kob_andersen_energy(n, neighbor="dense")
    cell = kob_andersen_energy(n, neighbor="cell")
    a_dense = _check(dense, r)
    a_cell = _check(cell, r)
    torch.testing.assert_close(a_cell, a_dense, rtol=1e-10, atol=1e-8)


def test_ka_single_pair_split_half_half():
    e = kob_andersen_energy(2, species=[0, 1])
    r = torch.tensor([[0.0, 0.0, 0.0], [0.9, 0.0, 0.0]], dtype=torch.float64)
    a = e.atom_energies(r)
    assert float(a[0]) == pytest.approx(float(a[1]))
    assert float(a.sum()) == pytest.approx(float(e(r)))


def test_stillinger_weber_three_body_to_central_atom():
    pos, box = diamond_silicon(2)
    E = stillinger_weber_energy(box)
    a = _check(E, _jiggle(pos, 0.1)[None].expand(2, -1, -1).clone())
    assert torch.isfinite(a).all()
    # perfect crystal: every atom carries -2 eps (the three-body terms vanish at the tetrahedral angle)
    torch.testing.assert_close(E.atom_energies(pos), torch.full((64,), -2 * 2.1683, dtype=torch.float64),
                               rtol=0, atol=1e-6)
    # a trimer in open space whose ends (1, 2) are beyond the cutoff from each other: the only angle
    # term has vertex 0, so atoms 1 and 2 carry exactly half of their pair term and atom 0 the rest
    from gmbench.physics.potentials import StillingerWeber
    from gmbench.physics.space import Free
    sw = StillingerWeber(Free())
    tri = torch.tensor([[0.0, 0.0, 0.0], [2.3, 0.0, 0.0], [-2.2, 0.6, 0.0]], dtype=torch.float64)
    a3 = sw.atom_energies(tri)
    p01, p02 = sw(tri[[0, 1]]), sw(tri[[0, 2]])  # pair energies alone (no angle with two atoms)
    assert float(a3[1]) == pytest.approx(0.5 * float(p01), rel=1e-12)
    assert float(a3[2]) == pytest.approx(0.5 * float(p02), rel=1e-12)
    phi3 = float(sw(tri)) - float(p01) - float(p02)
    assert phi3 > 0.1  # a 165-degree angle is far from tetrahedral
    assert float(a3[0]) == pytest.approx(0.5 * float(p01) + 0.5 * float(p02) + phi3, rel=1e-12)


def test_csh():
    e = csh_energy()
    g = torch.Generator().manual_seed(3)
    r = torch.rand((2, 152, 3), generator=g, dtype=torch.float64) * 300.0
    _check(e, r)


def test_blackbox_atom_energies_through_problem():
    from gmbench.core.blackbox import BlackBox, Budget
    from gmbench.problems import make_problem

    p = make_problem("lj-cluster", n=7)
    bb = BlackBox.from_problem(p, Budget(evals=100))
    x = bb.starts(3)
    a = bb.atom_energies(x)
    assert a.shape == (3, 7) and bb.n_energy == 3
    torch.testing.assert_close(a.sum(-1), bb.energy(x), rtol=1e-12, atol=1e-10)
