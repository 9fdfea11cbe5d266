"""StriderNET (Bihani, Manchanda, Ranu & Krishnan, ICML 2023): the benchmark method (``method``) and its
learning code: rollouts, training, adaptation, saved models and the classical baselines.

Everything acts through a :class:`~gmbench.core.blackbox.BlackBox` (energies, per-atom energies,
starting structures, the structure's species and box), so the same code trains inside a benchmark
cell (every evaluation charged to the method's budget) and from the CLI (an unlimited BlackBox on the
training frames). The network is :class:`gmbench.models.gnn.StriderNet`. Where the paper and the
authors' public code (M3RG-IITD/StriderNET, JAX/jax-md) differ, the choice is stated here.

Modules: ``method`` (the benchmark method), ``config`` (settings), ``rollout`` (rollouts, returns,
loss), ``train``, ``adapt``, ``model_io`` (policies on disk, a BlackBox outside the harness),
``baselines`` (GD/Adam/FIRE columns). The paper's experiments (training from the CLI, the timing
benches) live in :mod:`gmbench.studies.stridernet`; nothing here imports a problem.

**Rollout** (paper Sec. 3.2 and 3.4). From structures S_0 the policy takes T steps,
S_{t+1} = wrap(S_t + a_t), a_t = μ_θ(S_t) + std·ε. The per-step reward is R_t = U_FIRE − U(S_{t+1}),
where U_FIRE is the energy FIRE (dt_start 0.01, dt_max 0.04: the authors' ``FIRE_desc``) reaches in
T steps from S_0 (computed once per rollout, the paper's baseline b(S)); D_t = Σ_k γ^k R_{t+k}, γ = 0.9.

**Two estimators** (``estimator``):

* ``"reinforce"`` - the paper's Eq. 10 as written: REINFORCE with the FIRE baseline, the
  score-function gradient −Σ_t ∇_θ log π_θ(a_t | S_t) · D_t with the states and returns held fixed and
  log π the Gaussian log-density of the sampled action (it really depends on θ through μ).
* ``"pathwise"`` (default) - what the authors' training code computes: the log-density there is
  built from the noise alone and carries no gradient, so the gradient is back-propagation of Σ_t D_t
  through the differentiable trajectory (energies and the features of every later state); U_FIRE
  cancels from it. The code's random weights |log π_t| (nearly constant, ≈ 150 for N = 100 in the LJ
  run) are replaced by 1, which changes only the scale. The paper's numbers, if any, come from this
  variant: it is the only one in the published code.

**Training** (paper Sec. 3.5, App. D Table 5): a 75:25 train/validation split of the training
structures, minibatches of 4 structures with 2 accumulated (one step on 8 structures, the loss
averaged per structure), T = 15, Adam (lr 5e-3) after an element-wise gradient clip at 0.1 (optax
``clip``, as the code; the paper's "clip 0.1"), validation every 20 epochs with ⟨E_20 − E_0⟩ (T = 20,
no update). The saved model is the one with the best validation metric (the code keeps every
checkpoint). A non-finite gradient entry (a trajectory that pushed atoms into overlap) is set to 0
before the clip.

**Adaptation** (paper Sec. 3.5 and 4.5; not in the public code). For each target structure and each
of ``seeds`` seeds, a private copy of the trained policy is optimised together with the structure:
each epoch runs one T-step trajectory and one update (the training loss), and the next epoch starts
from the lowest-energy structure among the last three states of the trajectory (the paper: "a lower
energy configuration sampled from the last three steps" - we take the lowest). The result per target
is the lowest energy visited over all epochs and seeds. All copies run as one batched program (see
``gmbench.models.gnn``).
"""

from __future__ import annotations

from gmbench.methods.stridernet.adapt import AdaptResult, adapt
from gmbench.methods.stridernet.baselines import BASELINE_PARAMS, baselines
from gmbench.methods.stridernet.config import (
    ESTIMATORS,
    AdaptConfig,
    LearnConfig,
    TrainConfig,
    check_estimator,
    config_dict,
    system_of,
)
from gmbench.methods.stridernet.method import StriderNetMethod
from gmbench.methods.stridernet.model_io import MODEL_FORMAT, load_model, open_blackbox, save_model
from gmbench.methods.stridernet.rollout import Rollout, fire_baseline, loss_of, returns, rollout, update
from gmbench.methods.stridernet.train import TrainResult, train

__all__ = [
    "ESTIMATORS", "MODEL_FORMAT", "BASELINE_PARAMS", "AdaptConfig", "AdaptResult", "LearnConfig", "Rollout",
    "StriderNetMethod", "TrainConfig", "TrainResult", "adapt", "baselines", "check_estimator", "config_dict",
    "fire_baseline", "load_model", "loss_of", "open_blackbox", "returns", "rollout", "save_model", "system_of",
    "train", "update",
]
