"""The half-shell pair kernel (PairEnergy.energy_and_forces' default dense path) against the general
pair-list path and an independent numpy minimum-image sum: same energies and forces to rounding,
species mixes, odd and even atom counts, pairs exactly at the cut-off, open space, Mie."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gmbench.optim.relax import fire_relax, stridernet_fire
from gmbench.physics.md import soft_pack
from gmbench.physics.neighbors import dense_pairs
from gmbench.physics.potentials import (PAIR_DR2, _dense_pair_forces, _half_shell_forces, binary_species, half_shell_offsets,
                                        lj_cluster_energy)
from gmbench.problems.atoms.binary_lj import binary_lj_cluster_energy
from gmbench.problems.atoms.csh import csh_energy
from gmbench.problems.atoms.ka_lj import KA_SIGMA, ka_box, kob_andersen_energy


def _general(energy, r):
    """The general path: all pairs i < j by index, gathered and scattered (the reference)."""
    B, N, _ = r.shape
    sig2, eps, rc2, sp = energy._params(r)
    i, j = dense_pairs(N, r.device)
    k = 0 if sp is None else sp[i] * energy.n_species + sp[j]
    return _dense_pair_forces(r, i, j, sig2[k], eps[k], None if rc2 is None else rc2[k], energy.space,
                              energy.pair_fn, PAIR_DR2[energy.pair_fn], energy.pair_kwargs)


def _numpy_ka(r: np.ndarray, species: np.ndarray, L: float) -> tuple[float, np.ndarray]:
    """Kob-Andersen energy and forces of one structure by an explicit double loop over pairs i < j
    with the component-wise minimum image (independent of gmbench's code)."""
    sig = np.array([[1.0, 0.8], [0.8, 0.88]])
    eps = np.array([[1.0, 1.5], [1.5, 0.5]])
    n = len(r)
    e, f = 0.0, np.zeros_like(r)
    for i in range(n):
        for j in range(i + 1, n):
            d = r[i] - r[j]
            d -= L * np.round(d / L)
            r2 = float(d @ d)
            a, b = species[i], species[j]
            if r2 < (2.5 * sig[a, b]) ** 2:
                s6 = (sig[a, b] ** 2 / r2) ** 3
                e += 4 * eps[a, b] * (s6 * s6 - s6)
                fij = 24 * eps[a, b] * (2 * s6 * s6 - s6) / r2 * d
                f[i] += fij
                f[j] -= fij
    return e, f


def _ka_batch(n: int, b: int, seed: int, species=None) -> tuple:
    g = torch.Generator().manual_seed(seed)
    L = ka_box(n)
    sp = binary_species(n) if species is None else species
    energy = kob_andersen_energy(n, sp, neighbor="dense")
    # random positions, pushed apart a little so no pair is absurdly close
    r = torch.rand((b, n, 3), generator=g, dtype=torch.float64) * L
    return energy, r


def _close(a, b, rtol=1e-12):
    scale = b.abs().max().clamp_min(1.0)
    assert float((a - b).abs().max() / scale) < rtol, float((a - b).abs().max() / scale)


def test_half_shell_offsets_count_every_pair_once():
    for n in range(1, 12):
        K, w = half_shell_offsets(n)
        count = np.zeros((n, n))
        for i in range(n):
            for k in range(1, K + 1):
                j = (i + k) % n
                count[min(i, j), max(i, j)] += float(w[k - 1])
        assert np.allclose(count, np.triu(np.ones((n, n)), 1)), n


@pytest.mark.parametrize("n,b", [(100, 7), (37, 3), (3, 4), (10, 1), (64, 13)])
def test_ka_matches_general_path(n, b):
    energy, r = _ka_batch(n, b, seed=n)
    r = r * 0.999 + 0.0005 * ka_box(n)  # keep it wrapped
    e0, f0 = _general(energy, r)
    e1, f1 = energy.energy_and_forces(r)
    _close(e1, e0)
    _close(f1, f0)
    assert f1.shape == r.shape and e1.shape == (b,)


def test_ka_species_mixes_and_unwrapped_positions():
    g = torch.Generator().manual_seed(3)
    for frac in (0.0, 0.5, 1.0):
        sp = (torch.rand(31, generator=g) < frac).long()
        sp[0], sp[-1] = 0, 1  # both species present (the KA tables are 2 x 2)
        energy, r = _ka_batch(31, 5, seed=int(frac * 10), species=sp)
        r = r + 3.7 * ka_box(31) * (torch.rand(r.shape, generator=g, dtype=torch.float64) - 0.5)  # any image
        e0, f0 = _general(energy, r)
        e1, f1 = energy.energy_and_forces(r)
        _close(e1, e0)
        _close(f1, f0)
    energy, r = _ka_batch(2, 3, seed=1, species=torch.tensor([0, 1]))  # one pair, met twice (k = n/2)
    e0, f0 = _general(energy, r)
    e1, f1 = energy.energy_and_forces(r)
    _close(e1, e0)
    _close(f1, f0)


def test_ka_matches_independent_numpy_sum():
    energy, r = _ka_batch(40, 2, seed=11)
    sp = binary_species(40).numpy()
    e, f = energy.energy_and_forces(r)
    for b in range(2):
        en, fn = _numpy_ka(r[b].numpy(), sp, ka_box(40))
        assert float(e[b]) == pytest.approx(en, rel=1e-12, abs=1e-12)
        assert np.abs(f[b].numpy() - fn).max() <= 1e-10 * max(1.0, np.abs(fn).max())
    _close(energy(r), e)  # the energy-only path agrees


def test_pairs_exactly_at_the_cutoff_are_excluded():
    # a large box (no image within reach) with one pair of each type at exactly r_c = 2.5 sigma_ab
    sp = torch.tensor([0, 1, 0, 1])
    energy = kob_andersen_energy(4, sp, density=4 / 20.0 ** 3, neighbor="dense")
    assert energy.space.box > 10
    rc_bb = float(energy.r_cut[1, 1])
    assert float(energy.r_cut[0, 1]) == 2.0 and float(energy.r_cut[0, 0]) == 2.5
    for eps in (0.0, 1e-12):  # at the cut-off (excluded), then just inside
        # A0-B1 at 2.0 (AB), A0-A2 at 2.5 (AA), B1-B3 at r_c(BB); every other pair is farther
        r = torch.tensor([[[1.0, 1.0, 0.0], [3.0 - eps, 1.0, 0.0], [1.0, 3.5 - eps, 0.0],
                           [3.0 - eps, 1.0, rc_bb * (1 - eps)]]], dtype=torch.float64)
        e0, f0 = _general(energy, r)
        e1, f1 = energy.energy_and_forces(r)
        if eps == 0.0:
            assert float(e1[0]) == 0.0 and float(e0[0]) == 0.0
            assert float(f1.abs().max()) == 0.0
        else:
            assert float(e1[0]) < -0.01  # three attractive pairs inside their cut-offs
            _close(e1, e0)
            _close(f1, f0)


def test_open_space_and_mie_use_the_kernel_and_match():
    g = torch.Generator().manual_seed(5)
    for energy, r in [
        (lj_cluster_energy(13), 2.0 * torch.rand((3, 13, 3), generator=g, dtype=torch.float64)),
        (binary_lj_cluster_energy(20), 3.0 * torch.rand((2, 20, 3), generator=g, dtype=torch.float64)),
        (csh_energy(), 300.0 * torch.rand((2, 152, 3), generator=g, dtype=torch.float64)),
    ]:
        e0, f0 = _general(energy, r)
        e1, f1 = energy.energy_and_forces(r)
        _close(e1, e0)
        _close(f1, f0)


def test_kernel_blocks_give_the_same_result(monkeypatch):
    import gmbench.physics.potentials as pot

    energy, r = _ka_batch(30, 9, seed=2)
    e_ref, f_ref = energy.energy_and_forces(r)
    for block in (1, 500, 10**9):  # one structure per block, a few, all at once
        monkeypatch.setattr(pot, "HALF_SHELL_BLOCK", block)
        e, f = energy.energy_and_forces(r)
        _close(e, e_ref, 1e-14)
        _close(f, f_ref, 1e-14)


def test_energy_only_call_and_lead_shapes():
    energy, r = _ka_batch(20, 6, seed=4)
    tables = energy._half_shell_tables(r, True)
    e, f = _half_shell_forces(r, energy.space.box, tables, True, None, None, {}, forces=False)
    assert f is None
    _close(e, energy.energy_and_forces(r)[0])
    e2, f2 = energy.energy_and_forces(r.reshape(2, 3, 20, 3))
    assert e2.shape == (2, 3) and f2.shape == (2, 3, 20, 3)
    _close(e2.reshape(-1), e)


def test_fire_relax_short_run_matches_general_path(monkeypatch):
    n = 50
    energy, r = _ka_batch(n, 4, seed=8)
    r = soft_pack(r, energy.space, torch.tensor(KA_SIGMA, dtype=torch.float64), species=binary_species(n),
                  steps=200)  # a packed liquid-like start, as the KA problem's
    p = stridernet_fire(0.01)
    _, e_new = fire_relax(energy, r, 20, p, shift=energy.space.shift)
    monkeypatch.setattr(type(energy), "_half_shell_ok", lambda self, n_atoms: False)
    _, e_old = fire_relax(energy, r, 20, p, shift=energy.space.shift)
    assert float(e_old.max()) < 0
    _close(e_new, e_old, 1e-10)


def test_energy_calls_use_the_kernel_without_autograd_and_the_general_path_with_it(monkeypatch):
    import gmbench.physics.potentials as pot

    energy, r = _ka_batch(24, 3, seed=6)
    calls = []
    real = pot._half_shell_forces
    monkeypatch.setattr(pot, "_half_shell_forces", lambda *a, **k: calls.append(k.get("forces", True)) or real(*a, **k))
    e0, _ = _general(energy, r)
    e1 = energy(r)
    assert calls == [False]
    _close(e1, e0)
    rg = r.clone().requires_grad_(True)
    e2 = energy(rg)  # autograd wanted: the differentiable general path
    assert calls == [False] and e2.requires_grad
    _close(e2.detach(), e0)
    g = torch.autograd.grad(e2.sum(), rg)[0]
    _close(-g, energy.energy_and_forces(r)[1], 1e-11)
    assert calls == [False, True]


def test_ka_problem_cell_path_uses_the_kernel(monkeypatch):
    import gmbench.physics.potentials as pot
    import gmbench.problems.atoms  # noqa: F401  (registers the atoms problems)
    from gmbench.problems import make_problem

    prob = make_problem("ka-lj")
    calls = []
    real = pot._half_shell_forces
    monkeypatch.setattr(pot, "_half_shell_forces", lambda *a, **k: calls.append(k.get("forces", True)) or real(*a, **k))
    x = torch.rand((2, prob.dim), dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 4.0
    e, g = prob.energy_and_grad_fn()(x)
    assert calls == [True] and e.shape == (2,) and g.shape == x.shape
    _close(e, prob.energy_fn()(x))


@pytest.mark.parametrize("flavour", ["jax-md", "ase"])
def test_fire_step_forces_is_fire_step_of_the_gradient(flavour):
    from gmbench.optim.fire import FireParams, fire_init, fire_step, fire_step_forces

    energy, r = _ka_batch(20, 3, seed=9)
    r = soft_pack(r, energy.space, torch.tensor(KA_SIGMA, dtype=torch.float64), species=binary_species(20),
                  steps=100)
    p = FireParams(dt_start=0.02, dt_max=0.1, flavour=flavour)
    a = b = fire_init(r, p)
    for _ in range(40):
        e, f = energy.energy_and_forces(a.x)
        a = fire_step(a, e, -f, p, energy.space.shift)
        b = fire_step_forces(b, energy.energy_and_forces(b.x)[1], p, energy.space.shift)
        assert torch.equal(a.x, b.x) and torch.equal(a.v, b.v) and torch.equal(a.dt, b.dt)
    assert float(a.dt.min()) < p.dt_start  # the run went through negative-power steps (velocity resets)
