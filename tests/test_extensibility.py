"""A new method or atomistic system is one file; problems and methods share one typed parameter checker."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import pytest
import torch

from gmbench.config.params import build, check, describe, format_default, nondefault
from gmbench.run.cell import Cell, make_cell
from gmbench.core.blackbox import Budget
from gmbench.core.errors import GmbenchError
from gmbench.core.registry import load_plugins
from gmbench.methods import METHODS, make_method
from gmbench.problems import PROBLEMS, make_problem
from gmbench.run.execute import execute


def _cell(problem: str, pparams: dict, method: str, mparams: dict, budget: Budget, dim: int | None = None) -> Cell:
    return make_cell(problem, method, budget, dim=dim, problem_params=pparams, method_params=mparams)


METHOD_FILE = '''
from dataclasses import dataclass

from gmbench.methods.base import Method, register_method


@register_method("tmp-centre-walk")
@dataclass
class CentreWalk(Method):
    """Evaluate the box centre and then shrinking uniform clouds around the best point."""

    batch: int = 16
    shrink: float = 0.5

    def run(self, bb, report):
        lo, hi = bb.lower, bb.upper
        best = (lo + hi) / 2
        e_best = bb.energy(best[None])[0]
        report(best, step=0)
        width = hi - lo
        step = 0
        while True:
            step += 1
            width = width * self.shrink
            x = (best + (bb.uniform(self.batch) - (lo + hi) / 2) * width / (hi - lo)).clamp(lo, hi)
            e = bb.energy(x)
            i = int(e.argmin())
            if e[i] < e_best:
                best, e_best = x[i], e[i]
                report(best, step=step)
'''


def test_a_method_from_one_temporary_file_runs_in_a_cell(tmp_path):
    path = tmp_path / "centre_walk.py"
    path.write_text(METHOD_FILE)
    load_plugins([str(path)])
    assert "tmp-centre-walk" in METHODS
    with pytest.raises(GmbenchError, match="did you mean 'shrink'"):  # its dataclass is checked like any other
        make_method("tmp-centre-walk", {"shrnk": 0.3})
    res = execute(_cell("sphere", {}, "tmp-centre-walk", {"batch": 8}, Budget(None, 200), dim=4))
    row = res.row
    assert row["status"] == "done" and 0 < row["n_energy"] <= 200
    assert row["final_energy"] is not None and row["final_energy"] <= 4 * 100.0**2  # no worse than the centre
    assert row["final_dist"] is not None and row["final_dist"] >= 0.0


SYSTEM_FILE = '''
"""A Morse cluster: energy, typed parameters, MD starts and registration in one file."""
from dataclasses import dataclass

import torch

from gmbench.physics import md
from gmbench.physics.potentials import PairEnergy
from gmbench.physics.space import Free
from gmbench.problems.atoms.base import AtomsProblem, BallSampler, MDProtocol, md_pool_starts, register_system, \\
    resolve_n, cluster_bounds
from gmbench.problems.base import Properties


def morse(r2, sigma2, epsilon, a=6.0):
    """eps (exp(-2a (r - r0)) - 2 exp(-a (r - r0))), r0 = sigma, from r^2 (Morse 1929)."""
    d = torch.sqrt(r2) - torch.sqrt(torch.as_tensor(sigma2, dtype=r2.dtype))
    return epsilon * (torch.exp(-2 * a * d) - 2 * torch.exp(-a * d))


def energy(n, a):
    e = PairEnergy(Free(), morse, sigma=1.0, epsilon=1.0, r_cut=None, neighbor="dense", pair_kwargs={"a": a})
    e.n_atoms = n
    return e


def describe(n):
    return {"system": "tmp-morse", "n": n, "T": 0.05, "steps": 20, "version": 1}


def generate(n_frames, seed, n):
    g = torch.Generator().manual_seed(seed)
    r = md.cluster_starts(n_frames, n, 1.0, g)
    v = md.maxwell_boltzmann(r.shape, 0.05, 1.0, 1.0, g, r)
    r, _, _ = md.langevin_nvt(energy(n, 6.0), r, v, kT=0.05, dt=0.002, gamma=1.0, mass=1.0, steps=20,
                              generator=g, shift=Free().shift)
    return r


PROTOCOL = MDProtocol(describe, generate)


@dataclass(frozen=True)
class MorseParams:
    n: int = 6
    a: float = 6.0
    md_seed: int = 0
    pool: int = 4


def make(p, dim, bounds):
    n = resolve_n("tmp-morse", dim, p.n, 6)
    lo, hi = cluster_bounds("tmp-morse", n, 1.0, bounds)
    sampler, starts = md_pool_starts("tmp-morse", PROTOCOL, n, lambda x: x, p.md_seed, p.pool, None)
    cfg = {"system": "tmp-morse", "potential": "morse", "a": p.a, "f_star": None, "starts": starts}
    return AtomsProblem("tmp-morse", energy(n, p.a), n, species=None, periodic_box=None, lower=lo - 2, upper=hi + 2,
                        sampler=sampler, properties=Properties(multimodal=True, unique_minimizer=False),
                        config=cfg)


register_system("tmp-morse", MorseParams, make, properties=Properties(multimodal=True, unique_minimizer=False),
                info={"title": "Morse cluster (test)", "dims": "3n"})
'''


def test_an_atomistic_system_from_one_temporary_file_runs_in_a_cell(tmp_path, monkeypatch):
    monkeypatch.setenv("GMBENCH_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "tmp_morse.py"
    path.write_text(SYSTEM_FILE)
    load_plugins([str(path)])
    entry = PROBLEMS.get("tmp-morse")
    assert entry.family == "atoms" and entry.params is not None
    assert describe(entry.params)[:2] == ["n: int = 6", "a: float = 6.0"]
    with pytest.raises(GmbenchError, match="did you mean 'pool'"):
        make_problem("tmp-morse", pol=3)
    with pytest.raises(GmbenchError, match="parameter a: expected a number"):
        make_problem("tmp-morse", a="soft")
    p = make_problem("tmp-morse", a=5)
    assert p.config()["a"] == 5.0 and p.config()["starts"]["kind"] == "md" and p.config()["starts"]["pool"] == 4
    # the energy is the file's Morse sum: two atoms at r0 give -eps
    two = make_problem("tmp-morse", n=2)
    assert float(two.energy_fn()(torch.tensor([[0.0, 0, 0, 1.0, 0, 0]], dtype=torch.float64))) == pytest.approx(-1.0)
    # starts come from the file's MD protocol (cached under its key) and are reproducible
    x = p.start_sampler()(4, torch.Generator().manual_seed(1))
    assert x.shape == (4, 18) and any((tmp_path / "cache").rglob("tmp-morse-*-seed0-n4.npy"))
    torch.testing.assert_close(p.start_sampler()(4, torch.Generator().manual_seed(1)), x)
    res = execute(_cell("tmp-morse", {"a": 5.0}, "gd", {"n_points": 4, "max_steps": 20}, Budget(None, 300)))
    row = res.row
    assert row["status"] == "done" and 0 < row["n_energy"] <= 300
    starts_e = p.energy_fn()(x)
    assert row["final_energy"] is not None and row["final_energy"] <= float(starts_e.max())


# ---- the one parameter checker -------------------------------------------------------------------


@dataclass
class _Demo:
    n: int = 3
    lr: float = 0.1
    mode: Literal["a", "b"] = "a"
    sizes: tuple[int, ...] = (1, 2)
    units: list[int] = field(default_factory=lambda: [8, 8])
    tol: float | None = None


def test_checker_names_types_and_choices():
    with pytest.raises(GmbenchError, match=r"thing: unknown parameter 'nn'; did you mean 'n'\?"):
        check(_Demo, {"nn": 1}, "thing")
    with pytest.raises(GmbenchError, match="parameter n: expected an integer, got 2.5"):
        check(_Demo, {"n": 2.5}, "thing")
    with pytest.raises(GmbenchError, match="parameter n: expected an integer, got True"):
        check(_Demo, {"n": True}, "thing")
    with pytest.raises(GmbenchError, match="expected one of 'a', 'b', got 'c'"):
        check(_Demo, {"mode": "c"}, "thing")
    with pytest.raises(GmbenchError, match="parameter tol: expected a number"):
        check(_Demo, {"tol": "small"}, "thing")
    got = build(_Demo, {"lr": 1, "sizes": [3, 4], "tol": None}, "thing")
    assert got.lr == 1.0 and isinstance(got.lr, float) and got.sizes == (3, 4) and got.tol is None
    assert nondefault(got) == {"lr": 1.0, "sizes": (3, 4)}
    assert describe(_Demo) == ["n: int = 3", "lr: float = 0.1", "mode: 'a' | 'b' = 'a'", "sizes: tuple[int] = (1, 2)",
                               "units: list[int] = [8, 8]", "tol: float | None = None"]
    units = next(f for f in dataclasses.fields(_Demo) if f.name == "units")
    assert format_default(units) == "[8, 8]"  # default_factory, not dataclasses.MISSING


def test_problem_and_method_params_go_through_the_same_checker():
    with pytest.raises(GmbenchError, match="problem 'ka-lj': unknown parameter 'md_sed'; did you mean 'md_seed'"):
        make_problem("ka-lj", md_sed=1)
    with pytest.raises(GmbenchError, match="problem 'ka-lj': parameter pool: expected an integer, got '10'"):
        make_problem("ka-lj", pool="10")
    with pytest.raises(GmbenchError, match="problem 'lj-cluster': parameter start_density: expected a number"):
        make_problem("lj-cluster", n=13, start_density="dense")
    with pytest.raises(GmbenchError, match="problem 'sphere': unknown parameter 'instanc'; did you mean 'instance'"):
        make_problem("sphere", dim=3, instanc=1)
    with pytest.raises(GmbenchError, match="method 'gd': parameter lr: expected a number, got 'fast'"):
        make_method("gd", {"lr": "fast"})
    with pytest.raises(GmbenchError, match="method 'fire': unknown parameter 'dt_mx'; did you mean 'dt_max'"):
        make_method("fire", {"dt_mx": 1.0})
    # every registered problem declares its parameters as a dataclass
    untyped = [name for name, e in PROBLEMS.items() if e.params is None]
    assert untyped == []


def test_list_shows_typed_problem_parameters_and_factory_defaults():
    from typer.testing import CliRunner

    from gmbench.cli.app import app

    res = CliRunner().invoke(app, ["list"])
    assert res.exit_code == 0, res.output
    assert "cutoff: '2.5sigma' | 'jax' = '2.5sigma'" in res.output
    assert "instance: int = 0" in res.output and "start_density: float = 1.0" in res.output
    assert "_MISSING_TYPE" not in res.output and "units=[256, 256" in res.output
