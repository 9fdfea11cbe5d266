"""Suites: YAML files mapped onto typed dataclasses (their cells are :mod:`gmbench.run.cell`'s).

Unknown keys, wrong types, unknown names and impossible dimensions are errors that name the file
and line. A suite is found by path, or by name in the project's ``suites/`` folder.
"""

from __future__ import annotations

import dataclasses

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gmbench.core.blackbox import Budget
from gmbench.core.errors import GmbenchError
from gmbench.methods import METHODS, make_method
from gmbench.problems import make_problem
from gmbench.run.cell import DEFAULT_THREADS, Cell, MethodSpec, ProblemSpec, cell_key, expand  # noqa: F401

# Suites are looked up in the checkout's suites/ (the source of truth; absent in an installed package),
# then in the copy the wheel carries as package data (gmbench/_suites, mapped from suites/ in setup.py).
_CHECKOUT = Path(__file__).resolve().parents[2]
SUITES_DIRS = [d for d in ((_CHECKOUT / "suites") if (_CHECKOUT / "pyproject.toml").is_file() else None,
                           Path(__file__).resolve().parents[1] / "_suites") if d is not None]
SUITES_DIR = next((d for d in SUITES_DIRS if d.is_dir()), SUITES_DIRS[0])
RESOURCE_KEYS = {"num_cpus", "num_gpus", "memory"}
DTYPES = ("float32", "float64")
MAX_SEED = 2**63 - 1  # seeds are stored as SQLite INTEGER (signed 64-bit)
MAX_SEED_COUNT = 100_000  # one cell per seed: a larger count is a typo, not a benchmark
MAX_ENTRY_EXPANSION = 10_000  # problems one entry may list (names x dims)
MAX_EVALS = 10**15  # an evaluation budget beyond this is a typo (and would overflow the store's counters' use)
MAX_TIME_S = 1e9  # seconds: about 32 years
MAX_INSTANCE_COUNT = 10_000  # instances one entry may expand to (like seeds: more is a typo)
MAX_INSTANCE = 2**31 - 1  # instance numbers fit every export's integer type (COCO's, parquet's int32)


def check_seeds(seeds: list[int], what: str) -> list[int]:
    """Seeds are distinct-or-not integers in [0, MAX_SEED], at most MAX_SEED_COUNT of them."""
    if len(seeds) > MAX_SEED_COUNT:
        raise GmbenchError(f"{what}: {len(seeds):,} seeds is more than {MAX_SEED_COUNT:,}")
    bad = [s for s in seeds if not 0 <= s <= MAX_SEED]
    if bad:
        raise GmbenchError(f"{what}: seed {bad[0]} is outside 0..2^63-1 (seeds are non-negative integers)")
    return seeds

