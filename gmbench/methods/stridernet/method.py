"""StriderNET (Bihani, Manchanda, Ranu & Krishnan, ICML 2023) as a benchmark method.

A graph policy (``gmbench.models.gnn``) displaces every atom at every step; it is trained on starting
structures and then *adapted* to each target structure (``gmbench.methods.stridernet`` has the algorithms and
the paper-versus-code choices). The cell's targets are the first ``n_targets`` structures of
``bb.starts``; the lowest-energy structure visited for target k is reported with ``start=k`` whenever
it improves, so the harness can form the paper's Table 1 (per-target minima, then Min and Mean).

``model``: a policy saved by ``gmbench stridernet train`` (trained on other structures of the same
system, e.g. the reference's training split). Its training cost is not part of this cell's budget;
it is reported with every adapted candidate as the scalars ``train_wall_s``, ``train_epochs`` and
``train_evals`` (from the model file; the starting structures, reported first, carry only ``start``,
``adapt_epoch`` = 0 and ``adapt_wall_s`` = 0) so reports can show training and adaptation cost side by side;
the cell's own time and evaluations are the adaptation cost (scalars ``adapt_epoch`` and
``adapt_wall_s`` as well). Without a model the policy is trained inside the budget on at most
``n_train`` structures that are not targets, as in the paper (which trains on structures other than
the ones it is evaluated on): ``n_targets + n_train`` structures are drawn from ``bb.starts`` in one
call (a sampler over a fixed pool draws a permutation, so they are distinct up to the pool's size),
the first ``n_targets`` are the targets, and of the rest every structure equal to a target, or to an
earlier one, is dropped; fewer than 2 left is an error (the pool is too small to train without
seeing the targets). Training runs for at most ``train_epochs`` epochs or ``train_time_fraction`` of
the time budget; those costs are measured in-cell and counted against the budget like everything else.

Defaults are the paper's: T = 15, γ = 0.9, Adam lr 5e-3, element-wise clip 0.1, 1000 adaptation
epochs, best of 10 seeds per target, 10 targets; ``estimator`` "pathwise" is what the authors' code
computes, "reinforce" the paper's Eq. 10 (see ``gmbench.methods.stridernet``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from gmbench.core.blackbox import BlackBox
from gmbench.core.errors import GmbenchError
from gmbench.methods.base import Method, Report, register_method
from gmbench.methods import stridernet as sn


@register_method("stridernet", aliases=("strider-net",))
@dataclass
class StriderNetMethod(Method):
    summaries = ("per_start", "training_cost")  # per-target energies and the policy's training cost
    model: str | None = None
    n_targets: int = 10
    adapt_epochs: int = 1000
    seeds: int = 10
    estimator: str = "pathwise"
    T: int = 15
    gamma: float = 0.9
    lr: float = 5e-3
    grad_clip: float = 0.1
    n_train: int = 60
    train_epochs: int = 800
    train_time_fraction: float = 0.5

    def __post_init__(self) -> None:
        sn.check_estimator(self.estimator)
        for k in ("n_targets", "adapt_epochs", "seeds", "T", "n_train", "train_epochs"):
            if getattr(self, k) < 1:
                raise GmbenchError(f"method 'stridernet': {k} must be >= 1, got {getattr(self, k)}")
        if not 0 < self.train_time_fraction <= 1:
            raise GmbenchError("method 'stridernet': train_time_fraction must be in (0, 1]")

    def run(self, bb: BlackBox, report: Report) -> None:
        system = sn.system_of(bb)
        if self.model is None:  # targets and training structures in one draw, then made disjoint
            drawn = bb.starts(self.n_targets + self.n_train)
            targets, structures = drawn[:self.n_targets], disjoint_from(drawn[self.n_targets:], drawn[:self.n_targets])
            if structures.shape[0] < 2:
                raise GmbenchError(
                    f"method 'stridernet': training needs at least 2 starting structures that are not targets; the "
                    f"problem's starting structures left {structures.shape[0]} besides the {self.n_targets} targets "
                    "(a pool of hardly more frames than targets): use a larger pool, fewer n_targets, or a policy "
                    "trained beforehand on other structures (model: PATH)")
        else:
            targets = bb.starts(self.n_targets)
        for k in range(self.n_targets):  # the starting structures themselves are the first candidates
            report(targets[k], start=k, adapt_epoch=0, adapt_wall_s=0.0)
        if self.model is not None:
            net, meta = sn.load_model(self.model, bb.device)
            if net.config.system != system:
                raise GmbenchError(f"model {self.model} was trained on {net.config.system}, the problem is {system}")
            cost = {k: float(meta.get("cost", {}).get(k, math.nan)) for k in ("train_wall_s", "train_epochs", "train_evals")}
        else:
            limit = None if not math.isfinite(bb.time_left()) else self.train_time_fraction * bb.time_left()
            tcfg = sn.TrainConfig(epochs=self.train_epochs, T=self.T, gamma=self.gamma, lr=self.lr,
                                  grad_clip=self.grad_clip, estimator=self.estimator,
                                  val_every=max(1, min(20, self.train_epochs)),
                                  seed=int(torch.randint(0, 2**31 - 1, (1,), generator=bb.generator,
                                                         device=bb.generator.device)))
            res = sn.train(bb, tcfg, structures, time_limit=limit)
            net = res.net
            cost = {k: float(res.cost[k]) for k in ("train_wall_s", "train_epochs", "train_evals")}
        t0 = time.perf_counter()
        epoch = [0]

        def on_improve(k: int, x: torch.Tensor, e: float) -> None:
            report(x, start=k, adapt_epoch=epoch[0], adapt_wall_s=time.perf_counter() - t0, **cost)

        acfg = sn.AdaptConfig(epochs=self.adapt_epochs, seeds=self.seeds, T=self.T, gamma=self.gamma, lr=self.lr,
                              grad_clip=self.grad_clip, estimator=self.estimator)

        sn.adapt(net, bb, targets, acfg, on_improve=on_improve, generator=bb.generator,
                 on_epoch=lambda ep: epoch.__setitem__(0, ep))


def disjoint_from(candidates: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The rows of ``candidates`` (n, D) equal to no row of ``targets`` (m, D) and to no earlier row of
    ``candidates``, in order (exact equality: structures drawn from a pool are copies of its frames)."""
    if candidates.shape[0] == 0:
        return candidates
    is_target = (candidates[:, None, :] == targets[None, :, :]).all(-1).any(-1) if targets.shape[0] else \
        torch.zeros(candidates.shape[0], dtype=torch.bool, device=candidates.device)
    same = (candidates[:, None, :] == candidates[None, :, :]).all(-1)
    repeat = torch.tril(same, diagonal=-1).any(-1)
    return candidates[~(is_target | repeat)]
