"""The action-functional method (Algorithm 1 of the seed paper) and its sample-only baseline.

Both train a PLNet surrogate f_θ(x) = ½‖G(x̃)‖² + c (the paper's; an output scale s is an option) of the energy U, whose unique stationary point
is its global minimum x* = G⁻¹(0), and report the learned minimum as a candidate every iteration.

* Warm start (both methods): ``warm_epochs`` epochs of ``warm_batches`` optimiser steps, each on
  ``batch_size`` points drawn uniformly from the bounds, loss = MSE between f_θ and the normalised U.
* ``action-functional`` then iterates: draw ``n_traj`` uniform starting points; run gradient descent
  on f_θ (not on U) until the points have converged together (max pairwise distance < ``eps``) or
  ``max_traj_steps``; the trajectory points are the training set; loss = Σ over trajectories of the
  MSE along each trajectory; one optimiser step with the gradient norm clipped at ``clip``.
* ``sample-only`` (the paper's "Standard Baseline") continues the warm-start training on uniform
  samples indefinitely; one iteration = one epoch.

Both report the learned minimum after every iteration (and every ``warm_report_every`` warm-start
epochs, and once before the warm start, right after the first batch of evaluations), with the losses
as trace scalars (the paper's Figure 4); the harness's final prediction is the lowest-energy candidate,
the paper's rule. With the same seed both methods run the identical warm start.

Which defaults are the paper's (Algorithm 1, §5, App. A.2): 200 warm-start epochs, gradient-norm
clipping at 0.5, a PLNet (BiLipNet + quadratic head), the selection of the lowest-energy learned
minimum. The paper's text gives no widths, depth, μ, ν, learning rates, batch sizes, ε or step caps.
Ours (documented choices):

* network: depth 2, units [256]×8 (the PLNet authors' 20-D setup, N = 2048 ≥ D up to 2048), and
  μ = 0.5, ν = 2 (the PLNet authors' 2-D default). With their other default (μ = 0.1, ν = 10) gradient
  descent on f_θ contracts by only 1 − μ²/ν² = 1 − 10⁻⁴ per step, so trajectories would need ~10⁵ steps;
* coordinates: the network sees x̃ = (x − x₀)/h with h the half-width of the box and x₀ drawn uniformly
  from the box by the method's seeded generator. The PLNet's zero-bias initialisation has x* at x̃ = 0,
  so without the random x₀ the untrained network would "predict" the box centre, which is the answer
  of both paper problems: that would be a win by construction, not by learning;
* the surrogate is the paper's: f_θ = PLNet = ½‖G(x̃)‖² + c, no output scale (``output_scale: none``,
  the default), c initialised to 0 as in the PLNet authors' code. The paper states no initialisation of
  the network's origin (beyond the PLNet's own zero biases); the random x₀ above is ours. The energies are
  normalised a priori with the mean and standard deviation of ``norm_samples`` uniform points (counted
  evaluations), as the paper does for its learnability test (App. A.1; it says nothing for Algorithm 1).
  Not in the paper, available as explicit variants: ``output_scale: fixed`` multiplies the PLNet by a
  constant s chosen from the first samples so that predictions start with standard deviation 1 (and c
  so that they start with mean 0); ``output_scale: learned`` (gmbench's default before 2026-12) makes
  s = exp(a) a learnable parameter with that initialisation. Measured on the paper's two functions at
  D = 100, 92-100 % of the action loss's gradient norm goes into a, so after clipping an action step
  mostly rescales the surrogate (the suite plnet-ablation measures the variants). Every action iteration reports the
  share of the gradient norm per parameter group (``share_scale``, ``share_c``, ``share_orth``,
  ``share_mon``) and how far the learned minimum moved (``moved``);
* θ is updated as Algorithm 1 writes it, θ ← θ − ∇L (``optimizer: sgd``, ``lr`` = 1) with the norm clipped at
  0.5; ``optimizer: adam`` is available. A warm-start epoch is one step on ``batch_size`` = 1000 uniform
  points (``warm_batches`` = 1), mirroring the action phase where each epoch is one step;
* trajectories: ``n_traj`` = 100 starts, step ``traj_step``/(s·ν²) in x̃ (the certified smoothness scale),
  ``eps`` = 1.0 in x units, at most ``max_traj_steps`` = 200 steps; at most ``max_traj_points`` points
  per loss (steps subsampled evenly, every trajectory keeps its start and end);
* the minimiser is extracted with the Davis–Yin inverse at ``inv_tol`` (dtype default) and at most
  ``inv_max_iter`` iterations per layer; iteration counts go into the trace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn

from gmbench.core.autodiff import energy_and_grad
from gmbench.core.blackbox import BlackBox
from gmbench.models.plnet import PLNet
from gmbench.methods.base import IterationPlot, Method, Report, Series, register_method


OutputScale = Literal["none", "fixed", "learned"]


class Surrogate(nn.Module):
    """f_θ(x) = s·PLNet((x − x₀)/h), in normalised-energy units; s = exp(a) is 1 (``none``, the paper), a
    constant (``fixed``) or a learnable parameter (``learned``)."""

    def __init__(self, net: PLNet, x0: Tensor, half: Tensor, output_scale: OutputScale = "none"):
        super().__init__()
        self.net = net
        a = torch.zeros((), device=x0.device, dtype=x0.dtype)
        if output_scale == "learned":
            self.log_scale = nn.Parameter(a)
        else:
            self.register_buffer("log_scale", a)
        self.register_buffer("x0", x0)
        self.register_buffer("halfwidth", half)

    def to_net(self, x: Tensor) -> Tensor:
        return (x - self.x0) / self.halfwidth

    def from_net(self, z: Tensor) -> Tensor:
        return self.x0 + self.halfwidth * z

    def forward_net(self, z: Tensor) -> Tensor:
        return self.log_scale.exp() * self.net(z)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_net(self.to_net(x))


@dataclass
class _PLNetTrainer(Method):
    plots = IterationPlot("iteration", warm=("phase", 0.0))  # the learned minimum per iteration (Figs 2-3)
    units: list[int] = field(default_factory=lambda: [256] * 8)
    depth: int = 2
    mu: float = 0.5
    nu: float = 2.0
    optimizer: str = "sgd"
    lr: float = 1.0
    batch_size: int = 1000
    warm_batches: int = 1
    warm_epochs: int = 200
    warm_report_every: int = 10
    norm_samples: int = 1000
    clip: float = 0.5
    inv_tol: float | None = None
    inv_max_iter: int = 1000
    output_scale: OutputScale = "none"

    # ---- shared pieces ------------------------------------------------------------------------
    def memory_param(self) -> str:
        return f"{self.name}'s units or batch_size"

    def memory_bytes(self, dim: int, dtype_bytes: int, problem_bytes) -> int:
        """The PLNet (section 2.6 of the PLNet paper: depth+1 orthogonal D x D layers, each Cayley
        transform a few D x D temporaries, and depth monotone layers of N = sum(units) hidden units,
        N x D and N x N weights) with gradients and optimiser state (x4), the activations of one
        batch, the first batch of evaluations, and (action functional) the trajectory points."""
        n = sum(self.units)
        weights = (self.depth + 1) * 4 * dim * dim + self.depth * (n * dim + n * n)
        activations = self.batch_size * (dim + n) * self.depth * 6
        trajectories = int(getattr(self, "max_traj_points", 0)) * dim
        return (problem_bytes(max(self.batch_size, self.norm_samples))
                + (4 * weights + activations + trajectories) * dtype_bytes)

    def setup(self, bb: BlackBox) -> None:
        x0 = bb.uniform(1)[0]
        half = (bb.upper - bb.lower) / 2
        seed = int(torch.randint(2**62, (1,), generator=bb.generator, device=bb.generator.device))
        with torch.random.fork_rng(devices=[bb.device] if bb.device.type == "cuda" else []):
            torch.manual_seed(seed)  # the initialisation depends on the cell's seed only
            net = PLNet(bb.dim, self.units, self.depth, self.mu, self.nu, device=bb.device, dtype=bb.dtype)
        self.model = Surrogate(net, x0, half, self.output_scale)
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        opt = torch.optim.SGD if self.optimizer == "sgd" else torch.optim.Adam
        self.opt = opt(self.model.parameters(), lr=self.lr)
        # the first batch of evaluations; the initialised network's learned minimum is reported right
        # after it (warm_start), so even a tiny budget ends with a candidate (fewer points when the
        # evaluation budget is smaller, one evaluation kept for that report)
        xs = bb.uniform(max(2, int(min(self.norm_samples, bb.evals_left - 1))))
        y = bb.energy(xs)
        ok = torch.isfinite(y)
        self.y_mean = y[ok].mean()
        self.y_std = y[ok].std().clamp_min(1e-12)
        if self.output_scale != "none":  # ours: predictions start with mean 0 and std 1 on these samples
            with torch.no_grad():
                q = self.model.net(self.model.to_net(xs[ok]))
                self.model.log_scale.fill_(-float(torch.log(q.std().clamp_min(1e-12))))
                self.model.net.c.fill_(-float(q.mean()))
        self.iteration = 0
        self.warm_loss = math.nan

    def target(self, y: Tensor) -> Tensor:
        return (y - self.y_mean) / self.y_std

    def step(self, loss: Tensor) -> float:
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.shares = self.gradient_shares()
        gnorm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.opt.step()
        return float(gnorm)

    def gradient_shares(self) -> dict[str, float]:
        """The share of the loss gradient's squared norm (before clipping) per parameter group: the output
        scale, the offset c, the orthogonal and the monotone layers of G (they sum to 1)."""
        m = self.model
        groups = {"share_scale": [m.log_scale] if isinstance(m.log_scale, nn.Parameter) else [],
                  "share_c": [m.net.c], "share_orth": list(m.net.G.orth.parameters()),
                  "share_mon": list(m.net.G.mon.parameters())}
        sq = {k: sum(float((p.grad.detach() ** 2).sum()) for p in ps if p.grad is not None) for k, ps in groups.items()}
        total = sum(sq.values())
        return {k: v / total if total > 0 else math.nan for k, v in sq.items()}

    def warm_epoch(self, bb: BlackBox) -> float:
        total = 0.0
        for _ in range(self.warm_batches):
            x = bb.uniform(self.batch_size)
            y = self.target(bb.energy(x))
            loss = torch.mean((self.model(x) - y) ** 2)
            self.step(loss)
            total += float(loss.detach())
        self.warm_loss = total / self.warm_batches
        return self.warm_loss

    @torch.no_grad()
    def learned_minimum(self) -> tuple[Tensor, dict[str, float]]:
        z, info = self.model.net.minimizer(tol=self.inv_tol, max_iter=self.inv_max_iter)
        x = self.model.from_net(z)
        return x, {"inv_iters": float(info.total_iterations), "inv_converged": float(info.all_converged)}

    def report_minimum(self, report: Report, phase: float, **scalars: float) -> None:
        x, extra = self.learned_minimum()
        if torch.isfinite(x).all():
            prev = getattr(self, "_last_minimum", None)
            moved = float(torch.linalg.vector_norm(x - prev)) if prev is not None else math.nan
            self._last_minimum = x
            report(x, iteration=float(self.iteration), phase=phase, warm_loss=self.warm_loss, moved=moved, **extra,
                   **scalars)

    def warm_start(self, bb: BlackBox, report: Report) -> None:
        self.report_minimum(report, phase=0.0)
        for epoch in range(1, self.warm_epochs + 1):
            self.warm_epoch(bb)
            if epoch % self.warm_report_every == 0 or epoch == self.warm_epochs:
                self.report_minimum(report, phase=0.0, epoch=float(epoch))


@register_method("action-functional", aliases=("af",))
@dataclass
class ActionFunctional(_PLNetTrainer):
    __doc__ = __doc__
    plots = IterationPlot("iteration", warm=("phase", 0.0), series=(  # + the trajectory loss (Fig. 4)
        Series("traj_loss", "mean-squared y loss on the GD trajectories", log=True, title="trajectory loss",
               file="trajectory_loss"),))
    n_traj: int = 100
    traj_step: float = 1.0
    eps: float = 1.0
    max_traj_steps: int = 200
    max_traj_points: int = 20000

    def trajectories(self, bb: BlackBox) -> tuple[Tensor, int, float]:
        """Gradient descent on f_θ from ``n_traj`` uniform starts; returns (T, n, D) points in x units."""
        m = self.model
        z = m.to_net(bb.uniform(self.n_traj))
        step = self.traj_step / (float(m.log_scale.detach().exp()) * self.nu**2)
        points = [z]
        spread = math.inf
        with m.net.cached():
            for _ in range(self.max_traj_steps):
                _, g = energy_and_grad(m.forward_net, z)
                z = (z - step * g).detach()
                points.append(z)
                spread = float(torch.pdist(m.from_net(z)).max()) if z.shape[0] > 1 else 0.0
                if spread < self.eps:
                    break
        traj = torch.stack(points)  # (T, n, D) in net coordinates
        t = traj.shape[0]
        keep = max(2, min(t, self.max_traj_points // max(1, self.n_traj)))
        idx = torch.linspace(0, t - 1, keep, device=traj.device).round().long().unique()
        return m.from_net(traj[idx]), t - 1, spread

    def run(self, bb: BlackBox, report: Report) -> None:
        self.setup(bb)
        self.warm_start(bb, report)
        while True:
            self.iteration += 1
            traj, n_steps, spread = self.trajectories(bb)
            y = self.target(bb.energy(traj))  # (T, n)
            pred = self.model(traj)
            loss = ((pred - y) ** 2).mean(dim=0).sum()  # MSE along each trajectory, summed over trajectories
            gnorm = self.step(loss)
            self.report_minimum(report, phase=1.0, traj_loss=float(loss.detach()) / self.n_traj, traj_steps=float(n_steps),
                                traj_spread=spread, grad_norm=gnorm, **self.shares)


@register_method("sample-only", aliases=("standard-baseline",))
@dataclass
class SampleOnly(_PLNetTrainer):
    """The paper's 'Standard Baseline': the action-functional method's network and warm start, trained on
    uniform samples only, indefinitely; the learned minimum is reported after every epoch (= iteration).
    Same defaults as ``action-functional`` (see its docstring for which are the paper's)."""

    def run(self, bb: BlackBox, report: Report) -> None:
        self.setup(bb)
        self.warm_start(bb, report)
        while True:
            self.iteration += 1
            loss = self.warm_epoch(bb)
            self.report_minimum(report, phase=1.0, sample_loss=loss)
