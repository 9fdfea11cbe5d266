"""The ``gmbench`` command line."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.markup import escape
from rich.table import Table

from gmbench.cli.guard import OneLineErrors, guard as _guard
from gmbench.core.errors import GmbenchError

app = typer.Typer(cls=OneLineErrors, add_completion=False, no_args_is_help=True, help=(
    "gmbench: which method gets closest to the global minimum of high-dimensional energy landscapes, "
    "under the same budget? Run suites of problems x methods x seeds, store every cell, report the paper tables."))
console = Console(stderr=True)
out = Console(soft_wrap=True)

STORE_OPT = typer.Option("results/gmbench.sqlite", "--store", help="SQLite results store.")
PLUGIN_OPT = typer.Option(None, "--plugin", help="Module or .py file that registers extra problems/methods (repeatable).")


def _version(value: bool) -> None:
    if value:
        from gmbench import __version__

        out.print(f"gmbench {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print gmbench's version and exit.")) -> None:
    """gmbench: which method gets closest to the global minimum of high-dimensional energy landscapes?"""


def _warn_if_loaded() -> None:
    """One line on stderr when the 1-minute load average exceeds the cores this process may use: the
    cells' time budgets are wall-clock, so they will get less CPU (the report marks such cells contended)."""
    import os

    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if load > cores:
        console.print(f"warning: load average {load:.1f} exceeds the {cores} cores of this machine: time-budgeted "
                      "cells will get less CPU than their budget (the report marks them contended)",
                      highlight=False, soft_wrap=True, markup=False)


def parse_budget(text: str) -> "Any":
    """'30', '30s', '5m', '1h', 'evals=1e5', 'time=30,evals=1000', 'evals=1e5,grad_cost=dim'."""
    from gmbench.config.suite import MAX_EVALS, MAX_TIME_S
    from gmbench.core.blackbox import Budget
    from gmbench.core.budget import check_grad_cost

    time_s, evals, grad_cost = None, None, 1
    if not text.strip():
        raise GmbenchError("bad --budget '': give a time and/or evals=N (e.g. 30s or evals=10000)")
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        if part.startswith("grad_cost="):
            try:
                grad_cost = check_grad_cost(part[len("grad_cost="):].strip())
            except GmbenchError as exc:
                raise GmbenchError(f"bad --budget {text!r}: {exc}") from None
            continue
        if part.startswith("evals="):
            try:
                evals = int(float(part[6:]))
            except ValueError:
                raise GmbenchError(f"bad --budget {text!r}: evals must be a number")
            if not 0 < evals <= MAX_EVALS:
                raise GmbenchError(f"bad --budget {text!r}: evals must be positive (at most {MAX_EVALS:.0e})")
            continue
        part = part.removeprefix("time=")
        m = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*(s|m|h)?", part)
        if not m:
            raise GmbenchError(f"bad --budget {text!r}: use e.g. 30, 30s, 5m, 1h, evals=10000 or time=30,evals=10000")
        time_s = float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
        if not 0 < time_s <= MAX_TIME_S:
            raise GmbenchError(f"bad --budget {text!r}: time must be positive (at most {MAX_TIME_S:.0e} s)")
    if time_s is None and evals is None:
        raise GmbenchError(f"bad --budget {text!r}: give a time and/or evals=N")
    return Budget(time_s, evals, grad_cost)


SEEDS_HELP = ("Override the seeds: a count (3 = seeds 0,1,2), a range (0-4) or a list (0,2,7; one seed: 7,). "
              "Seeds are integers >= 0; --seeds 0 (no seeds) is an error: one run of seed 0 is --seeds 1.")


