"""The cell-list backends (plain torch, vesin) give exactly the pairs of the dense reference.

The reference is :func:`dense_pair_list`: every pair ``i < j`` whose minimum-image squared distance is
strictly below ``r_list**2``. The tests compare pair *sets* as sorted ``(i, j)`` tuples (the list
stores no shifts: the minimum image is the only one within ``r_list <= L/3``).
"""

from __future__ import annotations

import sys

import pytest
import torch

from gmbench.core.errors import GmbenchError
from gmbench.physics import neighbors
from gmbench.physics.neighbors import VerletList, cell_list_pairs, dense_pair_list, pair_list, vesin_available
from gmbench.physics.potentials import binary_species
from gmbench.problems.atoms.ka_lj import kob_andersen_energy
from gmbench.physics.space import Periodic

needs_vesin = pytest.mark.skipif(not vesin_available(), reason="vesin (optional peer) not installed")
BACKENDS = ["torch", pytest.param("vesin", marks=needs_vesin)]


@pytest.fixture(autouse=True)
def _fresh_vesin_probe():
    """Tests that hide vesin leave the cached import probe as they found it (torn down after monkeypatch)."""
    yield
    neighbors._vesin_module.cache_clear()


def pairs(pl) -> list[tuple[int, int]]:
    i, j = torch.minimum(pl.i, pl.j), torch.maximum(pl.i, pl.j)
    assert bool((i < j).all()), "a pair of an atom with itself"
    return sorted(zip(i.tolist(), j.tolist()))


