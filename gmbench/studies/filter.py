"""``gmbench filter``: the seed paper's selection of test functions (Appendix A.1), 30 -> 14 -> 8 -> 2.

Step 1 (properties, no computation). Of the 30 Plevris & Solorzano functions, keep those that are
multimodal (more than one local minimum at the run's dimension D), have a defined global minimum in
R^D, and are continuous and differentiable, reading the declared :class:`~gmbench.problems.base.Properties`.
"A defined global minimum" is read as *attained in R^D by a single minimizer* (``global_min_defined``
and ``unique_minimizer``): that is what drops Weierstrass (integer lattice) and Perm, as the paper does
(``plevris30.md`` §10); the table says what the looser reading would add. F18 is represented by the
paper's variant ``schaffer-f7-paper`` (V = S/n; same properties and minimizers as F18). The paper
keeps 14; the declared properties give 6 (the other 8 are not differentiable everywhere, and more).

Step 2 (Adam cannot solve it). The paper's Adam protocol (Appendix A.3) through
:class:`~gmbench.methods.adam_sweep.AdamSweep` on a :class:`~gmbench.core.blackbox.BlackBox` (float32, no
budget), candidates through :class:`~gmbench.core.recorder.Inbox`, assessed in float64 by
:class:`~gmbench.core.recorder.Recorder`. Every problem lives on [-100, 100]^D as in the paper. The
prediction is the lowest-energy candidate (in or out of the box, as in the paper; the table says when
it lies outside). Kept when its distance to the *nearest* global minimizer exceeds 5; the distance to
the designated x* is shown too, and marked where it would decide otherwise. Input: the paper's 14 by
default (``--step2-from ours``: the declared-property list). Seed: the first of ``--seeds``.

Step 3 (learnable). A plain MLP, 5 Linear layers (in -> W -> W -> W -> W -> 1), ReLU, Adam lr 1e-3,
MSE, ``learn_steps`` steps each on ``learn_points`` fresh uniform points of [-100, 100]^d. y is
normalised a priori: mean and standard deviation of a large initial sample (max(10,000, 10 x points)
points), then fixed. x is fed raw (the paper normalises only y). Final loss: the trained network's
MSE on a fresh held-out set (10 batches of ``learn_points``); baseline: the MSE of predicting each
held-out batch's own mean (the variance of the normalised y within the batch), averaged over the same
batches. Learnable if loss < baseline. Run over every seed; a function is learnable when it passes in
a majority of seeds. Input: the functions that passed step 2, plus the paper's 8 for comparison; our
final selection is (passed step 2) and (learnable). Every random draw comes from a seeded
``torch.Generator`` (weights included), so no global RNG state is read or advanced.

Results go to the store's ``filter_runs`` table, one row per (step, function, seed, config hash of
that step's settings); a rerun with the same settings reuses stored rows. ``filter_invocations``
records each invocation, so ``gmbench report --filter`` reprints the latest one from the store alone.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from gmbench.core.errors import GmbenchError

PROTOCOL = "filter/1"  # bump when a step's computation changes (invalidates stored rows)
BOUND = 100.0
THRESHOLD = 5.0
DEPTH = 5
LEARN_LR = 1e-3
HELD_OUT_BATCHES = 10

#: the paper's lists (Appendix A.1), as registry names, in the paper's order
PAPER_14 = [
    "drop-wave", "alpine1", "ackley", "griewank", "rastrigin", "happycat", "hgbat", "rosenbrock",
    "schaffer-f7-paper", "expanded-schaffer-f6", "salomon", "xin-she-yang-1", "modified-xin-she-yang-3",
    "modified-xin-she-yang-5",
]
PAPER_8 = [
    "alpine1", "rastrigin", "schaffer-f7-paper", "expanded-schaffer-f6", "xin-she-yang-1",
    "modified-xin-she-yang-3", "modified-xin-she-yang-5", "ackley",
]
PAPER_2 = ["alpine1", "schaffer-f7-paper"]

#: where the paper's non-smooth functions fail to be differentiable (plevris30.md §2, §10)
NON_SMOOTH = {
    "alpine1": "kinks at x_i = 0 and sin x_i = -0.1",
    "ackley": "at 0 only",
    "happycat": "on the sphere ||x||^2 = D, which contains x*",
    "hgbat": "on two spheres ||x -+ 1/2||^2 = D/4, one containing x*",
    "schaffer-f7-paper": "where x_i = x_{i+1} = 0, including x*",
    "xin-she-yang-1": "where x_i = 0, including x*",
    "salomon": "at 0 only",
    "modified-xin-she-yang-5": "where x_i = 0, including x*",
}

SCALES: dict[str, dict[str, Any]] = {
    "paper": dict(dim=1000, points=10000, steps=10000, lr_start=0.05, lr_stop=5.0, lr_step=0.05,
                  learn_dim=100, learn_steps=1000, learn_points=1000, width=1000, seeds=(0, 1, 2)),
    # minutes on a 2-core CPU; keeps the paper's 1000 training steps (fewer leave every ratio near 1)
    "quick": dict(dim=100, points=200, steps=2000, lr_start=0.1, lr_stop=5.0, lr_step=0.7,
                  learn_dim=20, learn_steps=1000, learn_points=256, width=128, seeds=(0, 1, 2)),
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS filter_runs (
    step INTEGER, function TEXT, seed INTEGER, config_hash TEXT, config TEXT, numbers TEXT, decision INTEGER,
    created REAL, PRIMARY KEY (step, function, seed, config_hash));
CREATE TABLE IF NOT EXISTS filter_invocations (
    run_id TEXT PRIMARY KEY, started REAL, ended REAL, config TEXT)
"""


