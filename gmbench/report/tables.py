"""Reports read only the store: one table per problem (or per suite) over seeds, in the layout its
problem family declares (``Problem.report_layout``): the seed paper's Tables 1-2 for functions,
cluster scores, StriderNET's Table 1 for systems without a known global minimum. Layouts are
registered here by name (:func:`register_layout`)."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
from tabulate import tabulate

from gmbench.core.errors import GmbenchError
from gmbench.core.registry import Registry
from gmbench.report.labels import problem_title
from gmbench.report.contention import MARK as CONTENTION_MARK, NOTE as CONTENTION_NOTE, contended
from gmbench.report.fmt import count, num3, stats_cell
from gmbench.report.reference import NOTE as REFERENCE_NOTE, SECRET_NOTE, secret_instances, with_reference_rows
from gmbench.store.sqlite import Store

FORMATS = ("table", "markdown", "latex", "csv", "json")

# (column title, store column) — the first three are the seed paper's Table 1/2 columns.
METRICS = [
    ("Min Dist From Global Min", "min_dist"),
    ("Min Dist From Global Min For Min Energy", "final_dist"),
    ("Avg Error Per Dim", "avg_err_per_dim"),
    ("Dist To Nearest Global Min (Min Energy)", "final_dist_nearest"),
    ("Energy", "final_energy"),
    ("Evals", "n_cost"),  # charged evaluations (the cost ledger: a gradient costs the budget's grad_cost)
    ("Grad evals", "n_grad"),
    ("Wall s", "wall_s"),
]


INTEGER_METRICS = ("n_cost", "n_grad")

# the terminal's default (``gmbench report``, format table): the final prediction's distances (median [min, max]
# over seeds), the median energy and cost ledger, to 3 significant figures, so that a table fits 120 columns;
# --wide prints METRICS
COMPACT = [
    ("Dist to x*", "final_dist"),
    ("Dist to nearest", "final_dist_nearest"),
    ("Energy", "final_energy"),
    ("Evals", "n_cost"),
    ("Grads", "n_grad"),
]
COMPACT_NOTE = ("Energy, Evals and Grads are medians over seeds. Dist to x*: the final prediction's distance to the designated global minimizer (the seed paper's "
                "'Min Dist From Global Min For Min Energy'); Dist to nearest: to the nearest global minimizer in the "
                "box; Evals: charged evaluations (a gradient costs the budget's grad_cost); Grads: gradient "
                "evaluations. `--wide` adds the paper's Min Dist and Avg Error Per Dim and the wall time.")

# metrics read from each cell's summary (atomistic layouts)
EXTRA_STATS = ("final_gap", "starts_min_energy", "starts_mean_energy", "n_starts", "hit_t", "hit_evals",
               "train_wall_s", "train_evals")


def aggregate(df: pd.DataFrame, facts: Any = None) -> list[dict[str, Any]]:
    """One record per (suite, problem, method label): median/min/max of each metric over done seeds, with
    the problem's layout and reference values (``facts``: :class:`gmbench.report.facts.Facts`)."""
    records = []
    if df.empty:
        return records
    df = df.copy()
    df["problem_key"] = df.apply(_problem_key, axis=1)
    for (suite, pkey), pdf in df.groupby(["slot_suite", "problem_key"], sort=False):
        for label, mdf in pdf.groupby("slot_label", sort=False):
            done = mdf[mdf["status"] == "done"]
            rec: dict[str, Any] = {
                "suite": suite,
                "problem": pkey,
                "method": label,
                "seeds_done": int(len(done)),
                "seeds_total": int(len(mdf)),
                "failed": int((mdf["status"] == "failed").sum()),
                "overrun": int((mdf["status"] == "overrun").sum()),  # stopped for outliving the budget: no result
                "unavailable": next((u for u in mdf["unavailable"] if isinstance(u, str)), None),
                "errors": sorted({e for e in mdf["error"] if isinstance(e, str)}),
                "nearest_exact": bool(done["nearest_exact"].fillna(1).astype(int).all()) if len(done) else True,
                "overrun_max_s": float(done["overrun_s"].max()) if len(done) else None,
                "contended": _contended(done),
            }
            for _, col in METRICS:
                vals = pd.to_numeric(done[col], errors="coerce").dropna().to_numpy(dtype=float)
                rec[col] = _stats(vals)
            cfg = next((c for c in mdf["slot_problem_config"] if isinstance(c, str)), None)
            rec["config"] = json.loads(cfg) if cfg else {}
            if facts is not None:
                pf = facts.problem(rec["config"])
                rec["layout"] = pf.get("layout") or "functions"
            rec["instance"] = int(rec["config"].get("instance", 0) or 0)  # csv/json columns
            rec["rotate"] = bool(rec["config"].get("rotate", False))
            summaries = [json.loads(x) for x in done["summary"] if isinstance(x, str)]
            for col in EXTRA_STATS:
                vals = np.array([float(d[col]) for d in summaries if d.get(col) is not None], dtype=float)
                rec[col] = _stats(vals[np.isfinite(vals)])
            flags = [bool(d["success"]) for d in summaries if "success" in d]
            rec["successes"] = [sum(flags), len(flags)] if flags else None
            records.append(rec)
    return records


