"""``gmbench report --format html --out DIR``: one self-contained static page per suite.

Everything is inside the page (figures as base64 PNG, the style sheet inline, no script and no
external URL), so it opens offline and can be mailed or archived as one file. Per suite: the results
tables in the seed paper's layout (the same rows as ``gmbench report``), the target ladders and the
success rate / aRT table, the significance tests, the runtime ECDFs and fixed-budget figures, the
per-seed figures of ``gmbench plot`` (including the action-functional's learned-minimum and
trajectory-loss figures, the seed paper's Figures 2-4, where that method ran), the environment (run
manifests) and contention notes. ``DIR/index.html`` links the suites' pages.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from gmbench.core.errors import GmbenchError

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1500px;
color:#1b1b1b;line-height:1.4;padding:0 16px}
h1{font-size:1.6em;margin-bottom:0}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:2em}
h3{font-size:1.05em;margin:1.4em 0 .4em}
table{border-collapse:collapse;margin:.4em 0 1em;font-size:.85em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f3f3}tr:nth-child(even) td{background:#fafafa}
.note{color:#444;font-size:.88em;white-space:pre-wrap;font-family:inherit;margin:.3em 0 1em}
figure{margin:.6em 0 1.4em}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#444}
.meta{color:#555;font-size:.9em}nav a{margin-right:1em}details{margin:.4em 0}code{background:#f3f3f3;padding:0 3px}
"""


def _e(text: Any) -> str:
    return html.escape(str(text))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "suite"


