"""Property-based fuzzing of the command line (hypothesis): generated suite YAML (valid, nearly valid and
garbage) and generated command lines. Every invocation must end with exit status 0, or with exit status 2,
exactly one `error:` line and no traceback, and after an exit 2 the store must be byte-for-byte unchanged.

CI runs a bounded number of examples (FAST settings below); `pytest -m slow tests/test_fuzz.py` runs many
more. Cells that do run are tiny (dimension <= 4, a few evaluations or tens of milliseconds)."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from gmbench.cli.app import app  # noqa: E402

runner = CliRunner()
FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MANY = settings(max_examples=400, deadline=timedelta(seconds=60), database=None,  # a hang fails, with its input
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

VALID_SUITE = {
    "name": "fuzz",
    "device": "cpu",
    "seeds": 1,
    "budget": {"evals": 30},
    "problems": [{"name": "sphere", "dim": 2}],
    "methods": [{"name": "random-search", "params": {"batch_size": 8}}],
}


@pytest.fixture(scope="module", autouse=True)
def at_most_2gb():
    """Whatever the machine has, pretend at most 2 GB are free: a generated batch_size of 10^9 is then
    refused by the memory check on every machine instead of being tried on a big one."""
    import gmbench.core.resources as resources

    real = resources.available_bytes
    resources.available_bytes = lambda device="cpu": min(real(device) or 2 << 30, 2 << 30)
    yield
    resources.available_bytes = real


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A real store (one finished cell) that every example copies."""
    d = tmp_path_factory.mktemp("fuzz")
    suite = d / "t.yaml"
    suite.write_text(yaml.safe_dump(VALID_SUITE))
    store = d / "s.sqlite"
    res = runner.invoke(app, ["run", "--suite", str(suite), "--store", str(store), "-q"])
    assert res.exit_code == 0, res.output
    # one self-contained file (the run's connection may still hold pages in its write-ahead log)
    whole = d / "template.sqlite"
    src, dst = sqlite3.connect(store), sqlite3.connect(whole)
    src.backup(dst)
    src.close()
    dst.close()
    return whole


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def check(args: list[str], store: Path | None) -> None:
    before = digest(store) if store is not None else None
    res = runner.invoke(app, args)
    text = res.output
    assert "Traceback" not in text, (args, text)
    if res.exit_code != 0:
        # an exception that escaped every guard shows up here as exit 1 with res.exception set
        assert res.exit_code == 2, (args, res.exit_code, text, repr(res.exception))
        errors = [ln for ln in text.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1, (args, text)
        if store is not None:
            assert digest(store) == before, (args, "store changed on exit 2")


# ---- suite YAML ---------------------------------------------------------------------------------

names = st.sampled_from(["fuzz", "[/x]", "[bold]b", "ünï", "", "a" * 300, "x\ty", "1e3", "\x1b[2J", "a\u202eb",
                         "two\nlines", "a|b", "..", "index"])
ints = st.one_of(st.integers(-3, 6), st.sampled_from([10**9, 99999999999999999999, 2**63, -(2**63)]))
scalars = st.one_of(ints, st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
                    st.text(max_size=8), st.sampled_from(["nan", "inf", "1e-3", "[", "{"]))
problem_names = st.sampled_from(["sphere", "sphere", "rastrigin", "ackley", "sphere ", "Sphere", "nope", "lj-cluster"])
method_names = st.sampled_from(["random-search", "random-search", "gd", "adam", "nope", "random_search"])


def rare(draw, n: int) -> bool:
    """True about once in n + 1 draws (sampled_from leans to its first element, unlike integers' 0)."""
    return draw(st.sampled_from([False] * n + [True]))


@st.composite
def problems(draw):
    if draw(st.booleans()):
        return draw(problem_names)
    p = {"name": draw(problem_names)}
    if not rare(draw, 8):
        p["dim"] = draw(st.one_of(ints, scalars) if rare(draw, 7) else st.integers(1, 4))
    if rare(draw, 5):
        p["bounds"] = draw(st.one_of(st.lists(st.one_of(st.integers(-5, 5), scalars), max_size=3), scalars))
    if rare(draw, 4):
        p["params"] = draw(st.one_of(st.dictionaries(st.sampled_from(["n", "x", "dim"]), scalars, max_size=2), scalars))
    if rare(draw, 5):
        p[draw(st.sampled_from(["budget", "dims", "nme"]))] = draw(scalars)
    if rare(draw, 4):  # instance expansions: counts and numbers, sane and absurd
        p["instances"] = draw(st.one_of(st.integers(-1, 3), st.sampled_from([10**7, 99999999999999999999]),
                                        st.lists(st.one_of(st.integers(0, 3), st.sampled_from([2**31, 10**30])),
                                                 max_size=3), scalars))
        if rare(draw, 2):
            p["rotate"] = draw(st.one_of(st.booleans(), scalars))
    return p


@st.composite
def methods(draw):
    if draw(st.booleans()):
        return draw(method_names)
    m = {"name": draw(method_names)}
    if draw(st.booleans()):
        m["params"] = draw(st.one_of(
            st.fixed_dictionaries({}, optional={"batch_size": st.one_of(st.integers(1, 8), st.integers(1, 8), scalars),
                                                "n_points": st.one_of(st.integers(1, 4), st.integers(1, 4), scalars),
                                                "max_steps": st.integers(1, 5), "lr": scalars}),
            st.fixed_dictionaries({}, optional={"batch_size": st.integers(1, 8), "n_points": st.integers(1, 4)}),
            scalars))
    if rare(draw, 3):
        m["label"] = draw(st.one_of(names, scalars))
    return m


@st.composite
def suites(draw):
    d = dict(VALID_SUITE)
    if draw(st.booleans()):
        d["name"] = draw(names)
    for key, strat in [("seeds", st.one_of(st.integers(1, 2), ints, st.lists(ints, max_size=3), scalars)),
                       ("budget", st.one_of(st.fixed_dictionaries({"evals": st.integers(1, 40)}),
                                            st.fixed_dictionaries({"time_s": st.sampled_from([0.01, 0.05])}),
                                            st.dictionaries(st.sampled_from(["evals", "time_s", "x"]), scalars,
                                                            max_size=2), scalars)),
                       ("dtype", st.sampled_from(["float32", "float64", "float16", 3])),
                       ("device", st.sampled_from(["cpu", "gpu", 5, "cuda:x"]))]:
        if rare(draw, 7):
            d[key] = draw(strat)
    if not rare(draw, 2):
        d["problems"] = draw(st.one_of(st.lists(problems(), min_size=1, max_size=2), scalars)
                             if rare(draw, 5) else st.lists(problems(), min_size=1, max_size=2))
    if not rare(draw, 2):
        d["methods"] = draw(st.one_of(st.lists(methods(), min_size=1, max_size=2), scalars)
                            if rare(draw, 5) else st.lists(methods(), min_size=1, max_size=2))
    if rare(draw, 8):  # target ladders, sane and absurd
        d["targets"] = {draw(st.sampled_from(["gap", "tau", "bogus"])): draw(st.one_of(
            st.fixed_dictionaries({"from": st.sampled_from([100, 1e300, -1]), "to": st.sampled_from([1e-8, 1e-300, 0]),
                                   "per_decade": st.one_of(st.integers(-1, 5), st.sampled_from([10**8]))}),
            st.lists(scalars, max_size=3), scalars))}
    if rare(draw, 10):
        d.pop(draw(st.sampled_from(sorted(d))))
    if rare(draw, 10):
        d[draw(st.sampled_from(["extra", "problem", "seed"]))] = 1
    text = yaml.safe_dump(d, allow_unicode=True)
    how = draw(st.sampled_from([0] * 8 + [1, 2, 3, 4]))
    if how == 1:  # truncated
        text = text[: draw(st.integers(0, len(text)))]
    elif how == 2:  # a character replaced by YAML punctuation
        i = draw(st.integers(0, max(0, len(text) - 1)))
        text = text[:i] + draw(st.sampled_from([":", "-", "[", "{", "&a", "*a", "!!python/object:os.system", "\t", "'"])) + text[i + 1:]
    raw = text.encode("utf-8")
    if how == 3:  # garbage bytes
        raw = draw(st.binary(max_size=200))
    elif how == 4:  # not UTF-8
        raw = raw + b"\xff\xfe" + draw(st.binary(max_size=20))
    return raw


@st.composite
def near_valid_suites(draw):
    """A valid suite (two problems, two methods) with at most one field changed: reaches the checks
    that come late (methods' parameters, the memory check, the run itself)."""
    d = {"name": "fuzz", "device": "cpu", "seeds": [0, 1], "budget": {"evals": 20},
         "problems": [{"name": "sphere", "dim": 2}, {"name": "rastrigin", "dim": 3, "bounds": [-2, 2]}],
         "methods": [{"name": "random-search", "params": {"batch_size": 4}},
                     {"name": "gd", "label": "gd-small", "params": {"n_points": 2, "max_steps": 3}}]}
    where = draw(st.sampled_from(["none", "top", "problem", "method", "params"]))
    value = draw(st.one_of(scalars, ints, st.lists(scalars, max_size=2),
                           st.dictionaries(st.sampled_from(["a", "n", "evals"]), scalars, max_size=2)))
    if where == "top":
        d[draw(st.sampled_from(["name", "seeds", "budget", "dtype", "device", "description", "problems",
                                "methods", "bogus"]))] = value
    elif where == "problem":
        d["problems"][draw(st.integers(0, 1))][draw(st.sampled_from(["name", "dim", "bounds", "params", "budget",
                                                                     "bogus"]))] = value
    elif where == "method":
        d["methods"][draw(st.integers(0, 1))][draw(st.sampled_from(["name", "label", "params", "bogus"]))] = value
    elif where == "params":
        m = draw(st.integers(0, 1))
        d["methods"][m]["params"][draw(st.sampled_from(["batch_size", "n_points", "max_steps", "lr", "preset",
                                                        "clamp", "bogus"]))] = value
    return yaml.safe_dump(d, allow_unicode=True).encode("utf-8")


def _suite_case(raw: bytes, template: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        suite = d / "s.yaml"
        suite.write_bytes(raw)
        store = d / "s.sqlite"
        shutil.copy(template, store)
        # the suite's budget is validated, then replaced: a generated evals=10^9 must not run for minutes
        check(["run", "--suite", str(suite), "--store", str(store), "-q", "--budget", "evals=20"], store)


@FAST
@given(raw=suites())
def test_fuzz_suite_yaml(template, raw):
    _suite_case(raw, template)


@pytest.mark.slow
@MANY
@given(raw=suites())
def test_fuzz_suite_yaml_many(template, raw):
    _suite_case(raw, template)


@FAST
@given(raw=near_valid_suites())
def test_fuzz_near_valid_suite(template, raw):
    _suite_case(raw, template)


@pytest.mark.slow
@MANY
@given(raw=near_valid_suites())
def test_fuzz_near_valid_suite_many(template, raw):
    _suite_case(raw, template)


# ---- command lines ------------------------------------------------------------------------------

STORE_KINDS = ["real", "real", "real", "missing", "empty", "foreign", "text", "newer", "directory"]
TOKENS = ["--seeds", "--budget", "--problem", "--method", "--seed", "--suite", "--format", "--cells", "-q",
          "--filter", "--device", "--out", "--retry-failed", "--bogus", "-x", "--", "sphere", "random-search", "0",
          "-1", "99999999999999999999", "0,-3", "evals=5", "0.01s", "1e999", "json", "csv", "table", "nan", "[/x]",
          "[bold]", "fuzz", "smoke", "cpu", "cuda:7", "", " ", "ü", "3-1", "abc"]


def _make_store(kind: str, template: Path, d: Path) -> Path:
    store = d / "s.sqlite"
    if kind in ("real", "newer"):
        shutil.copy(template, store)
        if kind == "newer":
            db = sqlite3.connect(store)
            db.execute("UPDATE meta SET value='99' WHERE key='schema'")
            db.commit()
            db.close()
    elif kind == "empty":
        store.write_bytes(b"")
    elif kind == "foreign":
        db = sqlite3.connect(store)
        db.execute("CREATE TABLE notes (t TEXT)")
        db.commit()
        db.close()
    elif kind == "text":
        store.write_text("not a database\n")
    elif kind == "directory":
        store.mkdir()
    return store


SEEDS = ["1", "2", "0-1", "3,", "0", "-1", "0,-3", "99999999999999999999", "5-2", "x", ""]
OPTIONS = {
    "run": {"--seeds": SEEDS, "--budget": ["evals=5", "0.02s", "evals=0", "-1", "1e999", "abc", "time=x"],
            "--problem": ["sphere", "nope", "[/x]"], "--method": ["random-search", "nope", "[/x]"],
            "--device": ["cpu", "auto", "cuda:7", "tpu", ""], "--retry-failed": None, "-q": None,
            "--shard": ["1/2", "2/2", "0/2", "3/2", "1/99999999999999999999", "1/0", "x", ""],
            "--executor": ["local", "mpi", ""]},
    "report": {"--suite": ["fuzz", "TINY", "nope", "[/x]", ""], "--format": ["table", "json", "csv", "markdown",
               "latex", "xml", ""], "--cells": None, "--filter": None},
    "show": {"--suite": ["fuzz", "nope", "[/x]"], "--problem": ["sphere", "sphere-2", "nope"],
             "--method": ["random-search", "nope"], "--seed": ["0", "1", "-1", "x", "99999999999999999999"],
             "--format": ["table", "json", "yaml"]},
    "plot": {"--suite": ["fuzz", "TINY", "nope", "[/x]"]},
    "export": {"--format": ["csv", "coco", "extxyz", "xml", ""], "--suite": ["fuzz", "nope"], "--force": None,
               "--out": ["OUT", "OUT_FULL", "OUT_FILE"]},
    "merge": {},
    "list": {},
    "bogus": {},
}


@st.composite
def command_lines(draw):
    cmd = draw(st.sampled_from(["run", "run", "report", "report", "show", "show", "plot", "list", "export", "merge",
                                "bogus"]))
    args = [cmd]
    if cmd == "merge":  # OUT and inputs: new, the store itself, missing, not a database, a copy
        args += [draw(st.sampled_from(["NEW", "STORE", "OUT_FILE"]))]
        args += draw(st.lists(st.sampled_from(["STORE", "COPY", "MISSING", "OUT_FILE", "NEW"]), max_size=3))
    if cmd == "run":  # always a tiny suite (or a bad one), so that a valid line runs in milliseconds
        args += ["--suite", draw(st.sampled_from(["TINY", "TINY", "TINY", "nope", "", "[/x]"]))]
    if cmd == "show" and draw(st.booleans()):
        args.append(draw(st.sampled_from(["KEY", "KEY8", "KEY8", "0", "zz", "[/x]", ""])))
    if cmd == "list" and draw(st.booleans()):
        args.append(draw(st.sampled_from(["problems", "methods", "all", "nope"])))
    opts = OPTIONS[cmd]
    for opt in draw(st.lists(st.sampled_from(sorted(opts)), max_size=3, unique=True)) if opts else []:
        args.append(opt)
        if opts[opt] is not None:
            args.append(draw(st.sampled_from(opts[opt])))
    if rare(draw, 4):  # and some noise
        args.insert(draw(st.integers(1, len(args))), draw(st.sampled_from(TOKENS)))
    kind = draw(st.sampled_from(STORE_KINDS))
    return args, kind


def _command_case(args: list[str], kind: str, template: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        tiny = d / "tiny.yaml"
        tiny.write_text(yaml.safe_dump(VALID_SUITE))
        store = _make_store(kind, template, d)
        db = sqlite3.connect(template)
        key = db.execute("SELECT key FROM cells LIMIT 1").fetchone()[0]
        db.close()
        (d / "full").mkdir()
        (d / "full" / "x.txt").write_text("keep")
        (d / "file.txt").write_text("not a store")
        if "COPY" in args and store.is_file():
            shutil.copy(store, d / "copy.sqlite")
        subst = {"TINY": str(tiny), "KEY": key, "KEY8": key[:8], "OUT": str(d / "exp"), "OUT_FULL": str(d / "full"),
                 "OUT_FILE": str(d / "file.txt"), "NEW": str(d / "new.sqlite"), "STORE": str(store),
                 "COPY": str(d / "copy.sqlite"), "MISSING": str(d / "missing.sqlite")}
        argv = [subst.get(a, a) for a in args]
        if "--out" in argv and args[0] != "export":  # (export's --out values are substituted above)
            i = argv.index("--out")
            argv.insert(i + 1, str(d / "out"))
        argv += ["--store", str(store)] if args[0] in ("run", "report", "show", "plot", "export") else []
        if args[0] == "export" and "--out" not in argv:
            argv += ["--out", str(d / "exp")]
        if args[0] == "plot" and "--out" not in argv:
            argv += ["--out", str(d / "plots")]
        if args[0] == "run" and "--budget" not in argv:  # keep runs tiny (a given --budget is tiny or bad)
            argv += ["--budget", "evals=20"]
        check(argv, store if store.is_file() else None)
        assert (d / "full" / "x.txt").read_text() == "keep" and (d / "file.txt").read_text() == "not a store"


@FAST
@given(case=command_lines())
def test_fuzz_command_lines(template, case):
    _command_case(*case, template)


@pytest.mark.slow
@MANY
@given(case=command_lines())
def test_fuzz_command_lines_many(template, case):
    _command_case(*case, template)