class _Loader(yaml.SafeLoader):
    """Keeps the line of every mapping so that validation errors can point at it."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> "LineDict":
    loader.flatten_mapping(node)
    d = LineDict()
    d.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in d:
            raise GmbenchError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
        d[key] = loader.construct_object(value_node, deep=True)
        d.lines[key] = key_node.start_mark.line + 1
    return d


class LineDict(dict):
    def __init__(self) -> None:
        super().__init__()
        self.line = 0
        self.lines: dict[str, int] = {}


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass
class Suite:
    name: str
    path: Path
    description: str
    device: str
    dtype: str
    seeds: list[int]
    budget: Budget
    problems: list[ProblemSpec]
    methods: list[MethodSpec]
    targets: Any = None  # report target ladders (gmbench.report.targets.TargetSpec); None: defaults
    resources: dict[str, Any] = field(default_factory=dict)  # Ray resources per cell (--executor ray)
    plugins: list[str] = field(default_factory=list)  # plugin modules / absolute .py paths, loaded at parse
    warnings: list[str] = field(default_factory=list)  # settings that have no effect, said once by `run`
    sealed: bool = False  # run every method in its own confined process (gmbench.sandbox; `gmbench run --sealed`)
    method_files: list[str] = field(default_factory=list)  # methods only sealed children import (absolute paths)


def find_suite(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise GmbenchError(f"suite file not found: {name_or_path}")
        return p
    for folder in SUITES_DIRS:
        cand = folder / f"{name_or_path}.yaml"
        if cand.is_file():
            return cand
    known = sorted({q.stem for d in SUITES_DIRS if d.is_dir() for q in d.glob("*.yaml")})
    from gmbench.core.errors import unknown_name

    raise unknown_name("suite", name_or_path, known)


def load_suite(name_or_path: str) -> Suite:
    path = find_suite(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GmbenchError(f"cannot read suite {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise GmbenchError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at line {line}); "
                           "save the suite as UTF-8") from None
    try:
        data = yaml.load(text, Loader=_Loader)
    except GmbenchError as exc:
        raise GmbenchError(f"{path}: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise GmbenchError(f"{path}: malformed YAML: {where}{what}") from exc
    except (TypeError, ValueError, RecursionError) as exc:  # e.g. a list as a mapping key, nesting too deep
        raise GmbenchError(f"{path}: malformed YAML: {type(exc).__name__}: {str(exc)[:200]}") from None
    return parse_suite(data, path)


def _err(path: Path, d: Any, key: str | None, msg: str) -> GmbenchError:
    line = None
    if isinstance(d, LineDict):
        line = d.lines.get(key, d.line) if key is not None else d.line
    return GmbenchError(f"{path}" + (f", line {line}" if line else "") + f": {msg}")


def _check_keys(path: Path, d: Any, allowed: set[str], what: str) -> None:
    if not isinstance(d, dict):
        raise _err(path, d, None, f"{what} must be a mapping, got {type(d).__name__}")
    for k in d:
        if k not in allowed:
            import difflib

            close = difflib.get_close_matches(str(k), sorted(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _err(path, d, k, f"unknown key {k!r} in {what}{hint}; allowed: {', '.join(sorted(allowed))}")


def _budget(path: Path, d: Any, key: str, raw: Any) -> Budget:
    """``{time_s: T, evals: N | evals_per_dim: k, grad_cost: k | dim}`` (see :class:`gmbench.core.budget.Budget`)."""
    from gmbench.core.budget import check_grad_cost

    _check_keys(path, raw, {"time_s", "evals", "evals_per_dim", "grad_cost"}, "budget")
    t, n, per_dim = raw.get("time_s"), raw.get("evals"), raw.get("evals_per_dim")
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t <= MAX_TIME_S):
        raise _err(path, raw, "time_s", f"budget.time_s must be a positive number of seconds (at most {MAX_TIME_S:.0e}), "
                   f"got {t!r}")
    for k, v in (("evals", n), ("evals_per_dim", per_dim)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= MAX_EVALS):
            raise _err(path, raw, k, f"budget.{k} must be a positive integer (at most {MAX_EVALS:.0e}), got {v!r}")
    if n is not None and per_dim is not None:
        raise _err(path, raw, "evals_per_dim", "give budget.evals or budget.evals_per_dim, not both")
    if t is None and n is None and per_dim is None:
        raise _err(path, d, key, "a budget needs time_s and/or evals (or evals_per_dim)")
    try:
        grad_cost = check_grad_cost(raw.get("grad_cost", 1))
    except GmbenchError as exc:
        raise _err(path, raw, "grad_cost", f"budget.{exc}") from None
    return Budget(float(t) if t is not None else None, n, grad_cost, per_dim)


def _names_and_dims(path: Path, p: LineDict) -> list[LineDict]:
    """One problem entry per (name, dim) of an entry whose ``name`` and/or ``dim`` is a list (e.g. the 24
    bbob functions in four dimensions), each keeping the entry's line numbers."""
    names = p["name"] if isinstance(p["name"], list) else [p["name"]]
    dims = p.get("dim") if isinstance(p.get("dim"), list) else [p.get("dim")]
    for key, vals in (("name", names), ("dim", dims)):
        if not vals:
            raise _err(path, p, key, f"{key} must not be an empty list")
    if len(names) * len(dims) > MAX_ENTRY_EXPANSION:
        raise _err(path, p, "name", f"{len(names)} names x {len(dims)} dims is more than {MAX_ENTRY_EXPANSION:,} problems")
    out = []
    for name in names:
        for dim in dims:
            q = LineDict()
            q.update(p)
            q.line, q.lines = p.line if isinstance(p, LineDict) else 0, getattr(p, "lines", {})
            q["name"] = name
            if dim is not None:
                q["dim"] = dim
            out.append(q)
    return out


def _problem_class(family: str) -> type:
    """The Problem subclass of a registered family (its memory estimate is a classmethod)."""
    from gmbench.problems.base import Problem

    todo, found = [Problem], Problem
    while todo:
        cls = todo.pop()
        if getattr(cls, "family", "") == family:
            found = cls
        todo += cls.__subclasses__()
    return found