def markdown_tables_to_html(text: str) -> str:
    """The pipe tables, '### ' titles and note paragraphs of ``gmbench report --format markdown`` as HTML."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    para: list[str] = []

    def flush() -> None:
        if para:
            out.append(f'<p class="note">{_e(chr(10).join(para))}</p>')
            para.clear()

    while i < len(lines):
        ln = lines[i]
        if ln.startswith("### "):
            flush()
            out.append(f"<h3>{_e(ln[4:])}</h3>")
        elif ln.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            head, body = rows[0], [r for r in rows[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            out.append("<table><thead><tr>" + "".join(f"<th>{_e(c)}</th>" for c in head) + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in body)
                       + "</tbody></table>")
            continue
        elif ln.strip():
            para.append(ln)
        else:
            flush()
        i += 1
    flush()
    return "\n".join(out)


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _img(b64: str, caption: str) -> str:
    return (f'<figure><img alt="{_e(caption)}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _figures(store: Any, suite: str, data: Any, spec: Any, h: pd.DataFrame) -> list[str]:
    from gmbench.report import analysis
    from gmbench.report.figures import ecdf_figure, fixed_budget_figure, plot_suite

    parts = ["<h2>Runtime ECDFs</h2>",
             '<p class="note">Fraction of (run, target) pairs whose first hit came within a budget of evaluations/D '
             "(left) or seconds (right), over every problem, instance and seed of the suite; one curve per method, a "
             "cross at its largest budget.</p>"]
    for ladder, what in (("dist", "distance to the nearest global minimizer <= tau*sqrt(D)"),
                         ("gap", "energy gap f - f* (relative to the best stored energy where f* is unknown)")):
        sel = h[h["kind"] == ladder]
        if sel.empty:
            continue
        title = f"Runtime ECDF, suite {suite}: {what}, {sel['target'].nunique()} targets, {sel['key'].nunique()} runs"
        parts.append(_img(_png(ecdf_figure(sel, ladder, title)), title))
    parts.append("<h2>Fixed-budget curves</h2>")
    for ladder in ("dist", "gap"):
        fb = analysis.fixed_budget_both(data, ladder)
        if fb.empty:
            continue
        for problem in dict.fromkeys(fb["problem"]):
            title = (f"{problem}: median and quartiles over runs of the prediction's "
                     f"{'distance' if ladder == 'dist' else 'energy gap'}")
            parts.append(_img(_png(fixed_budget_figure(fb, problem, ladder, title)), title))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            paths = plot_suite(store, suite, Path(tmp))
        except GmbenchError:
            paths = []
        if paths:
            parts.append("<h2>Per-seed figures</h2>"
                         '<p class="note">The figures of <code>gmbench plot</code>: the learned minimum per iteration '
                         "and the trajectory loss where a method declares them (the seed paper's Figures 2-4 for the "
                         "action-functional method), and every method's best-so-far prediction versus evaluations.</p>")
        for p in paths:
            parts.append(_img(base64.b64encode(p.read_bytes()).decode(), p.stem.replace("_", " ")))
    return parts


def _environment(store: Any, suite: str, runs_df: pd.DataFrame) -> list[str]:
    parts = ["<h2>Environment</h2>"]
    runs = [r for r in store.runs() if r.get("suite") == suite]
    rows = []
    for r in runs:
        m = json.loads(r["manifest"]) if r.get("manifest") else {}
        flat = {k: v for k, v in m.items() if not isinstance(v, (dict, list))}
        for k, v in m.items():
            if isinstance(v, dict):
                flat.update({f"{k}.{kk}": vv for kk, vv in v.items() if not isinstance(vv, (dict, list))})
        rows.append((r, flat, m))
    if not rows:
        parts.append('<p class="note">No run manifest stored for this suite.</p>')
    threads = sorted({int(t) for t in pd.to_numeric(runs_df.get("threads", pd.Series(dtype=float)),
                                                     errors="coerce").dropna()})
    for r, flat, m in rows:
        if threads:  # what the cells ran with (--threads); the process's own torch setting is not that
            flat = {**{k: v for k, v in flat.items() if "torch_threads" not in k},
                    "threads per cell": ", ".join(map(str, threads))}
        when = _dt.datetime.fromtimestamp(r["started"], _dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if r.get("started") else "?"
        dur = f"{r['ended'] - r['started']:.0f} s" if r.get("ended") and r.get("started") else "—"
        parts.append(f"<h3>run {_e(r['run_id'])}: {_e(when)}, {_e(dur)}, {_e(r.get('status'))}</h3>")
        parts.append("<table><tbody>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in flat.items())
                     + "</tbody></table>")
        parts.append(f"<details><summary>manifest (JSON)</summary><pre>{_e(json.dumps(m, indent=1))}</pre></details>")
    parts.append("<h2>Contention</h2>")
    parts.append(_contention(runs_df))
    return parts


def _contention(cells: pd.DataFrame) -> str:
    """Contended cells (:func:`gmbench.report.contention.contended`, the rule the tables use) and the CPU
    share per method."""
    if "cpu_util" not in cells.columns or cells["cpu_util"].isna().all():
        return ('<p class="note">CPU utilisation was not recorded for these cells (stored before gmbench recorded it); '
                "time-budgeted results cannot be checked for contention.</p>")
    from gmbench.report.contention import CONTENDED_BELOW, CONTENDED_MIN_WALL_S, contended

    rows = []
    for (problem, label), g in cells.groupby(["slot_problem", "slot_label"], sort=False):
        flags = [contended(r) for r in g.to_dict("records")]
        known = [f for f in flags if f is not None]
        util = pd.to_numeric(g["cpu_util"], errors="coerce")
        load = pd.to_numeric(g.get("load_end", pd.Series(dtype=float)), errors="coerce")
        rows.append([problem, label, f"{sum(known)}/{len(known)}" if known else "—",
                     f"{util.median():.2f}" if util.notna().any() else "—",
                     f"{load.max():.2f}" if load.notna().any() else "—"])
    head = ["problem", "method", "contended cells", "median CPU share", "max load average at the end"]
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return ("<table><thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>" + body
            + "</tbody></table><p class=\"note\">A time-budgeted cell of at least "
            f"{CONTENDED_MIN_WALL_S:g} s is contended when its method got less than "
            f"{CONTENDED_BELOW * 100:.0f} % of its threads' CPU time: other processes took the cores, so its result "
            "understates the method. "
            "Evaluation-budgeted cells are never contended (contention makes them slower, not different); their "
            "CPU share is shown all the same.</p>")


def suite_page(store: Any, suite: str, targets: bool = True, stats: bool = True) -> str:
    from gmbench import __version__
    from gmbench.report import analysis, significance
    from gmbench.report.tables import report as tables_report
    from gmbench.report.targets import fmt_target, targets_for_suite

    body = [f"<h1>gmbench — suite {_e(suite)}</h1>",
            f'<p class="meta">store <code>{_e(store.path.name)}</code>, gmbench {_e(__version__)}, generated '
            f"{_e(_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))}. Everything below is read from "
            "the stored cells and traces; nothing was re-run.</p>",
            '<nav><a href="index.html">all suites</a><a href="#results">results</a><a href="#targets">targets</a>'
            '<a href="#significance">significance</a><a href="#figures">figures</a><a href="#environment">environment</a></nav>',
            '<h2 id="results">Results (the seed paper\'s Table 1/2 layout)</h2>',
            markdown_tables_to_html(tables_report(store, suite, "markdown"))]
    try:
        data = analysis.load(store, suite)
    except GmbenchError:
        data = None
    if data is not None:
        spec = targets_for_suite(suite, store)
        h = analysis.hits(data, spec)
        ert = analysis.ert_table(h)
        if targets:
            body.append('<h2 id="targets">Targets, success rates and aRT</h2>')
            body.append('<p class="note">' + _e(analysis.TARGETS_NOTE) + "</p>")
            ladder = (f"tau (error per dimension): {', '.join(f'{t:g}' for t in spec.tau)}\n"
                      f"gap: {len(spec.gap)} values from {max(spec.gap):g} to {min(spec.gap):g}\n"
                      f"headline: {', '.join(fmt_target('dist', t) for t in spec.headline_tau)}; "
                      f"{', '.join(fmt_target('gap', t) for t in spec.headline_gap)}")
            body.append(f'<p class="note">{_e(ladder)}</p>')
            body.append(analysis.render_headline(ert, spec, "html"))
        if stats:
            body.append('<h2 id="significance">Significance</h2>')
            body.append('<p class="note">' + _e(
                "Pairwise two-sided Wilcoxon signed-rank tests on the final result, runs paired by (instance, seed), "
                "Holm-corrected per problem; win rate = share of paired runs where the row method ends lower (ties "
                "1/2); mean rank over the pairs every method ran. Fewer than 5 pairs: no test.") + "</p>")
            body.append(significance.render(significance.compare(data.runs), "html"))
        body.append('<div id="figures"></div>')
        body += _figures(store, suite, data, spec, h)
    cells = store.cells_frame(suite)
    body.append('<div id="environment"></div>')
    body += _environment(store, suite, cells[cells["status"].notna()])
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>gmbench — {_e(suite)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def page_names(suites: list[str]) -> list[str]:
    """One file name per suite page: the suite's slug, never ``index.html`` (the index's) and never one
    name for two suites (``a b`` and ``a/b`` both slug to ``a_b``: the second gets ``a_b-2``)."""
    used, names = {"index"}, []
    for s in suites:
        base = _slug(s)
        name, k = base, 1
        while name.lower() in used:
            k += 1
            name = f"{base}-{k}"
        used.add(name.lower())
        names.append(f"{name}.html")
    return names


def write_report(store: Any, suite: str | None, out_dir: Path, targets: bool = True, stats: bool = True,
                 force: bool = False) -> list[Path]:
    """Write DIR/<suite>.html for the suite (every stored suite when None) and DIR/index.html; DIR must
    be new or empty unless ``force``."""
    from gmbench.store.export import check_out

    suites = store.suites()
    if suite:
        suite = store.suite_name(suite)
        if suite not in suites:
            raise GmbenchError(f"suite {suite!r} has no results in {store.path} (stored suites: {', '.join(suites) or 'none'})")
        suites = [suite]
    if not suites:
        raise GmbenchError(f"no results in {store.path} yet (run `gmbench run --suite quick`)")
    check_out(out_dir, force)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for s, page in zip(suites, page_names(suites)):
            p = out_dir / page
            p.write_text(suite_page(store, s, targets, stats), encoding="utf-8")
            written.append(p)
        links = "".join(f'<li><a href="{_e(p.name)}">{_e(s)}</a></li>' for s, p in zip(suites, written))
        index = out_dir / "index.html"
        index.write_text("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>gmbench reports</title>"
                         f"<style>{CSS}</style></head><body><h1>gmbench reports</h1><ul>{links}</ul></body></html>\n",
                         encoding="utf-8")
    except OSError as exc:
        raise GmbenchError(f"cannot write the HTML report to {out_dir}: {exc.strerror or exc}") from exc
    return [index, *written]
