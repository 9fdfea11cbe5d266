"""Stillinger-Weber in boxes smaller than twice the cut-off (the 8-atom diamond cell): every periodic image
within the cut-off counts, checked against a slow, independent image sum written here from Stillinger &
Weber, Phys. Rev. B 31, 5262 (1985), Eqs. (2.3)-(2.5) with the parameters of gmbench (LAMMPS Si.sw)."""

import itertools
import math

import torch

from gmbench.problems.atoms.sw_silicon import SW_PARAMS, diamond_silicon, stillinger_weber_energy

P = SW_PARAMS


def _phi2(r):
    s = P["sigma"]
    rc = P["a"] * s
    if r >= rc:
        return 0.0
    return P["A"] * P["epsilon"] * (P["B"] * (s / r) ** P["p"] - (s / r) ** P["q"]) * math.exp(s / (r - rc))


def _h(r):
    s = P["sigma"]
    rc = P["a"] * s
    return 0.0 if r >= rc else math.exp(P["gamma"] * s / (r - rc))


def reference_energy(pos, L):
    """E = sum over unordered pairs (i, j + image) of phi2 + sum over vertices i and unordered neighbour pairs
    {(j, image), (k, image')} of lambda eps (cos theta_jik + 1/3)^2 h(r_ij) h(r_ik); plain loops."""
    pos = [list(map(float, p)) for p in pos.tolist()]
    n = len(pos)
    rc = P["a"] * P["sigma"]
    m = math.ceil(rc / L) + 1
    images = list(itertools.product(range(-m, m + 1), repeat=3))
    e2 = 0.0
    e3 = 0.0
    for i in range(n):
        nb = []  # all (vector, distance) from i to j's images within rc
        for j in range(n):
            for im in images:
                if j == i and im == (0, 0, 0):
                    continue
                v = [pos[j][c] + im[c] * L - pos[i][c] for c in range(3)]
                r = math.sqrt(sum(x * x for x in v))
                if r < rc:
                    nb.append((v, r))
                    e2 += 0.5 * _phi2(r)  # every pair is seen from both ends
        for (v1, r1), (v2, r2) in itertools.combinations(nb, 2):
            cos = sum(a * b for a, b in zip(v1, v2)) / (r1 * r2)
            e3 += P["lam"] * P["epsilon"] * (cos - P["cos0"]) ** 2 * _h(r1) * _h(r2)
    return e2 + e3


def _perturbed_cell(seed, noise=0.3):
    pos, L = diamond_silicon(1)
    g = torch.Generator().manual_seed(seed)
    return torch.remainder(pos + noise * torch.randn(pos.shape, generator=g, dtype=torch.float64), L), L


def test_crystal_8_atom_cell_is_minus_2_eps_per_atom():
    pos, L = diamond_silicon(1)
    e = stillinger_weber_energy(L, n_atoms=8)(pos)
    # -2 eps per atom up to the 10-digit A, B of Si.sw; exactly the 64-atom crystal's figure
    assert abs(float(e) / 8 - (-2.0 * P["epsilon"])) < 1e-7
    pos64, L64 = diamond_silicon(2)
    assert abs(float(e) / 8 - float(stillinger_weber_energy(L64, n_atoms=64)(pos64)) / 64) < 1e-12


def test_8_atom_cell_matches_independent_image_sum():
    energy = stillinger_weber_energy(diamond_silicon(1)[1], n_atoms=8)
    for seed in (0, 1, 2):
        pos, L = _perturbed_cell(seed)
        ref = reference_energy(pos, L)
        got = float(energy(pos))
        assert abs(got - ref) < 1e-9 * max(1.0, abs(ref)), (seed, got, ref)
    # batched: several structures at once give the same as one by one
    batch = torch.stack([_perturbed_cell(s)[0] for s in (0, 1, 2)])
    one = torch.stack([energy(b) for b in batch])
    assert torch.allclose(energy(batch), one, rtol=0, atol=1e-10)


def test_8_atom_cell_agrees_with_its_64_atom_replica():
    pos, L = _perturbed_cell(5)
    e8 = float(stillinger_weber_energy(L, n_atoms=8)(pos))
    g = torch.arange(2, dtype=torch.float64)
    cells = torch.stack(torch.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 1, 3) * L
    big = (cells + pos[None]).reshape(-1, 3)
    e64 = float(stillinger_weber_energy(2 * L, n_atoms=64)(big))
    assert abs(e64 / 64 - e8 / 8) < 1e-10
    # off the crystal the single minimum image would be visibly wrong: the check is not vacuous
    assert abs(e8 / 8 - (-2.0 * P["epsilon"])) > 1e-2


def test_8_atom_forces_match_replica_forces():
    pos, L = _perturbed_cell(7)
    r = pos.clone().requires_grad_(True)
    f8 = -torch.autograd.grad(stillinger_weber_energy(L, n_atoms=8)(r), r)[0]
    g = torch.arange(2, dtype=torch.float64)
    cells = torch.stack(torch.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 1, 3) * L
    big = (cells + pos[None]).reshape(-1, 3).requires_grad_(True)
    f64 = -torch.autograd.grad(stillinger_weber_energy(2 * L, n_atoms=64)(big), big)[0]
    assert torch.allclose(f64.reshape(8, 8, 3), f8.expand(8, -1, -1), atol=1e-9)
