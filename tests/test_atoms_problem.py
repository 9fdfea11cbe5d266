"""AtomsProblem: registry, factories, answer-free energy and starts, assessment, files, MD frames."""

from __future__ import annotations

import functools
import math
import pickle

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

import gmbench.problems.atoms  # noqa: F401  (until gmbench.problems loads it itself)
from gmbench.core.errors import GmbenchError
from gmbench.problems import PROBLEMS, make_problem
from gmbench.physics import md
from gmbench.problems.atoms import csh, ka_lj
from gmbench.problems.atoms.base import AtomsProblem, FlatEnergy
from gmbench.problems.atoms.structures import CCD_ENERGIES


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---- registry and factories ------------------------------------------------------------------


def test_registered_names():
    for name in ("lj-cluster", "lj13", "lj38", "lj55", "lj147", "binary-lj-cluster", "ka-lj", "sw-silicon", "csh"):
        assert name in PROBLEMS
        assert PROBLEMS.get(name).family == "atoms"
        assert PROBLEMS.get(name).properties is not None
    assert PROBLEMS.canonical("kob-andersen") == "ka-lj"


def test_factory_dims_and_params():
    assert make_problem("lj-cluster", n=13).dim == 39
    assert make_problem("lj-cluster", dim=39).n_atoms == 13
    assert make_problem("lj13", dim=39).dim == 39
    assert make_problem("ka-lj").dim == 300 and make_problem("sw-silicon").dim == 192 and make_problem("csh").dim == 456
    with pytest.raises(GmbenchError, match="disagrees"):
        make_problem("lj-cluster", dim=42, n=13)
    with pytest.raises(GmbenchError, match="dim"):
        make_problem("lj-cluster", dim=40)
    with pytest.raises(GmbenchError, match="disagrees"):
        make_problem("lj38", dim=39)
    with pytest.raises(GmbenchError, match="n = 38"):
        make_problem("lj38", n=13)
    with pytest.raises(GmbenchError, match="unknown parameter"):
        make_problem("ka-lj", temperature=2.0)
    with pytest.raises(GmbenchError, match="needs the number of atoms"):
        make_problem("lj-cluster")
    with pytest.raises(GmbenchError, match="integer"):
        make_problem("lj-cluster", n=2.5)
    with pytest.raises(GmbenchError, match="8 k"):
        make_problem("sw-silicon", n=65)
    with pytest.raises(GmbenchError, match="152"):
        make_problem("csh", n=100)
    with pytest.raises(GmbenchError, match="cutoff"):
        make_problem("ka-lj", cutoff="3sigma")
    with pytest.raises(GmbenchError, match="periodic"):
        make_problem("ka-lj", bounds=(-5.0, 5.0))
    with pytest.raises(GmbenchError, match="contain"):
        make_problem("lj13", bounds=(-0.5, 0.5))
    assert float(make_problem("lj13", bounds=(-6.0, 6.0)).upper[0]) == 6.0


def test_config_records_the_landscape():
    a = make_problem("binary-lj-cluster", n=50).config()
    b = make_problem("binary-lj-cluster", n=50, eps_bb=0.5).config()
    assert a != b and a["epsilon"][1][1] == 0.62 and b["epsilon"][1][1] == 0.5
    k = make_problem("ka-lj").config()
    assert k["cutoff"] == [[2.5, 2.0], [2.0, 2.2]] and k["box"] == pytest.approx(4.367902323681494)
    assert k["starts"]["kind"] == "md" and k["starts"]["T"] == 2.0
    assert make_problem("ka-lj", cutoff="jax").config()["cutoff"] == [[1.5, 1.25], [1.25, 2.0]]
    c = make_problem("lj38").config()
    assert c["f_star"] == CCD_ENERGIES[38] and "Cambridge Cluster Database" in c["reference_table"]
    assert make_problem("lj38", start_density=0.5).config() != c


# ---- method side: answer-free energy and starts ---------------------------------------------


@pytest.mark.parametrize("name", ["lj13", "binary-lj-cluster", "ka-lj", "sw-silicon", "csh"])
def test_energy_fn_is_answer_free_and_batched(name):
    p = make_problem(name)
    fn = p.energy_fn()
    assert isinstance(fn, FlatEnergy) and set(vars(fn)) == {"energy", "n_atoms"}
    blob = pickle.dumps(fn)
    assert b"AtomsProblem" not in blob and b"_reference" not in blob
    x = p.lower + (p.upper - p.lower) * torch.rand((2, 3, p.dim), generator=gen(1), dtype=torch.float64)
    e = fn(x)
    assert e.shape == (2, 3) and e.dtype == torch.float64
    assert fn(x[0, 0]).shape == ()
    torch.testing.assert_close(fn(x[0]), e[0])


