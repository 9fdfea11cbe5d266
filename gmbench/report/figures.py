"""Figures from the store (matplotlib, Agg): per-iteration figures a method declares
(``Method.plots``: the action-functional's learned minimum and trajectory loss, the seed paper's
Figures 2-4) and the anytime curves of every method."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from gmbench.core.errors import GmbenchError
from gmbench.report.plots import IterationPlot
from gmbench.store.sqlite import Store


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def load_traces(store: Store, suite: str) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """{problem label: {method label: [trace of each done cell]}}."""
    df = store.cells_frame(suite)
    df = df[df["status"] == "done"]
    out: dict[str, dict[str, list]] = {}
    for _, row in df.iterrows():
        cfg = json.loads(row["slot_problem_config"])
        problem = f"{cfg['name']} (D={cfg.get('dim')})"
        trace = list(store.trace(row["key"]))
        if trace:
            out.setdefault(problem, {}).setdefault(row["slot_label"], []).append(trace)
    return out


def method_plots(store: Store, suite: str) -> dict[str, IterationPlot]:
    """{method label: the per-iteration figures its method declares} (``Method.plots``, as recorded in
    the store when the suite ran); methods declaring none get only the anytime figure."""
    from gmbench.report.facts import Facts

    facts = Facts(store)
    df = store.cells_frame(suite)
    out: dict[str, IterationPlot] = {}
    for label, name in zip(df["slot_label"], df["method"]):
        if label in out or not isinstance(name, str):
            continue
        plots = facts.plots(name)
        if plots is not None:
            out[label] = plots
    return out


def best_so_far(trace: list[dict[str, Any]]) -> list[tuple[float, float, float, float]]:
    """(evaluations, time, energy, distance) of the lowest-energy candidate so far, at every report."""
    best_e, best_d, rows = math.inf, math.nan, []
    for r in trace:
        e = r["energy"]
        if e is not None and e < best_e:
            best_e, best_d = e, (r["dist"] if r["dist"] is not None else math.nan)
        rows.append((r["n_energy"], r["t"], best_e, best_d))
    return rows


def iteration_axis(rows: list[dict[str, Any]], plot: IterationPlot = IterationPlot(warm=("phase", 0.0))) -> list[float]:
    """x values for per-iteration plots: warm-start reports (``plot.warm``, e.g. phase 0, all at
    iteration 0) spread evenly over [−1, 0], later iterations at their iteration number."""
    def warm(r: dict[str, Any]) -> bool:
        return plot.warm is not None and r["scalars"].get(plot.warm[0]) == plot.warm[1]

    n_warm = sum(1 for r in rows if warm(r))
    xs, k = [], 0
    for r in rows:
        if warm(r):
            xs.append(-1 + k / (n_warm - 1) if n_warm > 1 else 0.0)
            k += 1
        else:
            xs.append(r["scalars"][plot.iteration])
    return xs


def plot_suite(store: Store, suite: str, out_dir: Path, fmt: str = "png") -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = load_traces(store, suite)
    if not data:
        raise GmbenchError(f"no finished cells of suite {suite!r} in {store.path}")
    declared = method_plots(store, suite)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    def style(i: int, j: int, label: str) -> dict[str, Any]:
        """Method i's colour; one legend entry per method (its first seed j = 0), later seeds fainter."""
        return {"color": colors[i % len(colors)], "lw": 1.2, "label": label if j == 0 else None,
                "alpha": 1.0 if j == 0 else 0.45}

    for problem, methods in data.items():
        base = _slug(f"{suite}_{problem}")
        iterative = {m: ts for m, ts in methods.items()
                     if m in declared and any(declared[m].iteration in r["scalars"] for t in ts for r in t)}
        # Figures 2/3: energy and distance of each iteration's learned minimum, over iterations and over time
        if iterative:
            for xkey, xlabel, suffix in (("iteration", "iteration", "iterations"), ("t", "wall time [s]", "time")):
                fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
                for i, (m, traces) in enumerate(iterative.items()):
                    it = declared[m].iteration
                    for j, t in enumerate(traces):
                        rows = [r for r in t if it in r["scalars"]]
                        xs = iteration_axis(rows, declared[m]) if xkey == "iteration" else [r["t"] for r in rows]
                        kw = style(i, j, m)
                        axes[0].plot(xs, [r["energy"] for r in rows], **kw)
                        axes[1].plot(xs, [r["dist"] for r in rows], **kw)
                axes[0].set_ylabel("true energy of the learned minimum")
                axes[1].set_ylabel("distance of the learned minimum to x*")
                for ax in axes:
                    ax.set_xlabel(xlabel + (" (warm start in [−1, 0])" if xkey == "iteration" else ""))
                    ax.grid(alpha=0.3)
                    ax.legend()
                if xkey == "t":
                    axes[0].set_xscale("log")
                    axes[1].set_xscale("log")
                fig.suptitle(f"{problem}: learned minimum per iteration (suite {suite}; one line per seed)")
                path = out_dir / f"{base}_learned_minimum_{suffix}.{fmt}"
                fig.savefig(path, dpi=DPI)
                plt.close(fig)
                written.append(path)
        # declared per-iteration scalars (the action functional's trajectory loss: Figure 4), one figure each
        series = {s.name: s for m in methods if m in declared for s in declared[m].series}
        for s in series.values():
            lossy = {m: ts for m, ts in methods.items()
                     if m in declared and s in declared[m].series and any(s.name in r["scalars"] for t in ts for r in t)}
            if not lossy:
                continue
            fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
            for i, (m, traces) in enumerate(lossy.items()):
                it = declared[m].iteration
                for j, t in enumerate(traces):
                    rows = [r for r in t if s.name in r["scalars"]]
                    ax.plot([r["scalars"][it] for r in rows], [r["scalars"][s.name] for r in rows], **style(i, j, m))
            ax.set_xlabel("iteration")
            ax.set_ylabel(s.label)
            if s.log:
                ax.set_yscale("log")
            ax.grid(alpha=0.3)
            ax.legend()
            ax.set_title(f"{problem}: {s.title or s.name}")
            path = out_dir / f"{base}_{s.file or s.name}.{fmt}"
            fig.savefig(path, dpi=DPI)
            plt.close(fig)
            written.append(path)
        # anytime: best-so-far (lowest-energy) prediction's distance and energy versus evaluations
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
        for i, (m, traces) in enumerate(methods.items()):
            for j, t in enumerate(traces):
                rows = best_so_far(t)
                kw = style(i, j, m) | {"drawstyle": "steps-post"}
                axes[0].plot([max(r[0], 1) for r in rows], [r[3] for r in rows], **kw)
                axes[1].plot([max(r[0], 1) for r in rows], [r[2] for r in rows], **kw)
        axes[0].set_ylabel("distance to x* of the best-so-far prediction")
        axes[1].set_ylabel("energy of the best-so-far prediction")
        for ax in axes:
            ax.set_xscale("log")
            ax.set_xlabel("energy evaluations")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        positive = [r[2] for ts in methods.values() for t in ts for r in best_so_far(t) if r[2] is not None and r[2] > 0]
        if positive and all(r[2] > 0 for ts in methods.values() for t in ts for r in best_so_far(t) if math.isfinite(r[2])):
            axes[1].set_yscale("log")
        fig.suptitle(f"{problem}: anytime performance (suite {suite}; one line per seed)")
        path = out_dir / f"{base}_anytime.{fmt}"
        fig.savefig(path, dpi=DPI)
        plt.close(fig)
        written.append(path)
    return written


