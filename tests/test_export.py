"""`gmbench export`: runs and traces to CSV/Parquet, best structures to extxyz, a COCO folder cocopp reads."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from gmbench.cli.app import app
from gmbench.store.export import coco_checkpoints

runner = CliRunner()

SUITE = """
name: h13-export
device: cpu
seeds: 3
budget: {evals: 3000}
problems:
  - {name: sphere, dim: 3}
  - {name: lj13, budget: {evals: 300}}
methods:
  - {name: random-search, params: {batch_size: 100}}
  - {name: fire, params: {n_points: 8, max_steps: 100, report_every: 10}}
"""


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("exp")
    (d / "s.yaml").write_text(SUITE)
    st = d / "s.sqlite"
    res = cli("run", "--suite", str(d / "s.yaml"), "--store", str(st), "--quiet")
    assert res.exit_code == 0, res.output
    return st


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_csv_has_one_row_per_run_and_the_configuration(store, tmp_path):
    before = _digest(store)
    res = cli("export", "--format", "csv", "--out", str(tmp_path / "csv"), "--store", str(store))
    assert res.exit_code == 0, res.output
    runs = pd.read_csv(tmp_path / "csv" / "runs.csv")
    traces = pd.read_csv(tmp_path / "csv" / "traces.csv")
    assert len(runs) == 2 * 2 * 3 and runs["key"].is_unique
    for col in ("problem", "instance", "dim", "label", "method", "method_config", "param.batch_size", "param.n_points",
                "seed", "budget_evals", "device", "dtype", "version", "status", "final_energy", "n_energy", "wall_s",
                "manifest.host"):
        assert col in runs.columns, col
    assert set(runs["instance"]) == {0} and set(runs["budget_evals"]) == {3000, 300}
    assert len(traces) == runs["n_candidates"].sum()
    assert {"key", "idx", "t", "n_energy", "energy", "gap", "dist", "dist_nearest", "label", "seed"} <= set(traces.columns)
    assert _digest(store) == before  # read-only


def test_parquet_matches_csv(store, tmp_path):
    pytest.importorskip("pyarrow")
    res = cli("export", "-f", "parquet", "--out", str(tmp_path), "--store", str(store), "--suite", "h13-export")
    assert res.exit_code == 0, res.output
    runs = pd.read_parquet(tmp_path / "runs.parquet")
    traces = pd.read_parquet(tmp_path / "traces.parquet")
    assert len(runs) == 12 and len(traces) == runs["n_candidates"].sum()


def test_export_works_on_a_read_only_store(store, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    copy = ro / "s.sqlite"
    copy.write_bytes(store.read_bytes())
    copy.chmod(stat.S_IRUSR)
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(copy, os.W_OK):
            pytest.skip("running as a user who can write anyway (root)")
        res = cli("export", "-f", "csv", "--out", str(tmp_path / "out"), "--store", str(copy))
        assert res.exit_code == 0, res.output
        assert sorted(p.name for p in ro.iterdir()) == ["s.sqlite"]
    finally:
        ro.chmod(stat.S_IRWXU)


def test_bad_input_is_one_line(store, tmp_path):
    res = cli("export", "-f", "xml", "--out", str(tmp_path), "--store", str(store))
    assert res.exit_code == 2 and "unknown export format" in res.output
    res = cli("export", "-f", "csv", "--out", str(tmp_path), "--store", str(store), "--suite", "nope")
    assert res.exit_code == 2 and "has no results" in res.output


def test_extxyz_best_structures_and_reference(store, tmp_path):
    ase_io = pytest.importorskip("ase.io")
    res = cli("export", "-f", "extxyz", "--out", str(tmp_path), "--store", str(store))
    assert res.exit_code == 0, res.output
    [path] = list(tmp_path.glob("*.extxyz"))
    frames = ase_io.read(str(path), index=":")
    assert len(frames) == 1 + 2 * 3  # the reference, then one best structure per run
    ref = frames[0]
    assert ref.info["kind"] == "reference" and len(ref) == 13
    assert _energy(ref) == pytest.approx(-44.326801)
    best = frames[1:]
    assert all(f.info["kind"] == "best" and f.info["method"] in ("random-search", "fire") for f in best)
    energies = [_energy(f) for f in best]
    assert all(e > -44.33 for e in energies)


def _energy(frame) -> float:
    """ASE moves an 'energy' info key into a single-point calculator when it reads extxyz."""
    return frame.calc.results["energy"] if frame.calc is not None else frame.info["energy"]


def test_coco_checkpoints():
    assert coco_checkpoints(100).tolist()[:12] == [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 14]  # floor(10^(i/20))
    assert coco_checkpoints(100)[-1] >= 100


def test_coco_export_is_processed_by_cocopp(store, tmp_path):
    res = cli("export", "-f", "coco", "--out", str(tmp_path), "--store", str(store))
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["fire", "random-search"]
    info = (tmp_path / "fire" / "bbobexp_f1_DIM3.info").read_text().splitlines()
    assert re.fullmatch(r"suite = 'bbob', funcId = 1, DIM = 3, Precision = 1\.000e-08, algId = 'fire', coco_version = "
                        r"'gmbench-[^']+', logger = 'bbob', data_format = 'bbob-new2'", info[0])
    assert info[1].startswith("% ") and info[2].startswith("data_f1/bbobexp_f1_DIM3.dat, ")
    assert len(re.findall(r"\b1:\d+\|[0-9.e+-]+", info[2])) == 3  # instance 1 (gmbench 0), one trial per seed
    dat = (tmp_path / "fire" / "data_f1" / "bbobexp_f1_DIM3.dat").read_text()
    rows = [r.split() for r in dat.splitlines() if not r.startswith("%")]
    assert all(len(r) == 5 for r in rows) and all(float(r[2]) >= 0 for r in rows)
    assert "f2: lj13" in (tmp_path / "README.txt").read_text()
    if importlib.util.find_spec("cocopp") is None:
        pytest.skip("cocopp not installed (pip install 'gmbench[coco]')")
    proc = subprocess.run([sys.executable, "run_cocopp.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    html = list((tmp_path / "ppdata").glob("*/index.html"))
    assert html and list((tmp_path / "ppdata").glob("*/pprldmany_*D_noiselessall.svg"))
