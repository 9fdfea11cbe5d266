"""Hostile input, second round (issue 24): every case is one `error:` line with exit status 2, nothing
stored changes and no file is left behind; outputs escape what would act on a terminal or a table."""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from pathlib import Path

import pytest

from tests.test_hostile import SUITE, cli, digest, make_store, one_error


def _suite(tmp_path: Path, text: str, name: str = "h.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _no_store_left(tmp_path: Path, res, *needles: str) -> None:
    one_error(res, *needles)
    assert not (tmp_path / "s.sqlite").exists()


@pytest.mark.parametrize("entry,needle", [
    ("{name: sphere, dim: 2, instances: 10000000}", "more than 10,000 instances"),
    ("{name: sphere, dim: 2, instances: [99999999999999999999999]}", "at most 2,147,483,647"),
    ("{name: sphere, dim: 2, instances: [2147483648]}", "at most 2,147,483,647"),
])
def test_instance_expansion_is_bounded_before_anything_is_allocated(tmp_path, entry, needle):
    p = _suite(tmp_path, f"budget: {{evals: 10}}\nproblems:\n  - {entry}\nmethods: [random-search]\n")
    t0 = time.perf_counter()
    _no_store_left(tmp_path, cli("run", "--suite", p, "--store", tmp_path / "s.sqlite"), needle)
    assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize("shard", ["1/99999999999999999999", "1/100001", "0/3", "4/3", "a/b"])
def test_shards_are_bounded(tmp_path, shard):
    _no_store_left(tmp_path, cli("run", "--suite", "smoke", "--store", tmp_path / "s.sqlite", "--shard", shard),
                   "--shard")


def test_target_ladders_are_bounded(tmp_path):
    p = _suite(tmp_path, "budget: {evals: 10}\ntargets: {gap: {from: 1.0e+300, to: 1.0e-300, per_decade: 100000000}}\n"
                         "problems: [{name: sphere, dim: 2}]\nmethods: [random-search]\n")
    _no_store_left(tmp_path, cli("run", "--suite", p, "--store", tmp_path / "s.sqlite"), "targets", "more than 1,000")


@pytest.mark.parametrize("field,value", [("name", "\x1b[2J"), ("name", "a\u202eb"), ("description", "x\x07y")])
def test_suite_names_with_control_characters_are_refused(tmp_path, field, value):
    text = SUITE.replace("name: tiny", "name: tiny" if field != "name" else f"name: \"{value.encode('unicode_escape').decode()}\"")
    if field == "description":
        text = f"description: \"{value.encode('unicode_escape').decode()}\"\n" + text
    p = _suite(tmp_path, text)
    _no_store_left(tmp_path, cli("run", "--suite", p, "--store", tmp_path / "s.sqlite"), "U+", "position")


@pytest.mark.parametrize("label", ["\\x1b[31mred", "evil\\u202e", "two\\nlines"])
def test_method_labels_with_control_characters_are_refused(tmp_path, label):
    p = _suite(tmp_path, SUITE.replace("  - name: random-search\n", f"  - name: random-search\n    label: \"{label}\"\n"))
    _no_store_left(tmp_path, cli("run", "--suite", p, "--store", tmp_path / "s.sqlite"), "method label", "U+")


def test_a_hostile_store_is_shown_escaped_and_markdown_pipes_do_not_shift_columns(tmp_path):
    st = make_store(tmp_path / "s.sqlite", SUITE.replace("  - name: random-search\n",
                                                         "  - name: random-search\n    label: \"a|b\"\n"))
    db = sqlite3.connect(st)  # a store written elsewhere, by a tool that did not check
    db.execute("UPDATE suite_cells SET label = label || char(27) || '[2J'")
    db.commit()
    db.close()
    for fmt in ("table", "markdown"):
        res = cli("report", "--store", st, "--format", fmt, "--no-targets", "--no-stats")
        assert res.exit_code == 0, res.output
        assert "\x1b" not in res.output and "\\x1b[2J" in res.output
    md = cli("report", "--store", st, "--format", "markdown", "--no-targets", "--no-stats").output
    rows = [ln for ln in md.splitlines() if ln.startswith("| a")]
    header = next(ln for ln in md.splitlines() if ln.startswith("| Method"))
    assert rows and all(r.replace("\\|", "").count("|") == header.count("|") for r in rows), md


def test_a_plugin_that_exits_at_import_is_one_line(tmp_path):
    for body, needle in (("import sys\nsys.exit(7)\n", "sys.exit(7)"), ("raise KeyboardInterrupt\n", "KeyboardInterrupt")):
        (tmp_path / "bad.py").write_text(body)
        _no_store_left(tmp_path, cli("run", "--suite", "smoke", "--store", tmp_path / "s.sqlite", "--plugin",
                                     tmp_path / "bad.py"), needle)


def test_a_store_that_is_a_symlink_loop_is_one_line(tmp_path):
    loop = tmp_path / "loop.sqlite"
    os.symlink(loop, loop)
    one_error(cli("report", "--store", loop), "loop.sqlite")
    one_error(cli("run", "--suite", "smoke", "--store", loop), "loop.sqlite")


def test_budget_override_must_say_something(tmp_path):
    _no_store_left(tmp_path, cli("run", "--suite", "smoke", "--store", tmp_path / "s.sqlite", "--budget", ""), "--budget")
    _no_store_left(tmp_path, cli("run", "--suite", "smoke", "--store", tmp_path / "s.sqlite", "--budget",
                                 "evals=1e30"), "at most")


@pytest.mark.parametrize("params,needle", [("{batch_size: -10}", "at least 0"), ("{batch_size: 0}", "at least 1")])
def test_negative_or_zero_sizes_are_refused_at_suite_load(tmp_path, params, needle):
    """Negative counts: the generic rule for every method's integers; zero: the method's own rule."""
    p = _suite(tmp_path, SUITE.replace("params: {batch_size: 8}", f"params: {params}"))
    _no_store_left(tmp_path, cli("run", "--suite", p, "--store", tmp_path / "s.sqlite"), "batch_size", needle)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("address", ["127.0.0.1:{port}", "no-such-host.invalid:6379", "nonsense"])
def test_an_unreachable_ray_address_fails_fast_and_leaves_no_store(tmp_path, address):
    pytest.importorskip("ray")
    t0 = time.perf_counter()
    res = cli("run", "--suite", "smoke", "--store", tmp_path / "s.sqlite", "--executor", "ray", "--address",
              address.format(port=_closed_port()))
    _no_store_left(tmp_path, res, "Ray" if address != "nonsense" else "--address")
    assert time.perf_counter() - t0 < 30


def test_a_bad_executor_leaves_no_store(tmp_path):
    _no_store_left(tmp_path, cli("run", "--suite", "smoke", "--store", tmp_path / "s.sqlite", "--executor", "mpi"),
                   "--executor")


def _differing_copy(tmp_path: Path, a: Path) -> Path:
    b = tmp_path / "b.sqlite"
    b.write_bytes(a.read_bytes())
    db = sqlite3.connect(b)
    db.execute("UPDATE cells SET final_energy = final_energy + 1 WHERE rowid = (SELECT min(rowid) FROM cells)")
    db.commit()
    db.close()
    return b


def test_merge_refuses_two_different_results_under_one_key(tmp_path):
    a = make_store(tmp_path / "a.sqlite")
    b = _differing_copy(tmp_path, a)
    one_error(cli("merge", tmp_path / "out.sqlite", a, b), "different result", "--keep-first")
    assert not (tmp_path / "out.sqlite").exists()
    res = cli("merge", tmp_path / "out.sqlite", a, b, "--keep-first")
    assert res.exit_code == 0 and "1 cells with different results kept from the first store" in res.output


def test_merge_copies_extra_tables_whose_names_need_quoting(tmp_path):
    a = make_store(tmp_path / "a.sqlite")
    db = sqlite3.connect(a)
    db.execute('CREATE TABLE "my extra" ("select" TEXT)')
    db.execute('INSERT INTO "my extra" VALUES (\'x\')')
    db.commit()
    db.close()
    res = cli("merge", tmp_path / "out.sqlite", a)
    assert res.exit_code == 0, res.output
    assert sqlite3.connect(tmp_path / "out.sqlite").execute('SELECT "select" FROM "my extra"').fetchall() == [("x",)]


def test_html_pages_never_overwrite_the_index_or_each_other(tmp_path):
    from gmbench.report.html import page_names

    assert page_names(["index", "a b", "a/b", "INDEX"]) == ["index-2.html", "a_b.html", "a_b-2.html", "INDEX-3.html"]


def test_html_and_report_files_refuse_to_overwrite_without_force(tmp_path):
    st = make_store(tmp_path / "s.sqlite")
    before = digest(st)
    out = tmp_path / "html"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    one_error(cli("report", "--store", st, "--format", "html", "--out", out), "not empty", "--force")
    assert cli("report", "--store", st, "--format", "html", "--out", out, "--force").exit_code == 0
    assert (out / "mine.txt").read_text() == "keep"
    md = tmp_path / "r.md"
    res = cli("report", "--store", st, "--format", "markdown", "--out", md)
    assert res.exit_code == 0 and md.read_text().startswith("###")  # --out honoured
    one_error(cli("report", "--store", st, "--format", "markdown", "--out", md), "exists", "--force")
    assert digest(st) == before


def test_a_secret_without_instances_warns(tmp_path):
    p = _suite(tmp_path, SUITE.replace("name: tiny", "name: tiny\nsecret: s3cret"))
    res = cli("run", "--suite", p, "--store", tmp_path / "s.sqlite", "--quiet")
    assert res.exit_code == 0 and "warning:" in res.output and "secret has no effect" in res.output


def test_the_html_page_shows_no_store_path_and_the_cells_threads(tmp_path):
    (tmp_path / "deep").mkdir()
    st = make_store(tmp_path / "deep" / "s.sqlite")
    assert cli("report", "--store", st, "--format", "html", "--out", tmp_path / "html").exit_code == 0
    page = (tmp_path / "html" / "tiny.html").read_text()
    assert str(tmp_path) not in page and "<code>s.sqlite</code>" in page
    assert "threads per cell</th><td>1<" in page and "torch_threads" not in page.split("manifest (JSON)")[0]


def test_a_budget_below_one_batch_warns(tmp_path):
    """`--budget evals=5` is smaller than random search's batch of 500: the run says so, per method, once."""
    res = cli("run", "--suite", "smoke", "--budget", "evals=5", "--seeds", "1", "--store", tmp_path / "b.sqlite",
              "--method", "random-search", "-q")
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.output.splitlines() if "less than one batch" in ln]
    assert len(lines) == 1 and "'random-search'" in lines[0] and "500 points" in lines[0]
    res = cli("run", "--suite", "smoke", "--budget", "evals=5000", "--seeds", "1", "--store", tmp_path / "c.sqlite",
              "--method", "random-search", "-q")
    assert "less than one batch" not in res.output
