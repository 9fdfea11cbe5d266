"""The filter's orchestration: steps 1 -> 2 -> 3 with stored rows reused, and the latest run reloaded."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from gmbench.core.errors import GmbenchError
from gmbench.report.fmt import opt as _f
from gmbench.studies.filter.config import PAPER_8, PAPER_14, FilterConfig
from gmbench.studies.filter.experiments import collection, step1, step2_one, step3_one
from gmbench.studies.filter.storage import FilterStore


@dataclass
class FilterResult:
    """Everything the tables need (what an invocation stores, plus the rows it points at)."""

    config: dict[str, Any]
    step1: list[dict[str, Any]] = field(default_factory=list)
    step2: dict[str, dict[str, Any]] = field(default_factory=dict)
    step3: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {"run": 0, "stored": 0})


def step2_input(cfg: FilterConfig, s1: list[dict[str, Any]]) -> list[str]:
    return list(PAPER_14) if cfg.step2_from == "paper" else [r["function"] for r in s1 if r["declared"]]


def step3_input(s2_kept: list[str]) -> list[str]:
    return list(s2_kept) + [n for n in PAPER_8 if n not in s2_kept]


def run_filter(cfg: FilterConfig, store: Any, console: Any = None, quiet: bool = False) -> FilterResult:
    """Run (or reuse from ``store``) the steps up to ``cfg.until``; returns what :func:`render` prints."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    fs = FilterStore(store)
    run_id = uuid.uuid4().hex[:12]
    meta: dict[str, Any] = {"run_id": run_id, "settings": _settings(cfg),
                            "hash": {str(s): cfg.step_hash(s) for s in (1, 2, 3)}}
    fs.begin(run_id, meta)
    res = FilterResult(meta)
    seed2 = cfg.seeds[0]

    # step 1 (cheap: recomputed, stored so that `report --filter` needs only the store)
    h1 = cfg.step_hash(1)
    res.step1 = step1(cfg.dim)
    for r in res.step1:  # replaced only if the declared properties changed since it was stored
        if fs.get(1, r["function"], 0, h1) != r:
            fs.put(1, r["function"], 0, h1, cfg.step_config(1), r, r["declared"], replace_=True)
    meta["step2_input"] = step2_input(cfg, res.step1)

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console, disable=quiet or console is None, transient=False)

    def log(msg: str) -> None:
        if console is not None and not quiet:
            progress.console.print(msg, highlight=False, markup=False)

    with progress:
        if cfg.until >= 2:
            h2 = cfg.step_hash(2)
            names = meta["step2_input"]
            task = progress.add_task("step 2 (Adam)", total=len(names))
            for name in names:
                progress.update(task, description=f"step 2 Adam: {name}")
                got = fs.get(2, name, seed2, h2)
                if got is None:
                    got = step2_one(name, cfg, seed2)
                    fs.put(2, name, seed2, h2, cfg.step_config(2), got, got.get("kept"))
                    res.counts["run"] += 1
                    log(f"step 2 {name}: dist to nearest minimizer {_f(got.get('dist_nearest'))} "
                        f"({got['wall_s']:.1f}s)")
                else:
                    res.counts["stored"] += 1
                    log(f"step 2 {name}: stored")
                res.step2[name] = got
                progress.advance(task)
            s2_kept = [n for n in names if res.step2[n].get("kept")]
            meta["step2_kept"] = s2_kept
        if cfg.until >= 3:
            h3 = cfg.step_hash(3)
            names = step3_input(meta["step2_kept"])
            meta["step3_input"] = names
            task = progress.add_task("step 3 (learnable)", total=len(names) * len(cfg.seeds))
            for name in names:
                res.step3[name] = {}
                for seed in cfg.seeds:
                    progress.update(task, description=f"step 3 learn: {name} seed {seed}")
                    got = fs.get(3, name, seed, h3)
                    if got is None:
                        got = step3_one(name, cfg, seed)
                        fs.put(3, name, seed, h3, cfg.step_config(3), got, got.get("learnable"))
                        res.counts["run"] += 1
                        log(f"step 3 {name} seed {seed}: loss/baseline {_f(got.get('ratio'))} ({got['wall_s']:.1f}s)")
                    else:
                        res.counts["stored"] += 1
                        log(f"step 3 {name} seed {seed}: stored")
                    res.step3[name][seed] = got
                    progress.advance(task)
    meta["counts"] = dict(res.counts)
    fs.end(run_id, meta)
    return res


def _settings(cfg: FilterConfig) -> dict[str, Any]:
    d = asdict(cfg)
    d["seeds"] = list(cfg.seeds)
    return d


def load_latest(store: Any) -> FilterResult:
    """The latest finished invocation, rebuilt from the store's rows alone."""
    fs = FilterStore(store)
    meta = fs.latest()
    if meta is None:
        raise GmbenchError(f"no filter run in {store.path} (run `gmbench filter --store {store.path}` first)")
    cfg = FilterConfig(**{**meta["settings"], "seeds": tuple(meta["settings"]["seeds"])})
    h = meta["hash"]
    res = FilterResult(meta, counts=meta.get("counts", {}))
    for name, _ in collection():
        r = fs.get(1, name, 0, h["1"])
        if r is None:
            raise GmbenchError(f"filter run {meta['run_id']} is incomplete in {store.path} (step 1 row {name} missing)")
        res.step1.append(r)
    if cfg.until >= 2:
        for name in meta.get("step2_input", []):
            r = fs.get(2, name, cfg.seeds[0], h["2"])
            res.step2[name] = r if r is not None else {"error": "missing from the store"}
    if cfg.until >= 3:
        for name in meta.get("step3_input", []):
            res.step3[name] = {}
            for seed in cfg.seeds:
                r = fs.get(3, name, seed, h["3"])
                res.step3[name][seed] = r if r is not None else {"error": "missing from the store"}
    return res
