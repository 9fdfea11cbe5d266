"""`gmbench perf` runs and reports well-formed figures (not that it is fast: speed is measured, never
asserted), and the fast paths it measures give the same numbers as the plain ones."""

from __future__ import annotations

import json
import math

import pytest
import torch
from typer.testing import CliRunner

from gmbench.cli.app import app
from gmbench.problems import make_problem

runner = CliRunner()


@pytest.fixture
def keep_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def test_perf_quick_json_is_well_formed(tmp_path, keep_threads):
    path = tmp_path / "perf.json"
    res = runner.invoke(app, ["perf", "--quick", "--device", "cpu", "--threads", "1", "--json", str(path)],
                        catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "gmbench perf --quick" in res.stdout and "ratio" in res.stdout
    data = json.loads(path.read_text())
    assert data["quick"] is True
    for key in ("torch", "numpy", "python", "device", "device_name", "cpu_count", "torch_threads",
                "load_average_start", "load_average_end"):
        assert key in data["machine"]
    assert data["machine"]["torch_threads"] == 1
    assert data["peak_memory_method"]
    recs = data["records"]
    assert {r["figure"] for r in recs} == {1, 2, 3, 4, 5, 6, 7, 8, 9}  # peak memory is a field of each record
    for r in recs:
        assert r["name"] and r["unit"]
        if r["skipped"]:
            assert r["notes"], r
            continue
        assert r["gmbench"] is not None and math.isfinite(r["gmbench"]) and r["gmbench"] > 0, r
        if r["reference"] is not None:
            assert math.isfinite(r["reference"]) and r["reference"] > 0, r
            assert r["ratio"] is not None and math.isfinite(r["ratio"]) and r["ratio"] > 0, r
        if r["target"]:
            assert isinstance(r["met"], bool), r
        assert r["peak_mem_mb"] is None or r["peak_mem_mb"] >= 0
    names = [r["name"] for r in recs]
    assert any(n.startswith("energy+grad rastrigin") for n in names)
    assert any(n.startswith("adam-sweep") for n in names)
    for key in ("jax", "jax_md", "torch_sim", "vesin", "vesin_torch", "ase", "cma"):
        assert key in data["machine"]
    _check_peer_rows(recs)
    assert "reference is" in res.stdout


def _by_name(recs, *parts):
    got = [r for r in recs if all(p in r["name"] for p in parts)]
    assert got, (parts, [r["name"] for r in recs])
    return got


def _check_peer_rows(recs):
    """The peers' rows are there beside gmbench's, with their agreement checks (when the peer is
    installed) or marked "not installed"."""
    import importlib.util

    def have(*mods):
        return all(importlib.util.find_spec(m) is not None for m in mods)

    for r in _by_name(recs, "adam-sweep", "vs vectorised torch"):  # plain torch: always there
        assert not r["skipped"] and r["target"] == ">= 3x" and r["reference_name"].startswith("vectorised")
        assert r["extra"]["rel_vs_naive_vectorised"] == 0  # torch.optim.Adam's arithmetic, vectorised
        assert r["extra"]["rel_vs_naive_gmbench"] < 1e-4
    assert {r["name"].split()[1] for r in _by_name(recs, "adam-sweep", "vs naive")} == {
        "rastrigin", "schaffer-f7-paper", "alpine1"}
    (jx,) = _by_name(recs, "FIRE", "vs jax-md")
    (ts,) = _by_name(recs, "FIRE", "vs torch-sim")
    vs = _by_name(recs, "pair-list build", "vs vesin")
    ase = _by_name(recs, "FIRE", "vs ASE")
    assert ase[0]["target"] == ">= 20x"
    if have("jax", "jax_md"):
        assert not jx["skipped"] and jx["peer_version"]
        assert jx["extra"]["energy_diff_frame0"] < 1e-9 and jx["extra"]["force_diff_max"] < 1e-9
        assert jx["extra"]["final_energy_rel_diff_max"] < 1e-6  # same algorithm, float64
        assert jx["ratio"] == pytest.approx(jx["gmbench"] / jx["reference"])
    else:
        assert jx["skipped"] and "not installed" in jx["notes"]
    if have("torch_sim"):
        assert not ts["skipped"]
        assert ts["extra"]["energy_diff_max"] < 1e-9 and ts["extra"]["halved_force_diff_max"] < 1e-9
        assert ts["extra"]["stock_force_ratio"] == pytest.approx(2.0, rel=1e-9)  # torch-sim 0.3.0's double count
    else:
        assert ts["skipped"] and "not installed" in ts["notes"]
    if have("vesin"):
        for r in vs:
            assert not r["skipped"] and r["extra"]["pairs_identical"] is True and "IDENTICAL" in r["notes"]
    else:
        assert all(r["skipped"] and "not installed" in r["notes"] for r in vs)
    (share,) = _by_name(recs, "harness share")
    assert 0 < share["gmbench"] < 100 and share["extra"]["cells"] == 1
    assert share["extra"]["energy"] > 0 and share["extra"]["assess"] > 0 and share["extra"]["store"] > 0
    (fixed,) = _by_name(recs, "fixed cost per cell")
    assert fixed["gmbench"] > 0 and fixed["extra"]["cells"] == fixed["extra"]["counts"]["done"] == 10
    cmas = _by_name(recs, "CMA-ES", "vs pycma")
    assert {r["extra"]["instances"] > 1 for r in cmas} == {True, False}  # one instance, and many batched
    for r in cmas:
        assert not r["skipped"] and r["peer_version"] and r["unit"] == "generations/s"
        assert r["ratio"] == pytest.approx(r["gmbench"] / r["reference"])
        # the same algorithm on the same sphere: after the same generations both are about as far down
        assert abs(r["extra"]["log10_f_gmbench"] - r["extra"]["log10_f_pycma"]) < 1.0, r


PEER_MODULES = ("jax", "jax_md", "torch_sim", "vesin", "vesin.torch", "vesin_torch", "ase", "ase.optimize", "cma")


def test_perf_without_peers_reports_not_installed(tmp_path, keep_threads, monkeypatch):
    """Peers hidden (as if not installed): their rows are skipped with "not installed", gmbench's own
    numbers are still there, and the command succeeds."""
    import sys

    for m in PEER_MODULES:
        monkeypatch.setitem(sys.modules, m, None)  # `import m` now raises ImportError
    path = tmp_path / "perf.json"
    res = runner.invoke(app, ["perf", "--quick", "--device", "cpu", "--threads", "1", "--figure", "3", "--figure", "4",
                              "--figure", "7", "--json", str(path)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    recs = json.loads(path.read_text())["records"]
    peers = [r for r in recs if any(k in r["name"] for k in ("vs jax-md", "vs torch-sim", "vs vesin", "vs ASE",
                                                             "vs pycma"))]
    assert len(peers) >= 6 and sum("vs pycma" in r["name"] for r in peers) == 2
    for r in peers:
        assert r["skipped"] and "not installed (pip install gmbench[perf])" in r["notes"], r
        assert r["gmbench"] is not None and r["gmbench"] > 0 and r["reference"] is None and r["ratio"] is None
    assert "not installed" in res.stdout


def test_gmbench_import_does_not_import_peers():
    """The peers are optional: importing gmbench (and its perf package) imports none of them."""
    import subprocess
    import sys

    code = ("import sys, gmbench, gmbench.bench, gmbench.cli.app; "
            f"print([m for m in {list(PEER_MODULES)!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_vectorised_adam_reference_matches_torch_optim_adam():
    """The vectorised plain-torch sweep `gmbench perf` times is torch.optim.Adam, vectorised over the
    rates: the naive per-rate loop's best energies, bit for bit in float32 (same arithmetic), and to
    rounding in float64."""
    from gmbench.bench import naive_adam_sweep
    from gmbench.bench.peers import VectorisedAdam

    lrs = [0.05, 0.3, 1.5, 5.0]
    for name, dtype in (("alpine1", torch.float32), ("schaffer-f7-paper", torch.float32), ("alpine1", torch.float64)):
        prob = make_problem(name, dim=13, bounds=[-100, 100])
        x = torch.rand(9, 13, generator=torch.Generator().manual_seed(3), dtype=dtype) * 200 - 100
        ref = naive_adam_sweep(prob.energy_fn(), x, lrs, 25)
        got = VectorisedAdam(prob.energy_fn())(x, lrs, 25)
        if dtype == torch.float32:
            assert torch.equal(got, ref), (name, got, ref)
        else:
            assert torch.allclose(got, ref, rtol=1e-12, atol=0)
        assert len(set(ref.tolist())) == len(lrs)  # the rates do differ


@pytest.mark.parametrize("args, msg", [
    (["--device", "tpu"], "unknown device"),
    (["--json", "/nonexistent-folder/x.json"], "cannot write --json"),
    (["--figure", "10"], "unknown --figure"),
])
def test_perf_bad_input_is_one_line_error(args, msg):
    res = runner.invoke(app, ["perf", "--quick", *args])
    assert res.exit_code == 2
    assert "error:" in res.output and msg in res.output


@pytest.mark.parametrize("name", ["sphere", "rastrigin", "rosenbrock", "ackley"])
def test_analytic_gradients_match_autograd(name):
    prob = make_problem(name, dim=7)
    eg = prob.energy_and_grad_fn()
    assert eg is not None
    g = torch.Generator().manual_seed(1)
    lo, hi = float(prob.lower[0]), float(prob.upper[0])
    x = lo + (hi - lo) * torch.rand(50, 7, generator=g, dtype=torch.float64)
    x = torch.cat([x, prob.x_star()[None]])  # includes the (guarded) minimizer
    xr = x.clone().requires_grad_(True)
    e_ref = prob.energy_fn()(xr)
    (g_ref,) = torch.autograd.grad(e_ref.sum(), xr)
    e, gr = eg(x)
    assert torch.equal(e, e_ref.detach())  # energies are the plain function's, bit for bit
    assert torch.allclose(gr, g_ref, rtol=1e-10, atol=1e-10)
    # the cache-blocked path (many small blocks) gives the same numbers as one block
    from gmbench.problems.functions.spec import BlockedEnergyGrad

    e2, g2 = BlockedEnergyGrad(prob.spec.f, prob.spec.grad, block_elems=7 * 4)(x.reshape(3, 17, 7))
    assert torch.equal(e2.reshape(-1), e) and torch.equal(g2.reshape(-1, 7), gr)


def test_adam_sweep_fast_path_gives_the_plain_numbers(monkeypatch):
    """The analytic-gradient, cache-blocked sweep against the autograd one (GMBENCH_PLAIN=1), and
    against the straightforward torch.optim.Adam reference that `gmbench perf` times."""
    from gmbench.core.blackbox import BlackBox, Budget
    from gmbench.methods.adam_sweep import AdamSweep
    from gmbench.bench import naive_adam_sweep

    prob = make_problem("rastrigin", dim=9)
    lrs = [0.01, 0.05, 0.2]

    def sweep(block_elems: int) -> dict[float, float]:
        bb = BlackBox.from_problem(prob, Budget(None, None))
        got: dict[float, float] = {}
        AdamSweep(n_points=6, n_steps=30, lrs=lrs, block_elems=block_elems).run(
            bb, lambda x, lr, energy_seen: got.__setitem__(lr, min(got.get(lr, math.inf), energy_seen)))
        return got

    fast = sweep(2**16)
    blocked = sweep(9 * 2)  # blocks of two learning rates of one point
    monkeypatch.setenv("GMBENCH_PLAIN", "1")
    assert make_problem("rastrigin", dim=9).energy_and_grad_fn() is None
    plain = sweep(2**16)
    assert blocked == fast
    assert [fast[lr] for lr in lrs] == pytest.approx([plain[lr] for lr in lrs], rel=1e-9)
    starts = BlackBox.from_problem(prob).starts(6)
    ref = naive_adam_sweep(prob.energy_fn(), starts, lrs, 30)
    assert [fast[lr] for lr in lrs] == pytest.approx(ref.tolist(), rel=1e-9)


def test_pair_energy_analytic_forces_match_autograd():
    from gmbench.bench import ka100_frames, lattice_config
    from gmbench.core.autodiff import energy_and_forces
    from gmbench.physics.potentials import binary_species
    from gmbench.problems.atoms.csh import csh_energy
    from gmbench.problems.atoms.ka_lj import kob_andersen_energy

    frames, species, _ = ka100_frames(3)
    r_csh = torch.rand(2, 152, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 300.0
    cases = [
        (kob_andersen_energy(100, species), frames),  # dense minimum image
        (kob_andersen_energy(1000, binary_species(1000), neighbor="cell"), lattice_config(1000)[None]),  # cell list
        (kob_andersen_energy(1000, binary_species(1000), neighbor="cell", skin=0.3), lattice_config(1000)[None]),
        (csh_energy(), r_csh),  # Mie 28-14
    ]
    for energy, r in cases:
        e0, f0 = energy_and_forces(energy, r, analytic=False)  # autograd, against the analytic forces
        e1, f1 = energy.energy_and_forces(r)
        assert torch.allclose(e1, e0, rtol=1e-12, atol=1e-9)
        assert torch.allclose(f1, f0, rtol=1e-9, atol=1e-9 * float(f0.abs().max()))


def test_numpy_ka_calculator_matches_gmbench():
    pytest.importorskip("ase")
    from ase import Atoms

    from gmbench.bench import KANumpyCalculator, ka100_frames
    from gmbench.core.autodiff import energy_and_forces
    from gmbench.problems.atoms.ka_lj import kob_andersen_energy

    frames, species, _ = ka100_frames(1)
    energy = kob_andersen_energy(100, species)
    r = energy.space.wrap(frames[0])
    e, f = energy_and_forces(energy, r)
    box = energy.space.box
    atoms = Atoms(numbers=[18] * 100, positions=r.numpy(), cell=[box] * 3, pbc=True)
    atoms.calc = KANumpyCalculator(species.numpy(), box)
    assert atoms.get_potential_energy() == pytest.approx(float(e), rel=1e-12)
    assert torch.allclose(torch.from_numpy(atoms.get_forces()), f, atol=1e-9)


@pytest.mark.slow
def test_compiled_kernels_give_the_eager_numbers(monkeypatch):
    """GMBENCH_COMPILE=1 (torch.compile; tens of seconds to compile on a CPU, hence slow)."""
    from gmbench.bench import ka100_frames
    from gmbench.problems.atoms.ka_lj import kob_andersen_energy

    prob = make_problem("rastrigin", dim=64)
    x = torch.rand(300, 64, generator=torch.Generator().manual_seed(0)) * 10 - 5
    e0, g0 = prob.energy_and_grad_fn()(x)
    frames, species, _ = ka100_frames(4)
    energy = kob_andersen_energy(100, species)
    ea, fa = energy.energy_and_forces(frames)
    monkeypatch.setenv("GMBENCH_COMPILE", "1")
    e1, g1 = prob.energy_and_grad_fn()(x)
    assert torch.allclose(e1, e0, rtol=1e-5) and torch.allclose(g1, g0, rtol=1e-5, atol=1e-4)
    eb, fb = energy.energy_and_forces(frames)
    assert torch.allclose(eb, ea, rtol=1e-12) and torch.allclose(fb, fa, rtol=1e-10, atol=1e-10)
