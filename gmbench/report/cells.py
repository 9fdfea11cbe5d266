"""Finding and listing stored cells by what a user knows of them (``gmbench report --cells``, ``gmbench show``)."""

from __future__ import annotations

from typing import Any

from gmbench.core.errors import GmbenchError
from gmbench.store.sqlite import Store


def list_cells(st: Store, suite: str | None, fmt: str) -> str:
    """One line per stored cell (key, suite, problem, method label, seed, status) as a table, CSV or JSON."""
    rows = st.cell_index(suite=suite)
    if not rows:
        raise GmbenchError(f"no stored cells{f' of suite {suite!r}' if suite else ''} in {st.path}")
    if fmt == "json":
        from gmbench.core.jsonout import dumps

        return dumps(rows, indent=2)
    if fmt not in ("table", "csv"):
        raise GmbenchError(f"report --cells prints table, csv or json, not {fmt!r}")
    from tabulate import tabulate

    table = [[r["key"], r["suite"], f"{r['problem']}-{r['dim']}", r["label"], r["seed"], r["status"]] for r in rows]
    headers = ["key", "suite", "problem", "method", "seed", "status"]
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        csv.writer(buf).writerows([headers, *table])
        return buf.getvalue().rstrip("\n")
    return tabulate(table, headers=headers, tablefmt="simple", disable_numparse=True)


def select_cell(st: Store, cell: str | None, selectors: dict[str, Any]) -> dict[str, Any]:
    """The one stored cell named by its key (or a unique prefix) and/or by ``selectors`` (suite, problem
    as name or name-dim, method label or name, seed), which must agree with the key and select one cell."""
    if cell is None and all(v is None for v in selectors.values()):
        raise GmbenchError("name a cell: its key (see `gmbench report --cells`) or --suite/--problem/--method/--seed")
    if cell is not None:
        row = st.find_cell(cell)
        if any(v is not None and row.get("label" if k == "method" else k) != v and
               not (k == "method" and row.get("method") == v) and
               not (k == "problem" and f"{row.get('problem')}-{row.get('dim')}" == v)
               for k, v in selectors.items()):
            raise GmbenchError(f"cell {row['key']} does not match the given --suite/--problem/--method/--seed")
        return row
    hits = st.cell_index(**selectors)
    given = ", ".join(f"--{k} {v}" for k, v in selectors.items() if v is not None)
    if not hits:
        raise GmbenchError(f"no stored cell matches {given} in {st.path} (list them: gmbench report --cells)")
    if len(hits) > 1:
        listed = "; ".join(f"{h['key']} ({h['problem']}-{h['dim']} | {h['label']} | seed {h['seed']})"
                           for h in hits[:5])
        more = f"; and {len(hits) - 5} more" if len(hits) > 5 else ""
        raise GmbenchError(f"{len(hits)} cells match {given}: {listed}{more} (narrow it down, or give a key)")
    return st.find_cell(hits[0]["key"])
