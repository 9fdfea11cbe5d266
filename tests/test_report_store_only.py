"""Reports read the store alone (issue 22): a plugin problem's report does not depend on how the suite is
spelled or on the plugin being importable, and the read commands import no method, no suite parser and no
executor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DIMER = '''
"""A Morse dimer with a known minimum (-1 at r = r0): an atomistic plugin with a reference energy."""
from dataclasses import dataclass

import torch

from gmbench.physics.potentials import PairEnergy
from gmbench.physics.space import Free
from gmbench.problems.atoms.base import AtomsProblem, BallSampler, cluster_bounds, register_system
from gmbench.problems.base import Properties


def morse(r2, sigma2, epsilon, a=6.0):
    d = torch.sqrt(r2) - torch.sqrt(torch.as_tensor(sigma2, dtype=r2.dtype))
    return epsilon * (torch.exp(-2 * a * d) - 2 * torch.exp(-a * d))


@dataclass(frozen=True)
class DimerParams:
    a: float = 6.0


def make(p, dim, bounds):
    e = PairEnergy(Free(), morse, sigma=1.0, epsilon=1.0, r_cut=None, neighbor="dense", pair_kwargs={"a": p.a})
    e.n_atoms = 2
    lo, hi = cluster_bounds("tmp-dimer", 2, 1.0, bounds)
    return AtomsProblem("tmp-dimer", e, 2, species=None, periodic_box=None, lower=lo - 2, upper=hi + 2,
                        sampler=BallSampler(2, 1.0), f_star=-1.0, properties=Properties(multimodal=False),
                        config={"system": "tmp-dimer", "a": p.a})  # f_star stated once, above


register_system("tmp-dimer", DimerParams, make, properties=Properties(multimodal=False),
                info={"title": "Morse dimer (test)", "dims": "6"})
'''

SUITE = """name: plug
seeds: 1
budget: {evals: 400}
plugins: [dimer.py]
problems:
  - {name: tmp-dimer}
methods:
  - {name: gd, params: {n_points: 4, max_steps: 50, lr: 0.01, report_every: 10}}
"""

FORBIDDEN = ("gmbench.methods", "gmbench.config.suite", "gmbench.run")

PROBE = textwrap.dedent('''
    import json, sys
    from typer.testing import CliRunner
    from gmbench.cli.app import app
    outs = [CliRunner().invoke(app, a) for a in json.loads(sys.argv[1])]
    loaded = sorted(m for m in sys.modules if m.startswith({forbidden!r}))
    print(json.dumps({{"codes": [o.exit_code for o in outs], "outputs": [o.output for o in outs], "loaded": loaded}}))
''').format(forbidden=FORBIDDEN)


def _probe(cwd: Path, *commands: list[str]) -> dict:
    env = {**os.environ, "GMBENCH_PLUGINS": ""}
    res = subprocess.run([sys.executable, "-c", PROBE, json.dumps(list(commands))], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def plugin_store(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("plug")
    (d / "dimer.py").write_text(DIMER, encoding="utf-8")
    (d / "plug.yaml").write_text(SUITE, encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "gmbench", "run", "--suite", "plug.yaml", "--store", "s.sqlite",
                          "--quiet"], cwd=d, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    return d


def test_a_plugin_problems_report_does_not_depend_on_the_suite_spelling_or_the_plugin(plugin_store):
    d = plugin_store
    spellings = [["report", "--store", "s.sqlite"], ["report", "--store", "s.sqlite", "--suite", "plug"],
                 ["report", "--store", "s.sqlite", "--suite", "plug.yaml"]]
    got = _probe(d, *spellings)
    assert got["codes"] == [0, 0, 0]
    for text in got["outputs"]:
        assert "E_ref = -1.0" in text and "Gap E - E_ref" in text  # the cluster table
        assert "│ 1/1       │" in text  # success scored from the stored summaries
        assert "◊" not in text  # a plugin's cells are judged current, or not judged where its source is absent
    assert got["outputs"][0] == got["outputs"][1] == got["outputs"][2]
    # the plugin file gone (another machine): the same report
    (d / "dimer.py").rename(d / "dimer.py.away")
    try:
        again = _probe(d, *spellings)
    finally:
        (d / "dimer.py.away").rename(d / "dimer.py")
    assert again["outputs"] == got["outputs"]


def test_read_commands_import_no_method_no_suite_parser_and_no_executor(plugin_store, tmp_path):
    d = plugin_store
    got = _probe(d, ["report", "--store", "s.sqlite", "--suite", "plug.yaml"],
                 ["report", "--store", "s.sqlite", "--format", "json"],
                 ["report", "--store", "s.sqlite", "--format", "html", "--out", str(tmp_path / "html")],
                 ["show", "--store", "s.sqlite", "--suite", "plug", "--problem", "tmp-dimer", "--method", "gd",
                  "--seed", "0"],
                 ["plot", "--store", "s.sqlite", "--suite", "plug", "--out", str(tmp_path / "plots")],
                 ["export", "--store", "s.sqlite", "--format", "csv", "--out", str(tmp_path / "csv")])
    assert got["codes"] == [0] * 6, got["outputs"]
    assert got["loaded"] == []
