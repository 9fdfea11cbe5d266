"""The cell: one (problem x method x seed) run under one budget, its expansion from a suite and its key.

A :class:`Cell` is built in one place (:func:`make_cell`): the problem and the method are built once, the
problem's configuration and the method's resolved parameters recorded, and the key derived from them
(:func:`cell_key`). :func:`expand` turns a parsed suite into its cells in a stable order (problem-major,
then method, then seed), with each problem and method built once per suite entry.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from gmbench import __version__
from gmbench.core.blackbox import Budget
from gmbench.core.errors import GmbenchError
from gmbench.methods import METHODS, make_method
from gmbench.problems import make_problem
from gmbench.store.sqlite import CELL_COLUMNS, config_json

#: torch intra-op threads per cell unless ``gmbench run --threads N`` says otherwise. One, because a
#: cell's budget is wall-clock time and threads are part of it: with torch's default (one thread per
#: core) on a machine where other jobs run, the threads oversubscribe the cores and spin-wait for each
#: other, and random search did 125k-131k evaluations in 8 s where one thread did 8.7M-9.6M at the
#: same load (70x). The thread count is recorded in every cell row and enters the cell key only when it
#: differs from this default, so the keys of results stored before threads were recorded stay valid.
DEFAULT_THREADS = 1


@dataclass(frozen=True)
class ProblemSpec:
    name: str
    dim: int | None
    bounds: tuple[float, float] | None
    params: dict[str, Any]
    budget: Budget | None = None


@dataclass(frozen=True)
class MethodSpec:
    name: str
    label: str
    params: dict[str, Any]


@dataclass
class Cell:
    """One (problem × method × seed) run under one budget. ``key`` identifies it in the store."""

    suite: str
    problem: ProblemSpec
    method: MethodSpec
    seed: int
    budget: Budget
    device: str
    dtype: str
    available: bool = True
    unavailable_reason: str = ""
    problem_config: dict[str, Any] = field(default_factory=dict)
    method_config: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    threads: int = DEFAULT_THREADS  # torch intra-op threads the cell may use
    #: run the method in its own confined process (gmbench.sandbox); same results, so not in the key
    sealed: bool = False

    def row(self, **result: Any) -> dict[str, Any]:
        """The cell's store row, one value per column of the cells table (``CELL_SCHEMA``; unset columns
        None): its identity (key, names, configurations, seed, budget, device, dtype, version), written here
        once for every row (a finished cell's and a failed one's), and ``result``, whose names must be
        columns (a misspelt one is an error, not a silently dropped value)."""
        unknown = set(result) - set(CELL_COLUMNS)
        if unknown:
            raise ValueError(f"not columns of the cells table: {', '.join(sorted(unknown))}")
        row = dict.fromkeys(CELL_COLUMNS)
        row.update({
            "key": self.key, "suite": self.suite, "problem": self.problem_config.get("name"),
            "dim": self.problem_config.get("dim"), "problem_config": config_json(self.problem_config),
            "method": self.method.name, "label": self.method.label,
            "method_config": config_json(self.method_config), "seed": self.seed,
            "budget": json.dumps(self.budget.as_dict()), "device": self.device, "dtype": self.dtype,
            "version": __version__, **result,
        })
        return row

    @property
    def label(self) -> str:
        inst = f" i{self.problem_config['instance']}" if self.problem_config.get("instance") else ""
        inst += "r" if inst and self.problem_config.get("rotate") else ""
        return (f"{self.problem_config.get('name', self.problem.name)}-{self.problem.dim}{inst} | {self.method.label}"
                f" | seed {self.seed}")


def make_cell(problem: str | ProblemSpec, method: str | MethodSpec, budget: Budget, *, dim: int | None = None,
              bounds: tuple[float, float] | None = None, problem_params: dict[str, Any] | None = None,
              method_params: dict[str, Any] | None = None, label: str | None = None, seed: int = 0,
              device: str = "cpu", dtype: str = "float64", suite: str = "test", threads: int = DEFAULT_THREADS,
              built_problem: Any = None, built_method: Any = None) -> Cell:
    """One cell, ready to run: specs from names (or given), the problem and the method built (or the ones
    given, already built from the same specs), configurations recorded, the key derived. The one
    factory of the package and its tests."""
    p = problem if isinstance(problem, ProblemSpec) else ProblemSpec(problem, dim, bounds, dict(problem_params or {}))
    m = method if isinstance(method, MethodSpec) else MethodSpec(method, label or method, dict(method_params or {}))
    cell = Cell(suite, p, m, seed, budget, device, dtype, threads=threads)
    prob = built_problem if built_problem is not None else make_problem(p.name, dim=p.dim, bounds=p.bounds, **p.params)
    cell.problem_config = prob.config()
    if METHODS.is_planned(m.name):
        cell.available = False
        cell.unavailable_reason = METHODS.planned[METHODS.canonical(m.name)]
        cell.method_config = {"name": m.name, "label": m.label, "params": m.params}
    else:
        meth = built_method if built_method is not None else make_method(
            m.name, m.params, system=cell.problem_config.get("system"))
        cell.method_config = {"name": m.name, "label": m.label, "params": meth.params()}
    cell.key = cell_key(cell)
    return cell


def expand(suite: Any, device: str, budget: Budget | None = None, seeds: list[int] | None = None,
           threads: int | None = None, pick: Any = None) -> list[Cell]:
    """Cells in a stable order: problem-major, then method, then seed. ``device`` is resolved ('cpu', 'cuda:0').
    ``threads``: torch intra-op threads per cell (default :data:`DEFAULT_THREADS`). ``pick(k)``: keep only
    the cells at those positions of the order (a shard); problems and methods no kept cell needs are not
    built."""
    if threads is None:
        threads = DEFAULT_THREADS
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise GmbenchError(f"threads must be a positive integer, got {threads!r}")
    from gmbench.core.resources import DTYPE_BYTES, available_bytes, check_enabled, refuse_if_too_big

    avail = available_bytes(device) if check_enabled() else None
    nbytes = DTYPE_BYTES.get(suite.dtype, 8)
    seed_list = list(seeds if seeds is not None else suite.seeds)
    per_problem = len(suite.methods) * len(seed_list)
    cells = []
    for pi, p in enumerate(suite.problems):
        keep = [pick is None or pick(pi * per_problem + k) for k in range(per_problem)]
        if not any(keep):
            continue
        problem = make_problem(p.name, dim=p.dim, bounds=p.bounds, **p.params)  # once per entry
        system = problem.config().get("system")
        pbytes = lambda batch, problem=problem: type(problem).memory_bytes(problem.dim, batch, nbytes)  # noqa: E731
        b = (budget or p.budget or suite.budget).for_dim(problem.dim)
        for mi, m in enumerate(suite.methods):
            mine = [(seed, keep[mi * len(seed_list) + k]) for k, seed in enumerate(seed_list)]
            if not any(kept for _, kept in mine):
                continue
            method = None if METHODS.is_planned(m.name) else make_method(m.name, m.params, system=system)  # once
            checked = False
            for seed, kept in mine:
                if not kept:
                    continue
                cell = make_cell(p, m, b, seed=seed, device=device, dtype=suite.dtype, suite=suite.name,
                                 threads=threads, built_problem=problem, built_method=method)
                if method is not None and avail is not None and not checked:  # the cell's need vs memory
                    checked = True
                    refuse_if_too_big(method.memory_bytes(problem.dim, nbytes, pbytes), device,
                                      f"{suite.path}: cell {cell.label}",
                                      f"the problem's dim or {method.memory_param()}", available=avail)
                cells.append(cell)
    return cells


#: The one-time key mapping. Cells keyed before keys became prose-free hashed the prose these two fields
#: carried then (an LJ cluster's reference-table citation, the binary cluster's best-known note); their keys
#: hash that first-keyed text, whatever the configuration says now, so every stored key stays valid. Frozen:
#: it never grows (new prose goes in ``*_note`` fields, which no key hashes). The texts are key material
#: only, never shown: kept as the exact UTF-8 bytes first hashed (base64), since they cited the project's
#: internal design notes rather than a public source (the configuration now cites the public ones).
FIRST_KEYED_PROSE = {
    k: base64.b64decode(v).decode() for k, v in {
        "reference_table": "Y2NkLWxqLTIwMjUuMSAoYXRvbXMubWQgwqcyOiBOID0gMTMsIDE5LCAyNiwgMzgsIDU1LCA3NSwgOTgsIDEwMCwg"
                           "MTQ3LCAxNTAp",
        "best_known_note": "bm8gY2VydGlmaWVkIGdsb2JhbCBtaW5pbXVtOyAtNjUwLjY0IGlzIGEgbG9vc2UgQkggdXBwZXIgYm91bmQgKGF0"
                           "b21zLm1kIMKnMy4xKSwgbm90IGEgcmVmZXJlbmNl",
    }.items()
}


def key_configuration(config: dict[str, Any]) -> dict[str, Any]:
    """What a cell key hashes of a problem configuration: the configuration without its prose, so that
    rewording a citation or a note never changes a key. Prose is any ``*_note`` field (a problem that
    records prose names it so), and the fields of :data:`FIRST_KEYED_PROSE`, which hash their first-keyed
    text when present."""
    out: dict[str, Any] = {}
    for k, v in config.items():
        if k in FIRST_KEYED_PROSE:
            out[k] = FIRST_KEYED_PROSE[k] if v is not None else None
        elif not k.endswith("_note"):
            out[k] = v
    return out


def cell_key(cell: Cell) -> str:
    """The cell's identity in the store: a hash of what it computes (problem configuration, method and
    resolved parameters, seed, budget, dtype, device type, and the package version, which stays 0.1.0
    so that stored keys stay valid). The code that computed a cell is *not* in the key: it is tracked by
    its code identity (gmbench.store.identity, stored with every cell, per dependency), which the
    report marks and ``gmbench run --rerun-stale`` acts on."""
    payload = {
        "problem": key_configuration(cell.problem_config),  # prose-free: rewording keeps every key
        "method": {"name": cell.method_config["name"], "params": cell.method_config["params"]},
        "seed": cell.seed,
        "budget": cell.budget.as_dict(),
        "dtype": cell.dtype,
        "device": cell.device.split(":")[0],
        "version": __version__,
    }
    if cell.threads != DEFAULT_THREADS:  # only a non-default thread count enters the key (old keys stay)
        payload["threads"] = cell.threads
    blob = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]
