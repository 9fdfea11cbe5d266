"""Targets, success rates, aRT, runtime ECDFs, fixed-budget curves and significance, from stored traces.

Most checks use a hand-made store (traces written directly, so every number can be worked out by hand);
one runs a small real suite through the CLI (report with targets and stats, ECDF figures)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gmbench.cli.app import app
from gmbench.config.suite import load_suite
from gmbench.core.errors import GmbenchError
from gmbench.report import analysis as A
from gmbench.report import significance as S
from gmbench.report.targets import COCO_GAP, DEFAULT, DEFAULT_TAU, TargetSpec, parse_targets
from gmbench.store.sqlite import Store

runner = CliRunner()


# ---- a hand-made store -------------------------------------------------------------------------------

def put_run(st: Store, key: str, cfg: dict, method: str, seed: int, rows: list[tuple], n_energy: int, wall_s: float,
            suite: str = "hand") -> None:
    """rows: (t, n_energy, energy, gap, dist, oob). The cell's final values follow the Recorder's rule."""
    inside = [r for r in rows if r[5] == 0] or rows
    best = min(inside, key=lambda r: r[2])
    pconf = json.dumps(cfg, sort_keys=True)
    st.db.execute("INSERT INTO suite_cells VALUES (?,?,?,?,?,?,?,?,?,?)",
                  (suite, f"{pconf}|{method}|{seed}", key, cfg["name"], cfg.get("dim"), pconf, method, seed, None, 0.0))
    row = {"key": key, "suite": suite, "problem": cfg["name"], "dim": cfg.get("dim"), "problem_config": pconf,
           "method": method, "label": method, "method_config": "{}", "seed": seed, "budget": "{}", "device": "cpu",
           "dtype": "float64", "version": "test", "status": "done", "final_energy": best[2], "final_gap": best[3],
           "final_dist": best[4], "final_dist_nearest": best[4], "n_energy": n_energy, "wall_s": wall_s,
           "n_candidates": len(rows), "summary": "{}"}
    st.save_cell(row, [(t, n, 0, e, g, d, d, o, "{}", n) for t, n, e, g, d, o in rows])


SPHERE = {"name": "sphere", "dim": 4, "bounds": [-10.0, 10.0]}


@pytest.fixture
def hand_store(tmp_path) -> Store:
    st = Store(tmp_path / "h.sqlite")
    # method A, seed 0: distance 5 at 10 evals, 1.5 at 30 evals (hits tau=1: threshold 1*sqrt(4) = 2), end at 50
    put_run(st, "a0", SPHERE, "A", 0, [(0.1, 10, 25.0, 25.0, 5.0, 0), (0.3, 30, 2.25, 2.25, 1.5, 0)], 50, 0.5)
    # method A, seed 1: never closer than 3 (no hit at tau=1), 100 evals, 1.0 s
    put_run(st, "a1", SPHERE, "A", 1, [(0.2, 20, 9.0, 9.0, 3.0, 0)], 100, 1.0)
    # method B, seed 0: a closer candidate (dist 0.1) with a HIGHER energy is not the prediction; an
    # out-of-bounds candidate with a lower energy is not either (an inside one exists)
    put_run(st, "b0", SPHERE, "B", 0, [(0.1, 5, 4.0, 4.0, 2.5, 0), (0.2, 8, 7.0, 7.0, 0.1, 0),
                                       (0.3, 9, 0.5, 0.5, 0.2, 3.0)], 40, 0.4)
    return st


def test_default_ladders():
    assert len(COCO_GAP) == 51 and COCO_GAP[0] == pytest.approx(100) and COCO_GAP[-1] == pytest.approx(1e-8)
    assert np.allclose(np.diff(np.log10(COCO_GAP)), -0.2)
    assert DEFAULT_TAU[0] == pytest.approx(10 ** 1.5) and DEFAULT_TAU[-1] == pytest.approx(0.01)
    for t in (10, 1, 0.1, 0.01):
        assert any(math.isclose(t, x) for x in DEFAULT_TAU)


def test_parse_targets_and_suite_key(tmp_path):
    spec = parse_targets({"tau": [1, 10], "gap": {"from": 1, "to": 1e-2, "per_decade": 1}})
    assert spec.tau == (10.0, 1.0) and spec.gap == pytest.approx((1.0, 0.1, 0.01)) and spec.headline_gap == DEFAULT.headline_gap
    for bad in ({"tau": []}, {"tau": [-1]}, {"gap": {"from": 1}}, {"taus": [1]}, [1, 2], {"tau": ["x"]}):
        with pytest.raises(GmbenchError):
            parse_targets(bad)
    base = "name: t\nbudget: {evals: 100}\nproblems: [{name: sphere, dim: 2}]\nmethods: [random-search]\n"
    (tmp_path / "ok.yaml").write_text(base + "targets: {tau: [3, 0.3], headline_tau: [3]}\n")
    s = load_suite(str(tmp_path / "ok.yaml"))
    assert s.targets.tau == (3.0, 0.3) and s.targets.headline_tau == (3.0,)
    assert load_suite("smoke").targets is None  # absent: defaults, and no cell key changes
    (tmp_path / "bad.yaml").write_text(base + "targets: {tau: -1}\n")
    with pytest.raises(GmbenchError, match=r"bad.yaml, line 5: .*targets.tau"):
        load_suite(str(tmp_path / "bad.yaml"))


def test_hits_and_art_by_hand(hand_store):
    data = A.load(hand_store, "hand")
    spec = TargetSpec(tau=(1.0,), gap=(10.0, 1.0), headline_tau=(1.0,), headline_gap=(1.0,))
    h = A.hits(data, spec)
    e = A.ert_table(h).set_index(["method", "kind", "target"])
    a = e.loc[("A", "dist", 1.0)]
    assert a["successes"] == 1 and a["runs"] == 2 and a["success_rate"] == 0.5
    assert a["aRT_evals"] == 30 + 100  # the hit run until its hit, the other until its end, / 1 success
    assert a["aRT_seconds"] == pytest.approx(0.3 + 1.0)
    assert a["median_evals_to_hit"] == 30
    # gap <= 10: seed 0 at 30 evals (2.25), seed 1 at 20 evals (9.0): aRT = (30 + 20) / 2
    assert e.loc[("A", "gap", 10.0)]["aRT_evals"] == 25
    assert np.isinf(e.loc[("A", "gap", 1.0)]["aRT_evals"]) and e.loc[("A", "gap", 1.0)]["successes"] == 0
    # B: the prediction is the lowest-energy INSIDE candidate (dist 2.5), never the dist-0.1 or the out-of-bounds one
    b = e.loc[("B", "dist", 1.0)]
    assert b["successes"] == 0 and np.isinf(b["aRT_evals"])
    pred = data.trace[data.trace["key"] == "b0"]["pred_dist"].tolist()
    assert pred == [2.5, 2.5, 2.5]


def test_relative_gap_without_a_known_minimum(tmp_path):
    st = Store(tmp_path / "r.sqlite")
    ka = {"name": "ka-lj", "dim": 6, "n_atoms": 2, "f_star": None, "bounds": [0.0, 3.0]}
    put_run(st, "k0", ka, "A", 0, [(0.1, 10, -5.0, None, None, 0), (0.2, 20, -7.0, None, None, 0)], 30, 0.3)
    put_run(st, "k1", ka, "B", 0, [(0.1, 10, -6.5, None, None, 0)], 30, 0.3)
    data = A.load(st, "hand")
    assert data.runs["relative"].all() and (data.runs["best_known"] == -7.0).all()
    e = A.ert_table(A.hits(data, TargetSpec(gap=(1.0, 0.1), headline_gap=(1.0,)))).set_index(["method", "target"])
    assert e.loc[("A", 0.1)]["successes"] == 1 and e.loc[("B", 1.0)]["successes"] == 1
    assert e.loc[("B", 0.1)]["successes"] == 0 and e["relative"].all()
    assert set(e["kind"]) == {"gap"}  # no distance ladder without a known minimizer
    text = A.render_headline(A.ert_table(A.hits(data)), DEFAULT, "markdown")
    assert "rel. gap" in text


def test_ecdf_and_fixed_budget(hand_store):
    data = A.load(hand_store, "hand")
    h = A.hits(data, TargetSpec(tau=(1.0, 2.0), gap=(10.0,), headline_tau=(1.0,), headline_gap=(10.0,)))
    c = A.runtime_ecdf(h, "dist", "evals")
    # A: tau=2 (threshold 4): seed 0 at 30 evals, seed 1 at 20; tau=1: seed 0 at 30 -> 3 of 4 pairs
    assert c["A"]["pairs"] == 4 and c["A"]["hits"] == 3
    assert c["A"]["x"].tolist() == [20 / 4, 30 / 4, 30 / 4] and c["A"]["y"][-1] == 0.75
    assert c["A"]["budget"] == 100 / 4
    with pytest.raises(GmbenchError):
        A.runtime_ecdf(h, "dist", "hours")
    fb = A.fixed_budget(data, "dist", "evals", n_grid=8)
    last = fb[fb["method"] == "A"].iloc[-1]  # at 100 evals: seed 0 holds 1.5, seed 1 holds 3.0
    assert last["x"] == pytest.approx(100) and last["median"] == pytest.approx(2.25) and last["n"] == 2
    assert last["q25"] == pytest.approx(1.875) and last["q75"] == pytest.approx(2.625)


def test_holm():
    assert S.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert S.holm([0.5]) == [0.5]


def test_significance_needs_five_pairs(tmp_path):
    st = Store(tmp_path / "s.sqlite")
    for seed in range(6):  # A always 1.0 closer than B; C only on 3 seeds
        put_run(st, f"a{seed}", SPHERE, "A", seed, [(0.1, 10, 1.0 + seed, 1.0 + seed, 1.0 + seed, 0)], 10, 0.1)
        put_run(st, f"b{seed}", SPHERE, "B", seed, [(0.1, 10, 2.0 + seed, 2.0 + seed, 2.0 + seed * 1.1, 0)], 10, 0.1)
        if seed < 3:
            put_run(st, f"c{seed}", SPHERE, "C", seed, [(0.1, 10, 9.0, 9.0, 9.0, 0)], 10, 0.1)
    runs = A.load(st, "hand").runs
    [rec] = S.compare(runs)
    tests = {(t["a"], t["b"]): t for t in rec["tests"]}
    ab = tests[("A", "B")]
    assert ab["n"] == 6 and ab["p"] == pytest.approx(0.03125) and ab["p_holm"] >= ab["p"]
    for pair in (("A", "C"), ("B", "C")):
        t = tests[pair]
        assert t["n"] == 3 and t["p"] is None and t["p_holm"] is None and t["verdict"] == S.NOT_ENOUGH
    assert rec["win_rate"]["A"]["B"] == 1.0 and rec["win_rate"]["B"]["A"] == 0.0
    assert rec["mean_ranks"] == {"A": 1.0, "B": 2.0, "C": 3.0} and rec["n_complete"] == 3
    text = S.render([rec], "markdown")
    assert "not enough runs (n < 5)" in text and "0.031" in text
    # fewer than five pairs everywhere: no p-value at all, and the note says so
    few = runs[runs["seed"] < 4]
    [rec] = S.compare(few)
    assert all(t["p"] is None for t in rec["tests"]) and "not enough runs" in rec["note"]


# ---- a real small suite, end to end ------------------------------------------------------------------

SUITE = """
name: h13-tiny
device: cpu
seeds: 5
budget: {evals: 3000}
problems:
  - {name: sphere, dim: 3}
  - {name: alpine1, dim: 3, bounds: [-10, 10]}
