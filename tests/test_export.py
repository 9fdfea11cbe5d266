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


def _trials(path: Path) -> list[list[list[str]]]:
    """The data rows of each trial of a .dat/.tdat file (a trial starts at its '%%' line)."""
    trials: list[list[list[str]]] = []
    for line in path.read_text().splitlines():
        if line.startswith("%%"):
            trials.append([])
        elif not line.startswith("%"):
            trials[-1].append(line.split())
    return trials


def _cocopp(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    if importlib.util.find_spec("cocopp") is None:
        pytest.skip("cocopp not installed (pip install 'gmbench[coco]')")
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    return proc


def test_coco_export_is_processed_by_cocopp(store, tmp_path):
    """Problems that are not bbob: suite 'gmbench' (cocopp does not take them for bbob), every trial from
    evaluation 1, processed by the generated run_cocopp.py (which registers the suite)."""
    res = cli("export", "-f", "coco", "--out", str(tmp_path), "--store", str(store))
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["gmbench"]
    assert sorted(p.name for p in (tmp_path / "gmbench").iterdir()) == ["fire", "random-search"]
    alg = tmp_path / "gmbench" / "fire"
    info = (alg / "bbobexp_f1_DIM3.info").read_text().splitlines()
    assert re.fullmatch(r"suite = 'gmbench', funcId = 1, DIM = 3, Precision = 1\.000e-08, algId = 'fire', coco_version = "
                        r"'gmbench-[^']+', logger = 'bbob', data_format = 'bbob-new2'", info[0])
    assert info[1].startswith("% ") and info[2].startswith("data_f1/bbobexp_f1_DIM3.dat, ")
    assert len(re.findall(r"\b1:\d+\|[0-9.e+-]+", info[2])) == 3  # instance 1 (gmbench 0), one trial per seed
    for ext in ("dat", "tdat"):
        trials = _trials(alg / "data_f1" / f"bbobexp_f1_DIM3.{ext}")
        assert len(trials) == 3
        for rows in trials:
            assert rows[0][0] == "1"  # COCO logs every trial from evaluation 1
            assert all(len(r) == 5 for r in rows) and all(float(r[2]) >= 0 for r in rows)
            evals = [int(r[0]) for r in rows]
            assert evals == sorted(evals)
            if rows[0][2] != rows[1][2]:  # fire's first candidate comes after its first batch: a placeholder
                assert float(rows[0][2]) == 1e30
    readme = (tmp_path / "README.txt").read_text()
    assert "f2: lj13" in readme and "f1: sphere" in readme
    _cocopp(["run_cocopp.py"], tmp_path)
    assert list((tmp_path / "ppdata-gmbench").glob("*/index.html"))
    assert list((tmp_path / "ppdata-gmbench").glob("*/pprldmany_*D_noiselessall.svg"))
    assert not (tmp_path / "ppdata-bbob").exists()


BBOB_SUITE = """
name: bbob-export
device: cpu
seeds: 1
budget: {evals: 300}
problems:
  - {name: bbob-f1, dim: 2, instances: [1, 2]}
  - {name: bbob-f24, dim: 3, instances: [4]}
methods:
  - {name: random-search, params: {batch_size: 50}}
"""


def test_bbob_export_is_cocos_own_numbering_and_cocopp_reads_it_beside_best2009(tmp_path):
    """bbob problems go out as COCO's bbob f1 and f24 (true function number, instance, dimension); one
    method folder through `python -m cocopp` offline, with cocopp's shipped best 2009 reference."""
    (tmp_path / "b.yaml").write_text(BBOB_SUITE)
    st = tmp_path / "b.sqlite"
    assert cli("run", "--suite", str(tmp_path / "b.yaml"), "--store", str(st), "--quiet").exit_code == 0
    out = tmp_path / "coco"
    res = cli("export", "-f", "coco", "--out", str(out), "--store", str(st))
    assert res.exit_code == 0, res.output
    alg = out / "bbob" / "random-search"
    assert sorted(p.name for p in alg.glob("*.info")) == ["bbobexp_f1_DIM2.info", "bbobexp_f24_DIM3.info"]
    info = (alg / "bbobexp_f24_DIM3.info").read_text().splitlines()
    assert info[0].startswith("suite = 'bbob', funcId = 24, DIM = 3, ")
    assert re.fullmatch(r"data_f24/bbobexp_f24_DIM3\.dat, 4:\d+\|[0-9.e+-]+", info[2])  # COCO's instance 4
    info1 = (alg / "bbobexp_f1_DIM2.info").read_text().splitlines()
    assert re.findall(r"\b(\d+):\d+\|", info1[2]) == ["1", "2"]
    from gmbench.problems import make_problem

    fopt = make_problem("bbob-f24", dim=3, instance=4).f_star
    dat = (alg / "data_f24" / "bbobexp_f24_DIM3.dat").read_text()
    assert f"Fopt ({fopt:.12e})" in dat  # COCO's f_opt, so f - fopt is COCO's precision
    for rows in _trials(alg / "data_f1" / "bbobexp_f1_DIM2.dat") + _trials(alg / "data_f1" / "bbobexp_f1_DIM2.tdat"):
        assert rows[0][0] == "1"
    assert "python -m cocopp -o ppdata bbob/random-search" in (out / "README.txt").read_text()
    proc = _cocopp(["-m", "cocopp", "-o", "pp", "bbob/random-search"], out)
    assert "Loading best algorithm data from refalgs/best2009-bbob.tar.gz" in proc.stdout  # shipped, offline
    assert list((out / "pp").glob("*/index*.html")) and list((out / "pp").glob("*/ppfigdim_f024.svg"))


LABEL_SUITE = """
name: labels
device: cpu
seeds: 1
budget: {evals: 200}
problems:
  - {name: sphere, dim: 2}
methods:
  - {name: random-search, label: "..", params: {batch_size: 100}}
  - {name: random-search, label: "a b", params: {batch_size: 101}}
  - {name: random-search, label: "a/b", params: {batch_size: 102}}
  - {name: random-search, label: "a_b", params: {batch_size: 103}}
  - {name: random-search, label: "日本語", params: {batch_size: 104}}
  - {name: random-search, label: "中文", params: {batch_size: 105}}
  - {name: random-search, label: "Adam", params: {batch_size: 106}}
  - {name: random-search, label: "adam", params: {batch_size: 107}}
  - {name: random-search, label: "it's", params: {batch_size: 108}}
"""


def test_coco_folders_are_safe_and_distinct(tmp_path):
    (tmp_path / "l.yaml").write_text(LABEL_SUITE)
    st = tmp_path / "l.sqlite"
    assert cli("run", "--suite", str(tmp_path / "l.yaml"), "--store", str(st), "--quiet").exit_code == 0
    out = tmp_path / "x" / "out"
    res = cli("export", "-f", "coco", "--out", str(out), "--store", str(st))
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["out"]  # nothing written beside --out
    folders = [p for p in (out / "gmbench").iterdir()]
    assert len(folders) == 9 and len({p.name.casefold() for p in folders}) == 9
    for p in folders:
        assert p.resolve().parent == (out / "gmbench").resolve() and not p.name.startswith(".")
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", p.name)
    assert "a_b" in {p.name for p in folders}  # a label that is already a safe name keeps it
    notes = [ln for ln in res.output.splitlines() if ln.startswith("note: ")]
    assert len(notes) == 8 and any("'a/b'" in n for n in notes) and any("'Adam'" in n for n in notes)
    algids = {re.search(r"algId = '([^']*)'", next(p.glob("*.info")).read_text()).group(1) for p in folders}
    assert "it_s" in algids and "a/b" in algids  # cocopp's header quotes the label


def test_export_refuses_a_non_empty_folder_unless_forced(store, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    for fmt in ("coco", "csv"):
        res = cli("export", "-f", fmt, "--out", str(out), "--store", str(store))
        lines = [ln for ln in res.output.splitlines() if ln.strip()]
        assert res.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:") and "--force" in lines[0]
        assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    res = cli("export", "-f", "csv", "--out", str(out), "--store", str(store), "--force")
    assert res.exit_code == 0 and (out / "runs.csv").exists() and (out / "keep.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    res = cli("export", "-f", "csv", "--out", str(tmp_path / "file"), "--store", str(store))
    assert res.exit_code == 2 and "is a file" in res.output
