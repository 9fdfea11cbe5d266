"""The Python entry point of ``gmbench run``: choose a suite's cells and run them into a store.

``gmbench run`` is this plus a progress display::

    from gmbench import run_suite
    counts = run_suite("quick", store="results/gmbench.sqlite", seeds=[0], methods=["cma-es"])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from gmbench.core.budget import Budget
import dataclasses

from gmbench.core.errors import GmbenchError, unknown_name


def select_cells(suite: Any, device: str | None = None, budget: Budget | None = None,
                 seeds: Sequence[int] | None = None, threads: int | None = None,
                 problems: Sequence[str] | None = None, methods: Sequence[str] | None = None,
                 shard: tuple[int, int] | None = None, sealed: bool = False) -> tuple[Any, list[Any], str, int]:
    """(suite, cells, resolved device, cells before sharding) of a suite (a name, a path or a parsed
    :class:`~gmbench.config.suite.Suite`), with the overrides and filters of ``gmbench run``:
    ``problems`` (names), ``methods`` (labels), ``shard`` (i, n) and ``sealed`` (each method in its own
    confined process, :mod:`gmbench.sandbox`; also the suite's ``sealed: true``)."""
    from gmbench.config.suite import Suite, load_suite
    from gmbench.run.cell import expand
    from gmbench.core.env import resolve_device
    from gmbench.problems import PROBLEMS

    s = suite if isinstance(suite, Suite) else load_suite(str(suite))
    dev = resolve_device(device or s.device)
    chosen = s  # the filters apply to the suite's entries, before any problem or method is built
    if problems:
        wanted = {PROBLEMS.canonical(p) for p in problems}
        chosen = dataclasses.replace(chosen, problems=[p for p in chosen.problems if PROBLEMS.canonical(p.name) in wanted])
    if methods:
        labels = [m.label for m in s.methods]
        for m in methods:
            if m not in labels:
                raise unknown_name(f"method label in suite {s.name!r}:", m, sorted(labels))
        chosen = dataclasses.replace(chosen, methods=[m for m in chosen.methods if m.label in set(methods)])
    n_seeds = len(seeds) if seeds else len(s.seeds)
    total = len(chosen.problems) * len(chosen.methods) * n_seeds
    if not total:
        raise GmbenchError("the filters leave no cell to run")
    pick = None
    if shard is not None:  # shard i of n: every n-th cell of the expansion order (select_shard), built alone
        i, n = shard
        if i > total:
            raise GmbenchError(f"shard {i}/{n} of {total} cells is empty (use at most {total} shards)")
        from gmbench.run.executors import in_shard

        pick = lambda k: in_shard(k, i, n)  # noqa: E731
    cells = expand(chosen, dev, budget, list(seeds) if seeds else None, threads=threads, pick=pick)
    from gmbench.methods import METHODS

    from_files = {m.name for m in s.methods if not METHODS.is_planned(m.name)
                  and getattr(METHODS.get(m.name), "method_file", None)}
    if sealed or s.sealed or from_files:  # a method file's method runs only sealed
        import sys

        if not sys.platform.startswith("linux"):
            raise GmbenchError("sealed runs need Linux (shared-memory file descriptors, Landlock): run without "
                               "--sealed here, or on a Linux machine")
        if not dev.startswith("cpu"):
            raise GmbenchError("sealed runs are CPU-only for now (batches cross through shared host memory; CUDA "
                               "IPC is not implemented): use --device cpu or run without --sealed")
        for cell in cells:
            cell.sealed = True
    return s, cells, dev, total


def budget_warnings(cells: list[Any]) -> list[str]:
    """One line per method whose evaluation budget is smaller than the batch it evaluates at once (its
    cells can spend the budget before a single full batch; some methods then report nothing)."""
    from gmbench.methods import METHODS, make_method

    seen: dict[tuple[str, int], int] = {}
    for c in cells:
        if c.budget.evals is None or not c.available or METHODS.is_planned(c.method.name):
            continue
        key = (c.method.label, c.budget.evals)
        if key not in seen:
            seen[key] = make_method(c.method.name, c.method.params,
                                    system=c.problem_config.get("system")).batch_points()
    return [f"method {label!r}: a budget of {evals:,} evaluations is less than one batch of {batch:,} points "
            "(lower its batch size, or raise the budget)" for (label, evals), batch in seen.items() if batch > evals]


def sealed_warning(cells: list[Any]) -> str | None:
    """What a sealed run should say about its instances: cells on moved instances without a suite secret
    (COCO's bbob instances included) have an x* that follows from a public instance number, so a method
    that carries its own copy of the instance recipe can enumerate them by probing, sealed or not."""
    public = sum(1 for c in cells if c.sealed and c.problem_config.get("instance")
                 and not c.problem_config.get("secret_sha256"))
    if not public:
        return None
    return (f"sealed: {public} cell(s) are on instances without a suite secret; their x* follows from the public "
            "instance number, which a method can find by probing: add `secret:` to the suite for a leaderboard")


def run_suite(suite: Any, store: str | Path = "results/gmbench.sqlite", *, executor: str = "local",
              retry_failed: bool = False, rerun_stale: bool = False, on_event: Any = None,
              **select: Any) -> dict[str, int]:
    """Run every cell of ``suite`` not already in ``store`` (see :func:`select_cells` for the overrides
    and filters); returns the counts (done, failed, skipped, stale, busy, unavailable)."""
    import contextlib

    from gmbench.run.executors import run_suite_cells
    from gmbench.store.sqlite import Store

    s, cells, dev, _ = select_cells(suite, **select)
    with contextlib.closing(Store(Path(store))) as st:
        opts = ({"resources": s.resources, "plugins": s.plugins, "method_files": s.method_files}
                if executor == "ray" else {})
        return run_suite_cells(cells, st, s.name, dev, executor, retry_failed=retry_failed, on_event=on_event,
                               rerun_stale=rerun_stale, suite=s, **opts)