# ------------------------------------------------------------------------------------------------
# configuration
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterConfig:
    scale: str = "paper"
    dim: int = 1000
    points: int = 10000
    steps: int = 10000
    lr_start: float = 0.05
    lr_stop: float = 5.0
    lr_step: float = 0.05
    learn_dim: int = 100
    learn_steps: int = 1000
    learn_points: int = 1000
    width: int = 1000
    seeds: tuple[int, ...] = (0, 1, 2)
    device: str = "cpu"
    step2_from: str = "paper"
    until: int = 3

    def lrs(self) -> list[float]:
        from gmbench.methods.adam_sweep import lr_grid

        return lr_grid(self.lr_start, self.lr_stop, self.lr_step)

    def step_config(self, step: int) -> dict[str, Any]:
        """What defines a step's stored rows (its hash); other settings do not invalidate them."""
        if step == 1:
            return {"protocol": PROTOCOL, "step": 1, "dim": self.dim}
        if step == 2:
            return {"protocol": PROTOCOL, "step": 2, "dim": self.dim, "points": self.points, "steps": self.steps,
                    "lrs": self.lrs(), "bound": BOUND, "threshold": THRESHOLD, "dtype": "float32",
                    "device": torch.device(self.device).type}
        return {"protocol": PROTOCOL, "step": 3, "dim": self.learn_dim, "steps": self.learn_steps,
                "points": self.learn_points, "width": self.width, "depth": DEPTH, "lr": LEARN_LR, "bound": BOUND,
                "held_out_batches": HELD_OUT_BATCHES, "device": torch.device(self.device).type}

    def step_hash(self, step: int) -> str:
        blob = json.dumps(self.step_config(step), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def make_config(scale: str = "paper", **overrides: Any) -> FilterConfig:
    """The preset ``scale`` with every non-None override applied, validated (GmbenchError if bad)."""
    if scale not in SCALES:
        raise GmbenchError(f"unknown --scale {scale!r} (use {' or '.join(SCALES)})")
    values: dict[str, Any] = dict(SCALES[scale])
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["seeds"] = tuple(values["seeds"])
    cfg = FilterConfig(scale=scale, **values)
    _validate(cfg)
    return cfg


def _validate(cfg: FilterConfig) -> None:
    for flag, v, lo in (("--dim", cfg.dim, 2), ("--points", cfg.points, 1), ("--steps", cfg.steps, 1),
                        ("--learn-dim", cfg.learn_dim, 2), ("--learn-steps", cfg.learn_steps, 1),
                        ("--learn-points", cfg.learn_points, 2), ("--width", cfg.width, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            why = " (rosenbrock and schaffer's f7 need two coordinates)" if flag in ("--dim", "--learn-dim") else ""
            raise GmbenchError(f"bad {flag} {v!r}: must be an integer >= {lo}{why}")
    for flag, v in (("--lr-start", cfg.lr_start), ("--lr-stop", cfg.lr_stop), ("--lr-step", cfg.lr_step)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise GmbenchError(f"bad {flag} {v!r}: must be a positive number")
    if cfg.lr_stop < cfg.lr_start:
        raise GmbenchError(f"bad learning-rate grid: --lr-stop {cfg.lr_stop} is below --lr-start {cfg.lr_start}")
    if len(cfg.lrs()) > 100000:
        raise GmbenchError("bad learning-rate grid: more than 100,000 rates (check --lr-step)")
    if not cfg.seeds or any(s < 0 for s in cfg.seeds) or len(set(cfg.seeds)) != len(cfg.seeds):
        raise GmbenchError(f"bad --seeds {list(cfg.seeds)!r}: need distinct non-negative seeds")
    if cfg.step2_from not in ("paper", "ours"):
        raise GmbenchError(f"bad --step2-from {cfg.step2_from!r} (use paper or ours)")
    if cfg.until not in (1, 2, 3):
        raise GmbenchError(f"bad --until {cfg.until!r} (use 1, 2 or 3)")


# ------------------------------------------------------------------------------------------------
# step 1: declared properties
# ------------------------------------------------------------------------------------------------


def collection() -> list[tuple[str, str]]:
    """(registry name, F number) of the 30 functions, with F18 as the paper's variant."""
    from gmbench.problems.functions.plevris import NAMES

    rows = [(n, f) for n, f in NAMES.items() if f is not None]
    return [("schaffer-f7-paper", "F18*") if n == "schaffer-f7" else (n, f) for n, f in rows]


def step1(dim: int) -> list[dict[str, Any]]:
    """One record per function of the collection: the declared properties and both decisions."""
    from gmbench.problems import PROBLEMS

    recs = []
    for name, fnum in collection():
        p = PROBLEMS.get(name).properties
        assert p is not None
        mm = p.is_multimodal(dim)
        fails = []
        if not p.continuous:
            fails.append("not continuous")
        if not p.differentiable:
            fails.append(f"not differentiable everywhere ({NON_SMOOTH.get(name, p.note or 'see its properties')})")
        if not mm:
            fails.append(f"one local minimum at D={dim} (multimodal from D={p.multimodal_min_dim})" if p.multimodal
                         else f"one local minimum ({p.note or 'analytically'})")
        if not p.global_min_defined:
            fails.append(f"global minimum not attained in R^D ({p.note})" if p.note else
                         "global minimum not attained in R^D")
        if not p.unique_minimizer:
            fails.append(f"global minimizer not unique ({p.note})" if p.note else "global minimizer not unique")
        declared = not fails
        paper = name in PAPER_14
        loose = (p.continuous and p.differentiable and mm and p.global_min_defined)  # without uniqueness
        if declared == paper:
            diff = ""
        elif paper:
            diff = "the paper keeps it; declared properties drop it: " + "; ".join(fails)
        else:
            diff = "declared properties keep it; the paper drops it (it gives no reason)"
        recs.append({
            "function": name, "F": fnum, "continuous": p.continuous, "differentiable": p.differentiable,
            "multimodal": mm, "global_min_defined": p.global_min_defined, "unique_minimizer": p.unique_minimizer,
            "declared": declared, "paper": paper, "loose": loose, "fails": fails, "difference": diff,
            "note": p.note,
        })
    return recs


# ------------------------------------------------------------------------------------------------
# step 2: the paper's Adam protocol
# ------------------------------------------------------------------------------------------------


def step2_one(name: str, cfg: FilterConfig, seed: int) -> dict[str, Any]:
    """Adam sweep on one function; the prediction is the lowest-energy candidate."""
    from gmbench.core.blackbox import BlackBox, Budget, Clock
    from gmbench.methods.adam_sweep import AdamSweep
    from gmbench.problems import make_problem
    from gmbench.core.recorder import Inbox, Recorder

    t0 = time.perf_counter()
    try:
        problem = make_problem(name, dim=cfg.dim, bounds=(-BOUND, BOUND))
    except GmbenchError as exc:  # e.g. x* outside [-100, 100]^D
        return {"error": str(exc), "kept": None, "wall_s": 0.0}
    dev = torch.device(cfg.device)
    g = torch.Generator(device=dev).manual_seed(seed)
    bb = BlackBox(problem.energy_fn(), problem.dim, problem.lower, problem.upper, dev, torch.float32, g,
                  Budget(None, None), Clock(dev), problem.start_sampler(),
                  energy_and_grad=problem.energy_and_grad_fn())
    inbox = Inbox(bb)
    AdamSweep(n_points=cfg.points, n_steps=cfg.steps, lrs=cfg.lrs()).run(bb, inbox)
    rec = Recorder(problem)
    rec.assess(inbox.candidates)
    finite = [i for i, r in enumerate(rec.rows) if math.isfinite(r.energy)]
    out: dict[str, Any] = {"n_candidates": len(rec.rows), "n_grad": bb.n_grad, "wall_s": time.perf_counter() - t0,
                           "nearest_exact": rec.nearest_exact}
    if not finite:
        out.update(error="no candidate with a finite energy", kept=True)
        return out
    best = rec.rows[min(finite, key=lambda i: rec.rows[i].energy)]
    dn, dx = best.dist_nearest, best.dist
    out.update(energy=best.energy, dist_nearest=dn, dist_xstar=dx, lr=best.scalars.get("lr"), oob=best.oob,
               min_dist_nearest=min((r.dist_nearest for r in rec.rows if r.dist_nearest is not None), default=None),
               kept=None if dn is None else bool(dn > THRESHOLD), xstar_kept=None if dx is None else bool(dx > THRESHOLD))
    return out


# ------------------------------------------------------------------------------------------------
# step 3: learnability
# ------------------------------------------------------------------------------------------------


def _mlp(d: int, width: int, g: torch.Generator, device: torch.device) -> nn.Sequential:
    """in -> width x4 -> 1, ReLU; PyTorch's default Linear init (U(+-1/sqrt(fan_in))) drawn from ``g``."""
    sizes = [d] + [width] * (DEPTH - 1) + [1]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.utils.skip_init(nn.Linear, a, b, device=device)  # no draw from the global RNG
        bound = 1.0 / math.sqrt(a)
        with torch.no_grad():
            lin.weight.uniform_(-bound, bound, generator=g)
            lin.bias.uniform_(-bound, bound, generator=g)
        layers.append(lin)
        if i < DEPTH - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def step3_one(name: str, cfg: FilterConfig, seed: int) -> dict[str, Any]:
    """Train the plain MLP on one function for one seed; learnable if held-out loss < batch-mean loss."""
    from gmbench.problems import make_problem

    t0 = time.perf_counter()
    try:
        problem = make_problem(name, dim=cfg.learn_dim, bounds=(-BOUND, BOUND))
    except GmbenchError as exc:
        return {"error": str(exc), "learnable": None, "wall_s": 0.0}
    f = problem.energy_fn()
    dev = torch.device(cfg.device)
    g = torch.Generator(device=dev).manual_seed(seed)
    d, n = cfg.learn_dim, cfg.learn_points

    def sample(k: int) -> tuple[Tensor, Tensor]:
        x = (torch.rand((k, d), generator=g, device=dev, dtype=torch.float32) * 2.0 - 1.0) * BOUND
        with torch.no_grad():
            y = f(x.to(torch.float64))  # targets in float64, normalised, then float32
        return x, y

    _, y0 = sample(max(10000, 10 * n))
    mu, sd = float(y0.mean()), float(y0.std())
    out: dict[str, Any] = {"norm_mean": mu, "norm_std": sd}
    if not (math.isfinite(mu) and math.isfinite(sd)) or sd <= 0:
        out.update(constant=True, loss=None, baseline=0.0, ratio=None, learnable=False,
                   note=("f is constant on the sample (std 0): nothing to learn" if sd == 0
                         else "non-finite values on the sample"), wall_s=time.perf_counter() - t0)
        return out

    def norm(y: Tensor) -> Tensor:
        return ((y - mu) / sd).to(torch.float32)

    net = _mlp(d, cfg.width, g, dev)
    opt = torch.optim.Adam(net.parameters(), lr=LEARN_LR)
    train_loss, train_base = [], []
    for _ in range(cfg.learn_steps):
        x, y = sample(n)
        yn = norm(y)
        loss = torch.mean((net(x).squeeze(-1) - yn) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        train_loss.append(float(loss.detach()))
        train_base.append(float(yn.var(unbiased=False)))
    losses, bases = [], []
    with torch.no_grad():
        for _ in range(HELD_OUT_BATCHES):
            x, y = sample(n)
            yn = norm(y)
            losses.append(float(torch.mean((net(x).squeeze(-1) - yn) ** 2)))
            bases.append(float(yn.var(unbiased=False)))
    loss_v, base_v = sum(losses) / len(losses), sum(bases) / len(bases)
    last = min(10, len(train_loss))
    out.update(constant=False, loss=loss_v, baseline=base_v,
               ratio=loss_v / base_v if base_v > 0 else None,
               learnable=bool(math.isfinite(loss_v) and loss_v < base_v),
               train_loss_last10=sum(train_loss[-last:]) / last, train_baseline_last10=sum(train_base[-last:]) / last,
               wall_s=time.perf_counter() - t0)
    return out


# ------------------------------------------------------------------------------------------------
# store
# ------------------------------------------------------------------------------------------------


class FilterStore:
    """The filter's rows in a :class:`~gmbench.store.sqlite.Store` (its own tables)."""

    def __init__(self, store: Any):
        self.store = store
        if getattr(store, "readonly", False):  # `report --filter` reads; a store without filter runs has no tables
            return
        with store.transaction() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    def get(self, step: int, function: str, seed: int, h: str) -> dict[str, Any] | None:
        row = self.store.db.execute(
            "SELECT numbers FROM filter_runs WHERE step=? AND function=? AND seed=? AND config_hash=?",
            (step, function, seed, h)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, step: int, function: str, seed: int, h: str, config: dict[str, Any], numbers: dict[str, Any],
            decision: bool | None, replace_: bool = False) -> None:
        verb = "INSERT OR REPLACE" if replace_ else "INSERT OR IGNORE"
        with self.store.transaction() as db:
            db.execute(f"{verb} INTO filter_runs VALUES (?,?,?,?,?,?,?,?)",
                       (step, function, seed, h, json.dumps(config, sort_keys=True), json.dumps(numbers),
                        None if decision is None else int(bool(decision)), time.time()))

    def begin(self, run_id: str, config: dict[str, Any]) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT INTO filter_invocations VALUES (?,?,?,?)", (run_id, time.time(), None, json.dumps(config)))

    def end(self, run_id: str, config: dict[str, Any]) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE filter_invocations SET ended=?, config=? WHERE run_id=?",
                       (time.time(), json.dumps(config), run_id))

    def latest(self) -> dict[str, Any] | None:
        try:
            row = self.store.db.execute(
                "SELECT config FROM filter_invocations WHERE ended IS NOT NULL ORDER BY ended DESC LIMIT 1").fetchone()
        except sqlite3.OperationalError:  # no filter tables yet (a store opened read-only)
            return None
        return json.loads(row[0]) if row else None


# ------------------------------------------------------------------------------------------------
# the run
# ------------------------------------------------------------------------------------------------


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


# ------------------------------------------------------------------------------------------------
# tables
# ------------------------------------------------------------------------------------------------


def _f(v: Any, fmt: str = ".4g") -> str:
    if v is None:
        return "—"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return format(v, fmt)


def _yn(b: Any) -> str:
    return "—" if b is None else ("yes" if b else "no")


def _kept(b: Any) -> str:
    return "—" if b is None else ("KEPT" if b else "dropped")


def _table(rows: list[list[Any]], headers: list[str]) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)


def learn_verdict(per_seed: dict[Any, dict[str, Any]]) -> tuple[int, int, bool]:
    """(passes, seeds with a result, learnable by majority)."""
    vals = [r.get("learnable") for r in per_seed.values() if r.get("learnable") is not None]
    k = sum(1 for v in vals if v)
    return k, len(vals), bool(vals) and 2 * k > len(vals)


def render(res: FilterResult) -> str:
    """The three tables and the final comparison, as plain text."""
    meta = res.config
    s = meta["settings"]
    parts: list[str] = []
    lrs = FilterConfig(**{**s, "seeds": tuple(s["seeds"])}).lrs()
    parts.append(
        f"gmbench filter (scale {s['scale']}): step 2 D={s['dim']}, {s['points']} points, {s['steps']} steps, "
        f"{len(lrs)} learning rates {lrs[0]:g}..{lrs[-1]:g}, seed {s['seeds'][0]}; step 3 d={s['learn_dim']}, "
        f"{s['learn_steps']} steps x {s['learn_points']} points, width {s['width']}, seeds {s['seeds']}; "
        f"device {s['device']}; bounds [-{BOUND:g}, {BOUND:g}]")

    # step 1
    s1 = res.step1
    rows = [[r["F"], r["function"], _yn(r["continuous"]), _yn(r["differentiable"]), _yn(r["multimodal"]),
             _yn(r["global_min_defined"]), _yn(r["unique_minimizer"]), _kept(r["declared"]), _kept(r["paper"]),
             "DIFFERS" if r["difference"] else ""] for r in s1]
    parts.append(f"\nStep 1: properties of the 30 functions (declared, at D={s['dim']}; F18* = the paper's "
                 "variant schaffer-f7-paper)\n"
                 + _table(rows, ["F", "function", "continuous", "differentiable", "multimodal", "global min in R^D",
                                 "unique x*", "declared", "paper", ""]))
    ours1 = [r["function"] for r in s1 if r["declared"]]
    parts.append(f"paper's 14: {', '.join(PAPER_14)}")
    parts.append(f"declared properties give {len(ours1)}: {', '.join(ours1)}")
    diffs = [r for r in s1 if r["difference"]]
    parts.append(f"differences ({len(diffs)}):")
    for r in diffs:
        parts.append(f"  {r['function']}: {r['difference']}")
    loose_extra = [r["function"] for r in s1 if r["loose"] and not r["declared"]]
    parts.append("'defined global minimum' is read as attained in R^D by a unique minimizer; reading it as "
                 "attained only would add: " + (", ".join(loose_extra) or "nothing"))
    if s["until"] < 2:
        return "\n".join(parts)

    # step 2
    src = ("the paper's 14; --step2-from ours for the declared list" if s["step2_from"] == "paper"
           else "the declared-property list (--step2-from ours)")
    scaled = THRESHOLD * math.sqrt(s["dim"] / 1000)  # the paper's 5 is 0.16 per coordinate at D = 1000
    rows = []
    for name, r in res.step2.items():
        note = []
        if r.get("error"):
            note.append(r["error"])
        if r.get("oob"):
            note.append(f"prediction outside the box by {r['oob']:.3g}")
        if r.get("kept") is not None and r.get("xstar_kept") is not None and r["kept"] != r["xstar_kept"]:
            note.append(f"x* distance would decide {_kept(r['xstar_kept'])}")
        if s["dim"] != 1000 and r.get("dist_nearest") is not None and (r["dist_nearest"] > scaled) != r.get("kept"):
            note.append(f"the per-coordinate threshold 5*sqrt(D/1000) = {scaled:.3g} would decide "
                        f"{_kept(r['dist_nearest'] > scaled)}")
        dn = r.get("dist_nearest")
        rows.append([name, _yn(name in PAPER_14), _yn(name in ours1), _f(r.get("energy")), _f(r.get("lr"), "g"),
                     _f(dn), _f(None if dn is None else dn / math.sqrt(s["dim"]), ".3g"), _f(r.get("dist_xstar")),
                     _kept(r.get("kept")),
                     _kept(name in PAPER_8), "; ".join(note)])
    parts.append(f"\nStep 2: can Adam solve it? (input: {src}; kept if the lowest-energy prediction is > {THRESHOLD:g} "
                 "from the nearest global minimizer)\n"
                 + _table(rows, ["function", "paper 14", "declared", "E(pred)", "lr", "dist nearest", "/sqrt(D)",
                                 "dist x*", "ours", "paper", "note"]))
    kept2 = meta.get("step2_kept", [n for n, r in res.step2.items() if r.get("kept")])
    parts.append(f"kept {len(kept2)}: {', '.join(kept2)}")
    parts.append(f"paper's 8: {', '.join(PAPER_8)}")
    if s["until"] < 3:
        return "\n".join(parts)

    # step 3
    rows = []
    for name, per in res.step3.items():
        k, m, ok = learn_verdict(per)
        ratios = ", ".join(_f(r.get("ratio"), ".3f") for r in per.values())
        notes = {r["note"] for r in per.values() if r.get("note")} | {r["error"] for r in per.values() if r.get("error")}
        rs = [r["ratio"] for r in per.values() if r.get("ratio") is not None]
        if ok and rs and all(abs(1.0 - x) < 0.02 for x in rs):
            notes.add("marginal: every ratio within 2% of 1")
        note = "; ".join(sorted(notes))
        rows.append([name, _yn(name in kept2), _yn(name in PAPER_8), ratios, f"{k}/{m}", _kept(ok),
                     _kept(name in PAPER_2), note])
    parts.append("\nStep 3: learnable by a plain MLP? (loss/baseline on held-out batches per seed; learnable if < 1 "
                 "in a majority of seeds)\n"
                 + _table(rows, ["function", "passed step 2", "paper 8", "loss/baseline per seed", "passes",
                                 "ours", "paper", "note"]))

    # final
    final = [n for n in kept2 if learn_verdict(res.step3.get(n, {}))[2]]
    names = list(dict.fromkeys(PAPER_14 + ours1))
    rows = []
    for n in names:
        learn = learn_verdict(res.step3[n])[2] if n in res.step3 else None
        s2 = res.step2.get(n, {}).get("kept") if n in res.step2 else None
        rows.append([n, _yn(n in PAPER_14), _yn(n in ours1), _kept(s2), _kept(n in PAPER_8),
                     _kept(learn), _kept(n in PAPER_2), _kept(n in final), _kept(n in PAPER_2),
                     "" if (n in final) == (n in PAPER_2) else "DIFFERS"])
    parts.append("\nFinal selection, ours beside the paper's\n"
                 + _table(rows, ["function", "step 1 paper", "step 1 declared", "step 2 ours", "step 2 paper",
                                 "step 3 ours", "step 3 paper", "final ours", "final paper", ""]))
    parts.append(f"ours ({len(final)}): {', '.join(final) or 'none'}")
    parts.append(f"paper's ({len(PAPER_2)}): {', '.join(PAPER_2)}")
    return "\n".join(parts)
