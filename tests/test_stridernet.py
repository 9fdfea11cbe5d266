"""StriderNET: the policy network's symmetries and batching, the two estimators, training, adaptation,
saved models, the registered method and the CLI (tiny systems; seconds)."""

from __future__ import annotations

import math

import pytest
import torch
from typer.testing import CliRunner

import gmbench.problems.atoms  # noqa: F401
from gmbench.methods import stridernet as sn
from gmbench.studies.stridernet import bench_adapt, bench_forward  # the study's timing benches
from gmbench.core.blackbox import BudgetExhausted, Budget
from gmbench.core.errors import GmbenchError
from gmbench.methods import make_method
from gmbench.models.gnn import PolicyConfig, StriderNet, build_graph
from gmbench.physics.potentials import binary_species
from gmbench.problems.atoms.ka_lj import ka_box, kob_andersen_energy

pytestmark = pytest.mark.usefixtures("one_thread")


def lattice_ka(n_side: int, batch: int, seed: int = 0, jitter: float = 0.05) -> tuple[torch.Tensor, float]:
    """Jittered simple-cubic KA structures at density 1.2: (batch, n_side^3, 3), box."""
    n = n_side**3
    L = ka_box(n)
    g = torch.arange(n_side, dtype=torch.float64) * (L / n_side)
    grid = torch.stack(torch.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    gen = torch.Generator().manual_seed(seed)
    r = grid[None] + jitter * torch.randn((batch, n, 3), generator=gen, dtype=torch.float64)
    return torch.remainder(r, L), L


def net_and_inputs(n_side=3, batch=2, seed=0):
    torch.manual_seed(seed)
    net = StriderNet(PolicyConfig(system="ka-lj", clip=None))
    r, L = lattice_ka(n_side, batch, seed)
    sp = binary_species(r.shape[1])
    E = kob_andersen_energy(r.shape[1])
    return net, r, E.atom_energies(r), sp, L


def test_shapes_finite_centred_and_clipped():
    torch.manual_seed(0)
    net = StriderNet(PolicyConfig(system="ka-lj"))
    r, L = lattice_ka(3, 4)
    sp = binary_species(27)
    ae = kob_andersen_energy(27).atom_energies(r)
    mu = net(r, ae, sp, L)
    assert mu.shape == (4, 27, 3) and mu.dtype == torch.float64
    assert torch.isfinite(mu).all()
    assert float(mu.detach().abs().max()) <= 0.05 + 1e-12  # the LJ clip
    assert float(mu.detach().abs().max()) > 0
    net_nc = StriderNet(PolicyConfig(system="ka-lj", clip=None))
    mu2 = net_nc(r, ae, sp, L)
    torch.testing.assert_close(mu2.mean(1), torch.zeros(4, 3, dtype=torch.float64), rtol=0, atol=1e-12)


def test_permutation_equivariance():
    net, r, ae, sp, L = net_and_inputs()
    mu = net(r, ae, sp, L)
    perm = torch.randperm(27, generator=torch.Generator().manual_seed(5))
    mu_p = net(r[:, perm], ae[:, perm], sp[perm], L)
    torch.testing.assert_close(mu_p, mu[:, perm], rtol=1e-5, atol=1e-9)
    assert not torch.allclose(mu[:, perm], mu, atol=1e-9)  # the permutation does change the ordering


def test_translation_invariance_of_features_and_displacements():
    net, r, ae, sp, L = net_and_inputs()
    shift = torch.tensor([0.37, -1.21, 2.9], dtype=torch.float64)
    r2 = torch.remainder(r + shift, L)
    ae2 = kob_andersen_energy(27).atom_energies(r2)
    torch.testing.assert_close(ae2, ae, rtol=1e-12, atol=1e-10)
    g1, x1, e1 = net.features(r, ae, sp, L)
    g2, x2, e2 = net.features(r2, ae2, sp, L)
    torch.testing.assert_close(x2, x1, rtol=1e-6, atol=1e-6)

    def keyed(g, e):
        key = g.src * 10_000 + g.dst
        order = torch.argsort(key)
        return key[order], e[order]

    k1, f1 = keyed(g1, e1)
    k2, f2 = keyed(g2, e2)
    assert torch.equal(k1, k2)
    torch.testing.assert_close(f2, f1, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(net(r2, ae2, sp, L), net(r, ae, sp, L), rtol=1e-4, atol=1e-9)


def test_graph_edges_species_cutoffs_and_cell_list_path():
    r, L = lattice_ka(7, 1, jitter=0.1)  # N = 343 >= 256: the batched cell list builds the candidates
    n = r.shape[1]
    sp = binary_species(n)
    cut = torch.tensor([[1.5, 1.25], [1.25, 2.0]], dtype=torch.float64)
    g = build_graph(r, sp, L, cut)
    d = r[0, :, None] - r[0, None]
    d = d - L * torch.round(d / L)
    dist = d.norm(dim=-1)
    rc = cut[sp[:, None], sp[None]]
    want = (dist < rc) & (dist > 0)
    got = torch.zeros(n, n, dtype=torch.bool)
    got[g.src, g.dst] = True
    assert torch.equal(got, want)
    assert g.src.numel() == int(want.sum())
    torch.testing.assert_close(g.vec, d[g.src, g.dst])


def test_model_batching_matches_single_models():
    net, r, ae, sp, L = net_and_inputs(batch=3)
    multi = net.replicate(3)
    with torch.no_grad():  # change model 1 only
        for p in multi.parameters():
            p[1].mul_(1.5)
    mu = multi(r, ae, sp, L, torch.arange(3))
    torch.testing.assert_close(mu[0], net(r[:1], ae[:1], sp, L)[0], rtol=1e-5, atol=1e-10)
    torch.testing.assert_close(mu[2], net(r[2:], ae[2:], sp, L)[0], rtol=1e-5, atol=1e-10)
    torch.testing.assert_close(mu[1], multi.select(1)(r[1:2], ae[1:2], sp, L)[0], rtol=1e-5, atol=1e-10)
    assert not torch.allclose(mu[1], net(r[1:2], ae[1:2], sp, L)[0])


# ---------------------------------------------------------------------------------------------
# learning
# ---------------------------------------------------------------------------------------------


def tiny_bb(n_side=3, frames=8, evals=None):
    from gmbench.problems.atoms.base import FrameSampler
    from gmbench.problems import make_problem

    r, L = lattice_ka(n_side, frames, seed=3, jitter=0.08)
    p = make_problem("ka-lj", n=n_side**3, starts="md")
    p._sampler = FrameSampler(r)  # jittered lattices instead of MD frames (fast, no cache)
    return sn.open_blackbox(p, 0, budget=Budget(evals=evals))


def grads(net):
    return torch.cat([p.grad.reshape(-1) for p in net.parameters() if p.grad is not None])


@pytest.mark.parametrize("estimator", ["pathwise", "reinforce"])
def test_estimators_baseline_role(estimator):
    bb = tiny_bb()
    x0 = bb.starts(2)
    cfg = sn.LearnConfig(estimator=estimator, T=3)
    out = []
    for shift in (0.0, 50.0):
        torch.manual_seed(0)
        net = StriderNet(PolicyConfig(system="ka-lj"))
        gen = torch.Generator().manual_seed(1)
        ro = sn.rollout(net, bb, x0, 3, estimator=estimator, grad=True, generator=gen)
        u = torch.full((2,), -100.0 + shift, dtype=torch.float64)
        sn.loss_of(ro, u, cfg).backward()
        out.append(grads(net))
    assert torch.isfinite(out[0]).all() and out[0].abs().max() > 0
    if estimator == "pathwise":  # the FIRE baseline is an additive constant of the returns: it cancels
        torch.testing.assert_close(out[1], out[0], rtol=1e-6, atol=1e-12)
    else:  # score function: the baseline changes the gradient (log pi really depends on theta)
        assert not torch.allclose(out[1], out[0], rtol=1e-3)


def test_returns_discounting():
    E = torch.tensor([[0.0], [-1.0], [-3.0]], dtype=torch.float64)
    D = sn.returns(E, torch.tensor([-2.0], dtype=torch.float64), 0.5)
    # R = [-2 - -1, -2 - -3] = [-1, 1]; D_1 = 1, D_0 = -1 + 0.5
    torch.testing.assert_close(D[:, 0], torch.tensor([-0.5, 1.0], dtype=torch.float64))


def test_tiny_training_lowers_energy_below_start():
    bb = tiny_bb(frames=8)
    X = bb.starts(8)
    # tiny-system training is seed-sensitive (seeds 0, 2, 3 improve; with seed 1 no validation beats the
    # untrained policy in 60 epochs, so the untrained one is kept): seed 0, as every other test here
    cfg = sn.TrainConfig(epochs=60, T=6, T_val=6, val_every=5, batch=2, accumulate=1, lr=5e-3, seed=0)
    res = sn.train(bb, cfg, X)
    assert res.cost["train_evals"] > 0 and res.cost["train_epochs"] == 60 and res.best_epoch > 0
    with torch.no_grad():
        ro_trained = sn.rollout(res.net, bb, X, 6, grad=False, generator=torch.Generator().manual_seed(0))
        torch.manual_seed(cfg.seed)
        fresh = StriderNet(PolicyConfig(system="ka-lj"))
        ro_fresh = sn.rollout(fresh, bb, X, 6, grad=False, generator=torch.Generator().manual_seed(0))
    gain = ro_trained.energies[-1] - ro_trained.energies[0]
    assert float(gain.mean()) < -1.0  # the trained policy lowers the energy of its starting structures
    assert float(gain.mean()) < float((ro_fresh.energies[-1] - ro_fresh.energies[0]).mean()) - 1.0


def test_adaptation_never_worse_than_start_and_restarts(tmp_path):
    bb = tiny_bb()
    torch.manual_seed(0)
    net = StriderNet(PolicyConfig(system="ka-lj"))
    path = tmp_path / "m.pt"
    sn.save_model(path, net, {"cost": {"train_wall_s": 1.0, "train_epochs": 2.0, "train_evals": 10.0}})
    net2, meta = sn.load_model(path)
    assert meta["cost"]["train_epochs"] == 2.0
    for a, b in zip(net.state_dict().values(), net2.state_dict().values()):
        assert torch.equal(a, b)
    x = bb.starts(2)
    e0 = bb.energy(x)
    seen = []
    res = sn.adapt(net2, bb, x, sn.AdaptConfig(epochs=4, seeds=2, T=3), on_improve=lambda k, xx, e: seen.append((k, e)),
                   generator=torch.Generator().manual_seed(0))
    assert res.best_energy.shape == (2,) and res.best_x.shape == (2, 81)
    assert (res.best_energy <= e0 + 1e-9).all()
    torch.testing.assert_close(bb.energy(res.best_x), res.best_energy)
    assert res.epochs_done == 4 and len(res.trace) == 4
    assert {k for k, _ in seen} == {0, 1}
    # the trace of best energies never increases
    tr = torch.tensor(res.trace)
    assert (tr[1:] <= tr[:-1] + 1e-12).all()


def test_load_model_errors(tmp_path):
    with pytest.raises(GmbenchError):
        sn.load_model(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(GmbenchError):
        sn.load_model(bad)


def test_method_reports_per_target_and_stops_on_budget(tmp_path):
    bb = tiny_bb(evals=2500)
    torch.manual_seed(0)
    path = tmp_path / "m.pt"
    sn.save_model(path, StriderNet(PolicyConfig(system="ka-lj")),
                  {"cost": {"train_wall_s": 12.5, "train_epochs": 3.0, "train_evals": 99.0}})
    m = make_method("stridernet", {"model": str(path), "n_targets": 3, "seeds": 2, "adapt_epochs": 10_000, "T": 3})
    reports = []
    with pytest.raises(BudgetExhausted):
        m.run(bb, lambda x, **s: reports.append((x, s)))
    starts = {int(s["start"]) for _, s in reports}
    assert starts == {0, 1, 2}
    assert all(s["train_wall_s"] == 12.5 and s["train_evals"] == 99.0 for _, s in reports if s["adapt_epoch"] > 0)
    assert max(s["adapt_epoch"] for _, s in reports) >= 1
    with pytest.raises(GmbenchError):
        make_method("stridernet", {"estimator": "nope"})


def test_method_trains_inside_the_budget_without_a_model():
    bb = tiny_bb(evals=100_000)
    m = make_method("stridernet", {"n_targets": 2, "seeds": 1, "adapt_epochs": 2, "T": 3, "n_train": 4,
                                   "train_epochs": 2})
    reports = []
    m.run(bb, lambda x, **s: reports.append(s))
    assert {int(s["start"]) for s in reports} == {0, 1}
    trained = [s for s in reports if "train_evals" in s]
    assert trained and all(s["train_epochs"] == 2 and s["train_evals"] > 0 for s in trained)


def test_method_rejects_non_atomistic_problem():
    from gmbench.problems import make_problem

    p = make_problem("sphere", dim=3)
    bb = sn.open_blackbox(p)
    with pytest.raises(GmbenchError):
        make_method("stridernet", {}).run(bb, lambda x, **s: None)


def test_cli_bad_input_exits_2(tmp_path):
    from gmbench.cli.app import app

    r = CliRunner().invoke(app, ["stridernet", "adapt", "--model", str(tmp_path / "none.pt")])
    assert r.exit_code == 2 and "not found" in r.output
    r = CliRunner().invoke(app, ["stridernet", "train", "--out", str(tmp_path / "m.pt"), "--estimator", "x"])
    assert r.exit_code == 2


def test_cli_train_then_adapt_end_to_end(tmp_path):
    from gmbench.cli.app import app

    md_params = ["-p", "n=27", "-p", "starts=md", "-p", "pool=6"]
    out = tmp_path / "m.pt"
    r = CliRunner().invoke(app, ["stridernet", "train", "--out", str(out), "--epochs", "2", "--val-every", "1",
                                 *md_params])
    assert r.exit_code == 0, r.output
    assert out.is_file()
    r = CliRunner().invoke(app, ["stridernet", "adapt", "--model", str(out), "--targets", "2", "--epochs", "2",
                                 "--seeds", "2", "--no-baselines", *md_params])
    assert r.exit_code == 0, r.output
    assert "| StriderNET |" in r.output and "training cost" in r.output


def test_bench_functions_return_seconds():
    pytest.importorskip("gmbench.physics.md")
    t = bench_forward(n_steps=2, n_atoms=27)
    a = bench_adapt(n_epochs=1, T=2, n_atoms=27)
    assert 0 < t < 60 and 0 < a < 60 and math.isfinite(t + a)


def test_baselines_use_the_systems_paper_settings():
    bb = tiny_bb()
    x = bb.starts(2)
    e0 = bb.energy(x)
    out = sn.baselines(bb, x, steps=20)
    assert set(out) == {"GD", "FIRE", "Adam"}
    for e in out.values():
        assert e.shape == (2,) and (e <= e0 + 1e-9).all()
    assert sn.BASELINE_PARAMS["ka-lj"] == (5e-4, 0.05, 0.01, 1000)


def test_method_never_trains_on_its_targets(monkeypatch):
    bb = tiny_bb(frames=8)  # a pool of 8 structures; 3 targets and up to 20 training draws
    seen = {}

    class Stop(Exception):
        pass

    def spy(bb_, cfg, structures, **kw):
        seen["train"] = structures.clone()
        raise Stop

    monkeypatch.setattr(sn, "train", spy)
    targets = []
    m = make_method("stridernet", {"n_targets": 3, "n_train": 20, "seeds": 1, "adapt_epochs": 1, "T": 2})
    with pytest.raises(Stop):
        m.run(bb, lambda x, **s: targets.append(x.clone()))
    tr, tg = seen["train"], torch.stack(targets)
    assert tg.shape[0] == 3 and tr.shape[0] == 5  # the 5 frames that are not targets, each once
    assert not (tr[:, None, :] == tg[None, :, :]).all(-1).any()
    assert not torch.tril((tr[:, None, :] == tr[None, :, :]).all(-1), diagonal=-1).any()

    small = tiny_bb(frames=4)  # 3 targets leave 1 structure: too few to train without the targets
    with pytest.raises(GmbenchError, match="not targets"):
        make_method("stridernet", {"n_targets": 3, "n_train": 10}).run(small, lambda x, **s: None)