def parse_seeds(text: str) -> list[int]:
    """--seeds: a count N (seeds 0..N-1), a range A-B (inclusive) or a comma list; never negative."""
    from gmbench.config.suite import MAX_SEED_COUNT, check_seeds

    t = text.strip()
    usage = "use a count (3), a range (0-4) or a list (0,2,7)"
    if re.fullmatch(r"\d+", t):
        n = int(t)
        if n == 0:
            raise GmbenchError("--seeds 0 would run no seed: use --seeds 1 for one seed (seed 0), "
                               "or --seeds 0-0 / --seeds 5, for that one seed")
        if n > MAX_SEED_COUNT:
            raise GmbenchError(f"bad --seeds {t}: a count above {MAX_SEED_COUNT:,} (for one seed N, write N,)")
        return list(range(n))
    m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", t)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        if b < a:
            raise GmbenchError(f"bad --seeds {t}: the range is empty ({a} > {b})")
        if b - a + 1 > MAX_SEED_COUNT:
            raise GmbenchError(f"bad --seeds {t}: {b - a + 1:,} seeds is more than {MAX_SEED_COUNT:,}")
        return check_seeds(list(range(a, b + 1)), f"bad --seeds {t}")
    parts = [s.strip() for s in t.split(",") if s.strip()]
    if not parts or not all(re.fullmatch(r"[+-]?\d+", s) for s in parts):
        raise GmbenchError(f"bad --seeds {text!r}: {usage}")
    seeds = [int(s) for s in parts]
    if any(s < 0 for s in seeds):
        raise GmbenchError(f"bad --seeds {text!r}: seeds are integers >= 0")
    return check_seeds(seeds, f"bad --seeds {t}")


