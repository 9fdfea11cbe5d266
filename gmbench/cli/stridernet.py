"""``gmbench stridernet ...``: train, adapt, transfer and time StriderNET outside the suite runner.

Training and adaptation are separate commands joined by a saved model (``--model PATH``), so their
costs are measured and reported separately (the model file carries its training cost).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import List, Optional

import typer
import yaml

from gmbench.cli.guard import guard as _guard
from gmbench.core.errors import GmbenchError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="StriderNET: train a policy, adapt it to target structures, transfer it to other sizes.")

# the train/test frame splits of the authors' code (M3RG-IITD/StriderNET, drawn with PRNGKey(147))
LJ_TRAIN_FRAMES = [0, 3, 4, 5, 7, 8, 10, 11, 12, 16, 17, 19, 20, 21, 22, 23, 25, 26, 27, 29, 31, 32, 33, 34, 36, 37,
                   38, 39, 41, 43, 44, 48, 50, 52, 53, 55, 57, 60, 61, 63, 64, 65, 66, 68, 70, 71, 73, 74, 75, 76, 78,
                   79, 81, 83, 84, 90, 92, 95, 97, 98]
LJ_TEST_FRAMES = [67, 91, 35, 85, 13, 46, 89, 88, 99, 56, 77, 6, 18, 87, 69, 93, 51, 14, 40, 58]


def _params(items: list[str] | None) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise GmbenchError(f"bad --param {item!r}: use key=value (e.g. frames=0:60 or n=250)")
        k, v = item.split("=", 1)
        out[k.strip()] = yaml.safe_load(v) if v.strip() else None
    return out


def _problem(name: str, params: list[str] | None):
    import gmbench.problems.atoms  # noqa: F401  (register the atomistic problems)
    from gmbench.problems import make_problem

    return make_problem(name, **_params(params))


def _frames_param(params: list[str] | None, default: list[int]) -> list[str]:
    params = list(params or [])
    if not any(p.split("=", 1)[0].strip() == "frames" for p in params) and not any(
            p.split("=", 1)[0].strip() == "starts" for p in params):
        params += ["starts=stridernet", f"frames={default}"]
    return params


def _threads(n: int | None) -> None:
    if n is not None:
        import torch

        torch.set_num_threads(n)


PROBLEM_OPT = typer.Option("ka-lj", "--problem", help="Atomistic problem (ka-lj, sw-silicon, csh).")
PARAM_OPT = typer.Option(None, "--param", "-p", help="Problem parameter key=value (repeatable), e.g. -p frames=0:60.")
THREADS_OPT = typer.Option(None, "--threads", help="torch intra-op threads.")


@app.command()
@_guard
def train(
    out: Path = typer.Option(..., "--out", "-o", help="Where to save the trained model (.pt)."),
    problem: str = PROBLEM_OPT,
    param: Optional[List[str]] = PARAM_OPT,
    epochs: int = typer.Option(800, help="Updates (the code's 800)."),
    estimator: str = typer.Option("pathwise", help="pathwise (the authors' code) or reinforce (the paper's Eq. 10)."),
    val_every: int = typer.Option(20, help="Validation (<E_20 - E_0>) every k epochs."),
    time_limit: Optional[float] = typer.Option(None, help="Stop training after this many seconds."),
    seed: int = typer.Option(0),
    device: str = typer.Option("cpu"),
    threads: Optional[int] = THREADS_OPT,
    log: Optional[Path] = typer.Option(None, help="Write the training history as JSON lines."),
) -> None:
    """Train a policy on a problem's starting structures (default: ka-lj, the reference's 60 training-split
    frames), split 75:25 into training and validation; save the best-validation model."""
    from gmbench.studies import stridernet as sn

    _threads(threads)
    sn.check_estimator(estimator)
    if epochs < 1:
        raise GmbenchError("--epochs must be >= 1")
    params = _frames_param(param, LJ_TRAIN_FRAMES) if problem in ("ka-lj", "kob-andersen", "stridernet-lj") else param
    prob = _problem(problem, params)
    bb = sn.open_blackbox(prob, seed, device)
    sn.system_of(bb)
    starts_cfg = prob.config().get("starts", {})
    n_frames = int(starts_cfg.get("n_frames") or starts_cfg.get("pool") or 100)  # each structure once
    structures = bb.starts(n_frames)
    cfg = sn.TrainConfig(epochs=epochs, estimator=estimator, val_every=val_every, seed=seed)
    fh = open(log, "w") if log else None

    def show(row: dict) -> None:
        typer.echo(f"epoch {row['epoch']:4d}  val <E_T - E_0> {row['val_dE']:+.3f}  "
                   f"val E_T {row['val_E_end']:.3f}  {row['wall_s']:.0f} s", err=True)

    res = sn.train(bb, cfg, structures, log=show, time_limit=time_limit)
    if fh:
        for row in res.history:
            fh.write(json.dumps(row) + "\n")
        fh.close()
    meta = {"cost": res.cost, "train_config": sn.config_dict(cfg), "problem": prob.config(),
            "best_val_dE": res.best_val, "best_epoch": res.best_epoch, "created": time.strftime("%Y-%m-%d %H:%M:%S")}
    sn.save_model(out, res.net, meta)
    typer.echo(json.dumps({"model": str(out), "best_val_dE": res.best_val, "best_epoch": res.best_epoch, **res.cost}))


def _table(rows: dict[str, list[float]], per_atom: int | None = None) -> str:
    lines = ["| Method | Min | Mean |", "|---|---|---|"]
    for name, v in rows.items():
        v = [x / per_atom for x in v] if per_atom else v
        fin = [x for x in v if math.isfinite(x)]
        lo = min(fin) if fin else math.nan
        mean = sum(fin) / len(fin) if fin else math.nan
        extra = f" ({len(v) - len(fin)} diverged)" if len(fin) < len(v) else ""
        lines.append(f"| {name} | {lo:.4f} | {mean:.4f}{extra} |")
    return "\n".join(lines)


def _adapt_targets(model: Path, prob, targets: int, epochs: int, seeds: int, estimator: str, seed: int,
                   device: str, with_baselines: bool, baseline_steps: int | None) -> dict:
    import torch

    from gmbench.studies import stridernet as sn

    net, meta = sn.load_model(model, device)
    bb = sn.open_blackbox(prob, seed, device)
    if sn.system_of(bb) != net.config.system:
        raise GmbenchError(f"model was trained on {net.config.system}, problem is {bb.structure.system}")
    x = bb.starts(targets)
    out: dict = {"targets": targets, "n_atoms": bb.structure.n_atoms}
    if with_baselines:
        t = time.perf_counter()
        base = sn.baselines(bb, x, steps=baseline_steps)
        out["baselines"] = {k: v.tolist() for k, v in base.items()}
        out["baseline_wall_s"] = time.perf_counter() - t
    cfg = sn.AdaptConfig(epochs=epochs, seeds=seeds, estimator=estimator)
    gen = torch.Generator(device=bb.device).manual_seed(seed)
    res = sn.adapt(net, bb, x, cfg, generator=gen)
    out["stridernet"] = res.best_energy.tolist()
    out["best_seed"] = res.best_seed.tolist()
    out["start_energy"] = bb.energy(x).tolist()
    out["adapt_cost"] = res.cost
    out["train_cost"] = meta.get("cost", {})
    out["trace_every_10"] = [t for i, t in enumerate(res.trace) if (i + 1) % 10 == 0 or i + 1 == len(res.trace)]
    return out


@app.command()
@_guard
def adapt(
    model: Path = typer.Option(..., "--model", "-m", help="A model saved by `gmbench stridernet train`."),
    problem: str = PROBLEM_OPT,
    param: Optional[List[str]] = PARAM_OPT,
    targets: int = typer.Option(10, help="Number of target structures (drawn from the problem's starts)."),
    epochs: int = typer.Option(1000, help="Adaptation epochs per target (the paper's 1000)."),
    seeds: int = typer.Option(10, help="Seeds per target; the best is kept (the paper's 10)."),
    estimator: str = typer.Option("pathwise"),
    baselines: bool = typer.Option(True, help="Also run GD, FIRE and Adam (the paper's per-system settings) on the same targets."),
    seed: int = typer.Option(0),
    device: str = typer.Option("cpu"),
    threads: Optional[int] = THREADS_OPT,
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write all numbers as JSON."),
) -> None:
    """Adapt a trained policy to target structures (default: ka-lj, the first 10 test-split frames) and
    print the paper's Table 1 row (Min / Mean over the targets) beside GD, FIRE and Adam."""
    from gmbench.studies import stridernet as sn

    _threads(threads)
    sn.check_estimator(estimator)
    if min(epochs, seeds, targets) < 1:
        raise GmbenchError("--epochs, --seeds and --targets must be >= 1")
    params = _frames_param(param, LJ_TEST_FRAMES[:targets]) if problem in ("ka-lj",) else param
    prob = _problem(problem, params)
    out = _adapt_targets(model, prob, targets, epochs, seeds, estimator, seed, device, baselines, None)
    rows = dict(out.get("baselines", {}))
    rows["StriderNET"] = out["stridernet"]
    typer.echo(_table(rows))
    typer.echo(f"training cost: {json.dumps(out['train_cost'])}")
    typer.echo(f"adaptation cost: {json.dumps(out['adapt_cost'])}")
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(out, indent=1))


