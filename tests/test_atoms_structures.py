"""Reference LJ cluster minima (CCD table, built structures) and the structural distance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

import gmbench.problems.atoms  # noqa: F401
from gmbench.physics.rmsd import align, energy_gap, kabsch, rmsd, success
from gmbench.physics.potentials import binary_species, lj_cluster_energy
from gmbench.problems.atoms.structures import (
    CCD_ENERGIES, CCD_TABLE_VERSION, build_unrelaxed, mackay_icosahedron, reference_info, reference_structure,
)


def test_ccd_table():
    assert sorted(CCD_ENERGIES) == [13, 19, 26, 38, 55, 75, 98, 100, 147, 150]
    assert CCD_ENERGIES[38] == -173.928427 and CCD_ENERGIES[147] == -876.461207
    assert "Cambridge Cluster Database" in CCD_TABLE_VERSION


@pytest.mark.parametrize("n", [13, 38, 55, 147])
def test_reference_structures_match_ccd(n):
    x = reference_structure(n)
    assert x.shape == (n, 3) and x.dtype == torch.float64
    e = float(lj_cluster_energy()(x))
    assert abs(e - CCD_ENERGIES[n]) < 1e-6
    info = reference_info(n)
    assert info["max_grad"] < 1e-6
    assert torch.allclose(x.mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-12)


def test_lj13_geometry():
    x = reference_structure(13)
    r = x.norm(dim=1).sort().values
    assert r[0] < 1e-9
    assert r[1:].min().item() == pytest.approx(1.0818, abs=1e-4)  # centre-to-shell distance of the relaxed LJ13 icosahedron
    assert (r[1:] - r[1]).abs().max() < 1e-9
    assert float(lj_cluster_energy()(x)) == pytest.approx(-44.3268014195, abs=1e-9)


def test_builders_sizes():
    assert [mackay_icosahedron(k).shape[0] for k in (1, 2, 3, 4)] == [13, 55, 147, 309]
    assert build_unrelaxed(38).shape == (38, 3)
    assert reference_structure(19) is None


# ---- RMSD ---------------------------------------------------------------------------------


def _transform(x: np.ndarray, seed: int, species: np.ndarray | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    if species is None:
        perm = rng.permutation(n)
    else:  # permute only within species blocks
        perm = np.arange(n)
        for s in np.unique(species):
            idx = np.flatnonzero(species == s)
            perm[idx] = rng.permutation(idx)
    rot = Rotation.random(random_state=seed).as_matrix()
    return x[perm] @ rot.T + rng.normal(size=3) * 5


@pytest.mark.parametrize("n", [13, 38, 55, 147])
def test_rmsd_invariances_on_references(n):
    x = reference_structure(n).numpy()
    assert rmsd(x, x) < 1e-12
    for seed in range(3):
        y = _transform(x, seed)
        assert rmsd(x, y) < 1e-9
        assert rmsd(y, x) < 1e-9
    mirror = -_transform(x, 7)
    assert rmsd(x, mirror) < 1e-9  # reflections are symmetries


def test_rmsd_positive_for_perturbed_and_robust_alignment():
    rng = np.random.default_rng(0)
    for n in (38, 147):
        x = reference_structure(n).numpy()
        for seed in range(5):
            noise = 0.03 * rng.standard_normal(x.shape)
            y = _transform(x + noise, 10 + seed)
            d = rmsd(x, y)
            # the matched alignment is at most the noise RMS (it could only be lower)
            assert 0 < d <= np.sqrt((noise**2).sum(1).mean()) + 1e-12


def test_rmsd_species_blocks():
    rng = np.random.default_rng(1)
    n = 30
    sp = binary_species(n).numpy()
    x = rng.normal(size=(n, 3)) * 2
    y = _transform(x, 3, species=sp)
    assert rmsd(x, y, sp) < 1e-9
    # relabelling: swap the coordinates of an A and a B atom -> not a symmetry
    z = x.copy()
    a, b = int(np.flatnonzero(sp == 0)[0]), int(np.flatnonzero(sp == 1)[0])
    z[[a, b]] = z[[b, a]]
    assert rmsd(x, z, sp) > 1e-3
    assert rmsd(x, z) < 1e-9  # blind to species it would match


def test_alignment_output_and_proper_rotations():
    x = reference_structure(38).numpy()
    y = _transform(x, 5)
    al = align(x, y)
    assert np.abs(al.aligned - x).max() < 1e-8
    assert np.sqrt(((al.aligned - x) ** 2).sum(1).mean()) == pytest.approx(al.rmsd, abs=1e-12)
    # Kabsch: proper rotation when reflections are excluded
    rng = np.random.default_rng(2)
    p = rng.normal(size=(10, 3))
    q = -p  # a pure inversion
    assert np.linalg.det(kabsch(p, q, allow_reflection=False)) == pytest.approx(1.0)
    assert np.allclose(kabsch(p, q, allow_reflection=True), -np.eye(3))
    chiral = rng.normal(size=(8, 3))
    chiral -= chiral.mean(0)
    assert rmsd(chiral, -chiral, allow_reflection=False) > 0.1
    assert rmsd(chiral, -chiral) < 1e-12


def test_energy_gap_and_success():
    assert energy_gap(-44.3268, -44.326801) == pytest.approx(1e-6)
    assert success(-44.32675, -44.326801) and not success(-44.3266, -44.326801)
    assert np.isnan(energy_gap(-1.0, None)) and not success(-1.0, None)