def _contended(done: pd.DataFrame) -> int | None:
    """How many of the done seeds ran contended (:func:`gmbench.report.contention.contended`: a
    time-budgeted cell whose method got less than 80 % of its threads' CPU time); None when no seed
    recorded its CPU time (older stores)."""
    flags = [contended(row) for row in done.to_dict("records")]
    flags = [f for f in flags if f is not None]
    return sum(flags) if flags else None


CONTENDED_MARK = CONTENTION_MARK
CONTENDED_NOTE = CONTENTION_NOTE


def _mark(r: dict[str, Any]) -> str:
    return f" {CONTENDED_MARK}" if r.get("contended") else ""


def _contended_note(rs: list[dict[str, Any]], fmt: str) -> list[str]:
    return [_note(CONTENDED_NOTE, fmt)] if any(r.get("contended") for r in rs) else []


def _note(text: str, fmt: str) -> str:
    """A note below a table: wrapped to the terminal's 120 columns in the table format."""
    return textwrap.fill(text, 116) if fmt == "table" else text


def _problem_key(row: pd.Series) -> str:
    cfg = row.get("slot_problem_config")
    return problem_title(json.loads(cfg)) if isinstance(cfg, str) else str(row.get("slot_problem"))


def _stats(vals: np.ndarray) -> dict[str, float] | None:
    if vals.size == 0:
        return None
    return {"median": float(np.median(vals)), "min": float(vals.min()), "max": float(vals.max()), "n": int(vals.size)}