@app.command()
@_guard
def transfer(
    model: Path = typer.Option(..., "--model", "-m", help="A model trained on N = 100 (ka-lj)."),
    sizes: str = typer.Option("25,50,250,500,1000", help="Comma-separated system sizes N."),
    targets: int = typer.Option(10, help="Target structures per size (seeded MD liquid frames)."),
    epochs: int = typer.Option(1000),
    seeds: int = typer.Option(10),
    estimator: str = typer.Option("pathwise"),
    baselines: bool = typer.Option(True),
    md_seed: int = typer.Option(0, help="Seed of the MD liquid frames."),
    seed: int = typer.Option(0),
    device: str = typer.Option("cpu"),
    threads: Optional[int] = THREADS_OPT,
    json_out: Optional[Path] = typer.Option(None, "--json"),
) -> None:
    """Adapt a policy trained on one size to KA liquids of other sizes (paper Table 2: energy per atom)."""
    from gmbench.studies import stridernet as sn

    _threads(threads)
    sn.check_estimator(estimator)
    try:
        ns = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise GmbenchError(f"bad --sizes {sizes!r}: use e.g. 25,50,250") from None
    if not ns or min(ns) < 4:
        raise GmbenchError(f"bad --sizes {sizes!r}: sizes must be integers >= 4")
    results = {}
    for n in ns:
        prob = _problem("ka-lj", [f"n={n}", "starts=md", f"md_seed={md_seed}", f"pool={max(targets, 10)}"])
        out = _adapt_targets(model, prob, targets, epochs, seeds, estimator, seed, device, baselines, None)
        results[n] = out
        rows = dict(out.get("baselines", {}))
        rows["StriderNET"] = out["stridernet"]
        typer.echo(f"N = {n} (energy per atom; adaptation {out['adapt_cost']['adapt_wall_s']:.0f} s)")
        typer.echo(_table(rows, per_atom=n))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(results, indent=1))


@app.command()
@_guard
def bench(
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Time this model (default: untrained)."),
    steps: int = typer.Option(100, help="Forward steps."),
    epochs: int = typer.Option(100, help="Adaptation epochs."),
    device: str = typer.Option("cpu"),
    threads: Optional[int] = THREADS_OPT,
) -> None:
    """Seconds for 100 forward steps and 100 adaptation epochs on LJ-100 (paper Table 10: 54.3 s, 1170 s)."""
    from gmbench.studies import stridernet as sn

    _threads(threads)
    f = sn.bench_forward(steps, device=device, model=model)
    a = sn.bench_adapt(epochs, device=device, model=model)
    typer.echo(json.dumps({"forward_steps": steps, "forward_s": f, "paper_forward_s": 54.3 * steps / 100,
                           "adapt_epochs": epochs, "adapt_s": a, "paper_adapt_s": 1170 * epochs / 100}))
