"""A package that runs anywhere: build the wheel, install it into a fresh virtual environment outside
the checkout, and run the smoke suite from an empty folder; `gmbench --version`.

The fresh environment gets gmbench only from the wheel; its dependencies (torch, numpy, ...) come from
the environment running the tests through a ``.pth`` line (like ``--system-site-packages``, without
downloading torch again). The wheel tests are slow (a wheel build and a venv): CI runs them as their own step (.ci/run). Plugins
found through the entry-point group ``gmbench.plugins`` and named in a suite are checked here too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import gmbench
from gmbench.config.suite import load_suite
from gmbench.core.errors import GmbenchError

REPO = Path(__file__).resolve().parents[1]


def run(cmd: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


def fingerprint(root: Path) -> str:
    """gmbench.core.env.code_fingerprint over the package folder ``root``."""
    h = hashlib.sha256()
    for rel in sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py")):
        h.update(rel.encode() + b"\0")
        h.update((root / rel).read_bytes() + b"\0")
    return h.hexdigest()[:16]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("pkg")
    src = tmp / "src"  # build from a copy: the checkout gets no build/ or egg-info
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "gmbench", src / "gmbench", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(REPO / "suites", src / "suites")
    dist = tmp / "dist"
    import importlib.util

    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []  # else pip fetches it
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", str(dist), str(src)], tmp)
    wheel = next(dist.glob("gmbench-*.whl"))
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp)
    py = venv / "bin" / "python"
    purelib = Path(run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp).stdout.strip())
    deps = [p for p in {sysconfig.get_paths()["purelib"], *site.getsitepackages()} if Path(p).is_dir()]
    (purelib / "_gmbench_test_deps.pth").write_text("\n".join(deps) + "\n")  # appended after the venv's own
    run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q", str(wheel)], tmp)
    work = tmp / "elsewhere"
    work.mkdir()
    return {"wheel": wheel, "venv": venv, "py": py, "work": work, "src": src}


@pytest.mark.slow
def test_wheel_carries_the_suites(installed):
    import zipfile

    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for suite in (REPO / "suites").glob("*.yaml"):
        assert f"gmbench/_suites/{suite.name}" in names
    assert "gmbench/cli/app.py" in names


@pytest.mark.slow
def test_installed_package_runs_the_smoke_suite_outside_the_checkout(installed):
    py, work = installed["py"], installed["work"]
    where = run([str(py), "-c", "import gmbench, gmbench.config.suite as s; print(gmbench.__file__); "
                 "print(s.find_suite('smoke'))"], work).stdout.split()
    assert where[0].startswith(str(installed["venv"])), where  # the wheel's copy, not the checkout
    assert where[1].startswith(str(installed["venv"])) and where[1].endswith("_suites/smoke.yaml")
    gm = installed["venv"] / "bin" / "gmbench"
    assert run([str(gm), "--version"], work).stdout.strip() == f"gmbench {gmbench.__version__}"
    res = run([str(gm), "run", "--suite", "smoke", "--budget", "evals=2000", "--store", "r.sqlite", "--quiet"], work)
    assert "16 done" in res.stderr + res.stdout
    rep = run([str(gm), "report", "--store", "r.sqlite", "--format", "csv"], work).stdout
    assert rep.count("smoke") >= 8
    # the installed code is byte-for-byte the source it was built from
    fp = run([str(py), "-c", "from gmbench.core.env import code_fingerprint as f; print(f())"], work).stdout.strip()
    assert fp == fingerprint(installed["src"] / "gmbench")


PLUGIN = """
from dataclasses import dataclass

from gmbench.methods.base import Method, register_method


@register_method("{name}")
@dataclass
class Plugged(Method):
    def run(self, bb, report):
        report(bb.uniform(1)[0])
"""


def test_plugins_from_an_entry_point_and_from_a_suite(tmp_path):
    """An installed package declares ``[project.entry-points."gmbench.plugins"]``: its module is imported
    by every command; a suite's ``plugins: [file.py]`` is found relative to the suite file."""
    site_dir = tmp_path / "site"
    dist = site_dir / "fakeplug-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[gmbench.plugins]\nfake = fakeplug_methods\n")
    (site_dir / "fakeplug_methods.py").write_text(PLUGIN.format(name="from-entry-point"))
    suite_dir = tmp_path / "suites"
    suite_dir.mkdir()
    (suite_dir / "mine.py").write_text(PLUGIN.format(name="from-suite"))
    (suite_dir / "s.yaml").write_text(
        "name: plugged\ndevice: cpu\nseeds: 1\nbudget: {evals: 50}\nplugins: [mine.py]\n"
        "problems: [{name: sphere, dim: 2}]\nmethods: [from-entry-point, from-suite]\n")
    env = {**os.environ, "PYTHONPATH": str(site_dir)}
    res = subprocess.run([sys.executable, "-m", "gmbench", "run", "--suite", str(suite_dir / "s.yaml"), "--store",
                          "p.sqlite", "--quiet"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "2 done" in res.stderr  # one method from each kind of plugin
    (suite_dir / "s.yaml").write_text((suite_dir / "s.yaml").read_text().replace("mine.py", "missing.py"))
    with pytest.raises(GmbenchError, match=r"s\.yaml, line 5: plugin file not found: .*missing\.py"):
        load_suite(str(suite_dir / "s.yaml"))


def test_suite_resources_for_ray(tmp_path):
    """``resources:`` in a suite: what each cell asks Ray for (checked, never in a cell key)."""
    base = "name: r\ndevice: cpu\nbudget: {evals: 50}\nproblems: [{name: sphere, dim: 2}]\nmethods: [random-search]\n"
    (tmp_path / "a.yaml").write_text(base)
    (tmp_path / "b.yaml").write_text(base + "resources: {num_cpus: 2, num_gpus: 0.5, memory: 1000000000}\n")
    a, b = load_suite(str(tmp_path / "a.yaml")), load_suite(str(tmp_path / "b.yaml"))
    assert a.resources == {} and b.resources == {"num_cpus": 2, "num_gpus": 0.5, "memory": 10**9}
    from gmbench.config.suite import expand

    assert [c.key for c in expand(a, "cpu")] == [c.key for c in expand(b, "cpu")]
    for bad, msg in (("{num_cpus: 0}", "resources.num_cpus must be a positive number"),
                     ("{num_gpu: 1}", "did you mean 'num_gpus'"), ("{num_gpus: -1}", "non-negative")):
        (tmp_path / "c.yaml").write_text(base + f"resources: {bad}\n")
        with pytest.raises(GmbenchError, match=msg):
            load_suite(str(tmp_path / "c.yaml"))
