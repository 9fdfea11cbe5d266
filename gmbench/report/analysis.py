"""Fixed-target and fixed-budget analysis from the stored anytime traces (nothing is re-run).

Every cell's trace holds, per reported candidate, the method time ``t``, the charged-evaluation counter
``n_cost`` (energy evaluations, each gradient charged at the budget's ``grad_cost``) and the harness's assessment (true energy, gap f − f*, distances, out-of-bounds).
From it this module derives, per run, the *prediction* at every report: the lowest-energy candidate
reported so far (inside the bounds preferred, the harness's rule for the final prediction), and its
gap and distance to the nearest global minimizer. On top of that, in COCO's terms (Hansen et al.,
"COCO: performance assessment", arXiv:1605.03560):

* a run *hits* a target (:mod:`gmbench.report.targets`) the first time its prediction reaches it
  (distance ≤ τ·√D, or gap ≤ Δ); the evaluations and seconds at that report are its runtime;
* **success rate** = runs that hit / runs;
* **aRT** (average running time, the expected running time ERT of Auger & Hansen, CEC 2005, and
  arXiv:1605.03560 §3.2) = all evaluations spent by all runs until their hit, or until their end for
  runs that never hit, divided by the number of runs that hit (∞ when none does); the same in seconds;
* **runtime ECDF** (arXiv:1605.03560 §4; "data profiles" of Moré & Wild 2009): the fraction of
  (run, target) pairs hit within a budget of evaluations/D (or seconds), one curve per method,
  aggregated over the chosen problems, their instances and seeds;
* **fixed-budget** curves: the median and quartiles over runs of the prediction's distance or gap at
  a grid of evaluation counts (or seconds).

Distances use ``dist_nearest`` (to the nearest global minimizer; ``dist`` to the designated x* where
the nearest is not known). A distance target can be hit and later left when a lower-energy candidate
lies farther away: the hit counts (the prediction was that good at that time), the fixed-budget curves
show the prediction as it is.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from gmbench.core.errors import GmbenchError
from gmbench.report.labels import problem_label
from gmbench.report.targets import DEFAULT, TargetSpec, dist_threshold
from gmbench.store.sqlite import charged, config_json


@dataclass
class RunData:
    """One row per finished run (``runs``) and its trace with the prediction at every report (``trace``:
    key, idx, t, n_energy, n_cost, pred_energy, pred_gap (absolute or relative), pred_dist)."""

    runs: pd.DataFrame
    trace: pd.DataFrame




def _best_known(store: Any) -> dict[str, float]:
    """Lowest final energy any stored run reached, per problem configuration (instance included)."""
    rows = store.db.execute(
        "SELECT problem_config, MIN(final_energy) FROM cells WHERE status='done' AND final_energy IS NOT NULL "
        "GROUP BY problem_config").fetchall()
    return {json.dumps(json.loads(c), sort_keys=True): float(e) for c, e in rows if c}


def load(store: Any, suite: str | None = None, problems: Iterable[str] | None = None) -> RunData:
    """Finished runs of ``suite`` (every suite when None) and their traces, from the store only.
    ``problems``: problem names or labels to keep (all when None)."""
    df = store.cells_frame(suite)
    df = df[df["status"] == "done"]
    if df.empty:
        raise GmbenchError(f"no finished cells{f' of suite {suite!r}' if suite else ''} in {store.path}")
    best = _best_known(store)
    from gmbench.report.facts import Facts

    facts = Facts(store)
    recs = []
    for r in df.itertuples(index=False):  # one iteration per run (not per trace row)
        cfg = json.loads(r.slot_problem_config or r.problem_config)
        lay = facts.layout(cfg)
        label = problem_label(cfg)
        f_star = cfg.get("f_star")
        ckey = config_json(json.loads(r.problem_config)) if r.problem_config else None
        recs.append({
            "key": r.key, "suite": r.slot_suite, "problem": label, "name": cfg.get("name"), "dim": int(cfg.get("dim") or r.dim),
            "instance": int(cfg.get("instance", 0) or 0), "method": r.slot_label, "method_name": r.method,
            "seed": int(r.seed), "layout": lay, "n_cost": float(r.n_cost), "wall_s": float(r.wall_s),
            "final_energy": _num(r.final_energy), "final_gap": _num(r.final_gap), "final_dist": _num(r.final_dist),
            "final_dist_nearest": _num(r.final_dist_nearest), "f_star": _num(f_star),
            "best_known": best.get(ckey, math.nan), "relative": False,
            "bound": max(1.0, max(abs(float(b)) for b in cfg["bounds"])) if cfg.get("bounds") else 1.0,
        })
    runs = pd.DataFrame(recs)
    if problems:
        wanted = set(problems)
        runs = runs[runs["problem"].isin(wanted) | runs["name"].isin(wanted)]
        if runs.empty:
            raise GmbenchError(f"no finished runs of problem(s) {', '.join(sorted(wanted))}")
    keys = list(runs["key"])
    tr = _read_traces(store, keys)
    tr = _predictions(tr, runs)
    # systems without a known minimum: gaps relative to the best stored energy on that instance
    no_ref = runs["layout"].eq("energy") | ~runs["key"].isin(tr.loc[tr["gap"].notna(), "key"].unique())
    runs.loc[no_ref, "relative"] = True
    rel = tr["key"].map(runs.set_index("key")["relative"]).fillna(False).astype(bool)
    base = tr["key"].map(runs.set_index("key")["best_known"])
    tr["pred_gap"] = np.where(rel, tr["pred_energy"] - base, tr["pred_gap"])
    runs["final_gap_rel"] = np.where(runs["relative"], runs["final_energy"] - runs["best_known"], runs["final_gap"])
    return RunData(runs.reset_index(drop=True), tr)


def _num(v: Any) -> float:
    try:
        return float(v) if v is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _read_traces(store: Any, keys: list[str]) -> pd.DataFrame:
    cols = ["key", "idx", "t", "n_energy", "n_cost", "energy", "gap", "dist", "dist_nearest", "oob", "pred"]
    parts = []
    for i in range(0, len(keys), 500):  # SQLite's parameter limit
        chunk = keys[i:i + 500]
        parts.append(pd.read_sql_query(  # (SELECT *: a store written before the ledger has no n_cost column)
            f"SELECT * FROM traces WHERE key IN ({','.join('?' * len(chunk))})", store.db, params=chunk))
    tr = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    tr = charged(tr)
    if "pred" not in tr:  # a store written before predictions were recorded
        tr["pred"] = np.nan
    tr = tr[cols]
    for c in ("t", "n_energy", "n_cost", "energy", "gap", "dist", "dist_nearest", "oob", "pred"):
        tr[c] = pd.to_numeric(tr[c], errors="coerce").astype(float)
    return tr.sort_values(["key", "idx"], kind="stable").reset_index(drop=True)


def _predictions(tr: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """The prediction at every trace row, as the Recorder recorded it (``pred``: the row index of the
    prediction so far within its cell); rows stored before it was recorded get it derived once
    (:func:`gmbench.report.legacy.predictions`)."""
    if tr.empty:
        for c in ("pred_energy", "pred_gap", "pred_dist"):
            tr[c] = pd.Series(dtype=float)
        return tr
    pred = tr["pred"].to_numpy(dtype=float)
    if np.isnan(pred).any():  # a store written before predictions were recorded
        from gmbench.report.legacy import predictions

        missing = tr["key"].isin(tr.loc[np.isnan(pred), "key"].unique()).to_numpy()
        pred = np.where(missing, predictions(tr, runs), pred)
    start = np.arange(len(tr)) - tr["idx"].to_numpy(dtype=int)  # first row of each cell (idx = 0, 1, ... per cell)
    ok = np.isfinite(pred) & (pred >= 0)
    pi = np.where(ok, start + np.where(ok, pred, 0), 0).astype(int)
    dist = tr["dist_nearest"].fillna(tr["dist"]).to_numpy()
    tr["pred_energy"] = np.where(ok, tr["energy"].to_numpy()[pi], np.nan)
    tr["pred_gap"] = np.where(ok, tr["gap"].to_numpy()[pi], np.nan)
    tr["pred_dist"] = np.where(ok, dist[pi], np.nan)
    return tr


# ---- targets ---------------------------------------------------------------------------------------

def ladders(run: pd.Series | dict[str, Any], spec: TargetSpec, has_dist: bool) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(kind, target values, thresholds on the trace metric) that apply to one run's problem."""
    out = []
    if run["layout"] == "functions" and has_dist:
        tau = np.array(sorted(set(spec.tau) | set(spec.headline_tau), reverse=True), dtype=float)
        out.append(("dist", tau, dist_threshold(tau, run["dim"])))
    gap = np.array(sorted(set(spec.gap) | set(spec.headline_gap), reverse=True), dtype=float)
    out.append(("gap", gap, gap))
    return out