def render(records: list[dict[str, Any]], fmt: str, wide: bool = False) -> str:
    if fmt not in FORMATS:
        raise GmbenchError(f"unknown report format {fmt!r} (use one of {', '.join(FORMATS)})")
    if fmt == "json":
        from gmbench.core.jsonout import dumps

        return dumps(records, indent=2, default=str)  # NaN -> null: valid JSON
    if fmt == "csv":
        flat = []
        for r in records:
            stat_cols = [c for _, c in METRICS] + list(EXTRA_STATS)
            base = {k: v for k, v in r.items() if k not in stat_cols and k not in ("errors", "config", "successes")}
            base["errors"] = " | ".join(r["errors"])
            base["successes"] = "" if not r.get("successes") else f"{r['successes'][0]}/{r['successes'][1]}"
            for col in stat_cols:
                st = r[col] or {}
                for s in ("median", "min", "max"):
                    base[f"{col}_{s}"] = st.get(s)
            flat.append(base)
        frame = pd.DataFrame(flat)
        if "instance" in frame:  # (reference rows carry none: keep the column integer)
            frame["instance"] = frame["instance"].astype("Int64")
        return frame.to_csv(index=False)
    tablefmt = {"table": "simple_outline", "markdown": "pipe", "latex": "latex_booktabs"}[fmt]
    if fmt == "markdown":  # a | in a name would shift the columns
        from gmbench.core.text import markdown_cell

        records = [{**r, **{k: markdown_cell(r[k]) for k in ("suite", "problem", "method") if isinstance(r.get(k), str)}}
                   for r in records]
    out = []
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["suite"], r["problem"]), []).append(r)
    gathered: dict[tuple[str, str], list[tuple[str, list[dict[str, Any]]]]] = {}
    for (suite, problem), rs in groups.items():
        lay = LAYOUTS.get(rs[0].get("layout") or "functions")
        if lay.per_suite:  # e.g. StriderNET Table 1: gathered per suite, printed after the loop
            gathered.setdefault((lay.name, suite), []).append((problem, rs))
            continue
        out += lay.render(suite, problem, rs, fmt, tablefmt, wide=wide)
    for (name, suite), systems in gathered.items():
        out += LAYOUTS.get(name).render(suite, systems, fmt, tablefmt, wide=wide)
    notes = (
        "Distances are Euclidean in R^D. 'Min Dist ... For Min Energy' and the error per dimension describe the final\n"
        "prediction (the lowest-energy candidate); Avg Error Per Dim = that distance / sqrt(D). With several seeds a cell\n"
        "reads 'median [min, max]'. '≤' marks an upper bound: the distance to a global minimizer inside the box that\n"
        "is not certified the nearest one (a minimizer set only partly known, or a rotated instance's in-box search\n"
        "that could not certify it); unmarked distances to the nearest global minimizer are exact.\n"
        "Atomistic problems: clusters with a reference are scored by the energy gap E - E_ref, the RMSD to the reference\n"
        "(after translation, rotation, reflection and permutation) and success (gap < 1e-4 eps); systems without a known\n"
        "global minimum (periodic KA, SW, C-S-H) by energy only, Min and Mean over the starting structures (StriderNET\n"
        "Table 1); a distance is not available there."
    )
    if fmt != "latex":
        out.append(notes)
    if fmt == "table" and not wide and any(r.get("layout") == "functions" for r in records):
        out.append(_note(COMPACT_NOTE, fmt))
    return "\n\n".join(out)


@dataclass(frozen=True)
class Layout:
    """A report table: ``render(suite, problem, records, fmt, tablefmt)`` -> text blocks, one problem at a
    time; or, with ``per_suite``, ``render(suite, [(problem, records), ...], fmt, tablefmt)`` once per
    suite for all its problems in this layout (one table with a row group per problem)."""

    name: str
    render: Callable[..., list[str]]
    per_suite: bool = False


LAYOUTS: Registry[Layout] = Registry("report layout")


def register_layout(name: str, per_suite: bool = False) -> Callable[[Callable[..., list[str]]], Callable[..., list[str]]]:
    def wrap(fn: Callable[..., list[str]]) -> Callable[..., list[str]]:
        LAYOUTS.register(name, Layout(name, fn, per_suite))
        return fn

    return wrap




@register_layout("functions")
def _render_functions(suite: str, problem: str, rs: list[dict[str, Any]], fmt: str, tablefmt: str,
                      wide: bool = False) -> list[str]:
    """The seed paper's Tables 1-2 columns (distances to the global minimum, error per dimension) and more;
    where f* is not 0 (bbob's f_opt) the gap f - f* beside the energy. In the terminal (format table)
    without ``wide``: the COMPACT columns."""
    f_star = next((r["config"].get("f_star") for r in rs if (r.get("config") or {}).get("f_star")), None)
    compact = fmt == "table" and not wide
    metrics = COMPACT if compact else METRICS
    if f_star is not None:
        at = 3 if compact else 5
        metrics = [*metrics[:at], ("Gap f - f_opt" if not compact else "Gap", "final_gap"), *metrics[at:]]
    rows = []
    for r in rs:
        if r["unavailable"]:
            rows.append([r["method"], "unavailable: " + r["unavailable"]] + [""] * (len(metrics) - 1) + ["0"])
            continue
        cells = []
        for _, col in metrics:
            if compact:  # spread over seeds for the distances only; medians elsewhere
                s = stats_cell(r[col], fmt=count if col in INTEGER_METRICS else num3,
                               spread=col in ("final_dist", "final_dist_nearest"))
            else:
                s = stats_cell(r[col], integer=col in INTEGER_METRICS)
            if col == "final_dist_nearest" and not r["nearest_exact"] and r[col] is not None:
                s = "≤ " + s
            cells.append(s)
        if r.get("reference"):  # computed by the harness (gmbench.report.reference), not by a method
            rows.append([r["method"], *cells, "—"])
            continue
        rows.append([r["method"] + _mark(r), *cells, _seeds_cell(r)])
    headers = ["Method", *[t for t, _ in metrics], "Seeds"]
    body = tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True)
    title = problem + ("" if f_star is None else f", f_opt = {f_star:g}")
    out = [_titled(f"{title} — suite {suite}", body, fmt), *_contended_note(rs, fmt)]
    errs = sorted({e for r in rs for e in r["errors"]})
    if errs:
        out.append("failures:\n" + "\n".join(f"  - {e}" for e in errs))
    return out