# ---- fixed-target and fixed-budget figures (COCO-style; data from gmbench.report.analysis) -------------

DPI = 150
FIGURE_FORMATS = ("png", "svg", "pdf")
KINDS = ("anytime", "ecdf", "fixed-budget")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _method_colors(methods: list[str]) -> dict[str, str]:
    colors = _pyplot().rcParams["axes.prop_cycle"].by_key()["color"]
    return {m: colors[i % len(colors)] for i, m in enumerate(methods)}


def ecdf_figure(h: Any, kind: str, title: str, problems: list[str] | None = None) -> Any:
    """Runtime ECDF (fraction of (run, target) pairs hit) versus evaluations/D and versus seconds, one
    curve per method; a cross marks each method's largest budget (nothing is known beyond it)."""
    from gmbench.report.analysis import runtime_ecdf

    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    methods = list(dict.fromkeys(h.loc[h["kind"] == kind, "method"]))
    colors = _method_colors(methods)
    for ax, x, xlabel in ((axes[0], "evals", "energy evaluations / D"), (axes[1], "seconds", "method time [s]")):
        curves = runtime_ecdf(h, kind, x, problems)
        for m, c in curves.items():
            xs, ys = c["x"], c["y"]
            xmax = max(c["budget"], xs[-1] if xs.size else c["budget"])
            px = [xs[0] if xs.size else xmax, *xs, xmax] if xs.size else [xmax]
            py = [0.0, *ys, ys[-1]] if xs.size else [0.0]
            ax.plot(px, py, drawstyle="steps-post", color=colors[m], lw=1.6,
                    label=f"{m} ({c['hits']}/{c['pairs']})")
            ax.plot([xmax], [py[-1]], marker="x", ms=8, color=colors[m])
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("fraction of (run, target) pairs reached")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8, title="method (hits/pairs)", title_fontsize=8, loc="upper left")
    fig.suptitle(title, fontsize=10)
    return fig