def test_cluster_starts_deterministic_inside_bounds_and_separated():
    p = make_problem("lj38")
    s = p.start_sampler()
    a, b, c = s(5, gen(3)), s(5, gen(3)), s(5, gen(4))
    assert a.shape == (5, 114) and a.dtype == torch.float64
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert bool((a >= p.lower).all() and (a <= p.upper).all())
    r = a.reshape(5, 38, 3)
    d = torch.cdist(r, r) + 10 * torch.eye(38, dtype=torch.float64)
    assert float(d.min()) > 0.98  # soft-core pre-relaxation to ~1 sigma
    e = p.energy_fn()(a)
    assert bool((e < 0).all())
    x = p.x_star()
    assert bool((x > p.lower).all() and (x < p.upper).all())


def test_stridernet_starts_and_frames_subset(shared):
    p = make_problem("ka-lj", starts="stridernet")
    frames = torch.from_numpy(np.load(shared / "data" / "stridernet" / "lj100_kob_andersen_frames.npy"))
    L = p.box
    x = p.start_sampler()(100, gen(0))
    assert x.shape == (100, 300)
    assert bool((x >= 0).all() and (x < L).all())
    e = p.energy_fn()(x)
    assert float(e.mean()) == pytest.approx(-516.99, abs=0.01)  # a permutation of frames 0-99
    assert p.config()["starts"]["frames"] == "0:100"
    q = make_problem("ka-lj", starts="stridernet", frames="300:400")
    eq = q.energy_fn()(q.start_sampler()(10, gen(0)))
    assert float(eq.mean()) == pytest.approx(-807.3, abs=1.0)
    # the binary cluster of the action-functional paper started from the same frames (A.4)
    b = make_problem("binary-lj-cluster", starts="stridernet")
    xb = b.start_sampler()(3, gen(0))
    assert bool((xb >= b.lower).all() and (xb <= b.upper).all())
    c = make_problem("csh", starts="stridernet")
    assert c.start_sampler()(250, gen(0)).shape == (250, 456)  # repeats permutations when n > frames
    assert float(frames.min()) < 0  # the published KA frames lie partly outside [0, L): wrapped above


# ---- answer side ------------------------------------------------------------------------------


def test_assess_cluster_reference():
    p = make_problem("lj38")
    xs = p.x_star()
    a = p.assess(xs)
    assert abs(a.gap) < 1e-6 and a.dist < 1e-9 and a.dist_nearest < 1e-9 and a.oob == 0.0
    assert a.extra["success"] == 1.0 and a.extra["lj38_icosahedral"] == 0.0
    r = xs.reshape(38, 3).numpy()
    rot = Rotation.random(random_state=1).as_matrix()
    moved = torch.from_numpy(r[np.random.default_rng(0).permutation(38)] @ rot.T + 0.5)
    b = p.assess(moved.reshape(-1))
    assert abs(b.gap) < 1e-6 and b.dist < 1e-9
    near, exact = p.nearest_minimizer(moved.reshape(1, -1))
    assert near.shape == (1, 114) and exact is False
    assert torch.allclose(near[0], moved.reshape(-1), atol=1e-8)
    noisy = xs + 0.05 * torch.randn(xs.shape, generator=gen(2), dtype=torch.float64)
    c = p.assess(noisy)
    assert c.gap > 0 and 0 < c.dist < 0.1 and c.extra["success"] == 0.0
    assert c.extra["dist_euclid"] == pytest.approx(math.sqrt(38) * c.dist)
    assert p.distance_kind == "rmsd" and isinstance(p, AtomsProblem)
    for n in (13, 55, 147):  # the centred reference lies inside the bounds
        q = make_problem(f"lj{n}")
        assert bool((q.x_star() > q.lower).all() and (q.x_star() < q.upper).all())
        assert q.assess(q.x_star()).extra["success"] == 1.0


def test_assess_without_reference():
    for name in ("lj19", "binary-lj-cluster", "ka-lj", "sw-silicon", "csh"):
        p = make_problem(name)
        x = p.start_sampler()(1, gen(0))[0] if name in ("lj19", "binary-lj-cluster") else (
            p.lower + 0.5 * (p.upper - p.lower))
        a = p.assess(x)
        assert a.dist is None and a.dist_nearest is None
        assert p.x_star() is None
        if name == "lj19":
            assert a.gap == pytest.approx(a.energy - CCD_ENERGIES[19])
        else:
            assert p.f_star is None and math.isnan(a.gap)
    k = make_problem("ka-lj")
    outside = k.upper + 1.3  # periodic: any vector is a configuration
    assert k.assess(outside).oob == 0.0