def _memory_methods(raw: Any) -> list[tuple[str, Any]]:
    """(label, method) for every method entry that builds without a system; others are validated
    (and reported) later, and a cell check in expand() covers them."""
    out = []
    for m in raw if isinstance(raw, list) else []:
        m = {"name": m} if isinstance(m, str) else m
        if not isinstance(m, dict) or "name" not in m:
            continue
        try:
            name = METHODS.canonical(str(m["name"]))
            if not METHODS.is_planned(name):
                out.append((str(m.get("label", name)), make_method(name, dict(m.get("params") or {}))))
        except Exception:  # noqa: BLE001 - validated with a proper message below
            continue
    return out


def _check_memory_early(path: Path, p: Any, name: str, dim: Any, methods: list[tuple[str, Any]], dtype: str) -> None:
    """Before a problem is built (its (D,) tensors alone can exhaust memory): each method's estimate
    at this dimension against the memory this machine reports free (see gmbench.core.resources)."""
    from gmbench.core.resources import DTYPE_BYTES, available_bytes, check_enabled, human
    from gmbench.problems import PROBLEMS

    if not check_enabled() or isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        return
    try:
        cls = _problem_class(PROBLEMS.get(name).family)
    except GmbenchError:
        return  # unknown name: reported with a did-you-mean when the problem is built
    nbytes = DTYPE_BYTES.get(dtype, 8)
    pb = lambda batch: cls.memory_bytes(dim, batch, nbytes)  # noqa: E731
    needs = [(m.memory_bytes(dim, nbytes, pb), label, m) for label, m in methods] or [(pb(1), None, None)]
    avail = available_bytes("cpu")
    for need, label, m in needs:
        if avail is not None and need > avail:
            lower = "dim" + (f" or {m.memory_param()}" if m is not None else "")
            raise _err(path, p, "dim", f"problem {name!r} at dim {dim:,}" + (f" with method {label!r}" if label else "")
                       + f" would need about {human(need)} of memory, more than the {human(avail)} this machine "
                       f"reports available: lower {lower} (or set GMBENCH_MEMORY_CHECK=0 to try anyway)")