def fixed_budget_figure(fb: Any, problem: str, kind: str, title: str) -> Any:
    """Median (line) and 25-75 % band over runs of the prediction's distance or gap versus evaluations
    and versus seconds, one colour per method."""
    import numpy as np

    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    d = fb[(fb["problem"] == problem) & (fb["kind"] == kind)]
    colors = _method_colors(list(dict.fromkeys(d["method"])))
    ylabel = {"dist": "distance to the nearest global minimizer",
              "gap": "energy gap f - f*" + (" (to the best stored energy)" if d["relative"].any() else "")}[kind]
    for ax, axis, xlabel in ((axes[0], "evals", "energy evaluations"), (axes[1], "seconds", "method time [s]")):
        da = d[d["axis"] == axis]
        for m, dm in da.groupby("method", sort=False):
            ok = dm["n"] > 0
            ax.plot(dm.loc[ok, "x"], dm.loc[ok, "median"], color=colors[m], lw=1.6, label=f"{m} (median)")
            ax.fill_between(dm.loc[ok, "x"], dm.loc[ok, "q25"], dm.loc[ok, "q75"], color=colors[m], alpha=0.2, lw=0)
        ax.set_xscale("log")
        vals = da[["q25", "median", "q75"]].to_numpy(float)
        vals = vals[np.isfinite(vals)]
        if vals.size and (vals > 0).all() and vals.max() / vals.min() > 10:
            ax.set_yscale("log")
        elif vals.size and (vals >= 0).all() and vals.max() > 0 and (vals > 0).any() and vals.max() / vals[vals > 0].min() > 10:
            ax.set_yscale("symlog", linthresh=float(vals[vals > 0].min()))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8, title="band: 25-75 % of runs", title_fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def plot_analysis(store: Store, suite: str, out_dir: Path, kind: str, fmt: str = "png",
                  problems: list[str] | None = None) -> list[Path]:
    """`gmbench plot --kind ecdf|fixed-budget`: runtime ECDFs (one figure per target ladder, over the
    chosen problems) or fixed-budget curves (one figure per problem and ladder)."""
    from gmbench.report import analysis
    from gmbench.report.targets import targets_for_suite

    if kind not in ("ecdf", "fixed-budget"):
        raise GmbenchError(f"unknown plot kind {kind!r} (use one of {', '.join(KINDS)})")
    if fmt not in FIGURE_FORMATS:
        raise GmbenchError(f"unknown figure format {fmt!r} (use one of {', '.join(FIGURE_FORMATS)})")
    data = analysis.load(store, suite, problems)
    spec = targets_for_suite(suite, store)
    out_dir.mkdir(parents=True, exist_ok=True)
    plt = _pyplot()
    written = []
    if kind == "ecdf":
        h = analysis.hits(data, spec)
        n_prob = data.runs["problem"].nunique()
        for ladder in ("dist", "gap"):
            sel = h[h["kind"] == ladder]
            if sel.empty:
                continue
            n_t = sel["target"].nunique()
            lo, hi = sel["target"].min(), sel["target"].max()
            what = (f"distance <= tau*sqrt(D), tau in [{hi:.3g} .. {lo:.3g}] ({n_t} targets)" if ladder == "dist"
                    else f"gap f - f* <= [{hi:.3g} .. {lo:.3g}] ({n_t} targets"
                    + (", relative to the best stored energy where f* is unknown)" if sel["relative"].any() else ")"))
            title = (f"Runtime ECDF, suite {suite}: {sel['problem'].nunique()} of {n_prob} problem(s), "
                     f"{sel['key'].nunique()} runs; {what}")
            fig = ecdf_figure(sel, ladder, title)
            path = out_dir / f"{_slug(suite)}_ecdf_{ladder}.{fmt}"
            fig.savefig(path, dpi=DPI)
            plt.close(fig)
            written.append(path)
        return written
    for ladder in ("dist", "gap"):
        fb = analysis.fixed_budget_both(data, ladder)
        if fb.empty:
            continue
        for problem in dict.fromkeys(fb["problem"]):
            per = data.runs[data.runs["problem"] == problem].groupby("method").size()
            n = f"{per.min()}" if per.min() == per.max() else f"{per.min()}-{per.max()}"
            title = (f"{problem}: fixed-budget ({'distance' if ladder == 'dist' else 'gap'} of the prediction), suite "
                     f"{suite}; median and quartiles over {n} runs per method")
            fig = fixed_budget_figure(fb, problem, ladder, title)
            path = out_dir / f"{_slug(f'{suite}_{problem}')}_fixed_budget_{ladder}.{fmt}"
            fig.savefig(path, dpi=DPI)
            plt.close(fig)
            written.append(path)
    return written
