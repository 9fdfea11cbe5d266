"""StriderNET reproduction facts (stridernet.md §1, §2, §5): energies of the published frames, the
FIRE baseline, and gmbench's own KA liquid against the published one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gmbench.problems.atoms  # noqa: F401
from gmbench.problems.atoms import ka_lj
from gmbench.physics.potentials import binary_species
from gmbench.problems.atoms.csh import csh_energy
from gmbench.problems.atoms.ka_lj import kob_andersen_energy
from gmbench.optim.relax import STRIDERNET_FIRE_LJ, fire_relax, stridernet_fire

# stridernet.md §2.1: the test split of the authors' code (PRNGKey(147))
TEST_SPLIT = [67, 91, 35, 85, 13, 46, 89, 88, 99, 56, 77, 6, 18, 87, 69, 93, 51, 14, 40, 58]


@pytest.fixture
def ka(shared):
    d = shared / "data" / "stridernet"
    frames = torch.from_numpy(np.load(d / "lj100_kob_andersen_frames.npy"))
    species = torch.from_numpy(np.load(d / "lj100_species.npy")).long()
    return frames, species


def test_data_layout(ka):
    frames, species = ka
    assert frames.shape == (400, 100, 3) and frames.dtype == torch.float64
    assert torch.equal(species, binary_species(100))  # (8 A, 2 B) x 10


def test_frame_energies_match_reference(ka):
    frames, species = ka
    e = kob_andersen_energy(100, species)(frames)
    liquid, glass = e[:100], e[300:]
    # stridernet.md §1.1 table: -517.0 +- 21 (liquid), -807.3 +- 0.6 (glass), r_c = 2.5 sigma_ab
    assert float(liquid.mean()) == pytest.approx(-517.0, abs=0.05)
    assert float(liquid.std()) == pytest.approx(21.0, abs=0.5)
    assert float(glass.mean()) == pytest.approx(-807.3, abs=0.05)
    assert float(glass.std()) == pytest.approx(0.6, abs=0.05)
    assert float(glass.mean()) / 100 == pytest.approx(-8.07, abs=0.005)
    # the JAX training code's short cutoffs give about -341 on the liquid frames
    e_jax = kob_andersen_energy(100, species, cutoff="jax")(frames[:100])
    assert float(e_jax.mean()) == pytest.approx(-341, abs=0.5)
    # wrapping into the box changes nothing (minimum image)
    L = (100 / 1.2) ** (1 / 3)
    torch.testing.assert_close(kob_andersen_energy(100, species)(torch.remainder(frames[:10], L)), e[:10],
                               rtol=0, atol=1e-9)


def test_fire_test_split_reproduces_baseline(ka):
    frames, species = ka
    E = kob_andersen_energy(100, species)
    start = frames[TEST_SPLIT]
    _, e = fire_relax(E, start, 1000, STRIDERNET_FIRE_LJ, shift=E.space.shift)
    # stridernet.md §5: the 20 test-split frames give mean -804.1, min -810.2
    assert float(e.mean()) == pytest.approx(-804.1, abs=0.05)
    assert float(e.min()) == pytest.approx(-810.2, abs=0.05)
    assert stridernet_fire(0.01) == STRIDERNET_FIRE_LJ


@pytest.mark.slow
def test_fire_all_liquid_frames_reproduce_baseline(ka):
    frames, species = ka
    E = kob_andersen_energy(100, species)
    _, e = fire_relax(E, frames[:100], 1000, STRIDERNET_FIRE_LJ, shift=E.space.shift)
    # stridernet.md §5: mean -804.08, min -813.82 (paper Table 1: -806.29 / -813.66 on its 10 structures)
    assert float(e.mean()) == pytest.approx(-804.08, abs=0.05)
    assert float(e.min()) == pytest.approx(-813.82, abs=0.05)


def test_csh_frames_energies(shared):
    frames = torch.from_numpy(np.load(shared / "data" / "stridernet" / "csh152_frames.npy"))
    assert frames.shape == (100, 152, 3)
    e = csh_energy()(frames)
    # stridernet.md §2.3: frame 0 -1,029,908, last frame -1,195,530 kcal/mol
    assert float(e[0]) == pytest.approx(-1_029_908, abs=1)
    assert float(e[-1]) == pytest.approx(-1_195_530, abs=1)
    assert float(e.max()) < -0.99e6


def _compare_liquids(published: torch.Tensor, generated: torch.Tensor, z: float) -> None:
    m1, s1 = float(published.mean()), float(published.std())
    m2, s2 = float(generated.mean()), float(generated.std())
    se = np.sqrt(s1**2 / published.numel() + s2**2 / generated.numel())
    assert abs(m1 - m2) < z * se, (m1, m2, se)
    return m2, s2


def test_generated_ka_liquid_matches_published_quick(ka, tmp_path, monkeypatch):
    monkeypatch.setenv("GMBENCH_CACHE", str(tmp_path))
    frames, species = ka
    E = kob_andersen_energy(100, species)
    published = E(frames[:100])
    gen = ka_lj.PROTOCOL.frames(11, 8, 100)
    assert gen.shape == (8, 100, 3)
    e = E(gen)
    _compare_liquids(published, e, z=4.0)
    assert 5 < float(e.std()) < 60
    # cached by (system, seed, n): the second call reads the file
    assert any(tmp_path.rglob("ka-lj-*-seed11-n8.npy"))
    torch.testing.assert_close(ka_lj.PROTOCOL.frames(11, 8, 100), gen)


@pytest.mark.slow
def test_generated_ka_liquid_matches_published(ka, tmp_path, monkeypatch):
    from scipy.stats import ks_2samp

    monkeypatch.setenv("GMBENCH_CACHE", str(tmp_path))
    frames, species = ka
    E = kob_andersen_energy(100, species)
    published = E(frames[:100])
    e = torch.cat([E(ka_lj.PROTOCOL.frames(s, 50, 100)) for s in (1, 2)])
    _compare_liquids(published, e, z=3.0)
    assert float(e.std()) == pytest.approx(float(published.std()), rel=0.25)
    assert ks_2samp(published.numpy(), e.numpy()).pvalue > 0.01
    # and the FIRE minima from them look alike (published: mean -804.08)
    _, emin = fire_relax(E, ka_lj.PROTOCOL.frames(1, 50, 100), 1000, STRIDERNET_FIRE_LJ,
                         shift=E.space.shift)
    assert float(emin.mean()) == pytest.approx(-804.1, abs=1.5)