def hits(data: RunData, spec: TargetSpec = DEFAULT) -> pd.DataFrame:
    """One row per (run, ladder, target): first hit of the prediction (evaluations, seconds) or none.

    Columns: key, suite, problem, method, instance, seed, dim, kind, relative, target, threshold, hit,
    evals, seconds (at the first hit; NaN without), evals_end, seconds_end (the run's totals)."""
    runs, tr = data.runs, data.trace
    groups = {k: v for k, v in tr.groupby("key", sort=False)} if not tr.empty else {}
    has_dist = set(tr.loc[tr["pred_dist"].notna(), "key"]) if not tr.empty else set()
    blocks = []
    for run in runs.to_dict("records"):  # one iteration per run; the targets are searched in one call
        t = groups.get(run["key"])
        for kind, values, thr in ladders(run, spec, run["key"] in has_dist):
            n = len(values)
            ev, sec = np.full(n, np.nan), np.full(n, np.nan)
            if t is not None and len(t):
                col = "pred_dist" if kind == "dist" else "pred_gap"
                best = np.minimum.accumulate(t[col].fillna(np.inf).to_numpy())  # non-increasing
                i = np.searchsorted(-best, -thr, side="left")  # first row with best <= threshold
                ok = i < len(best)
                ev[ok] = t["n_cost"].to_numpy()[i[ok]]
                sec[ok] = t["t"].to_numpy()[i[ok]]
            blocks.append(pd.DataFrame({
                "key": run["key"], "suite": run["suite"], "problem": run["problem"], "method": run["method"],
                "instance": run["instance"], "seed": run["seed"], "dim": run["dim"], "kind": kind,
                "relative": bool(run["relative"]) and kind == "gap", "target": values, "threshold": thr,
                "hit": ~np.isnan(ev), "evals": ev, "seconds": sec,
                "evals_end": run["n_cost"], "seconds_end": run["wall_s"]}))
    if not blocks:
        return pd.DataFrame(columns=["key", "suite", "problem", "method", "instance", "seed", "dim", "kind", "relative",
                                     "target", "threshold", "hit", "evals", "seconds", "evals_end", "seconds_end"])
    return pd.concat(blocks, ignore_index=True)


