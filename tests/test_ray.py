"""The Ray executor on a local Ray (``ray.init(num_cpus=2)``): every cell once, the same numbers as the
local executor under evaluation budgets, a worker killed mid-task costs a retry (not a lost or a
duplicated cell), a worker that keeps dying is stored as failed with the reason, a rerun resubmits
nothing. Skipped when Ray is not installed (``pip install 'gmbench[ray]'``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

ray = pytest.importorskip("ray")

from gmbench.cli.app import app  # noqa: E402
from gmbench.config.suite import expand, load_suite  # noqa: E402
from gmbench.run.executors import cell_resources, run_cells_ray  # noqa: E402
from gmbench.store.sqlite import Store  # noqa: E402

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("one_thread")
VALUES = "key, status, error, n_energy, n_grad, final_energy, final_dist, min_dist, n_candidates, best_x"

PROBE = '''
"""A method that kills its own process (a worker lost mid-task) when its marker file is missing."""
import os
from dataclasses import dataclass

from gmbench.methods.base import Method, register_method


@register_method("test-probe")
@dataclass
class Probe(Method):
    marker: str = ""
    always_crash: bool = False

    def run(self, bb, report):
        if self.always_crash or (self.marker and not os.path.exists(self.marker)):
            if self.marker:
                open(self.marker, "w").close()
            os._exit(1)
        x = bb.uniform(16)
        e = bb.energy(x)
        report(x[int(e.argmin())])
'''


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def rows(store: Path) -> dict[str, tuple]:
    db = sqlite3.connect(store)
    try:
        return {r[0]: r for r in db.execute(f"SELECT {VALUES} FROM cells")}
    finally:
        db.close()


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def probe_suite(tmp_path: Path, **params) -> Path:
    (tmp_path / "probe.py").write_text(PROBE)
    p = ", ".join(f"{k}: {v}" for k, v in params.items())
    path = tmp_path / "probe.yaml"
    path.write_text(f"""
name: probe
device: cpu
seeds: 1
budget: {{evals: 200}}
plugins: [probe.py]
problems:
  - {{name: sphere, dim: 3}}
methods:
  - {{name: test-probe, params: {{{p}}}}}
""")
    return path


def test_smoke_suite_on_ray_matches_the_local_executor(local_ray, tmp_path):
    args = ("run", "--suite", "smoke", "--budget", "evals=2000", "--seeds", "1", "--quiet")
    res = cli(*args, "--store", str(tmp_path / "local.sqlite"))
    assert res.exit_code == 0, res.output
    res = cli(*args, "--store", str(tmp_path / "ray.sqlite"), "--executor", "ray")
    assert res.exit_code == 0, res.output
    assert "8 done" in res.output
    local, remote = rows(tmp_path / "local.sqlite"), rows(tmp_path / "ray.sqlite")
    assert len(remote) == 8 and remote.keys() == local.keys()
    for key in local:
        assert remote[key] == local[key], key
    db = sqlite3.connect(tmp_path / "ray.sqlite")
    try:
        assert db.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0
        assert '"executor": "ray"' in db.execute("SELECT manifest FROM runs").fetchone()[0]
    finally:
        db.close()
    # a rerun (e.g. after the driver was killed) resubmits nothing that is stored
    res = cli(*args, "--store", str(tmp_path / "ray.sqlite"), "--executor", "ray")
    assert res.exit_code == 0 and "8 skipped" in res.output and "done" not in res.output


def test_a_killed_worker_costs_a_retry_not_a_cell(local_ray, tmp_path):
    marker = tmp_path / "crashed-once"
    suite = probe_suite(tmp_path, marker=str(marker))
    res = cli("run", "--suite", str(suite), "--store", str(tmp_path / "s.sqlite"), "--executor", "ray", "--quiet")
    assert res.exit_code == 0, res.output
    assert marker.exists()  # the first attempt did die
    stored = rows(tmp_path / "s.sqlite")
    assert len(stored) == 1
    (row,) = stored.values()
    assert row[1] == "done" and row[3] > 0


def test_a_worker_that_keeps_dying_is_stored_as_failed(local_ray, tmp_path):
    suite = probe_suite(tmp_path, always_crash="true")
    s = load_suite(str(suite))
    cells = expand(s, "cpu")
    store = Store(tmp_path / "s.sqlite")
    try:
        counts = run_cells_ray(cells, store, s.name, "cpu", plugins=s.plugins, max_retries=1)
    finally:
        store.close()
    assert counts["failed"] == 1 and counts["done"] == 0
    (row,) = rows(tmp_path / "s.sqlite").values()
    assert row[1] == "failed" and "worker lost" in row[2] and "1 retries" in row[2]


def test_cell_resources():
    cell = expand(load_suite("smoke"), "cpu")[0]
    assert cell_resources(cell) == {"num_cpus": 1, "num_gpus": 0}
    assert cell_resources(cell, {"num_cpus": 4, "memory": 10**9}) == {"num_cpus": 4, "num_gpus": 0, "memory": 10**9}
    cell.device = "cuda:0"
    assert cell_resources(cell)["num_gpus"] == 1


def test_sealed_cells_on_ray_match_the_local_executor(local_ray, tmp_path):
    """A sealed run on Ray: each worker serves its own sealed child; the numbers equal an in-process local run.
    The secret never reaches a worker in clear (cells carry each instance's key)."""
    suite = tmp_path / "sec.yaml"
    suite.write_text("name: sec\nsecret: the-workers-never-see-this\nseeds: 1\nbudget: {evals: 600}\ndtype: float64\n"
                     "problems: [{name: schaffer-f7, dim: 4, instances: [1]}]\nmethods: [random-search, cma-es]\n")
    args = ("run", "--suite", str(suite), "--quiet")
    assert cli(*args, "--store", str(tmp_path / "local.sqlite")).exit_code == 0
    res = cli(*args, "--store", str(tmp_path / "ray.sqlite"), "--executor", "ray", "--sealed")
    assert res.exit_code == 0 and "2 done" in res.output, res.output
    local, remote = rows(tmp_path / "local.sqlite"), rows(tmp_path / "ray.sqlite")
    assert remote == local
    db = sqlite3.connect(tmp_path / "ray.sqlite")
    try:
        assert {r[0] for r in db.execute("SELECT sealed FROM cells")} <= {"landlock+audit", "audit"}
    finally:
        db.close()


def test_method_files_on_ray_workers(local_ray, tmp_path):
    """A method file's method on Ray: each worker describes the file in a confined child (never imports it)
    and runs the cell sealed; the numbers equal a local sealed run."""
    import shutil

    shutil.copy(Path(__file__).parent / "redteam" / "sneaky.py", tmp_path / "sneaky.py")
    suite = tmp_path / "mf.yaml"
    suite.write_text("name: mf\nseeds: 1\nbudget: {evals: 300}\ndtype: float64\nproblems: [{name: sphere, dim: 4}]\n"
                     "methods: [{name: sneaky, params: {batch_size: 8}}]\nmethod_files: [sneaky.py]\n")
    args = ("run", "--suite", str(suite), "--quiet")
    assert cli(*args, "--store", str(tmp_path / "local.sqlite")).exit_code == 0
    res = cli(*args, "--store", str(tmp_path / "ray.sqlite"), "--executor", "ray")
    assert res.exit_code == 0 and "1 done" in res.output, res.output
    assert rows(tmp_path / "ray.sqlite") == rows(tmp_path / "local.sqlite")
