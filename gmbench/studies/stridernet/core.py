"""StriderNET learning: rollouts, training, adaptation, transfer, saved models and timing benches.

Everything acts through a :class:`~gmbench.core.blackbox.BlackBox` (energies, per-atom energies, starting
structures, the structure's species and box), so the same code trains inside a benchmark cell (every
evaluation charged to the method's budget) and from the CLI (an unlimited BlackBox on the training
frames). The network is :class:`gmbench.models.gnn.StriderNet`; the reference is ``stridernet.md``.

**Rollout** (§3.3-3.4). From structures S_0 the policy takes T steps, S_{t+1} = wrap(S_t + a_t),
a_t = μ_θ(S_t) + std·ε. The per-step reward is R_t = U_FIRE − U(S_{t+1}), where U_FIRE is the energy
FIRE (dt_start 0.01, dt_max 0.04, §4.1) reaches in T steps from S_0 (computed once per rollout, the
paper's baseline b(S)); D_t = Σ_k γ^k R_{t+k}, γ = 0.9.

**Two estimators** (``estimator``):

* ``"reinforce"`` - the paper's Eq. 10 as written: REINFORCE with the FIRE baseline, the
  score-function gradient −Σ_t ∇_θ log π_θ(a_t | S_t) · D_t with the states and returns held fixed and
  log π the Gaussian log-density of the sampled action (it really depends on θ through μ).
* ``"pathwise"`` (default) - what the authors' code computes (§3.5): the log-density there is built
  from the noise alone and carries no gradient, so the gradient is back-propagation of Σ_t D_t through
  the differentiable trajectory (energies and the features of every later state); U_FIRE cancels from
  it. The code's random weights |log π_t| (nearly constant, ≈ 150 for N = 100 in the LJ run) are
  replaced by 1, which changes only the scale. The paper's numbers, if any, come from this variant:
  it is the only one in the published code.

**Training** (§3.6, paper Table 5): a 75:25 train/validation split of the training structures,
minibatches of 4 structures with 2 accumulated (one step on 8 structures, the loss averaged per
structure), T = 15, Adam (lr 5e-3) after an element-wise gradient clip at 0.1 (optax ``clip``, as the
code; the paper's "clip 0.1"), validation every 20 epochs with ⟨E_20 − E_0⟩ (T = 20, no update). The
saved model is the one with the best validation metric (the code keeps every checkpoint). A
non-finite gradient entry (a trajectory that pushed atoms into overlap) is set to 0 before the clip.

**Adaptation** (§3.8, paper only). For each target structure and each of ``seeds`` seeds, a private
copy of the trained policy is optimised together with the structure: each epoch runs one T-step
trajectory and one update (the training loss), and the next epoch starts from the lowest-energy
structure among the last three states of the trajectory (the paper: "a lower energy configuration
sampled from the last three steps" - we take the lowest). The result per target is the lowest energy
visited over all epochs and seeds. All copies run as one batched program (see ``gnn.py``).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor

from gmbench.core.blackbox import BlackBox, Budget, BudgetExhausted, Clock
from gmbench.core.errors import GmbenchError
from gmbench.models.gnn import SYSTEMS, PolicyConfig, StriderNet
from gmbench.optim.relax import fire_relax, stridernet_fire

ESTIMATORS = ("pathwise", "reinforce")
MODEL_FORMAT = "gmbench-stridernet-1"


@dataclass
class LearnConfig:
    """The update rule shared by training and adaptation (paper Table 5)."""

    estimator: str = "pathwise"
    T: int = 15
    gamma: float = 0.9
    lr: float = 5e-3
    grad_clip: float = 0.1  # element-wise
    fire_dt: float = 0.01  # FIRE baseline inside the reward (dt_max = 4 dt)


@dataclass
class TrainConfig(LearnConfig):
    epochs: int = 800
    batch: int = 4
    accumulate: int = 2
    val_fraction: float = 0.25
    val_every: int = 20
    T_val: int = 20
    seed: int = 0


@dataclass
class AdaptConfig(LearnConfig):
    epochs: int = 1000
    seeds: int = 10
    restart_from_last: int = 3


def check_estimator(name: str) -> str:
    if name not in ESTIMATORS:
        raise GmbenchError(f"unknown StriderNET estimator {name!r} (choose from {', '.join(ESTIMATORS)})")
    return name


def system_of(bb: BlackBox) -> str:
    s = bb.structure
    if s is None or s.system not in SYSTEMS:
        raise GmbenchError(
            f"StriderNET needs an atomistic problem of {', '.join(SYSTEMS)}; got {s.system if s else 'a function'}")
    return s.system


# ---------------------------------------------------------------------------------------------
# rollouts and the loss
# ---------------------------------------------------------------------------------------------


@dataclass
class Rollout:
    energies: Tensor  # (T+1, B) U(S_0) ... U(S_T)
    states: list[Tensor]  # T+1 tensors (B, 3N)
    logp: Tensor | None  # (T, B) for the score-function estimator


def rollout(net: StriderNet, bb: BlackBox, x0: Tensor, T: int, *, estimator: str = "pathwise", grad: bool = True,
            model_of: Tensor | None = None, generator: torch.Generator | None = None) -> Rollout:
    """T policy steps from ``x0`` (B, 3N), batched; per-atom energies feed the next step's features.

    ``grad``: keep what the estimator needs for the gradient (pathwise: the whole differentiable
    trajectory; reinforce: log π of every action with the states detached)."""
    st = bb.structure
    N, species, box = st.n_atoms, st.species, st.box
    B = x0.shape[0]
    std = net.config.std
    pathwise = grad and estimator == "pathwise"
    reinforce = grad and estimator == "reinforce"
    x = x0.detach()
    ae = bb.atom_energies(x, graph=pathwise)
    energies, states, logps = [ae.sum(-1)], [x], []
    for _ in range(T):
        r = x.reshape(B, N, 3)
        with torch.set_grad_enabled(grad):
            if pathwise:
                mu = net(r, ae, species, box, model_of)
            else:
                mu = net(r.detach(), ae.detach(), species, box, model_of)
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        a = mu + std * eps
        if reinforce:
            a = a.detach()
            logps.append(-0.5 * ((a - mu) ** 2).sum((1, 2)) / (std * std))
        elif not pathwise:
            a = a.detach()
        x = bb.clamp(x + a.reshape(B, -1))
        ae = bb.atom_energies(x, graph=pathwise)
        energies.append(ae.sum(-1))
        states.append(x)
    return Rollout(torch.stack(energies), states, torch.stack(logps) if logps else None)


def fire_baseline(bb: BlackBox, x0: Tensor, T: int, dt: float) -> Tensor:
    """U after T FIRE steps (StriderNET's ``FIRE_desc``) from each row of ``x0``, charged to ``bb``."""
    _, e = fire_relax(bb.energy_graph, x0.detach(), T, stridernet_fire(dt), shift=lambda r, d: bb.clamp(r + d))
    return e.detach()


def returns(energies: Tensor, u_fire: Tensor, gamma: float) -> Tensor:
    """D_t = Σ_k γ^k R_{t+k}, R_t = U_FIRE − U(S_{t+1}): (T, B)."""
    rew = u_fire[None] - energies[1:]
    T = rew.shape[0]
    out = torch.zeros_like(rew)
    acc = torch.zeros_like(rew[0])
    for t in range(T - 1, -1, -1):  # T <= 20 steps, batched over structures
        acc = rew[t] + gamma * acc
        out[t] = acc
    return out


def loss_of(ro: Rollout, u_fire: Tensor, cfg: LearnConfig, reduce: str = "mean") -> Tensor:
    """The training loss of a rollout, one value per structure reduced by mean (training) or sum
    (adaptation: every model owns one structure, so the sum leaves each model its own gradient)."""
    D = returns(ro.energies, u_fire, cfg.gamma)  # (T, B)
    if cfg.estimator == "pathwise":
        per = -D.sum(0)
    else:
        per = -(ro.logp * D.detach()).sum(0)
    return per.mean() if reduce == "mean" else per.sum()


def _update(net: StriderNet, opt: torch.optim.Optimizer, loss: Tensor, clip: float) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    for p in net.parameters():
        if p.grad is not None:
            p.grad.nan_to_num_(0.0, 0.0, 0.0).clamp_(-clip, clip)
    opt.step()


# ---------------------------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------------------------


@dataclass
class TrainResult:
    net: StriderNet
    history: list[dict[str, float]] = field(default_factory=list)
    best_val: float = math.inf
    best_epoch: int = -1
    cost: dict[str, float] = field(default_factory=dict)


def train(bb: BlackBox, cfg: TrainConfig, structures: Tensor, net: StriderNet | None = None,
          log: Callable[[dict[str, float]], None] | None = None, time_limit: float | None = None) -> TrainResult:
    """Train a policy on ``structures`` (F, 3N) (split 75:25 into training and validation)."""
    check_estimator(cfg.estimator)
    system = system_of(bb)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator(device=bb.device).manual_seed(cfg.seed)
    if net is None:
        net = StriderNet(PolicyConfig(system=system)).to(bb.device)
    F = structures.shape[0]
    if F < 2:
        raise GmbenchError(f"StriderNET training needs at least 2 structures, got {F}")
    perm = torch.randperm(F, generator=torch.Generator().manual_seed(cfg.seed))
    n_val = max(1, int(round(cfg.val_fraction * F)))
    val, tr = structures[perm[:n_val]], structures[perm[n_val:]]
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    res = TrainResult(net)
    best_state = {k: v.clone() for k, v in net.state_dict().items()}
    t0, e0 = time.perf_counter(), bb.n_energy
    per_step = cfg.batch * cfg.accumulate
    order = torch.randperm(tr.shape[0], generator=gen if gen.device.type == "cpu" else None)
    cursor = 0
    for epoch in range(cfg.epochs + 1):
        if epoch % cfg.val_every == 0 or epoch == cfg.epochs:
            with torch.no_grad():
                ro = rollout(net, bb, val, cfg.T_val, estimator=cfg.estimator, grad=False, generator=gen)
            metric = float((ro.energies[-1] - ro.energies[0]).mean())
            row = {"epoch": epoch, "val_dE": metric, "val_E_end": float(ro.energies[-1].mean()),
                   "wall_s": time.perf_counter() - t0, "evals": bb.n_energy - e0}
            if metric < res.best_val:
                res.best_val, res.best_epoch = metric, epoch
                best_state = {k: v.clone() for k, v in net.state_dict().items()}
            res.history.append(row)
            if log:
                log(row)
        if epoch == cfg.epochs or (time_limit is not None and time.perf_counter() - t0 > time_limit):
            break
        idx = order[(torch.arange(per_step) + cursor) % order.numel()]
        cursor += per_step
        x0 = tr[idx]
        u_fire = fire_baseline(bb, x0, cfg.T, cfg.fire_dt)
        ro = rollout(net, bb, x0, cfg.T, estimator=cfg.estimator, grad=True, generator=gen)
        loss = loss_of(ro, u_fire, cfg)
        _update(net, opt, loss, cfg.grad_clip)
        row = {"epoch": epoch + 1, "loss": float(loss.detach()), "reward_end": float((u_fire - ro.energies[-1].detach()).mean()),
               "dE": float((ro.energies[-1] - ro.energies[0]).detach().mean())}
        res.history.append(row)
    net.load_state_dict(best_state)
    res.cost = {"train_wall_s": time.perf_counter() - t0, "train_epochs": float(epoch),
                "train_evals": float(bb.n_energy - e0), "train_structures": float(tr.shape[0]),
                "val_structures": float(n_val)}
    return res


# ---------------------------------------------------------------------------------------------
# adaptation
# ---------------------------------------------------------------------------------------------


@dataclass
class AdaptResult:
    best_energy: Tensor  # (K,) lowest energy per target over epochs and seeds
    best_x: Tensor  # (K, 3N)
    best_seed: Tensor  # (K,)
    trace: list[list[float]]  # per epoch: best energy so far per target
    epochs_done: int
    cost: dict[str, float]


def adapt(net: StriderNet, bb: BlackBox, targets: Tensor, cfg: AdaptConfig, *,
          on_improve: Callable[[int, Tensor, float], None] | None = None,
          on_epoch: Callable[[int], None] | None = None,
          generator: torch.Generator | None = None) -> AdaptResult:
    """Adapt a private copy of ``net`` per target and seed (``targets``: (K, 3N)); see the module doc.

    ``on_improve(k, x, e)`` is called after an epoch for every target whose best energy dropped.
    Improvements are reported right after each rollout (before the update). When the time left is
    less than 1.5 epochs, it raises ``BudgetExhausted`` itself rather than be killed mid-update."""
    check_estimator(cfg.estimator)
    K, S = targets.shape[0], cfg.seeds
    M = K * S
    models = net.replicate(M) if net.n_models == 1 else net
    opt = torch.optim.Adam(models.parameters(), lr=cfg.lr)
    model_of = torch.arange(M, device=bb.device)
    x = targets.detach().repeat_interleave(S, dim=0).to(bb.device, bb.dtype)
    best_e = torch.full((M,), math.inf, dtype=bb.dtype, device=bb.device)
    best_x = x.clone()
    t0, e0 = time.perf_counter(), bb.n_energy
    trace: list[list[float]] = []
    reported = torch.full((K,), math.inf, dtype=bb.dtype)
    epoch = 0
    last_epoch_s = 0.0
    for epoch in range(1, cfg.epochs + 1):
        te = time.perf_counter()
        if bb.time_left() < 1.5 * last_epoch_s:  # an epoch would not finish: stop at a clean point
            raise BudgetExhausted("time")
        if on_epoch is not None:
            on_epoch(epoch)
        u_fire = (fire_baseline(bb, x, cfg.T, cfg.fire_dt) if cfg.estimator == "reinforce"
                  else torch.zeros(M, dtype=bb.dtype, device=bb.device))  # cancels from the pathwise gradient
        ro = rollout(models, bb, x, cfg.T, estimator=cfg.estimator, grad=True, model_of=model_of, generator=generator)
        E = ro.energies.detach()  # (T+1, M)
        E = torch.where(torch.isfinite(E), E, torch.full_like(E, math.inf))
        X = torch.stack([s.detach() for s in ro.states])  # (T+1, M, 3N)
        t_best = torch.argmin(E, 0)
        e_ep = E.gather(0, t_best[None])[0]
        better = e_ep < best_e
        best_e = torch.where(better, e_ep, best_e)
        best_x = torch.where(better[:, None], X[t_best, torch.arange(M)], best_x)
        # restart from the lowest-energy structure among the last three states
        last = E[-cfg.restart_from_last:]
        t_last = torch.argmin(last, 0) + (E.shape[0] - last.shape[0])
        x = X[t_last, torch.arange(M)].clone()
        tk = best_e.reshape(K, S).min(1)
        trace.append(tk.values.tolist())
        if on_improve is not None:  # before the update, so a budget stop during it loses nothing
            cpu = tk.values.cpu()
            for k in torch.nonzero(cpu < reported).flatten().tolist():
                reported[k] = cpu[k]
                on_improve(k, best_x[k * S + int(tk.indices[k])], float(cpu[k]))
        loss = loss_of(ro, u_fire, cfg, reduce="sum")
        _update(models, opt, loss, cfg.grad_clip)
        del ro, loss
        last_epoch_s = time.perf_counter() - te
    per_target = best_e.reshape(K, S)
    tk = per_target.min(1)
    bx = best_x.reshape(K, S, -1)[torch.arange(K), tk.indices]
    cost = {"adapt_wall_s": time.perf_counter() - t0, "adapt_epochs": float(epoch),
            "adapt_evals": float(bb.n_energy - e0)}
    return AdaptResult(tk.values, bx, tk.indices, trace, epoch, cost)


# ---------------------------------------------------------------------------------------------
# models on disk
# ---------------------------------------------------------------------------------------------


def save_model(path: str | Path, net: StriderNet, meta: dict[str, Any]) -> None:
    """``torch.save`` of the weights, the network config and metadata (training cost, config, data)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    single = net if net.n_models == 1 else net.select(0)
    torch.save({"format": MODEL_FORMAT, "config": single.config.as_dict(),
                "state_dict": {k: v.cpu() for k, v in single.state_dict().items()}, "meta": meta}, path)


def load_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[StriderNet, dict[str, Any]]:
    path = Path(path)
    if not path.is_file():
        raise GmbenchError(f"StriderNET model file not found: {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt or foreign file
        raise GmbenchError(f"cannot read StriderNET model {path}: {exc.__class__.__name__}") from None
    if not isinstance(blob, dict) or blob.get("format") != MODEL_FORMAT:
        raise GmbenchError(f"{path} is not a gmbench StriderNET model")
    net = StriderNet(PolicyConfig(**blob["config"]))
    net.load_state_dict(blob["state_dict"])
    return net.to(device), dict(blob.get("meta", {}))


# ---------------------------------------------------------------------------------------------
# a BlackBox outside the harness (CLI training, transfer, benches)
# ---------------------------------------------------------------------------------------------


def open_blackbox(problem, seed: int = 0, device: str | torch.device = "cpu", budget: Budget | None = None) -> BlackBox:
    """An (unlimited by default) float64 BlackBox on ``problem``, as the runner builds one."""
    device = torch.device(device)
    problem.prepare()
    gen = torch.Generator(device=device).manual_seed(seed)
    return BlackBox(problem.energy_fn(), problem.dim, problem.lower, problem.upper, device, torch.float64, gen,
                    budget or Budget(), Clock(device), problem.start_sampler(), problem.structure(),
                    problem.atom_energy_fn())


# ---------------------------------------------------------------------------------------------
# classical baselines on the same structures (paper Table 1 / Table 2 columns)
# ---------------------------------------------------------------------------------------------


# paper Table 6 / reference §4: (GD lr, Adam lr, FIRE dt_start, steps) per system
def _baseline_params(system: str) -> tuple[float, float, float, int]:
    """(GD lr, Adam lr, FIRE dt_start, steps) of the ``stridernet`` presets of the registered methods."""
    from gmbench.methods import make_method

    gd, adam, fire = (make_method(m, {"preset": "stridernet"}, system=system) for m in ("gd", "adam", "fire"))
    return gd.lr, adam.lr, fire.dt_start, gd.max_steps


BASELINE_PARAMS = {s: _baseline_params(s) for s in ("ka-lj", "sw-silicon", "csh")}


def baselines(bb: BlackBox, x0: Tensor, steps: int | None = None, gd_lr: float | None = None,
              adam_lr: float | None = None, fire_dt: float | None = None) -> dict[str, Tensor]:
    """Lowest energy along ``steps`` of GD, FIRE (dt_max = 4 dt_start) and Adam from each row of ``x0``;
    unset values are the paper's for the system (:data:`BASELINE_PARAMS`, read from the `stridernet`
    presets of the `gd`, `adam` and `fire` methods, so the two cannot drift apart)."""
    d = BASELINE_PARAMS[system_of(bb)]
    gd_lr = d[0] if gd_lr is None else gd_lr
    adam_lr = d[1] if adam_lr is None else adam_lr
    fire_dt = d[2] if fire_dt is None else fire_dt
    steps = d[3] if steps is None else steps
    out: dict[str, Tensor] = {}
    _, _, _, e = fire_relax(bb.energy_graph, x0, steps, stridernet_fire(fire_dt),
                            shift=lambda r, d: bb.clamp(r + d), track_best=True)
    out["FIRE"] = e
    for name in ("GD", "Adam"):
        x = x0.clone()
        best = torch.full((x0.shape[0],), math.inf, dtype=x0.dtype)
        m = torch.zeros_like(x)
        v = torch.zeros_like(x)
        for k in range(1, steps + 2):
            e, g = bb.energy_and_grad(x)
            best = torch.minimum(best, torch.where(torch.isfinite(e), e, torch.full_like(e, math.inf)))
            if k == steps + 1:
                break
            if name == "GD":
                x = bb.clamp(x - gd_lr * g)
            else:  # optax adam, no wrapping (the minimum-image energy does not need it)
                m = 0.9 * m + 0.1 * g
                v = 0.999 * v + 0.001 * g * g
                x = x - adam_lr * (m / (1 - 0.9**k)) / (torch.sqrt(v / (1 - 0.999**k)) + 1e-8)
        out[name] = best
    return out


# ---------------------------------------------------------------------------------------------
# timing benches (for `gmbench perf`)
# ---------------------------------------------------------------------------------------------


def _bench_setup(n_atoms: int, batch: int, device: str | torch.device, model: str | Path | None):
    from gmbench.problems import make_problem

    problem = make_problem("ka-lj", n=n_atoms, starts="md", pool=max(batch, 10))
    bb = open_blackbox(problem, 0, device)
    if model is not None:
        net, _ = load_model(model, bb.device)
    else:
        torch.manual_seed(0)
        net = StriderNet(PolicyConfig(system="ka-lj")).to(bb.device)
    return bb, net, bb.starts(batch)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_forward(n_steps: int = 100, batch: int = 1, n_atoms: int = 100, device: str | torch.device = "cpu",
                  model: str | Path | None = None) -> float:
    """Seconds for ``n_steps`` StriderNET forward steps (graph build, per-atom energies, network,
    sampled move) on ``batch`` KA-LJ structures of ``n_atoms`` atoms (paper Table 10: 54.3 s for 100
    steps on LJ-100). MD starting frames are generated (and cached) before the clock starts."""
    bb, net, x = _bench_setup(n_atoms, batch, device, model)
    rollout(net, bb, x, 2, grad=False)  # warm-up
    _sync(bb.device)
    t = time.perf_counter()
    with torch.no_grad():
        rollout(net, bb, x, n_steps, grad=False)
    _sync(bb.device)
    return time.perf_counter() - t


def bench_adapt(n_epochs: int = 100, T: int = 15, n_atoms: int = 100, device: str | torch.device = "cpu",
                model: str | Path | None = None, estimator: str = "pathwise") -> float:
    """Seconds for ``n_epochs`` adaptation epochs (one T-step trajectory and one update each) on one
    KA-LJ structure with one seed (paper Table 10: 1170 s per 100 epochs on LJ-100)."""
    bb, net, x = _bench_setup(n_atoms, 1, device, model)
    cfg = AdaptConfig(epochs=1, seeds=1, T=T, estimator=estimator)
    adapt(net, bb, x, cfg)  # warm-up
    cfg = AdaptConfig(epochs=n_epochs, seeds=1, T=T, estimator=estimator)
    _sync(bb.device)
    t = time.perf_counter()
    adapt(net, bb, x, cfg)
    _sync(bb.device)
    return time.perf_counter() - t


def config_dict(cfg: Any) -> dict[str, Any]:
    return asdict(cfg)