def _seeds_cell(r: dict[str, Any]) -> str:
    seeds = f"{r['seeds_done']}/{r['seeds_total']}"
    bad = [f"{r[k]} {k}" for k in ("failed", "overrun") if r.get(k)]
    return seeds + (f" ({', '.join(bad)})" if bad else "")


def _titled(title: str, body: str, fmt: str) -> str:
    if fmt == "latex":
        return f"% {title}\n{body}"
    return ("### " if fmt == "markdown" else "") + title + "\n\n" + body


@register_layout("cluster")
def _render_cluster(suite: str, problem: str, rs: list[dict[str, Any]], fmt: str, tablefmt: str,
                    wide: bool = False) -> list[str]:
    """Clusters with a reference energy: energy, gap, RMSD, success and time to hit."""
    rows = []
    for r in rs:
        if r["unavailable"]:
            rows.append([r["method"], "unavailable: " + r["unavailable"], "", "", "", "", "", "", "", "0"])
            continue
        succ = r["successes"]
        rows.append([
            r["method"] + _mark(r), stats_cell(r["final_energy"]), stats_cell(r["final_gap"]), stats_cell(r["final_dist"]),
            f"{succ[0]}/{succ[1]}" if succ else "—", stats_cell(r["hit_t"]), stats_cell(r["hit_evals"], integer=True),
            stats_cell(r["n_cost"], integer=True), stats_cell(r["n_grad"], integer=True), stats_cell(r["wall_s"]),
            _seeds_cell(r),
        ])
    f_star = rs[0]["config"].get("f_star")
    headers = ["Method", "Energy", "Gap E - E_ref", "RMSD to reference", "Success", "Time to hit s", "Evals to hit",
               "Evals", "Grad evals", "Wall s", "Seeds"]
    body = tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True)
    return [_titled(f"{problem}, E_ref = {f_star} — suite {suite}", body, fmt), *_contended_note(rs, fmt)]


def _cost(r: dict[str, Any] | None, t_col: str, n_col: str) -> str:
    if r is None or r[t_col] is None:
        return "—"
    n = f" / {int(round(r[n_col]['median'])):,}" if r[n_col] is not None else ""
    return f"{r[t_col]['median']:.1f}{n}"