# ---- user files ---------------------------------------------------------------------------------


def test_user_files_npy_and_extxyz(tmp_path):
    from ase import Atoms
    from ase.io import write

    rng = np.random.default_rng(0)
    frames = rng.uniform(0, 4.3, size=(5, 100, 3))
    npy = tmp_path / "frames.npy"
    np.save(npy, frames)
    p = make_problem("ka-lj", starts=str(npy))
    assert p.config()["starts"]["kind"] == "file" and p.config()["starts"]["n_frames"] == 5
    assert p.start_sampler()(5, gen(0)).shape == (5, 300)
    xyz = tmp_path / "frames.extxyz"
    write(xyz, [Atoms(f"Si{64}", positions=rng.uniform(0, 10.8, size=(64, 3))) for _ in range(3)], format="extxyz")
    loaded = md.load_frames(xyz, 64)
    assert loaded.shape == (3, 64, 3) and loaded.dtype == torch.float64
    s = make_problem("sw-silicon", starts=str(xyz), frames="1:3")
    assert s.config()["starts"]["n_frames"] == 2


def test_bad_user_files_raise_gmbench_error(tmp_path):
    cases = {}
    cases["missing"] = tmp_path / "nope.npy"
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"\x00\x01 not an npy file")
    cases["garbage"] = garbage
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((4, 100, 2)))
    cases["wrong shape"] = wrong
    atoms = tmp_path / "atoms.npy"
    np.save(atoms, np.zeros((4, 99, 3)))
    cases["atom count"] = atoms
    nan = tmp_path / "nan.npy"
    arr = np.zeros((2, 100, 3))
    arr[1, 3, 0] = np.nan
    np.save(nan, arr)
    cases["nan"] = nan
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    cases["object"] = obj
    text = tmp_path / "bad.extxyz"
    text.write_text("this is not\nan xyz file\n")
    cases["bad extxyz"] = text
    for what, path in cases.items():
        with pytest.raises(GmbenchError) as err:
            make_problem("ka-lj", starts=str(path))
        msg = str(err.value)
        assert "\n" not in msg and str(path.name) in msg, (what, msg)
    with pytest.raises(GmbenchError, match="frames"):
        make_problem("ka-lj", starts=str(atoms.with_name("wrong.npy")), frames="a:b")


# ---- MD frames -----------------------------------------------------------------------------------


def test_md_frames_seeded_and_sampler_uses_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GMBENCH_CACHE", str(tmp_path))
    short = functools.partial(ka_lj.ka_liquid, steps=30)  # the full protocol is exercised in test_atoms_stridernet
    monkeypatch.setattr(ka_lj, "ka_liquid", short)
    a = ka_lj.ka_liquid(2, seed=5, steps=30)
    b = ka_lj.ka_liquid(2, seed=5, steps=30)
    c = ka_lj.ka_liquid(2, seed=6, steps=30)
    assert torch.equal(a, b) and not torch.equal(a, c)
    p = make_problem("ka-lj")
    x = p.start_sampler()(3, gen(9))
    assert x.shape == (3, 300) and bool((x >= 0).all() and (x < p.box).all())
    assert len(list(tmp_path.rglob("ka-lj-*.npy"))) == 1
    torch.testing.assert_close(p.start_sampler()(3, gen(9)), x)
    e = p.energy_fn()(x)
    assert bool((e < -400).all() and (e > -650).all())  # T = 2 liquid, about -5.2 per atom


def test_csh_md_frames(tmp_path, monkeypatch):
    monkeypatch.setenv("GMBENCH_CACHE", str(tmp_path))
    f = csh.PROTOCOL.frames(1, 3, 152)
    assert f.shape == (3, 152, 3)
    base, kind = csh.csh_base(1)
    torch.testing.assert_close(f[0], base)  # frame 0 is the base structure
    assert not torch.equal(f[1], f[0])
    from gmbench.problems.atoms.csh import csh_energy

    e = csh_energy()(f)
    assert bool(torch.isfinite(e).all() and (e < 0).all())


@pytest.mark.slow
def test_sw_liquid_frames(tmp_path, monkeypatch):
    monkeypatch.setenv("GMBENCH_CACHE", str(tmp_path))
    p = make_problem("sw-silicon")
    x = p.start_sampler()(8, gen(0))
    e = p.energy_fn()(x)
    # LAMMPS at 3500 K (stridernet.md §1.2): E_pair about -220 to -230 eV for 64 atoms (crystal -277.54)
    assert bool((e > -235).all() and (e < -210).all()), e
