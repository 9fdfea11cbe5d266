"""Reports read only the store: the seed paper's Table 1/2 layout per problem, over seeds."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from .errors import GmbenchError
from .store import Store

FORMATS = ("table", "markdown", "latex", "csv", "json")

# (column title, store column) — the first three are the seed paper's Table 1/2 columns.
METRICS = [
    ("Min Dist From Global Min", "min_dist"),
    ("Min Dist From Global Min For Min Energy", "final_dist"),
    ("Avg Error Per Dim", "avg_err_per_dim"),
    ("Dist To Nearest Global Min (Min Energy)", "final_dist_nearest"),
    ("Energy", "final_energy"),
    ("Evals", "n_energy"),
    ("Wall s", "wall_s"),
]


def aggregate(df: pd.DataFrame) -> list[dict[str, Any]]:
    """One record per (suite, problem, method label): median/min/max of each metric over done seeds."""
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
                "unavailable": next((u for u in mdf["unavailable"] if isinstance(u, str)), None),
                "errors": sorted({e for e in mdf["error"] if isinstance(e, str)}),
                "nearest_exact": bool(done["nearest_exact"].fillna(1).astype(int).all()) if len(done) else True,
                "overrun_max_s": float(done["overrun_s"].max()) if len(done) else None,
            }
            for _, col in METRICS:
                vals = pd.to_numeric(done[col], errors="coerce").dropna().to_numpy(dtype=float)
                rec[col] = _stats(vals)
            records.append(rec)
    return records


def _problem_key(row: pd.Series) -> str:
    cfg = row.get("slot_problem_config")
    bounds = ""
    if isinstance(cfg, str):
        c = json.loads(cfg)
        if "bounds" in c:
            bounds = f" on [{c['bounds'][0]:g}, {c['bounds'][1]:g}]^D"
    dim = row.get("slot_dim")
    dim_s = f" (D={int(dim)})" if dim is not None and not (isinstance(dim, float) and math.isnan(dim)) else ""
    return f"{row['slot_problem']}{dim_s}{bounds}"


def _stats(vals: np.ndarray) -> dict[str, float] | None:
    if vals.size == 0:
        return None
    return {"median": float(np.median(vals)), "min": float(vals.min()), "max": float(vals.max()), "n": int(vals.size)}


def _fmt_num(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e6 or a < 1e-3:
        return f"{v:.3e}"
    if a >= 100:
        return f"{v:.2f}"
    return f"{v:.4g}"


def _fmt_cell(st: dict[str, float] | None, integer: bool = False) -> str:
    if st is None:
        return "—"
    f = (lambda x: f"{int(round(x)):,}") if integer else _fmt_num
    if st["n"] == 1 or st["min"] == st["max"]:
        return f(st["median"])
    return f"{f(st['median'])} [{f(st['min'])}, {f(st['max'])}]"


def render(records: list[dict[str, Any]], fmt: str) -> str:
    if fmt not in FORMATS:
        raise GmbenchError(f"unknown report format {fmt!r} (use one of {', '.join(FORMATS)})")
    if fmt == "json":
        return json.dumps(records, indent=2)
    if fmt == "csv":
        flat = []
        for r in records:
            base = {k: v for k, v in r.items() if k not in {c for _, c in METRICS} and k != "errors"}
            base["errors"] = " | ".join(r["errors"])
            for _, col in METRICS:
                st = r[col] or {}
                for s in ("median", "min", "max"):
                    base[f"{col}_{s}"] = st.get(s)
            flat.append(base)
        return pd.DataFrame(flat).to_csv(index=False)
    tablefmt = {"table": "simple_outline", "markdown": "pipe", "latex": "latex_booktabs"}[fmt]
    out = []
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["suite"], r["problem"]), []).append(r)
    for (suite, problem), rs in groups.items():
        rows = []
        for r in rs:
            if r["unavailable"]:
                rows.append([r["method"], "unavailable: " + r["unavailable"]] + [""] * (len(METRICS) - 1) + ["0"])
                continue
            cells = []
            for _, col in METRICS:
                s = _fmt_cell(r[col], integer=col == "n_energy")
                if col == "final_dist_nearest" and not r["nearest_exact"] and r[col] is not None:
                    s = "≤ " + s
                cells.append(s)
            seeds = f"{r['seeds_done']}/{r['seeds_total']}"
            if r["failed"]:
                seeds += f" ({r['failed']} failed)"
            rows.append([r["method"], *cells, seeds])
        headers = ["Method", *[t for t, _ in METRICS], "Seeds"]
        title = f"{problem} — suite {suite}"
        body = tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True)
        out.append(("### " if fmt == "markdown" else "") + title + "\n\n" + body if fmt != "latex" else f"% {title}\n{body}")
        errs = sorted({e for r in rs for e in r["errors"]})
        if errs:
            out.append("failures:\n" + "\n".join(f"  - {e}" for e in errs))
    notes = (
        "Distances are Euclidean in R^D. 'Min Dist ... For Min Energy' and the error per dimension describe the final\n"
        "prediction (the lowest-energy candidate); Avg Error Per Dim = that distance / sqrt(D). With several seeds a cell\n"
        "reads 'median [min, max]'. '≤' marks an upper bound (minimizer set only partly known)."
    )
    if fmt != "latex":
        out.append(notes)
    return "\n\n".join(out)


def report(store: Store, suite: str | None, fmt: str) -> str:
    suites = [suite] if suite else store.suites()
    if suite and suite not in store.suites():
        raise GmbenchError(f"suite {suite!r} has no results in {store.path} (stored suites: {', '.join(store.suites()) or 'none'})")
    if not suites:
        raise GmbenchError(f"no results in {store.path} yet (run `gmbench run --suite quick`)")
    records = []
    for s in suites:
        records += aggregate(store.cells_frame(s))
    return render(records, fmt)