@register_layout("energy", per_suite=True)
def _render_table1(suite: str, systems: list[tuple[str, list[dict[str, Any]]]], fmt: str, tablefmt: str,
                   wide: bool = False) -> list[str]:
    """Rows: system x (Min, Mean); columns: methods (StriderNET's Table 1)."""
    methods: list[str] = []
    for _, rs in systems:
        for r in rs:
            if r["method"] not in methods:
                methods.append(r["method"])
    rows = []
    for problem, rs in systems:
        by = {r["method"]: r for r in rs}
        units = rs[0]["config"].get("units", "reduced LJ")
        for label, col in (("Min", "starts_min_energy"), ("Mean", "starts_mean_energy")):
            cells = []
            for m in methods:
                r = by.get(m)
                if r is None:
                    cells.append("")
                elif r["unavailable"]:
                    cells.append("unavailable")
                else:
                    st = r[col] if r[col] is not None else (r["final_energy"] if col == "starts_min_energy" else None)
                    cells.append(stats_cell(st, fmt=lambda v: f"{v:.2f}"))  # energies in full, as the paper
            rows.append([f"{problem} ({units})" if label == "Min" else "", label, *cells])
        n = {r["method"]: r["n_starts"] for r in rs}
        rows.append(["", "structures x seeds", *[
            "" if n.get(m) is None else f"{int(n[m]['median'])} x {by[m]['seeds_done']}/{by[m]['seeds_total']}"
            for m in methods]])
        # cost: training declared by the method (e.g. a StriderNET policy) apart from the cell's own run
        if any(by[m]["train_wall_s"] is not None for m in methods if m in by):
            rows.append(["", "training s / evals", *[_cost(by.get(m), "train_wall_s", "train_evals") for m in methods]])
        rows.append(["", "run s / evals", *[_cost(by.get(m), "wall_s", "n_cost") for m in methods]])
    marked = {r["method"] for _, rs in systems for r in rs if r.get("contended")}
    body = tabulate(rows, headers=["System", "Metric", *[m + (f" {CONTENDED_MARK}" if m in marked else "") for m in methods]],
                    tablefmt=tablefmt, disable_numparse=True)
    title = (f"Energy after optimisation (StriderNET Table 1 layout; Min / Mean over starting structures; "
             f"distance not available: no known global minimum) — suite {suite}")
    return [_titled(title, body, fmt)] + ([_note(CONTENDED_NOTE, fmt)] if marked else [])


def report(store: Store, suite: str | None, fmt: str, wide: bool = False) -> str:
    suites = [suite] if suite else store.suites()
    if suite and suite not in store.suites():
        raise GmbenchError(f"suite {suite!r} has no results in {store.path} (stored suites: {', '.join(store.suites()) or 'none'})")
    if not suites:
        raise GmbenchError(f"no results in {store.path} yet (run `gmbench run --suite quick`)")
    from gmbench.report.facts import Facts

    facts = Facts(store)
    records = []
    for s in suites:
        frame = store.cells_frame(s)
        recs = aggregate(frame, facts)
        _mark_stale(recs, frame, fmt)
        recs = with_reference_rows(recs, lambda cfg: facts.problem(cfg).get("reference"))
        records += recs
    text = render(records, fmt, wide)
    n_stale = sum(r.get("stale", 0) for r in records)
    for note, shown in ((REFERENCE_NOTE, any(r.get("reference") for r in records)),
                        (SECRET_NOTE, secret_instances(records)), (STALE_NOTE.format(n=n_stale), n_stale)):
        if shown and fmt in ("table", "markdown", "latex"):
            text += "\n\n" + (f"% {note}" if fmt == "latex" else _note(note, fmt))
    return text


STALE_MARK = "◊"
STALE_NOTE = (STALE_MARK + " {n} cells were computed by other code than the installed one (their method's, their "
              "problem's or the harness's source changed since); `gmbench run --rerun-stale` recomputes them.")


def _mark_stale(records: list[dict[str, Any]], frame: pd.DataFrame, fmt: str) -> None:
    """Count, per record, the done cells computed by other code than the installed one
    (:func:`gmbench.store.identity.is_stale`: the files of the cell's code identity hashed again); in the
    printed formats the method gets STALE_MARK."""
    from gmbench.store.identity import is_stale

    for r in records:
        r["stale"] = 0
    if frame.empty or "code" not in frame.columns:
        return
    files = frame["code_files"] if "code_files" in frame.columns else pd.Series([None] * len(frame), index=frame.index)
    stale = [st == "done" and is_stale(c if isinstance(c, str) else None, f if isinstance(f, str) else None)
             for st, c, f in zip(frame["status"], frame["code"], files)]
    df = frame[stale]
    if df.empty:
        return
    df = df.assign(problem_key=df.apply(_problem_key, axis=1))
    counts = df.groupby(["slot_suite", "problem_key", "slot_label"]).size().to_dict()
    for r in records:
        n = counts.get((r["suite"], r["problem"], r["method"]), 0)
        r["stale"] = n
        if n and fmt in ("table", "markdown", "latex"):
            r["method"] = f"{r['method']} {STALE_MARK}"