def parse_suite(data: Any, path: Path) -> Suite:
    if not isinstance(data, dict):
        raise GmbenchError(f"{path}: a suite must be a YAML mapping")
    _check_keys(path, data, {"name", "description", "device", "dtype", "seeds", "budget", "problems", "methods",
                             "secret", "targets", "resources", "plugins", "sealed", "method_files"}, "suite")
    for req in ("budget", "problems", "methods"):
        if req not in data:
            raise _err(path, data, None, f"missing required key {req!r}")
    dtype = data.get("dtype", "float32")
    if dtype not in DTYPES:
        raise _err(path, data, "dtype", f"dtype must be one of {DTYPES}, got {dtype!r}")
    seeds_raw = data.get("seeds", 1)
    if isinstance(seeds_raw, int) and not isinstance(seeds_raw, bool) and 0 < seeds_raw <= MAX_SEED_COUNT:
        seeds = list(range(seeds_raw))
    elif isinstance(seeds_raw, list) and seeds_raw and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds_raw):
        seeds = list(seeds_raw)
    else:
        raise _err(path, data, "seeds", f"seeds must be a positive count (at most {MAX_SEED_COUNT:,}) or a list of "
                   f"non-negative integers, got {str(seeds_raw)[:80]}")
    try:
        check_seeds(seeds, "seeds")
    except GmbenchError as exc:
        raise _err(path, data, "seeds", str(exc)) from None
    budget = _budget(path, data, "budget", data["budget"])
    plugins = _plugins(path, data)  # before any name is resolved: plugins may register problems and methods
    method_files = _method_files(path, data)  # read by confined children only; their cells run sealed
    resources = _resources(path, data)
    secret = data.get("secret", "")
    if not isinstance(secret, str):
        raise _err(path, data, "secret", f"secret must be a string, got {type(secret).__name__}")
    sealed = data.get("sealed", False)
    if not isinstance(sealed, bool):
        raise _err(path, data, "sealed", f"sealed must be true or false, got {sealed!r}")
    sealed = sealed or bool(method_files)

    _check_text(path, data, "name", data.get("name", path.stem), "suite name")
    _check_text(path, data, "description", data.get("description", ""), "description")
    problems = []
    systems: list[str | None] = []
    if not isinstance(data["problems"], list) or not data["problems"]:
        raise _err(path, data, "problems", "problems must be a non-empty list")
    memory_methods: list[tuple[str, Any]] | None = None
    entries = []
    for p in data["problems"]:
        if isinstance(p, str):
            p = {"name": p}
        _check_keys(path, p, {"name", "dim", "bounds", "params", "budget", "instances", "rotate"}, "problem")
        if "name" not in p:
            raise _err(path, p, None, "problem without a name")
        entries += _names_and_dims(path, p)
    for p in entries:
        _check_text(path, p, "name", p["name"], "problem name")
    for p in entries:
        bounds = p.get("bounds")
        if bounds is not None:
            if not (isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)):
                raise _err(path, p, "bounds", f"bounds must be [lo, hi], got {bounds!r}")
            bounds = (float(bounds[0]), float(bounds[1]))
        dim = p.get("dim")
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int)):
            raise _err(path, p, "dim", f"dim must be an integer, got {dim!r}")
        params = p.get("params") or {}
        if not isinstance(params, dict):
            raise _err(path, p, "params", "params must be a mapping")
        clash = sorted(str(k) for k in params if k in ("dim", "bounds", "name"))
        if clash:  # found by tests/test_fuzz.py: make_problem(dim=..., **{"dim": ...}) was a TypeError
            raise _err(path, p, "params", f"{clash[0]} belongs beside name, not under params")
        pb = _budget(path, p, "budget", p["budget"]) if "budget" in p else None
        if memory_methods is None:
            memory_methods = _memory_methods(data.get("methods"))
        _check_memory_early(path, p, str(p["name"]), dim, memory_methods, dtype)
        for inst in _instances(path, p, secret):  # problem x instance, expanded like seeds
            spec = ProblemSpec(str(p["name"]), dim, bounds, {**params, **inst}, pb)
            try:  # resolve the name and validate dimension/bounds now, with the line
                built = make_problem(spec.name, dim=spec.dim, bounds=spec.bounds, **spec.params)
            except GmbenchError as exc:
                raise _err(path, p, "name", str(exc)) from exc
            systems.append(built.config().get("system"))
            if isinstance(spec.params.get("secret"), str):  # the cell carries the instance's key, never the secret
                spec = dataclasses.replace(spec, params={**spec.params, "secret": built.instance_key()})
            problems.append(spec)

    methods = []
    if not isinstance(data["methods"], list) or not data["methods"]:
        raise _err(path, data, "methods", "methods must be a non-empty list")
    labels = set()
    for m in data["methods"]:
        if isinstance(m, str):
            m = {"name": m}
        _check_keys(path, m, {"name", "label", "params"}, "method")
        if "name" not in m:
            raise _err(path, m, None, "method without a name")
        _check_text(path, m, "name", m["name"], "method name")
        _check_text(path, m, "label", m.get("label", ""), "method label")
        params = m.get("params") or {}
        if not isinstance(params, dict):
            raise _err(path, m, "params", "params must be a mapping")
        try:
            name = METHODS.canonical(str(m["name"]))
            if not METHODS.is_planned(name):
                for system in dict.fromkeys(systems):  # presets may depend on the system (e.g. "stridernet")
                    make_method(name, params, system=system)
        except GmbenchError as exc:
            raise _err(path, m, "name", str(exc)) from exc
        label = str(m.get("label", name))
        if label in labels:
            raise _err(path, m, "label", f"two methods with label {label!r}; give each a distinct label")
        labels.add(label)
        methods.append(MethodSpec(name, label, dict(params)))

    device = data.get("device", "auto")
    if not isinstance(device, str):
        raise _err(path, data, "device", "device must be a string (auto, cpu, cuda, cuda:N)")
    from gmbench.config.targets import parse_targets

    try:  # report-only settings: they never enter a cell key
        targets = parse_targets(data["targets"]) if "targets" in data else None
    except GmbenchError as exc:
        raise _err(path, data, "targets", str(exc)) from exc
    warnings = []
    if secret and not any(p.params.get("secret") for p in problems):
        warnings.append(f"{path}: secret has no effect: no problem entry has instances >= 1 (instance 0 is the "
                        "function as published)")
    return Suite(str(data.get("name", path.stem)), path, str(data.get("description", "")), device, dtype, seeds, budget, problems, methods,
                 targets=targets, resources=resources, plugins=plugins, warnings=warnings, sealed=sealed,
                 method_files=method_files)


def _check_text(path: Path, d: Any, key: str, value: Any, what: str) -> None:
    """Refuse a name or label that would act on the reader's terminal (gmbench.core.text)."""
    from gmbench.core.text import check_printable

    why = check_printable(str(value), what) if isinstance(value, str) else None
    if why:
        raise _err(path, d, key, why)