def ert_table(h: pd.DataFrame) -> pd.DataFrame:
    """Per (suite, problem, method, kind, target): runs, successes, success rate, median evaluations and
    seconds to the first hit over the successful runs, and aRT in evaluations and in seconds (COCO's
    average running time: evaluations of every run until its hit or its end, over the successes)."""
    if h.empty:
        return pd.DataFrame()
    h = h.assign(cost_e=np.where(h["hit"], h["evals"], h["evals_end"]),
                 cost_s=np.where(h["hit"], h["seconds"], h["seconds_end"]))
    g = h.groupby(["suite", "problem", "method", "kind", "relative", "target"], sort=False)
    out = g.agg(runs=("hit", "size"), successes=("hit", "sum"), sum_e=("cost_e", "sum"), sum_s=("cost_s", "sum"),
                median_evals_to_hit=("evals", "median"), median_seconds_to_hit=("seconds", "median"),
                dim=("dim", "first")).reset_index()
    s = out["successes"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["aRT_evals"] = np.where(s > 0, out["sum_e"] / s, np.inf)
        out["aRT_seconds"] = np.where(s > 0, out["sum_s"] / s, np.inf)
    out["success_rate"] = s / out["runs"].to_numpy(dtype=float)
    out["successes"] = out["successes"].astype(int)
    return out.drop(columns=["sum_e", "sum_s"])


# ---- runtime ECDF ---------------------------------------------------------------------------------

def runtime_ecdf(h: pd.DataFrame, kind: str = "gap", x: str = "evals", problems: Iterable[str] | None = None
                 ) -> dict[str, dict[str, Any]]:
    """{method: {x: sorted runtimes, y: fraction of (run, target) pairs hit by then, pairs, budget}}.

    ``x``: "evals" (evaluations / D, COCO's axis) or "seconds". Aggregated over the chosen problems
    (all when None), their instances and seeds and every target of the ladder ``kind``. ``budget`` is the
    largest run end on that axis (the curve is flat after it: nothing is known beyond)."""
    if x not in ("evals", "seconds"):
        raise GmbenchError(f"unknown ECDF axis {x!r} (evals or seconds)")
    sel = h[h["kind"] == kind]
    if problems is not None:
        sel = sel[sel["problem"].isin(set(problems))]
    out: dict[str, dict[str, Any]] = {}
    for m, d in sel.groupby("method", sort=False):
        cost = d[x].to_numpy(dtype=float)
        end = d["evals_end" if x == "evals" else "seconds_end"].to_numpy(dtype=float)
        if x == "evals":
            cost, end = cost / d["dim"].to_numpy(float), end / d["dim"].to_numpy(float)
        xs = np.sort(cost[~np.isnan(cost)])
        out[m] = {"x": xs, "y": np.arange(1, xs.size + 1) / max(len(d), 1), "pairs": int(len(d)),
                  "hits": int(xs.size), "budget": float(np.nanmax(end)) if len(end) else math.nan}
    return out


# ---- fixed budget ---------------------------------------------------------------------------------

def fixed_budget_both(data: RunData, kind: str = "dist") -> pd.DataFrame:
    """:func:`fixed_budget` against evaluations and against seconds in one frame (its ``axis`` column tells
    which); empty when no run has a value of this ``kind``. What the figures and the HTML page draw."""
    fb = fixed_budget(data, kind, "evals")
    if fb.empty:
        return fb
    return pd.concat([fb, fixed_budget(data, kind, "seconds")], ignore_index=True)


def fixed_budget(data: RunData, kind: str = "dist", x: str = "evals", n_grid: int = 60) -> pd.DataFrame:
    """Per (problem, method, grid point): median, 25 % and 75 % quantiles over runs of the prediction's
    distance (``kind="dist"``) or gap (``"gap"``, relative where the problem has no known minimum) at that
    many evaluations (``x="evals"``) or seconds. A run contributes from its first report on; after its end
    it keeps its final prediction (a run that stopped early holds that result at any larger budget, so
    the median is not biased towards the runs that last longest); ``n`` is the number of runs
    contributing. The grid ends at the longest run of the problem."""
    col = {"dist": "pred_dist", "gap": "pred_gap"}[kind]
    xcol = {"evals": "n_cost", "seconds": "t"}[x]
    tr = data.trace[data.trace[col].notna()]
    rows = []
    ends = data.runs.set_index("key")["n_cost" if x == "evals" else "wall_s"]  # grid range
    runs = data.runs[data.runs["layout"] == "functions"] if kind == "dist" else data.runs  # atoms: RMSD, not a distance target
    for problem, pr in runs.groupby("problem", sort=False):
        t = tr[tr["key"].isin(set(pr["key"]))]
        if t.empty:
            continue
        xv = t[xcol].to_numpy(float)
        lo = max(np.nanmin(xv[xv > 0]) if (xv > 0).any() else 1e-3, 1e-6)
        hi = float(np.nanmax(ends[pr["key"]].to_numpy(float)))
        grid = np.geomspace(lo, max(hi, lo * 1.0001), n_grid)
        per_run = dict(tuple(t.groupby("key", sort=False)))
        for method, mr in pr.groupby("method", sort=False):
            vals = np.full((len(mr), n_grid), np.nan)
            for j, k in enumerate(mr["key"]):  # one iteration per run; grid lookups in one searchsorted
                rt = per_run.get(k)
                if rt is None:
                    continue
                i = np.searchsorted(rt[xcol].to_numpy(float), grid, side="right") - 1
                vals[j] = np.where(i >= 0, rt[col].to_numpy(float)[np.maximum(i, 0)], np.nan)
            n = np.sum(~np.isnan(vals), axis=0)
            with warnings.catch_warnings():  # grid points before any run's first report: all-NaN columns
                warnings.simplefilter("ignore", RuntimeWarning)
                q = np.nanpercentile(vals, [25, 50, 75], axis=0)
            rows.append(pd.DataFrame({"problem": problem, "method": method, "x": grid, "q25": q[0], "median": q[1],
                                      "q75": q[2], "n": n, "kind": kind, "axis": x,
                                      "relative": bool(pr["relative"].any()) and kind == "gap"}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


# ---- the compact table -----------------------------------------------------------------------------

def _fmt_art(v: float, compact: bool = False) -> str:
    if not np.isfinite(v):
        return "∞"
    if compact:
        from gmbench.report.fmt import count

        return count(v)
    return f"{v:,.0f}" if v < 1e5 else f"{v:.2e}"


def _fmt_s(v: float) -> str:
    if not np.isfinite(v):
        return "∞"
    return f"{v:.2g}" if v < 100 else f"{v:,.0f}"


def headline_rows(ert: pd.DataFrame, spec: TargetSpec = DEFAULT,
                  compact: bool = False) -> list[tuple[tuple[str, str], list[str], list[list[str]]]]:
    """Per (suite, problem): headers and one row per method with, for each headline target,
    'successes/runs · aRT evaluations (aRT seconds)' (``compact``: 'successes/runs · aRT evaluations')."""
    from gmbench.report.targets import fmt_target

    out = []
    if ert.empty:
        return out
    for (suite, problem), pe in ert.groupby(["suite", "problem"], sort=False):
        cols: list[tuple[str, float, bool]] = []
        if (pe["kind"] == "dist").any():
            cols += [("dist", t, False) for t in spec.headline_tau]
        rel = bool(pe.loc[pe["kind"] == "gap", "relative"].any())
        cols += [("gap", t, rel) for t in spec.headline_gap]
        headers = ["Method", *[fmt_target(k, t, r) for k, t, r in cols]]
        body = []
        for method, me in pe.groupby("method", sort=False):
            row = [method]
            for kind, t, _ in cols:
                hit = me[(me["kind"] == kind) & np.isclose(me["target"], t, rtol=1e-9, atol=0)]
                if hit.empty:
                    row.append("—")
                    continue
                h = hit.iloc[0]
                seconds = "" if compact else f" ({_fmt_s(h['aRT_seconds'])} s)"
                row.append(f"{h['successes']}/{h['runs']}" if h["successes"] == 0 else
                           f"{h['successes']}/{h['runs']} · {_fmt_art(h['aRT_evals'], compact)}{seconds}")
            body.append(row)
        out.append(((suite, problem), headers, body))
    return out


TARGETS_NOTE = (
    "Targets: a run hits a target when its prediction (lowest-energy candidate so far) first reaches it: distance to\n"
    "the nearest global minimizer <= tau*sqrt(D) (tau = error per dimension), or energy gap f - f* <= the value (COCO's\n"
    "ladder; 'rel. gap': to the best energy any stored run reached on that instance, no known minimum). A cell reads\n"
    "'successes/runs · aRT (aRT in seconds)', the seconds with --wide in the terminal: aRT = evaluations of all runs\n"
    "until their hit or their end / successes (COCO's average running time; ∞ without a success). Full ladders:\n"
    "--format csv/json with --targets.")


def render_headline(ert: pd.DataFrame, spec: TargetSpec, fmt: str, wide: bool = False) -> str:
    from tabulate import tabulate

    tablefmt = {"table": "simple_outline", "markdown": "pipe", "latex": "latex_booktabs", "html": "html"}[fmt]
    compact = fmt == "table" and not wide
    parts = []
    for (suite, problem), headers, body in headline_rows(ert, spec, compact):
        what = "aRT evaluations" if compact else "aRT evaluations (seconds)"
        title = f"Targets: {problem} — suite {suite} (successes/runs · {what})"
        table = tabulate(body, headers=headers, tablefmt=tablefmt, disable_numparse=True)
        if fmt == "latex":
            parts.append(f"% {title}\n{table}")
        elif fmt == "markdown":
            parts.append(f"### {title}\n\n{table}")
        elif fmt == "html":
            import html

            parts.append(f"<h3>{html.escape(title)}</h3>\n{table}")
        else:
            parts.append(f"{title}\n\n{table}")
    if parts and fmt in ("table", "markdown"):
        parts.append(TARGETS_NOTE)
    return "\n\n".join(parts)


# ---- `gmbench report` -------------------------------------------------------------------------------

TEXT_FORMATS = ("table", "markdown", "latex")


def analyse_suites(store: Any, suites: list[str]) -> list[tuple[str, TargetSpec, RunData, pd.DataFrame]]:
    """(suite, its target ladders, runs, aRT table) for every suite with finished runs."""
    from gmbench.report.targets import targets_for_suite

    out = []
    for s in suites:
        try:
            data = load(store, s)
        except GmbenchError:
            continue  # nothing finished in this suite
        spec = targets_for_suite(s, store)
        out.append((s, spec, data, ert_table(hits(data, spec))))
    return out


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (np.floating,)):
        return _json_safe(float(v))
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    return v


def report_text(store: Any, suite: str | None, fmt: str, targets: bool | None = None, stats: bool | None = None,
                wide: bool = False) -> str:
    """The results tables of :func:`gmbench.report.tables.report` followed by the targets (success rate
    and aRT at the headline targets) and the significance tables. Both default to on for the text
    formats and off for csv/json, whose default output stays the results records; asked for
    explicitly, json becomes {"results", "targets", "significance"} and csv gets one block per table
    (each after a line '# name')."""
    from gmbench.report import significance
    from gmbench.report.tables import report as make_report

    base = make_report(store, suite, fmt, wide)
    text_fmt = fmt in TEXT_FORMATS
    want_t = targets if targets is not None else text_fmt
    want_s = stats if stats is not None else text_fmt
    if not (want_t or want_s):
        return base
    analysed = analyse_suites(store, [suite] if suite else store.suites())
    ert = pd.concat([a[3] for a in analysed], ignore_index=True) if analysed else pd.DataFrame()
    sig = [r for a in analysed for r in significance.compare(a[2].runs)] if want_s else []
    if fmt == "json":
        doc: dict[str, Any] = {"results": json.loads(base)}
        if want_t:
            doc["targets"] = _json_safe(ert.to_dict("records"))
            doc["target_ladders"] = {a[0]: a[1].as_dict() for a in analysed}
        if want_s:
            doc["significance"] = _json_safe(sig)
        return json.dumps(doc, indent=2)
    if fmt == "csv":
        parts = [base.rstrip("\n")]
        if want_t:
            parts.append("# targets\n" + ert.to_csv(index=False).rstrip("\n"))
        if want_s:
            parts.append("# significance\n" + pd.DataFrame(significance.rows(sig)).to_csv(index=False).rstrip("\n"))
        return "\n\n".join(parts)
    parts = [base]
    if want_t:
        for s, spec, _, e in analysed:
            txt = render_headline(e, spec, fmt, wide)
            if txt:
                parts.append(txt)
    if want_s and sig:
        parts.append(significance.render(sig, fmt))
    return "\n\n".join(parts)