def check_same(r, L, r_list, backend):
    space = Periodic(L)
    got = cell_list_pairs(r, space, r_list, backend)
    ref = dense_pair_list(r, space, r_list)
    p = pairs(got)
    assert len(p) == len(set(p)), "a pair listed twice"
    assert p == pairs(ref)
    assert torch.equal(got.batch, got.i // r.shape[1]) and torch.equal(got.batch, got.j // r.shape[1])
    return len(p)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("n,L,r_list,B", [
    (600, 9.0, 2.5, 2),          # 3 cells of r_list, 7 of r_list/2
    (400, 7.5, 2.5, 1),          # exactly 3 r_list: the smallest box allowed
    (400, 7.5 + 1e-9, 2.5, 3),   # just above it
    (300, 2.5 * 5 - 1e-9, 2.5, 1),  # just below 5 half-cells (reach 1 instead of 2)
    (2000, 11.9, 2.8, 2),        # KA density, cut-off + skin
])
def test_random_boxes_same_pairs_as_dense(backend, dtype, n, L, r_list, B):
    g = torch.Generator().manual_seed(n + B)
    # positions partly outside [0, L) (unwrapped, negative): the minimum image must not care
    r = (torch.rand(B, n, 3, generator=g, dtype=torch.float64) * 1.6 * L - 0.3 * L).to(dtype)
    assert check_same(r, L, r_list, backend) > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_and_two_atoms(backend):
    L = 7.5
    assert check_same(torch.tensor([[[1.0, 2.0, 3.0]]], dtype=torch.float64), L, 2.5, backend) == 0
    for d, expect in ((1.0, 1), (2.4999, 1), (2.5, 0), (3.0, 0), (L - 1.0, 1)):  # L - 1: the image at 1
        r = torch.tensor([[[0.5, 0.5, 0.5], [0.5 + d, 0.5, 0.5]]], dtype=torch.float64)
        assert check_same(r, L, 2.5, backend) == expect, d


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_atoms_on_faces_and_pairs_exactly_at_the_cutoff(backend, dtype):
    """A simple-cubic lattice of spacing 1 in a box L = 10: every atom on a cell boundary and on the box
    faces (0 and L), and the nearest neighbours exactly at r_list = 1, which is excluded (strict <),
    while r_list one rounding step above 1 includes them."""
    a = torch.arange(10, dtype=torch.float64)
    r = torch.stack(torch.meshgrid(a, a, a, indexing="ij"), -1).reshape(1, -1, 3)
    r = torch.cat([r, r + torch.tensor([10.0, 0.0, -10.0], dtype=torch.float64)])  # images on the faces
    r = r.to(dtype)
    assert check_same(r, 10.0, 1.0, backend) == 0
    up = float(torch.nextafter(torch.tensor(1.0, dtype=dtype), torch.tensor(2.0, dtype=dtype)))
    assert check_same(r, 10.0, up, backend) == 2 * 3000  # 3 bonds per atom, 2 structures
    # distances 1, sqrt 2, sqrt 3 (6 + 12 + 8 neighbours); the 6 at exactly 2 are out
    assert check_same(r, 10.0, 2.0, backend) == 2 * 1000 * 13


@needs_vesin
def test_vesin_and_torch_give_the_same_energies_and_forces(monkeypatch):
    n = 1000
    g = torch.Generator().manual_seed(3)
    L = (n / 1.2) ** (1 / 3)
    a = torch.arange(10, dtype=torch.float64) * (L / 10)
    r = torch.stack(torch.meshgrid(a, a, a, indexing="ij"), -1).reshape(-1, 3)
    r = torch.stack([r + 0.1 * torch.randn(r.shape, generator=g, dtype=torch.float64) for _ in range(2)])
    out = {}
    for backend in ("torch", "vesin"):
        monkeypatch.setenv("GMBENCH_NEIGHBORS", backend)
        energy = kob_andersen_energy(n, binary_species(n), neighbor="cell")
        e, f = energy.energy_and_forces(r)
        out[backend] = (e, f, energy(r))
    dense = kob_andersen_energy(n, binary_species(n), neighbor="dense")
    e_d, f_d = dense.energy_and_forces(r)
    for e, f, e2 in out.values():
        torch.testing.assert_close(e, e_d, rtol=1e-13, atol=1e-10)  # rounding (pairs summed in other orders)
        torch.testing.assert_close(f, f_d, rtol=1e-13, atol=1e-10)  # rounding (pairs summed in other orders)
        torch.testing.assert_close(e2, e_d, rtol=1e-13, atol=1e-10)  # rounding (pairs summed in other orders)


def test_without_vesin_the_torch_cell_list_is_used(monkeypatch):
    # an import of a module set to None in sys.modules raises ImportError, as when it is not installed
    monkeypatch.setitem(sys.modules, "vesin_torch", None)
    monkeypatch.setitem(sys.modules, "vesin", None)
    monkeypatch.delenv("GMBENCH_NEIGHBORS", raising=False)
    neighbors._vesin_module.cache_clear()
    assert not vesin_available()
    calls = []
    real = neighbors._torch_cell_pairs
    monkeypatch.setattr(neighbors, "_torch_cell_pairs", lambda *a: calls.append(1) or real(*a))
    g = torch.Generator().manual_seed(0)
    r = torch.rand(1, 500, 3, generator=g, dtype=torch.float64) * 9.0
    got = cell_list_pairs(r, Periodic(9.0), 2.5)
    assert calls == [1]
    assert pairs(got) == pairs(dense_pair_list(r, Periodic(9.0), 2.5))
    monkeypatch.setenv("GMBENCH_NEIGHBORS", "vesin")
    with pytest.raises(GmbenchError, match="vesin is not installed"):
        cell_list_pairs(r, Periodic(9.0), 2.5)
    monkeypatch.undo()
    neighbors._vesin_module.cache_clear()


@pytest.mark.skipif(not vesin_available(), reason="vesin (optional peer) not installed")
def test_vesin_numpy_interface_when_vesin_torch_is_missing(monkeypatch):
    pytest.importorskip("vesin")
    monkeypatch.setitem(sys.modules, "vesin_torch", None)
    neighbors._vesin_module.cache_clear()
    try:
        assert neighbors._vesin_module()[0] == "numpy"
        g = torch.Generator().manual_seed(1)
        r = torch.rand(2, 700, 3, generator=g, dtype=torch.float64) * 9.0
        assert check_same(r, 9.0, 2.5, "vesin") > 0
    finally:
        monkeypatch.undo()
        neighbors._vesin_module.cache_clear()


def test_backend_switch_and_bad_values(monkeypatch):
    r = torch.rand(1, 300, 3, dtype=torch.float64) * 8.0
    monkeypatch.setenv("GMBENCH_NEIGHBORS", "fast")
    with pytest.raises(GmbenchError, match="GMBENCH_NEIGHBORS"):
        cell_list_pairs(r, Periodic(8.0), 2.5)
    with pytest.raises(GmbenchError, match="backend"):
        pair_list(r, Periodic(8.0), 2.5, "cell", backend="gpu")
    monkeypatch.setenv("GMBENCH_NEIGHBORS", "torch")
    calls = []
    real = neighbors._torch_cell_pairs
    monkeypatch.setattr(neighbors, "_torch_cell_pairs", lambda *a: calls.append(1) or real(*a))
    cell_list_pairs(r, Periodic(8.0), 2.5)
    assert calls == [1]
    with pytest.raises(ValueError, match="3 r_list"):
        cell_list_pairs(r, Periodic(7.4), 2.5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_verlet_list_with_skin_keeps_every_pair_within_the_cutoff(backend):
    """A list built at r_cut + skin and reused while atoms move less than skin/2 holds every pair
    closer than r_cut at the new positions (the energies apply the cut-off per pair)."""
    g = torch.Generator().manual_seed(5)
    L, rc = 10.0, 2.5
    space = Periodic(L)
    r = torch.rand(1, 1000, 3, generator=g, dtype=torch.float64) * L
    vl = VerletList(space, rc, skin=0.4, method="cell", backend=backend)
    vl.pairs(r)
    moved = r + 0.2 / 3**0.5 * (2 * torch.rand(r.shape, generator=g, dtype=torch.float64) - 1)  # < skin/2
    pl = vl.pairs(moved)
    assert vl.n_builds == 1
    assert set(pairs(dense_pair_list(moved, space, rc))) <= set(pairs(pl))


def test_verlet_list_keeps_one_list_per_batch_shape_and_dtype():
    """A relaxation's batch and single float64 structures (assessments) alternate without rebuilding."""
    g = torch.Generator().manual_seed(6)
    L = 10.0
    space = Periodic(L)
    x = torch.rand(3, 1000, 3, generator=g, dtype=torch.float64) * L
    vl = VerletList(space, 2.5, skin=0.3, method="cell", backend="torch")
    for _ in range(2):
        p3 = vl.pairs(x.float())
        p1 = vl.pairs(x[:1])
    assert vl.n_builds == 2
    assert p3.n_batch == 3 and p1.n_batch == 1
    assert pairs(p1) == pairs(dense_pair_list(x[:1], space, 2.8))
    far = x[:1] + 1.0
    assert pairs(vl.pairs(far)) == pairs(dense_pair_list(far, space, 2.8)) and vl.n_builds == 3
    assert VerletList(space, 2.5, skin=0.0).pairs(x).n_batch == 3


def test_ka_problem_relaxes_with_a_verlet_skin_not_in_its_configuration(tmp_path):
    """The KA problem's energy reuses a Verlet list (skin 0.3) where a cell list is used; the energies
    and forces equal those of skin 0, and the skin is not in the configuration (so not in cell keys)."""
    import json

    import numpy as np

    from gmbench.problems import make_problem
    from gmbench.problems.atoms.ka_lj import relaxing_energy

    assert relaxing_energy(100, binary_species(100)).skin == 0.0  # dense (no list): unchanged
    assert relaxing_energy(600, binary_species(600)).skin == pytest.approx(7.9370 / 3 - 2.5, abs=1e-3)
    n = 1000
    L = (n / 1.2) ** (1 / 3)
    g = torch.Generator().manual_seed(8)
    a = torch.arange(10, dtype=torch.float64) * (L / 10)
    lat = torch.stack(torch.meshgrid(a, a, a, indexing="ij"), -1).reshape(-1, 3)
    frames = torch.stack([lat + 0.05 * torch.randn(lat.shape, generator=g, dtype=torch.float64) for _ in range(2)])
    path = tmp_path / "frames.npy"
    np.save(path, frames.numpy())
    prob = make_problem("ka-lj", n=n, starts=str(path))
    energy = prob._energy
    assert energy.skin == 0.3 and energy.uses_cell_list(n)
    assert "skin" not in json.dumps(prob.config(), default=str)
    plain = kob_andersen_energy(n, binary_species(n), neighbor="dense")
    x = frames.clone()
    eg = prob.energy_and_grad_fn()
    for _ in range(4):  # small steps: the list is reused
        e, grad = eg(x.reshape(2, -1))
        e0, f0 = plain.energy_and_forces(x)
        torch.testing.assert_close(e, e0, rtol=1e-13, atol=1e-10)
        torch.testing.assert_close(grad, -f0.reshape(2, -1), rtol=1e-13, atol=1e-10)
        x = x + 0.01 * torch.randn(x.shape, generator=g, dtype=torch.float64)
    assert energy._verlet.n_builds == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_far_coordinates_float32(backend):
    g = torch.Generator().manual_seed(10)
    r = torch.rand(2, 600, 3, generator=g, dtype=torch.float64) * 9.0
    far = (r + 9.0 * torch.randint(-50, 50, r.shape, generator=g).to(torch.float64)).float()
    assert check_same(far, 9.0, 2.5, backend) > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_far_and_non_finite_coordinates(backend):
    """Unwrapped coordinates thousands of boxes away, and atoms with NaN/inf coordinates (in no pair,
    as in the reference; vesin refuses them, so such a batch goes to the torch cell list)."""
    g = torch.Generator().manual_seed(9)
    L = 9.0
    r = torch.rand(2, 600, 3, generator=g, dtype=torch.float64) * L
    far = r + L * torch.randint(-5000, 5000, r.shape, generator=g).to(torch.float64)
    assert check_same(far, L, 2.5, backend) > 0
    bad = r.clone()
    bad[0, 3] = float("nan")
    bad[1, 7, 1] = float("inf")
    bad[1, 8, 2] = -float("inf")
    n = check_same(bad, L, 2.5, backend)
    assert n > 0
    got = pairs(cell_list_pairs(bad, Periodic(L), 2.5, backend))
    assert not any(a in (3, 607, 608) or b in (3, 607, 608) for a, b in got)


def test_run_expansion_equals_repeat_interleave():
    g = torch.Generator().manual_seed(11)
    lengths = torch.randint(0, 4, (500,), generator=g)
    lengths[:3] = 0  # leading and scattered empty runs
    values = torch.randint(-1000, 1000, (500,), generator=g)
    total = int(lengths.sum())
    got = neighbors._repeat(values, lengths, total)
    assert got.dtype == torch.int32 and torch.equal(got.long(), torch.repeat_interleave(values, lengths))


def test_scatter_forces_is_bit_for_bit_the_row_wise_index_add():
    """PairList.scatter_forces (flat indices) adds the same numbers in the same pair order as
    index_add_ along dim 0 of the (P, 3) pair forces, so forces are unchanged to the last bit; the
    cached flat indices follow the list."""
    g = torch.Generator().manual_seed(3)
    B, N = 2, 1000
    L = (N / 1.2) ** (1 / 3)
    r = torch.rand(B, N, 3, generator=g, dtype=torch.float64) * L
    pl = cell_list_pairs(r, Periodic(L), 2.5, backend="torch")
    fij = torch.randn(len(pl), 3, generator=g, dtype=torch.float64)
    row_wise = torch.zeros(B * N, 3, dtype=torch.float64).index_add_(0, pl.i, fij).index_add_(0, pl.j, fij, alpha=-1.0)
    assert torch.equal(pl.scatter_forces(fij), row_wise)
    assert torch.equal(pl.scatter_forces(2 * fij), 2 * row_wise)  # the cached indices, new forces
    assert pl.scatter_forces(fij).shape == (B * N, 3)


def test_flat_gather_and_sq_norm_are_the_row_wise_values_bit_for_bit():
    """PairList.gather equals row-wise index_select, and _sq_norm3 equals (d * d).sum(-1), to the last
    bit (the cell-list force path uses both); per-pair parameters are computed once per list."""
    from gmbench.physics.space import sq_norm3 as _sq_norm3

    g = torch.Generator().manual_seed(5)
    B, N = 2, 600
    L = (N / 1.2) ** (1 / 3)
    r = torch.rand(B, N, 3, generator=g, dtype=torch.float64) * L
    pl = cell_list_pairs(r, Periodic(L), 2.5, backend="torch")
    ri, rj = pl.gather(r)
    rf = r.reshape(B * N, 3)
    assert torch.equal(ri, rf.index_select(0, pl.i)) and torch.equal(rj, rf.index_select(0, pl.j))
    d = Periodic(L).displacement(ri, rj)
    for x in (d, d.float(), torch.randn(3, 50, 3, generator=g)):
        assert torch.equal(_sq_norm3(x), (x * x).sum(-1))
    calls = []
    assert pl.memo("k", lambda: calls.append(1) or 7) == 7 and pl.memo("k", lambda: calls.append(1) or 8) == 7
    assert calls == [1]
