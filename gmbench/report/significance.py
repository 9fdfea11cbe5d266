"""Is one method better than another on a problem? Paired tests on the final result of each run.

Runs of two methods are *paired* when they share the problem instance and the seed (the same
transformed function and, for atoms, the same starting structures). Per problem, on the final
prediction's distance to the nearest global minimizer (functions), its energy gap (clusters with a
reference) or its energy (systems without a known minimum), lower being better:

* pairwise two-sided Wilcoxon signed-rank tests (Wilcoxon 1945; ``scipy.stats.wilcoxon``) over the
  paired runs, with Holm's step-down correction over the pairs of the problem (Holm 1979); a test is
  made only with at least :data:`MIN_PAIRS` pairs, otherwise the pair reads "not enough runs (n < 5)"
  and carries no p-value. (The exact two-sided p of n pairs that all agree is 2/2^n: 0.0625 for n = 5, so
  six pairs are the fewest that can reach p < 0.05, before the Holm correction; with m pairs of methods
  the smallest Holm-adjusted p is m·2/2^n.)
* a win-rate matrix: the fraction of paired runs where the row method ends lower than the column
  method (ties count one half);
* mean ranks over the (instance, seed) pairs that every method ran (rank 1 = lowest; ties averaged),
  the statistic of Demšar (JMLR 7, 2006) for comparing several methods.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

MIN_PAIRS = 5
ALPHA = 0.05
NOT_ENOUGH = f"not enough runs (n < {MIN_PAIRS})"


def final_metric(runs: pd.DataFrame) -> tuple[str, str]:
    """(column, description) of the value compared on a problem's runs: distance, else gap, else energy."""
    if runs["final_dist_nearest"].notna().all() and runs["layout"].eq("functions").all():
        return "final_dist_nearest", "final distance to the nearest global minimizer"
    if runs["final_dist"].notna().all() and runs["layout"].eq("functions").all():
        return "final_dist", "final distance to x*"
    if runs["final_gap"].notna().all() and not runs["relative"].any():
        return "final_gap", "final energy gap E - E_ref"
    return "final_energy", "final energy"


def holm(p: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as ``p``)."""
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj.tolist()


def compare(runs: pd.DataFrame) -> list[dict[str, Any]]:
    """One record per (suite, problem): metric, methods, pairs, tests, win rates, mean ranks, note."""
    from scipy.stats import rankdata, wilcoxon

    out = []
    for (suite, problem), pr in runs.groupby(["suite", "problem"], sort=False):
        col, what = final_metric(pr)
        methods = list(dict.fromkeys(pr["method"]))
        wide = pr.pivot_table(index=["instance", "seed"], columns="method", values=col, aggfunc="first")
        wide = wide.reindex(columns=methods)
        rec: dict[str, Any] = {"suite": suite, "problem": problem, "metric": col, "metric_text": what,
                               "methods": methods, "tests": [], "win_rate": {}, "mean_ranks": {}, "n_complete": 0}
        if len(methods) < 2:
            rec["note"] = "one method only: nothing to compare"
            out.append(rec)
            continue
        tests = []
        for a, b in itertools.combinations(methods, 2):
            both = wide[[a, b]].dropna()
            n = len(both)
            d = both[a].to_numpy(float) - both[b].to_numpy(float)
            t: dict[str, Any] = {"a": a, "b": b, "n": n, "median_a": _med(both[a]), "median_b": _med(both[b]),
                                 "statistic": None, "p": None, "p_holm": None, "verdict": NOT_ENOUGH}
            if n >= MIN_PAIRS:
                if np.all(d == 0):
                    t.update(statistic=0.0, p=1.0, verdict="identical results")
                else:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        res = wilcoxon(both[a].to_numpy(float), both[b].to_numpy(float), alternative="two-sided")
                    t.update(statistic=float(res.statistic), p=float(res.pvalue))
            tests.append(t)
        tested = [t for t in tests if t["p"] is not None]
        for t, adj in zip(tested, holm([t["p"] for t in tested])):
            t["p_holm"] = adj
            if t["verdict"] == NOT_ENOUGH:
                if adj < ALPHA:
                    better = t["a"] if t["median_a"] < t["median_b"] else t["b"]
                    t["verdict"] = f"{better} lower (p_Holm < {ALPHA:g})"
                else:
                    t["verdict"] = "no significant difference"
        rec["tests"] = tests
        # win rates: row beats column
        wr: dict[str, dict[str, float | None]] = {}
        for a in methods:
            wr[a] = {}
            for b in methods:
                if a == b:
                    wr[a][b] = None
                    continue
                both = wide[[a, b]].dropna()
                if both.empty:
                    wr[a][b] = None
                    continue
                x, y = both[a].to_numpy(float), both[b].to_numpy(float)
                wr[a][b] = float(np.mean((x < y) + 0.5 * (x == y)))
        rec["win_rate"] = wr
        complete = wide.dropna()
        rec["n_complete"] = int(len(complete))
        if len(complete):
            ranks = np.vstack([rankdata(row) for row in complete.to_numpy(float)])
            rec["mean_ranks"] = {m: float(r) for m, r in zip(methods, ranks.mean(axis=0))}
        n_max = max((t["n"] for t in tests), default=0)
        rec["note"] = (f"{NOT_ENOUGH}: at most {n_max} paired runs (instance x seed) per pair" if not tested else "")
        out.append(rec)
    return out


def _med(s: pd.Series) -> float:
    return float(np.median(s.to_numpy(float))) if len(s) else math.nan


def _p(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:.2e}" if v < 1e-3 else f"{v:.3f}"


def rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flat rows (one per tested pair) for csv/json."""
    flat = []
    for r in records:
        for t in r["tests"]:
            flat.append({"suite": r["suite"], "problem": r["problem"], "metric": r["metric"], **t,
                         "win_rate_a_over_b": (r["win_rate"].get(t["a"]) or {}).get(t["b"]),
                         "mean_rank_a": r["mean_ranks"].get(t["a"]), "mean_rank_b": r["mean_ranks"].get(t["b"])})
    return flat


