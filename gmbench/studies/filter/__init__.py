"""``gmbench filter``: the seed paper's selection of test functions (Appendix A.1), 30 -> 14 -> 8 -> 2.

Step 1 (properties, no computation). Of the 30 Plevris & Solorzano functions, keep those that are
multimodal (more than one local minimum at the run's dimension D), have a defined global minimum in
R^D, and are continuous and differentiable, reading the declared :class:`~gmbench.problems.base.Properties`.
"A defined global minimum" is read as *attained in R^D by a single minimizer* (``global_min_defined``
and ``unique_minimizer``): that is what drops Weierstrass (integer lattice) and Perm, as the paper does
(Appendix A.1; the minimizer sets are those of Plevris & Solorzano, Data 7(4), 46, 2022); the table says what the looser reading would add. F18 is represented by the
paper's variant ``schaffer-f7-paper`` (V = S/n; same properties and minimizers as F18). The paper
keeps 14; the declared properties give 6 (the other 8 are not differentiable everywhere, and more).

Step 2 (Adam cannot solve it). The paper's Adam protocol (Appendix A.3) through
:class:`~gmbench.methods.adam_sweep.AdamSweep` on a :class:`~gmbench.core.blackbox.BlackBox` (float32, no
budget), candidates through :class:`~gmbench.run.recorder.Inbox`, assessed in float64 by
:class:`~gmbench.run.recorder.Recorder`. Every problem lives on [-100, 100]^D as in the paper. The
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

from gmbench.studies.filter.config import (PAPER_2, PAPER_8, PAPER_14, PROTOCOL, SCALES, FilterConfig,
                                           make_config)
from gmbench.studies.filter.experiments import collection, step1, step2_one, step3_one
from gmbench.studies.filter.render import learn_verdict, render
from gmbench.studies.filter.run import FilterResult, load_latest, run_filter, step2_input, step3_input
from gmbench.studies.filter.storage import FilterStore

__all__ = ["PAPER_2", "PAPER_8", "PAPER_14", "PROTOCOL", "SCALES", "FilterConfig", "FilterResult", "FilterStore",
           "collection", "learn_verdict", "load_latest", "make_config", "render", "run_filter", "step1", "step2_input",
           "step2_one", "step3_input", "step3_one"]