@app.command()
@_guard
def run(
    suite: str = typer.Option(..., "--suite", "-s", help="Suite name (in suites/) or path to a YAML file."),
    store: Path = STORE_OPT,
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N (default: the suite's)."),
    budget: Optional[str] = typer.Option(None, "--budget", help="Override the budget: 30s, 5m, evals=10000, time=30,evals=1000."),
    seeds: Optional[str] = typer.Option(None, "--seeds", help=SEEDS_HELP),
    problem: Optional[List[str]] = typer.Option(None, "--problem", "-p", help="Only these problems (repeatable)."),
    method: Optional[List[str]] = typer.Option(None, "--method", "-m", help="Only these method labels (repeatable)."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Run failed cells again."),
    plugin: Optional[List[str]] = PLUGIN_OPT,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch threads per cell (default 1: on a shared "
                                          "machine torch's one thread per core oversubscribes the cores; recorded in "
                                          "each cell, part of its key when not 1)."),
    sealed: bool = typer.Option(False, "--sealed", help="Run each method in its own confined process that reaches "
                                "nothing but its BlackBox (same results; for leaderboards and third-party methods)."),
    method_file: Optional[List[str]] = typer.Option(None, "--method-file", help="A .py file of methods that this "
                                                    "process never imports: only sealed children read it (implies "
                                                    "--sealed; repeatable)."),
    executor: str = typer.Option("local", "--executor", help="local (one cell after another here) or ray "
                                 "(one Ray task per cell; pip install 'gmbench[ray]')."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster to use: auto or HOST:PORT "
                                          "(default: start a local Ray). Only with --executor ray."),
    shard: Optional[str] = typer.Option(None, "--shard", help="Run only shard i of n (e.g. 2/4) of the cells, for "
                                        "job arrays; give each shard its own --store and combine with gmbench merge."),
    rerun_stale: bool = typer.Option(False, "--rerun-stale", help="Recompute stored cells that were computed by "
                                     "other gmbench code (default: keep them)."),
) -> None:
    """Run a suite: every (problem x method x seed) cell not already in the store."""
    from gmbench.core.registry import load_plugins

    load_plugins(plugin)
    if method_file:
        from gmbench.run.method_files import load_method_files

        method_file = load_method_files(list(method_file))
        sealed = True
    from gmbench.run.api import select_cells
    from gmbench.run.executors import check_executor, parse_shard, run_suite_cells
    from gmbench.store.sqlite import Store

    s, cells, dev, total = select_cells(suite, device, parse_budget(budget) if budget is not None else None,
                                        parse_seeds(seeds) if seeds else None, threads, problem, method,
                                        parse_shard(shard) if shard is not None else None, sealed)
    check_executor(executor, address)  # before the store exists: a failed start leaves nothing behind
    from gmbench.store.sqlite import network_filesystem

    remote_fs = network_filesystem(store)
    if remote_fs:
        console.print(f"warning: store {store} is on a network filesystem ({remote_fs}); SQLite's locking is not "
                      "reliable there: give each node a local store (--shard i/n) and combine them with gmbench merge",
                      markup=False, highlight=False, soft_wrap=True)
    if shard is not None:
        console.print(f"shard {shard.strip()}: {len(cells)} of {total} cells", highlight=False)
    st = Store(store)
    from gmbench.run.api import budget_warnings, sealed_warning

    for w in [*s.warnings, *budget_warnings(cells), *filter(None, [sealed_warning(cells)])]:
        console.print(f"warning: {w}", markup=False, highlight=False, soft_wrap=True)
    _warn_if_loaded()
    console.print(f"suite [bold]{escape(s.name)}[/]: {len(cells)} cells on {dev}"
                  f"{', sealed' if cells and cells[0].sealed else ''}, store {escape(str(store))}", highlight=False)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console, disable=quiet)
    from gmbench.run.signals import stop_on_signal

    say = lambda line: console.print(line, markup=False, highlight=False)  # noqa: E731
    import contextlib

    # closing: the write-ahead log is checkpointed and the lease thread stops when run returns
    with contextlib.closing(st), stop_on_signal(st, cells, say), progress:
        task = progress.add_task("running", total=len(cells))

        def on_event(kind: str, cell: Any, row: Optional[dict]) -> None:
            if kind == "start":
                progress.update(task, description=escape(cell.label))
                return
            progress.advance(task)
            if quiet:
                return
            if kind == "end" and row is not None:
                if row["status"] == "done":
                    d = row.get("final_dist")
                    msg = (f"[green]done[/] {escape(cell.label)}: E={row.get('final_energy'):.6g}"
                           + (f" dist={d:.4g}" if d is not None else "")
                           + f" evals={row['n_cost']:,} {row['wall_s']:.1f}s ({row['stop_reason']})")
                else:  # failed, or overrun (stopped for outliving its budget)
                    msg = f"[red]{escape(row['status'])}[/] {escape(cell.label)}: {escape(str(row['error']))}"
                progress.console.print(msg, highlight=False)
            elif kind == "skip":
                progress.console.print(f"[dim]stored[/] {escape(cell.label)}", highlight=False)
            elif kind == "busy":
                progress.console.print(f"[yellow]running elsewhere[/] {escape(cell.label)}", highlight=False)
            elif kind == "unavailable":
                progress.console.print(f"[yellow]unavailable[/] {escape(cell.label)}: {escape(cell.unavailable_reason)}", highlight=False)

        ray_opts: dict[str, Any] = {}
        if executor == "ray":  # workers load the same plugins; .py paths made absolute for them
            specs = [str(Path(p).resolve()) if p.endswith(".py") else p for p in (plugin or [])]
            ray_opts = {"address": address, "resources": s.resources, "plugins": s.plugins + specs,
                        "method_files": s.method_files + list(method_file or [])}
        counts = run_suite_cells(cells, st, s.name, dev, executor, retry_failed=retry_failed, on_event=on_event,
                                 rerun_stale=rerun_stale, suite=s, **ray_opts)
    console.print(", ".join(f"{v} {k}" for k, v in counts.items() if v), highlight=False)
    if counts.get("stale"):
        console.print(f"{counts['stale']} stored cells were computed by other gmbench code and kept "
                      "(gmbench run --rerun-stale recomputes them)", highlight=False, soft_wrap=True)


@app.command()
@_guard
def report(
    suite: Optional[str] = typer.Option(None, "--suite", "-s", help="Only this suite (default: every suite in the store)."),
    store: Path = STORE_OPT,
    fmt: str = typer.Option("table", "--format", "-f", help="table, markdown, latex, csv or json."),
    filter_: bool = typer.Option(False, "--filter", help="Reprint the latest `gmbench filter` run's tables instead."),
    targets: Optional[bool] = typer.Option(None, "--targets/--no-targets", help="Success rates and aRT at the headline "
                                           "targets (default: on for table/markdown/latex/html; csv/json add every "
                                           "target only when asked)."),
    stats: Optional[bool] = typer.Option(None, "--stats/--no-stats", help="Paired Wilcoxon tests (Holm), win rates "
                                         "and mean ranks per problem (default as --targets)."),
    html_out: Optional[Path] = typer.Option(None, "--out", help="Folder for --format html (one page per suite); "
                                            "for the other formats, a file to write the report into."),
    force: bool = typer.Option(False, "--force", help="Write into a non-empty --out folder or over an existing "
                               "--out file."),
    cells: bool = typer.Option(False, "--cells", help="List the stored cells (key, problem, method, seed, status) "
                               "instead; a key (or its first characters) is what `gmbench show` takes."),
    wide: bool = typer.Option(False, "--wide", help="Every column in the terminal (the paper's Min Dist and Avg "
                              "Error Per Dim, wall time, aRT seconds); by default terminal tables fit 120 columns."),
) -> None:
    """Print the Table 1/2-style results (distance from the global minimum, error per dimension)."""
    from gmbench.report.tables import FORMATS
    from gmbench.store.sqlite import Store

    if cells:
        from gmbench.report.cells import list_cells

        text = list_cells(Store(store, create=False), _suite_name(suite, store) if suite else None, fmt)
        out.print(text, markup=False, highlight=False, crop=False, soft_wrap=fmt == "json")
        return

    if filter_:
        from gmbench.studies.filter import load_latest, render

        if fmt != "table":
            raise GmbenchError("report --filter prints plain-text tables only (leave out --format)")
        out.print(render(load_latest(Store(store, create=False))), markup=False, highlight=False, crop=False)
        return
    if fmt == "html":  # one self-contained page per suite
        from gmbench.report.html import write_report

        if html_out is None:
            raise GmbenchError("report --format html needs --out DIR")
        for p in write_report(Store(store, create=False), suite, html_out, targets=targets is not False,
                              stats=stats is not False, force=force):
            out.print(str(p), highlight=False)
        return
    if fmt not in FORMATS:
        raise GmbenchError(f"unknown report format {fmt!r} (use one of {', '.join(FORMATS)}, or html with --out)")
    name = _suite_name(suite, store) if suite else None  # a suite file or a suite name known to the store
    from gmbench.report.analysis import report_text

    text = report_text(Store(store, create=False), name, fmt, targets=targets, stats=stats, wide=wide)
    if html_out is not None:  # --out FILE: the report written there, nothing printed but its path
        _write_text(html_out, text, force)
        out.print(str(html_out), highlight=False)
        return
    out.print(text, markup=False, highlight=False)


def _write_text(path: Path, text: str, force: bool) -> None:
    """Write a report file; an existing file is replaced only with --force, a folder never."""
    if path.is_dir():
        raise GmbenchError(f"--out {path} is a folder: give a file name (a folder is for --format html)")
    if path.exists() and not force:
        raise GmbenchError(f"--out {path} exists: pass --force to replace it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise GmbenchError(f"cannot write the report to {path}: {exc.strerror or exc}") from None


def _suite_name(suite: str, store: Path) -> str:
    """The stored suite a --suite argument means (a stored name, or the suite file a run recorded; see
    Store.suite_name): read from the store, no suite file is parsed."""
    from gmbench.store.sqlite import Store

    st = Store(store, create=False)
    try:
        return st.suite_name(suite)
    finally:
        st.close()


@app.command("filter")
@_guard
def filter_(
    scale: str = typer.Option("paper", "--scale", help="Preset: paper (the paper's values) or quick (minutes on a CPU)."),
    dim: Optional[int] = typer.Option(None, "--dim", help="Step 2 dimension (paper 1000)."),
    points: Optional[int] = typer.Option(None, "--points", help="Step 2 Adam starting points (paper 10,000)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Step 2 Adam steps (paper 10,000)."),
    lr_start: Optional[float] = typer.Option(None, "--lr-start", help="Step 2 learning-rate grid start (paper 0.05)."),
    lr_stop: Optional[float] = typer.Option(None, "--lr-stop", help="Step 2 learning-rate grid stop (paper 5.0)."),
    lr_step: Optional[float] = typer.Option(None, "--lr-step", help="Step 2 learning-rate grid step (paper 0.05)."),
    learn_dim: Optional[int] = typer.Option(None, "--learn-dim", help="Step 3 dimension (paper 100)."),
    learn_steps: Optional[int] = typer.Option(None, "--learn-steps", help="Step 3 training steps (paper 1000)."),
    learn_points: Optional[int] = typer.Option(None, "--learn-points", help="Step 3 points per step (paper 1000)."),
    width: Optional[int] = typer.Option(None, "--width", help="Step 3 hidden units (paper 1000)."),
    seeds: Optional[str] = typer.Option(None, "--seeds", help="Seeds: 3, 0-4 or 0,2,7 (step 2 uses the first)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    step2_from: str = typer.Option("paper", "--step2-from", help="Step 2 input: paper (the paper's 14) or ours (declared)."),
    until: int = typer.Option(3, "--until", help="Stop after this step (1, 2 or 3)."),
    store: Path = STORE_OPT,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
) -> None:
    """Reproduce the seed paper's selection of test functions (30 -> 14 -> 8 -> 2): properties, Adam, learnability."""
    from gmbench.core.env import resolve_device
    from gmbench.studies.filter import make_config, render, run_filter
    from gmbench.store.sqlite import Store

    cfg = make_config(scale, dim=dim, points=points, steps=steps, lr_start=lr_start, lr_stop=lr_stop, lr_step=lr_step,
                      learn_dim=learn_dim, learn_steps=learn_steps, learn_points=learn_points, width=width,
                      seeds=parse_seeds(seeds) if seeds else None, device=resolve_device(device),
                      step2_from=step2_from, until=until)
    res = run_filter(cfg, Store(store), console=console, quiet=quiet)
    console.print(f"filter: {res.counts['run']} computed, {res.counts['stored']} reused from {store}", markup=False, highlight=False)
    out.print(render(res), markup=False, highlight=False, crop=False)


@app.command()
@_guard
def plot(
    suite: str = typer.Option(..., "--suite", "-s", help="Suite name or YAML path (as given to `run`)."),
    store: Path = STORE_OPT,
    out_dir: Path = typer.Option(Path("plots"), "--out", help="Folder for the figure files."),
    kind: str = typer.Option("anytime", "--kind", help="anytime (the per-seed figures: paper Figs 2-4 and "
                             "best-so-far curves), ecdf (runtime ECDFs over the targets) or fixed-budget (median "
                             "and quartiles of the prediction's distance/gap vs evaluations and seconds)."),
    fig_fmt: str = typer.Option("png", "--format", "-f", help="png (150 dpi), svg or pdf."),
    problem: Optional[List[str]] = typer.Option(None, "--problem", "-p", help="ecdf/fixed-budget: only these "
                                                "problems (name or label; repeatable)."),
) -> None:
    """Write PNG figures: learned minimum per iteration and over time (paper Figs 2-3), trajectory loss
    (Fig 4), and the best-so-far prediction versus evaluations for every method."""
    from gmbench.report.figures import plot_suite
    from gmbench.store.sqlite import Store

    name = _suite_name(suite, store)
    from gmbench.report.figures import FIGURE_FORMATS, KINDS, plot_analysis

    if kind not in KINDS:
        raise GmbenchError(f"unknown plot kind {kind!r} (use one of {', '.join(KINDS)})")
    if fig_fmt not in FIGURE_FORMATS:
        raise GmbenchError(f"unknown figure format {fig_fmt!r} (use one of {', '.join(FIGURE_FORMATS)})")
    try:
        if kind == "anytime":
            paths = plot_suite(Store(store, create=False), name, out_dir, fig_fmt)
        else:
            paths = plot_analysis(Store(store, create=False), name, out_dir, kind, fig_fmt, problem)
    except OSError as exc:
        raise GmbenchError(f"cannot write plots to {out_dir}: {exc.strerror or exc}") from exc
    for p in paths:
        out.print(str(p), highlight=False)


@app.command("list")
@_guard
def list_(
    what: str = typer.Argument("all", help="problems, methods or all"),
    plugin: Optional[List[str]] = PLUGIN_OPT,
) -> None:
    """List problems (with properties and bounds) and methods (with parameters)."""
    from gmbench.core.registry import load_plugins

    load_plugins(plugin)
    from gmbench.config.params import describe as describe_params, format_default
    from gmbench.methods import METHODS
    from gmbench.problems import PROBLEMS

    if what not in ("all", "problems", "methods"):
        raise GmbenchError(f"unknown list {what!r} (use problems, methods or all)")
    from tabulate import tabulate

    yn = lambda b: "yes" if b else "no"  # noqa: E731
    if what in ("all", "problems"):
        groups: dict[str, list] = {}
        for name, entry in PROBLEMS.items():
            p, i = entry.properties, entry.info
            mm = (yn(p.multimodal) + (f" (D>={p.multimodal_min_dim})" if p.multimodal_min_dim > 1 else "")) if p else ""
            groups.setdefault(entry.family, []).append(
                [name, i.get("F", ""), i.get("title", ""), i.get("bounds", ""), i.get("dims", ""),
                 yn(p.continuous) if p else "", yn(p.differentiable) if p else "", mm,
                 yn(p.global_min_defined) if p else "", yn(p.unique_minimizer) if p else ""])
        headers = ["name", "F", "title", "native bounds", "dims", "continuous", "differentiable", "multimodal",
                   "global min in R^D", "unique x*"]
        titles = {"function": "Functions", "atoms": "Atomistic problems"}
        for family, rows in groups.items():
            out.print(f"{titles.get(family, family)} ({len(rows)})\n"
                      + tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True) + "\n",
                      markup=False, highlight=False, crop=False)
            # typed parameters (name: type = default) from each problem's parameter dataclass
            by_params: dict[Any, list[str]] = {}
            for name, entry in PROBLEMS.items():
                if entry.family == family:
                    by_params.setdefault(entry.params, []).append(name)
            prows = []
            for cls, names in by_params.items():
                who = (f"every {family} problem" if len(names) == len(rows) and len(names) > 4 else ", ".join(names)
                       if len(names) <= 4 else f"{names[0]} ... {names[-1]} ({len(names)})")
                prows.append([who, "\n".join(describe_params(cls)) or "none" if cls is not None else "(untyped)"])
            out.print(f"{titles.get(family, family)}: parameters\n"
                      + tabulate(prows, headers=["problems", "parameters (name: type = default)"], tablefmt="simple",
                                 disable_numparse=True) + "\n",
                      markup=False, highlight=False, crop=False)
    if what in ("all", "methods"):
        rows = []
        for name, cls in METHODS.items():
            if name.startswith("_"):
                continue
            params = ", ".join(f"{f.name}={format_default(f)}" for f in dataclasses.fields(cls))  # type: ignore[arg-type]
            rows.append([name, params])
        for name, why in METHODS.planned.items():
            rows.append([f"{name} (unavailable)", why])
        out.print(f"\nMethods ({len(rows)})\n" + tabulate(rows, headers=["name", "parameters (defaults)"], tablefmt="simple"),
                  markup=False, highlight=False, crop=False)


@app.command()
@_guard
def show(
    cell: Optional[str] = typer.Argument(None, help="Cell key (or a unique prefix of it); `gmbench report --cells` lists them."),
    store: Path = STORE_OPT,
    fmt: str = typer.Option("table", "--format", "-f", help="table or json"),
    suite: Optional[str] = typer.Option(None, "--suite", "-s", help="Select the cell by suite name ..."),
    problem: Optional[str] = typer.Option(None, "--problem", "-p", help="... problem (name or name-dim, e.g. sphere-10) ..."),
    method: Optional[str] = typer.Option(None, "--method", "-m", help="... method label ..."),
    seed: Optional[int] = typer.Option(None, "--seed", help="... and seed (together they must select one cell)."),
) -> None:
    """Print one cell's configuration, result and anytime trace. Name the cell by its key, or by
    --suite/--problem/--method/--seed (which must select exactly one stored cell)."""
    from gmbench.store.sqlite import Store

    if fmt not in ("table", "json"):
        raise GmbenchError(f"unknown format {fmt!r} (use table or json)")
    from gmbench.report.cells import select_cell

    st = Store(store, create=False)
    row = select_cell(st, cell, {"suite": st.suite_name(suite) if suite else None, "problem": problem,
                                 "method": method, "seed": seed})
    trace = list(st.trace(row["key"]))
    row.pop("best_x", None)
    if fmt == "json":
        from gmbench.core.jsonout import dumps

        out.print(dumps({"cell": row, "trace": trace}, default=str, indent=2),
                  markup=False, highlight=False, soft_wrap=True)
        return
    from gmbench.report.labels import instance_label

    pcfg = json.loads(row["problem_config"]) if isinstance(row.get("problem_config"), str) else {}
    out.print(f"{'problem':>18}: {row.get('problem')} (D={row.get('dim')}){instance_label(pcfg)}",
              markup=False, highlight=False)
    for k in ("key", "suite", "problem_config", "method_config", "seed", "budget", "device", "dtype", "status",
              "error", "stop_reason", "final_energy", "final_dist", "final_dist_nearest", "min_dist",
              "avg_err_per_dim", "n_energy", "n_grad", "n_cost", "n_local", "wall_s", "harness_s", "overrun_s",
              "threads", "cpu_util", "sealed"):
        value = row.get(k)
        if k == "sealed":
            value = value or "no (the harness's process)"
        out.print(f"{k:>18}: {value}", markup=False, highlight=False)
    t = Table(title=f"trace ({len(trace)} candidates)")
    names = ["t", "n_energy", "n_grad", "n_cost", "energy", "gap", "dist", "dist_nearest", "oob"]
    for n in names + ["scalars"]:
        t.add_column(n)
    for r in trace:
        t.add_row(*[("—" if r[n] is None else f"{r[n]:.6g}" if isinstance(r[n], float) else str(r[n])) for n in names],
                  escape(json.dumps(r["scalars"])))
    out.print(t)


@app.command()
@_guard
def perf(
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Also write the results as JSON to this file."),
    quick: bool = typer.Option(False, "--quick", help="Tiny sizes (seconds; for tests and CI), not the issue's."),
    figure: Optional[List[int]] = typer.Option(None, "--figure", help="Only these figures 1-9 (repeatable)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch intra-op threads (default: torch's)."),
) -> None:
    """Speed of gmbench's own kernels, each next to its references and peers in the same process:
    energy+gradient throughput vs a bandwidth probe, Adam sweep vs torch.optim.Adam and a vectorised
    torch sweep, batched FIRE vs ASE, jax-md and torch-sim, neighbour lists vs vesin, StriderNET vs the
    paper's Table 10, the harness overhead, CMA-ES vs pycma, and the peak memory of each. Peers not
    installed are reported as skipped (pip install gmbench[perf])."""
    from gmbench.core.env import resolve_device
    from gmbench.bench import FIGURES, check_json_path, render, run_perf

    dev = resolve_device(device)
    check_json_path(json_path)
    if figure and any(k not in FIGURES for k in figure):
        raise GmbenchError(f"unknown --figure {figure} (use 1 to {max(FIGURES)})")
    if threads is not None and threads < 1:
        raise GmbenchError(f"bad --threads {threads}: must be at least 1")
    res = run_perf(dev, quick=quick, only=figure, threads=threads,
                   progress=lambda s: console.print(f"[dim]perf[/] {s}", highlight=False))
    out.print(render(res), markup=False, highlight=False, crop=False)
    if json_path is not None:
        try:
            json_path.write_text(json.dumps(res, indent=1))
        except OSError as exc:
            raise GmbenchError(f"cannot write --json {json_path}: {exc.strerror or exc}") from exc


@app.command()
@_guard
def merge(
    out_store: Path = typer.Argument(..., metavar="OUT", help="Store to write (created if absent)."),
    stores: List[Path] = typer.Argument(..., metavar="STORE...", help="Stores to merge into OUT (e.g. one per shard)."),
    keep_first: bool = typer.Option(False, "--keep-first", help="Where two stores hold different results for one "
                                    "cell (a time budget rerun), keep the first instead of refusing."),
) -> None:
    """Combine results stores (e.g. the shards of a job array): equal keys must carry equal configurations
    and equal results (else the merge refuses, or keeps the first with --keep-first), identical duplicates
    are kept once, every run manifest is kept."""
    from gmbench.store.merge import merge_stores

    c = merge_stores(out_store, list(stores), keep_first=keep_first)
    console.print(f"merged {c['stores']} stores into {out_store}: {c['cells']} cells, {c['runs']} runs"
                  + (f", {c['duplicates'] - c['different_kept_first']} identical duplicates kept once"
                     if c["duplicates"] > c["different_kept_first"] else "")
                  + (f", {c['different_kept_first']} cells with different results kept from the first store"
                     if c["different_kept_first"] else ""), markup=False, highlight=False, soft_wrap=True)


@app.command("export")
@_guard
def export_(
    fmt: str = typer.Option(..., "--format", "-f", help="csv or parquet (runs and traces tables), coco (a COCO data "
                            "folder for cocopp) or extxyz (best structure of every atomistic run, and the references)."),
    out_path: Path = typer.Option(..., "--out", help="Folder to write into (created; must be new or empty)."),
    suite: Optional[str] = typer.Option(None, "--suite", "-s", help="Only this suite (default: every stored run)."),
    force: bool = typer.Option(False, "--force", help="Write into a non-empty --out (files of the same name "
                               "are replaced)."),
    store: Path = STORE_OPT,
) -> None:
    """Export the stored runs for pandas/R, cocopp or ASE; the store is opened read-only."""
    from gmbench.store.export import export

    name = _suite_name(suite, store) if suite else None
    notes: list[str] = []
    for p in export(store, fmt, out_path, name, force=force, notes=notes):
        out.print(str(p), highlight=False)
    for note in notes:
        out.print(f"note: {note}", markup=False, highlight=False)


from gmbench.cli.stridernet import app as _stridernet_app  # noqa: E402

app.add_typer(_stridernet_app, name="stridernet")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