def render(records: list[dict[str, Any]], fmt: str) -> str:
    """Text tables (table/markdown/latex/html fragments use the same rows)."""
    from tabulate import tabulate

    tablefmt = {"table": "simple_outline", "markdown": "pipe", "latex": "latex_booktabs", "html": "html"}[fmt]
    out = []
    untested: list[tuple[dict[str, Any], int]] = []
    for r in records:
        title = f"Significance: {r['problem']} — suite {r['suite']} ({r['metric_text']}, lower is better)"
        if not any(t["p"] is not None for t in r["tests"]):  # nothing could be tested: one line per problem
            untested.append((r, max((t["n"] for t in r["tests"]), default=0)))
            continue
        body = tabulate(
            [[f"{t['a']} vs {t['b']}", t["n"], _g(t["median_a"]), _g(t["median_b"]),
              "—" if t["statistic"] is None else f"{t['statistic']:g}", _p(t["p"]), _p(t["p_holm"]), t["verdict"]]
             for t in r["tests"]],
            headers=["Pair (A vs B)", "n pairs", "median A", "median B", "W", "p", "p (Holm)", "verdict"],
            tablefmt=tablefmt, disable_numparse=True)
        ms = r["methods"]
        ranks = tabulate(
            [[a, _g(r["mean_ranks"].get(a)), *[("—" if r["win_rate"][a][b] is None else f"{r['win_rate'][a][b]:.2f}")
                                             for b in ms]] for a in ms],
            headers=["Method", f"mean rank (n={r['n_complete']})", *[f"beats {b}" for b in ms]],
            tablefmt=tablefmt, disable_numparse=True)
        note = ("\n" + r["note"]) if r.get("note") else ""
        out.append(_title(title, fmt) + body + "\n\n" + ranks + note)
    if untested:  # one line for every problem where no pair had enough runs
        import textwrap

        n_max = max(n for _, n in untested)
        text = (f"Significance (Wilcoxon signed-rank, Holm): {NOT_ENOUGH} on {len(untested)} problem(s), at most "
                f"{n_max} paired runs (instance x seed) per pair: "
                + "; ".join(f"{r['problem']} ({r['suite']})" for r, _ in untested) + ".")
        out.append(("% " + text) if fmt == "latex" else textwrap.fill(text, 116) if fmt == "table" else text)
    return "\n\n".join(out)


def _g(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{v:.4g}"


def _title(title: str, fmt: str) -> str:
    if fmt == "latex":
        return f"% {title}\n"
    if fmt == "markdown":
        return f"### {title}\n\n"
    if fmt == "html":
        import html

        return f"<h3>{html.escape(title)}</h3>\n"
    return title + "\n\n"