def _plugins(path: Path, data: Any) -> list[str]:
    """``plugins: [module, file.py]``: imported before the suite's names are resolved; a .py path is
    relative to the suite file. Returns the specs as loaded (paths made absolute, for Ray workers)."""
    from gmbench.core.registry import load_plugins

    raw = data.get("plugins", [])
    if not isinstance(raw, list) or not all(isinstance(s, str) and s.strip() for s in raw):
        raise _err(path, data, "plugins", f"plugins must be a list of module names or .py paths, got {raw!r}")
    specs = [str((path.parent / s.strip()).resolve()) if s.strip().endswith(".py") else s.strip() for s in raw]
    try:
        load_plugins(specs)
    except GmbenchError as exc:
        raise _err(path, data, "plugins", str(exc)) from exc
    return specs


def _method_files(path: Path, data: Any) -> list[str]:
    """``method_files: [my_method.py]``: methods the harness never imports (a confined child reads each file
    and describes its methods; gmbench.run.method_files); relative to the suite file; implies ``sealed``."""
    raw = data.get("method_files", [])
    if not isinstance(raw, list) or not all(isinstance(s, str) and s.strip().endswith(".py") for s in raw):
        raise _err(path, data, "method_files", f"method_files must be a list of .py paths, got {raw!r}")
    if not raw:
        return []
    from gmbench.run.method_files import load_method_files

    try:
        return load_method_files([str((path.parent / s.strip()).resolve()) for s in raw])
    except GmbenchError as exc:
        raise _err(path, data, "method_files", str(exc)) from exc


def _resources(path: Path, data: Any) -> dict[str, Any]:
    """``resources: {num_cpus: 4, num_gpus: 1, memory: 8e9}``: what each cell asks Ray for (--executor ray)."""
    raw = data.get("resources", {})
    _check_keys(path, raw, RESOURCE_KEYS, "resources")
    out = {}
    for k, v in raw.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or (k != "num_gpus" and v == 0):
            kind = "non-negative" if k == "num_gpus" else "positive"
            raise _err(path, raw, k, f"resources.{k} must be a {kind} number, got {v!r}")
        out[k] = int(v) if k == "memory" else v
    return out


def _instances(path: Path, p: dict, secret: str) -> list[dict[str, Any]]:
    """The instance arguments of one problem entry: ``instances`` is a list of integers >= 0 (0 is the
    function as published) or a count n (instances 1..n); ``rotate: true`` rotates every instance
    k >= 1. Only non-default values are passed on, so entries without them build what they always did."""
    raw, rotate = p.get("instances"), p.get("rotate", False)
    if not isinstance(rotate, bool):
        raise _err(path, p, "rotate", f"rotate must be true or false, got {rotate!r}")
    if raw is None:
        if rotate:
            raise _err(path, p, "rotate", "rotate needs instances (e.g. instances: [1, 2]); instance 0 is the "
                       "function as published")
        return [{}]
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > MAX_INSTANCE_COUNT:
        raise _err(path, p, "instances", f"instances: {raw:,} is more than {MAX_INSTANCE_COUNT:,} instances per entry")
    if isinstance(raw, list) and len(raw) > MAX_INSTANCE_COUNT:
        raise _err(path, p, "instances", f"{len(raw):,} instances is more than {MAX_INSTANCE_COUNT:,} per entry")
    if isinstance(raw, list) and any(isinstance(k, int) and not isinstance(k, bool) and k > MAX_INSTANCE for k in raw):
        raise _err(path, p, "instances", f"instance numbers must be at most {MAX_INSTANCE:,} (2^31 - 1)")
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        ks = list(range(1, raw + 1))
    elif (isinstance(raw, list) and raw and all(isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in raw)
          and len(set(raw)) == len(raw)):
        ks = list(raw)
    else:
        raise _err(path, p, "instances", "instances must be a positive count (instances 1..n) or a list of distinct "
                   f"non-negative integers, got {raw!r}")
    from gmbench.problems import PROBLEMS

    try:
        family = PROBLEMS.get(str(p.get("name"))).family
    except GmbenchError as exc:
        raise _err(path, p, "name", str(exc)) from exc
    if family not in ("function", "bbob"):
        raise _err(path, p, "instances", f"instances apply to function problems; {p.get('name')!r} is {family}")
    if family == "bbob" and (rotate or secret or 0 in ks):  # COCO's own, public instances 1, 2, ...
        raise _err(path, p, "rotate" if rotate else "instances",
                   f"{p.get('name')!r} is a bbob problem: its instances are COCO's (k >= 1, with COCO's own "
                   "rotations), so instance 0, rotate and a suite secret do not apply")
    out = []
    for k in ks:
        inst: dict[str, Any] = {"instance": k} if k else {}
        if k and rotate:
            inst["rotate"] = True
        if k and secret:
            inst["secret"] = secret
        out.append(inst)
    return out
