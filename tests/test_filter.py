"""`gmbench filter`: the seed paper's 30 -> 14 -> 8 -> 2 selection, at a tiny scale."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from gmbench.cli.app import app
from gmbench.studies.filter import PAPER_14, PAPER_2, PAPER_8, make_config, step1, step2_one, step3_one

runner = CliRunner()

DIFFERENTIABLE_6 = ["drop-wave", "griewank", "rastrigin", "rosenbrock", "expanded-schaffer-f6", "modified-xin-she-yang-3"]
TINY = ["--dim", "8", "--points", "20", "--steps", "30", "--lr-start", "0.1", "--lr-stop", "2.1", "--lr-step", "1",
        "--learn-dim", "4", "--learn-steps", "20", "--learn-points", "32", "--width", "32", "--seeds", "2",
        "--device", "cpu"]


pytestmark = pytest.mark.usefixtures("one_thread")


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def rows(store: Path, step: int | None = None) -> list[tuple]:
    db = sqlite3.connect(store)
    try:
        q = "SELECT step, function, seed, config_hash, created FROM filter_runs"
        return sorted(db.execute(q + (" WHERE step=?" if step else ""), (step,) if step else ()).fetchall())
    finally:
        db.close()


def test_step1_gives_6_of_the_papers_14_with_a_reason_for_each_difference():
    recs = {r["function"]: r for r in step1(1000)}
    assert len(recs) == 30 and "schaffer-f7-paper" in recs and "schaffer-f7" not in recs
    assert [n for n, r in recs.items() if r["paper"]] == sorted(PAPER_14, key=list(recs).index)
    assert sorted(n for n, r in recs.items() if r["declared"]) == sorted(DIFFERENTIABLE_6)
    differ = {n for n, r in recs.items() if r["difference"]}
    assert differ == set(PAPER_14) - set(DIFFERENTIABLE_6)  # 8, all kept by the paper, none added by ours
    for n in differ:
        assert "not differentiable everywhere" in recs[n]["difference"]
    assert "not unique" in recs["alpine1"]["difference"]
    assert "one local minimum" in recs["happycat"]["difference"] and "one local minimum" in recs["hgbat"]["difference"]
    assert recs["weierstrass"]["loose"] and recs["perm"]["loose"]  # what the looser reading would add
    # Rosenbrock is multimodal only from D = 4 on
    assert not {r["function"]: r for r in step1(3)}["rosenbrock"]["declared"]


def test_step1_alone_through_the_cli_computes_nothing(tmp_path):
    store = tmp_path / "f.sqlite"
    res = cli("filter", "--until", "1", "--store", str(store), "--quiet")
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "declared properties give 6: " + ", ".join(DIFFERENTIABLE_6) in out
    assert "paper's 14: " + ", ".join(PAPER_14) in out and "differences (8):" in out
    assert "Step 2" not in out and len(rows(store, 2)) == 0 and len(rows(store, 1)) == 30


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    store = tmp_path_factory.mktemp("filter") / "f.sqlite"
    res = cli("filter", *TINY, "--store", str(store))
    assert res.exit_code == 0, res.output
    return store, res


def test_whole_command_at_a_tiny_scale(tiny_run):
    store, res = tiny_run
    out = res.stdout
    for text in ("Step 1:", "Step 2:", "Step 3:", "Final selection", "dist nearest", "dist x*", "loss/baseline per seed",
                 "paper's 8: " + ", ".join(PAPER_8), "paper's (2): " + ", ".join(PAPER_2), "ours ("):
        assert text in out, text
    assert len(rows(store, 1)) == 30
    s2 = rows(store, 2)
    assert sorted(r[1] for r in s2) == sorted(PAPER_14) and {r[2] for r in s2} == {0}
    s3 = rows(store, 3)
    assert {r[2] for r in s3} == {0, 1} and set(PAPER_8) <= {r[1] for r in s3}
    assert "computed" in res.stderr and "0 reused" in res.stderr


def test_report_filter_reprints_from_the_store_and_a_rerun_skips(tiny_run):
    store, first = tiny_run
    rep = cli("report", "--filter", "--store", str(store))
    assert rep.exit_code == 0, rep.output
    assert rep.stdout == first.stdout
    before = rows(store)
    again = cli("filter", *TINY, "--store", str(store), "--quiet")
    assert again.exit_code == 0 and "filter: 0 computed" in again.stderr
    assert rows(store) == before  # same rows, same timestamps: nothing recomputed
    assert again.stdout == first.stdout


def test_steps_are_reproducible_and_leave_the_global_rng_alone():
    cfg = make_config("quick", dim=6, points=8, steps=10, lr_start=0.5, lr_stop=0.5, lr_step=0.1,
                      learn_dim=3, learn_steps=5, learn_points=16, width=8, seeds=[0], device="cpu")
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a2, a3 = step2_one("rastrigin", cfg, 0), step3_one("rastrigin", cfg, 0)
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(999)
    b2, b3 = step2_one("rastrigin", cfg, 0), step3_one("rastrigin", cfg, 0)
    assert a2["dist_nearest"] == b2["dist_nearest"] and a3["loss"] == b3["loss"]
    assert step3_one("rastrigin", cfg, 1)["loss"] != a3["loss"]


def test_constant_function_is_not_learnable():
    cfg = make_config("quick", learn_dim=20, learn_steps=2, learn_points=16, width=8, device="cpu")
    r = step3_one("modified-xin-she-yang-3", cfg, 0)  # exactly 1e4 almost everywhere in [-100, 100]^20
    assert r["learnable"] is False and r["constant"]


@pytest.mark.parametrize("args,message", [
    (["filter", "--scale", "fast"], "unknown --scale 'fast'"),
    (["filter", "--dim", "0"], "bad --dim 0"),
    (["filter", "--learn-dim", "-3"], "bad --learn-dim -3"),
    (["filter", "--lr-step", "0"], "bad --lr-step"),
    (["filter", "--lr-start", "2", "--lr-stop", "1"], "below --lr-start"),
    (["filter", "--seeds", "x"], "bad --seeds"),
    (["filter", "--step2-from", "mine"], "bad --step2-from"),
    (["filter", "--device", "tpu"], "unknown device"),
    (["report", "--filter", "--store", "/nonexistent/dir/f.sqlite"], "no results store"),
])
def test_bad_flags_exit_2_with_one_line(args, message, tmp_path):
    res = cli(*args, *([] if "--store" in args else ["--store", str(tmp_path / "f.sqlite")]))
    assert res.exit_code == 2, res.output
    assert message in res.output, res.output
    assert res.output.strip().startswith("error:") and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "f.sqlite").exists()  # validated before the store is touched


def test_report_filter_without_a_filter_run(tmp_path):
    store = tmp_path / "f.sqlite"
    from gmbench.store.sqlite import Store

    Store(store).close()
    res = cli("report", "--filter", "--store", str(store))
    assert res.exit_code == 2 and "no filter run" in res.output