methods:
  - {name: random-search, params: {batch_size: 100}}
  - {name: fire, params: {n_points: 8, max_steps: 100, report_every: 10}}
targets: {headline_tau: [1, 0.1], headline_gap: [0.01]}
"""


@pytest.fixture(scope="module")
def real_store(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("real")
    (d / "tiny.yaml").write_text(SUITE)
    store = d / "s.sqlite"
    res = runner.invoke(app, ["run", "--suite", str(d / "tiny.yaml"), "--store", str(store), "--quiet"],
                        catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return d / "tiny.yaml", store


def test_report_shows_targets_and_significance(real_store):
    suite, store = real_store
    res = runner.invoke(app, ["report", "--store", str(store), "--suite", str(suite), "-f", "markdown"],
                        catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = res.output
    assert "Targets: sphere (D=3)" in out and "| τ=1 " in out and "gap≤1e-2" in out  # the suite's headline targets
    assert "Significance: alpine1 (D=3)" in out and "random-search vs fire" in out
    res = runner.invoke(app, ["report", "--store", str(store), "--suite", str(suite), "-f", "markdown", "--no-targets",
                              "--no-stats"], catch_exceptions=False)
    assert "Targets:" not in res.output and "Significance" not in res.output
    res = runner.invoke(app, ["report", "--store", str(store), "-f", "json"], catch_exceptions=False)
    assert isinstance(json.loads(res.output), list)  # default json: the results records, unchanged
    res = runner.invoke(app, ["report", "--store", str(store), "-f", "json", "--targets", "--stats"],
                        catch_exceptions=False)
    doc = json.loads(res.output)
    assert set(doc) == {"results", "targets", "target_ladders", "significance"}
    fire = [r for r in doc["targets"] if r["method"] == "fire" and r["kind"] == "gap"]
    assert len({r["target"] for r in fire}) >= 51 and all(0 <= r["success_rate"] <= 1 for r in fire)
    assert all(r["aRT_evals"] is None for r in fire if r["successes"] == 0)
    assert doc["significance"][0]["tests"][0]["n"] == 5
    res = runner.invoke(app, ["report", "--store", str(store), "-f", "csv", "--stats"], catch_exceptions=False)
    assert res.output.startswith("suite,problem,method") and "# significance\nsuite,problem,metric,a,b,n" in res.output


def test_plot_ecdf_and_fixed_budget(real_store, tmp_path):
    import matplotlib.image as mpimg

    suite, store = real_store
    res = runner.invoke(app, ["plot", "--suite", str(suite), "--store", str(store), "--kind", "ecdf", "--out",
                              str(tmp_path)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    pngs = sorted(tmp_path.glob("*_ecdf_*.png"))
    assert [p.name for p in pngs] == ["h13-tiny_ecdf_dist.png", "h13-tiny_ecdf_gap.png"]
    assert mpimg.imread(pngs[0]).shape[1] == 11 * 150  # 11 inch wide at 150 dpi
    res = runner.invoke(app, ["plot", "--suite", str(suite), "--store", str(store), "--kind", "fixed-budget",
                              "--format", "svg", "-p", "sphere", "--out", str(tmp_path)], catch_exceptions=False)
    svgs = sorted(tmp_path.glob("*.svg"))
    assert len(svgs) == 2 and all("sphere" in p.name for p in svgs)
    assert "distance to the nearest global minimizer" in svgs[0].read_text() or "energy gap" in svgs[0].read_text()
    res = runner.invoke(app, ["plot", "--suite", str(suite), "--store", str(store), "--kind", "ecdf", "-f", "gif"])
    assert res.exit_code == 2 and "unknown figure format" in res.output
