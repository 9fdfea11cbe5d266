"""Energies and forces of the atomic potentials (gmbench.physics.potentials)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gmbench.problems.atoms  # noqa: F401  (registers the atoms problems)
from gmbench.physics.md import soft_pack
from gmbench.core.autodiff import energy_and_forces as _energy_and_forces
from gmbench.physics.potentials import binary_species, lennard_jones, lj_cluster_energy, mie, mie_prefactor
from gmbench.problems.atoms.binary_lj import binary_lj_cluster_energy
from gmbench.problems.atoms.csh import CSH_PARAMS, csh_energy
from gmbench.problems.atoms.ka_lj import KA_SIGMA, ka_box, kob_andersen_energy
from gmbench.problems.atoms.sw_silicon import SW_PARAMS, diamond_silicon, stillinger_weber_energy
from gmbench.physics.space import Free, Periodic


def energy_and_forces(energy, r):
    """Autograd forces (the reference these tests hold the analytic and neighbour-list paths to)."""
    return _energy_and_forces(energy, r, analytic=False)


def random_cluster(n: int, seed: int, min_sep: float = 0.95, density: float = 0.8) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    radius = (3 * n / (4 * math.pi * density)) ** (1 / 3)
    r = (torch.rand((1, n, 3), generator=g, dtype=torch.float64) - 0.5) * 2 * radius
    return soft_pack(r, Free(), min_sep, steps=300)[0]


def ka_config(n: int = 100, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    L = ka_box(n)
    r = torch.rand((1, n, 3), generator=g, dtype=torch.float64) * L
    diameters = torch.tensor(KA_SIGMA, dtype=torch.float64)
    return soft_pack(r, Periodic(L), diameters, species=binary_species(n), steps=200)[0]


def finite_difference_check(energy, r: torch.Tensor, n_coords: int = 12, h: float = 1e-6, seed: int = 0,
                            rtol: float = 1e-5) -> None:
    _, f = energy_and_forces(energy, r)
    g = torch.Generator().manual_seed(seed)
    flat = r.reshape(-1)
    idx = torch.randperm(flat.numel(), generator=g)[:n_coords]
    scale = f.abs().max().item()
    for k in idx.tolist():
        rp, rm = flat.clone(), flat.clone()
        rp[k] += h
        rm[k] -= h
        fd = -(energy(rp.reshape(r.shape)) - energy(rm.reshape(r.shape))).item() / (2 * h)
        assert fd == pytest.approx(f.reshape(-1)[k].item(), rel=rtol, abs=rtol * scale), k


# ---- Lennard-Jones cluster --------------------------------------------------------------------


@pytest.mark.parametrize("n,seed", [(13, 0), (38, 1), (55, 2)])
def test_lj_cluster_matches_ase(n, seed):
    from ase import Atoms
    from ase.calculators.lj import LennardJones

    r = random_cluster(n, seed)
    atoms = Atoms(f"Ar{n}", positions=r.numpy())
    atoms.calc = LennardJones(sigma=1.0, epsilon=1.0, rc=1e4, smooth=False)  # no truncation in practice
    e_ase = atoms.get_potential_energy()
    f_ase = atoms.get_forces()
    e, f = energy_and_forces(lj_cluster_energy(), r)
    assert float(e) == pytest.approx(e_ase, rel=1e-12, abs=1e-10)
    np.testing.assert_allclose(f.numpy(), f_ase, rtol=1e-9, atol=1e-9)


def test_lj_pair_minimum_and_formula():
    r2 = torch.tensor([2 ** (1 / 3), 1.0, 4.0], dtype=torch.float64)
    e = lennard_jones(r2, 1.0, 1.0)
    assert e[0].item() == pytest.approx(-1.0, abs=1e-14)  # minimum -eps at 2^(1/6) sigma
    assert e[1].item() == 0.0
    assert e[2].item() == pytest.approx(4 * (2.0**-12 - 2.0**-6))


def test_lj_cluster_shapes_and_dtypes():
    r = random_cluster(13, 3)
    E = lj_cluster_energy()
    e0 = E(r)
    assert e0.shape == ()
    batch = torch.stack([r, r + 1.0, r.flip(0)])
    eb = E(batch)
    assert eb.shape == (3,)
    torch.testing.assert_close(eb, e0.expand(3), rtol=1e-13, atol=1e-12)  # translation, permutation invariance
    assert E(batch.reshape(1, 3, 13, 3)).shape == (1, 3)
    e32 = E(r.float())
    assert e32.dtype == torch.float32 and float(e32) == pytest.approx(float(e0), rel=1e-5)


def test_lj_cluster_forces_finite_difference():
    finite_difference_check(lj_cluster_energy(), random_cluster(19, 4))


def test_no_nan_gradient_from_diagonal():
    r = random_cluster(13, 5)
    _, f = energy_and_forces(lj_cluster_energy(), r)
    assert torch.isfinite(f).all()


# ---- Kob-Andersen periodic ----------------------------------------------------------------------


def test_ka_energy_matches_explicit_minimum_image_sum():
    n = 100
    r = ka_config(n, seed=1)
    sp = binary_species(n)
    L = ka_box(n)
    sig = torch.tensor(KA_SIGMA, dtype=torch.float64)
    eps = torch.tensor([[1.0, 1.5], [1.5, 0.5]], dtype=torch.float64)
    e_ref = 0.0
    rn = r.numpy()
    for i in range(n):  # the slow, obvious way
        for j in range(i + 1, n):
            d = rn[i] - rn[j]
            d -= L * np.round(d / L)
            rij = float(np.linalg.norm(d))
            s, ep = float(sig[sp[i], sp[j]]), float(eps[sp[i], sp[j]])
            if rij < 2.5 * s:
                e_ref += 4 * ep * ((s / rij) ** 12 - (s / rij) ** 6)
    assert float(kob_andersen_energy(n, sp)(r)) == pytest.approx(e_ref, rel=1e-12)


def test_ka_species_default_pattern():
    sp = binary_species(100)
    assert int(sp.sum()) == 20
    assert sp[8].item() == 1 and sp[9].item() == 1 and sp[:8].sum().item() == 0
    assert int(binary_species(25).sum()) == 5 and binary_species(25).numel() == 25


def test_ka_periodic_invariances():
    r = ka_config(100, seed=2)
    E = kob_andersen_energy(100)
    L = ka_box(100)
    e0 = E(r)
    shifted = r + torch.tensor([0.3, -1.7, 2.9], dtype=torch.float64)
    imaged = r + L * torch.randint(-2, 3, r.shape, generator=torch.Generator().manual_seed(0)).double()
    torch.testing.assert_close(E(torch.stack([shifted, imaged])), e0.expand(2), rtol=1e-12, atol=1e-10)


def test_ka_forces_finite_difference():
    finite_difference_check(kob_andersen_energy(100), ka_config(100, seed=3))


# ---- binary LJ cluster ------------------------------------------------------------------------


def test_binary_cluster_parameters_and_forces():
    n = 30
    r = random_cluster(n, 6)
    sp = binary_species(n)
    E = binary_lj_cluster_energy(n, sp)
    # explicit sum with sigma = 1, eps AA 1, AB 1.5, BB 0.62
    eps = np.array([[1.0, 1.5], [1.5, 0.62]])
    rn = r.numpy()
    d = np.linalg.norm(rn[:, None] - rn[None], axis=-1) + np.eye(n)  # diagonal dropped below
    iu = np.triu_indices(n, 1)
    e_ref = (4 * eps[sp.numpy()[:, None], sp.numpy()[None]] * (d**-12 - d**-6))[iu].sum()
    assert float(E(r)) == pytest.approx(e_ref, rel=1e-12)
    finite_difference_check(E, r)


# ---- Stillinger-Weber -------------------------------------------------------------------------


def test_sw_diamond_crystal_energy():
    pos, L = diamond_silicon(2)
    assert pos.shape == (64, 3) and L == pytest.approx(10.862)
    e = float(stillinger_weber_energy(L)(pos))
    assert e == pytest.approx(-277.5424, abs=1e-4)  # -2 eps per atom (stridernet.md §1.2)
    assert e == pytest.approx(-2 * SW_PARAMS["epsilon"] * 64, abs=1e-6)
    _, f = energy_and_forces(stillinger_weber_energy(L), pos)
    assert f.abs().max().item() < 1e-8  # the crystal is a stationary point


def test_sw_forces_finite_difference():
    pos, L = diamond_silicon(2)
    g = torch.Generator().manual_seed(7)
    r = Periodic(L).wrap(pos + 0.25 * torch.randn(pos.shape, generator=g, dtype=torch.float64))
    E = stillinger_weber_energy(L)
    finite_difference_check(E, r, n_coords=16)


def test_sw_three_body_vectorised_matches_loops():
    pos, L = diamond_silicon(2)
    g = torch.Generator().manual_seed(8)
    r = Periodic(L).wrap(pos + 0.3 * torch.randn(pos.shape, generator=g, dtype=torch.float64)).numpy()
    p = SW_PARAMS
    eps, sig, a = p["epsilon"], p["sigma"], p["a"]
    rc = a * sig
    n = r.shape[0]
    D = r[None, :, :] - r[:, None, :]  # D[i, j] = r_j - r_i
    D -= L * np.round(D / L)
    R = np.linalg.norm(D, axis=-1)
    e2 = e3 = 0.0
    for i in range(n):
        nb = [j for j in range(n) if j != i and R[i, j] < rc]
        for j in nb:
            if j > i:
                x = R[i, j]
                e2 += p["A"] * eps * (p["B"] * (sig / x) ** p["p"] - (sig / x) ** p["q"]) * math.exp(sig / (x - rc))
        for u in range(len(nb)):
            for v in range(u + 1, len(nb)):
                j, k = nb[u], nb[v]
                c = D[i, j] @ D[i, k] / (R[i, j] * R[i, k])
                e3 += p["lam"] * eps * (c - p["cos0"]) ** 2 * math.exp(p["gamma"] * sig / (R[i, j] - rc)) * math.exp(
                    p["gamma"] * sig / (R[i, k] - rc))
    e = float(stillinger_weber_energy(L)(torch.from_numpy(r)))
    assert e == pytest.approx(e2 + e3, rel=1e-12)


# ---- C-S-H Mie 28-14 -------------------------------------------------------------------------


def test_mie_28_14_is_4eps_form():
    assert mie_prefactor(28, 14) == pytest.approx(4.0, rel=1e-15)
    r2 = torch.tensor([1.3**2, 0.9**2], dtype=torch.float64)
    expect = 4 * 2.0 * (r2 ** -14 - r2 ** -7)
    torch.testing.assert_close(mie(r2, 1.0, 2.0), expect, rtol=1e-13, atol=0)


def test_csh_forces_finite_difference():
    g = torch.Generator().manual_seed(9)
    L, N = CSH_PARAMS["box"], CSH_PARAMS["n_atoms"]
    r = torch.rand((1, N, 3), generator=g, dtype=torch.float64) * L
    r = soft_pack(r, Periodic(L), 50.0, steps=300)[0]
    E = csh_energy()
    assert float(E(r)) < 0
    finite_difference_check(E, r, h=1e-5, rtol=1e-5)
