"""Quadratic surrogate: least-squares quadratic response surface on uniform samples, minimised in the box.

The classical response-surface baseline (Box & Wilson, "On the experimental attainment of optimum
conditions", J. R. Stat. Soc. B 13(1), 1951, §§3-5: fit a second-order polynomial to observed
responses by least squares and move to its stationary point). It is the floor a learned-surrogate
method (the action-functional PLNet) has to beat: a network trained on uniform samples of the same
energy should at least find what a quadratic fitted to those samples finds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from gmbench.core.blackbox import BlackBox
from gmbench.core.errors import GmbenchError
from gmbench.methods.base import Method, Report, register_method

MODELS = ("separable", "full")


@register_method("quadratic-surrogate", aliases=("quadratic",))
@dataclass
class QuadraticSurrogate(Method):
    """Draw ``batch_size`` uniform points (``bb.uniform``), evaluate them (``bb.energy``), add them to
    the normal equations, refit the quadratic model by least squares and report its minimizer inside
    the box; repeat until the budget ends. Only uniform samples and energies are used (no gradients,
    unless ``local_steps`` > 0).

    Model, in the scaled coordinates z = (x − centre) / half-width ∈ [−1, 1]^D:

    * ``model: separable`` (default): m(z) = a + Σ_i b_i z_i + c_i (z_i² − 1/3), 2D + 1 parameters.
    * ``model: full``: m(z) = a + bᵀz + Σ_{i≤j} c_ij (z_i z_j − δ_ij/3), 1 + D + D(D+1)/2
      parameters; refused above ``max_full_dim`` (default 60, i.e. at most 1,891 parameters: the
      normal equations grow as the square of that and every batch costs n·p² operations).

    Numerics: the features are centred and scaled so that, under uniform sampling, they are
    uncorrelated in expectation (E z_i = 0, E(z_i² − 1/3) = 0, E z_i z_j = 0) and of unit order; the
    normal equations XᵀX and Xᵀy are accumulated in float64 over all samples so far (one refit costs
    a p×p Cholesky solve, independent of the number of samples), and are solved jointly (not
    coordinate by coordinate: the empirical cross terms are not zero) with a ridge term
    ``ridge`` × mean(diag XᵀX) on every coefficient but the intercept (Hoerl & Kennard,
    Technometrics 12(1), 1970), raised tenfold if the factorisation still fails.

    Minimizer inside the box:

    * separable: per coordinate, exactly. With c_i > 0 the 1-D model is convex and its box minimizer
      is clamp(−b_i / 2c_i, −1, 1); with c_i ≤ 0 (concave or linear along that coordinate) it is the
      box edge with the lower model value, z_i = −sign(b_i) (the lower edge if b_i = 0).
    * full: the box-constrained QP min m(z), z ∈ [−1, 1]^D, by ``qp_steps`` projected-gradient steps
      of size 1/‖H‖₂ from the clamped Newton point (from the centre if the Hessian is not positive
      definite). For a convex model this converges to the box minimizer; for a non-convex one it
      finds a local minimizer of the model in the box.

    Refits: after the first batch, then whenever the number of samples has grown by the factor
    ``refit_growth`` (default 1.1: about 25 refits per decade of samples, so a long budget does not
    fill the trace with one report per batch; 1.0 refits after every batch), and after the last batch
    the budget allows (an evaluation budget that leaves no room for another batch, or a time budget
    with less than two batch durations left).

    ``local_steps`` > 0: after every refit (and the report of the model's minimizer), that many steps
    of projected Adam on the true energy from the model's minimizer (learning rate ``local_lr`` ×
    half-width); the lowest-energy point of the descent is reported if it improved on its start.

    The first candidate is reported right after the first batch (with fewer samples than
    parameters the ridge term still makes the fit well posed), so a short budget never ends without
    one; under an evaluation budget the batch shrinks to what is left (one evaluation is kept for
    the report).
    """

    batch_size: int = 4096
    model: str = "separable"
    ridge: float = 1e-8
    max_full_dim: int = 60
    qp_steps: int = 200
    refit_growth: float = 1.1
    local_steps: int = 0
    local_lr: float = 0.01

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise GmbenchError(f"quadratic-surrogate: model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.batch_size < 1:
            raise GmbenchError(f"quadratic-surrogate: batch_size must be >= 1, got {self.batch_size}")
        if not self.ridge >= 0:
            raise GmbenchError(f"quadratic-surrogate: ridge must be >= 0, got {self.ridge}")
        if not self.refit_growth >= 1.0:
            raise GmbenchError(f"quadratic-surrogate: refit_growth must be >= 1, got {self.refit_growth}")
        if self.local_steps < 0 or self.qp_steps < 0:
            raise GmbenchError("quadratic-surrogate: local_steps and qp_steps must be >= 0")

    # ---- features ---------------------------------------------------------------------------------
    def _features(self, z: Tensor) -> Tensor:
        """(n, D) scaled points -> (n, p) centred features, float64."""
        n, d = z.shape
        one = torch.ones(n, 1, dtype=z.dtype, device=z.device)
        if self.model == "separable":
            return torch.cat([one, z, z * z - 1.0 / 3.0], dim=1)
        i, j = torch.triu_indices(d, d, device=z.device)
        quad = z[:, i] * z[:, j] - (i == j).to(z.dtype) / 3.0
        return torch.cat([one, z, quad], dim=1)

    def _solve(self, gram: Tensor, rhs: Tensor) -> Tensor:
        p = gram.shape[0]
        scale = float(gram.diagonal().mean()) or 1.0
        mask = torch.ones(p, dtype=gram.dtype, device=gram.device)
        mask[0] = 0.0  # the intercept is not shrunk
        lam = self.ridge * scale
        for _ in range(8):
            a = gram + torch.diag(mask * lam)
            chol, info = torch.linalg.cholesky_ex(a)
            if int(info) == 0:
                return torch.cholesky_solve(rhs[:, None], chol)[:, 0]
            lam = max(lam * 10.0, 1e-12 * scale)
        return torch.linalg.lstsq(gram, rhs[:, None]).solution[:, 0]

    # ---- minimizer of the model in [-1, 1]^D ---------------------------------------------------------
    def _argmin(self, theta: Tensor, d: int) -> Tensor:
        b = theta[1:1 + d]
        if self.model == "separable":
            c = theta[1 + d:]
            edge = torch.where(b > 0, -torch.ones_like(b), torch.ones_like(b))
            edge = torch.where(b == 0, -torch.ones_like(b), edge)
            inner = (-b / (2.0 * torch.where(c > 0, c, torch.ones_like(c)))).clamp(-1.0, 1.0)
            return torch.where(c > 0, inner, edge)
        i, j = torch.triu_indices(d, d, device=theta.device)
        h = torch.zeros(d, d, dtype=theta.dtype, device=theta.device)
        h[i, j] = theta[1 + d:]
        h = h + h.T  # m(z) = const + bᵀz + ½ zᵀHz with H = C + Cᵀ (the diagonal doubled)
        evals = torch.linalg.eigvalsh(h)
        if float(evals.min()) > 0:
            z = torch.linalg.solve(h, -b).clamp(-1.0, 1.0)
        else:
            z = torch.zeros(d, dtype=theta.dtype, device=theta.device)
        lip = float(evals.abs().max())
        if lip > 0:
            for _ in range(self.qp_steps):
                z = (z - (h @ z + b) / lip).clamp(-1.0, 1.0)
        return z

    # ---- run ----------------------------------------------------------------------------------------
    def run(self, bb: BlackBox, report: Report) -> None:
        d = bb.dim
        if self.model == "full" and d > self.max_full_dim:
            raise GmbenchError(f"quadratic-surrogate: model 'full' is limited to D <= max_full_dim = "
                               f"{self.max_full_dim} (got D = {d}); use model: separable")
        f64 = torch.float64
        lo, hi = bb.lower.to(f64), bb.upper.to(f64)
        centre, half = (lo + hi) / 2, (hi - lo) / 2
        p = 1 + 2 * d if self.model == "separable" else 1 + d + d * (d + 1) // 2
        gram = torch.zeros(p, p, dtype=f64, device=bb.device)
        rhs = torch.zeros(p, dtype=f64, device=bb.device)
        reserve = 1 + (self.local_steps + 2 if self.local_steps > 0 else 0)  # evaluations a refit uses
        n_seen, next_refit, batch_s = 0, 0, 0.0
        while True:
            n = int(min(self.batch_size, bb.evals_left - reserve))
            if n < 1:
                return
            t0 = bb.elapsed()
            x = bb.uniform(n)
            e = bb.energy(x).to(f64)
            ok = torch.isfinite(e)
            if not bool(ok.all()):  # a non-finite sample carries no information about the quadratic
                x, e = x[ok], e[ok]
            feats = self._features((x.to(f64) - centre) / half)
            gram.addmm_(feats.T, feats)
            rhs.addmv_(feats.T, e)
            n_seen += n
            batch_s = bb.elapsed() - t0
            # the last batch: the evaluations left after this refit leave none for another batch, or
            # less time is left than two batches take
            last = bb.evals_left - 2 * reserve < 1 or bb.time_left() < 2.0 * batch_s
            if float(gram[0, 0]) == 0.0 or (n_seen < next_refit and not last):
                continue  # (no finite energy yet: nothing to fit)
            next_refit = max(n_seen + 1, math.ceil(n_seen * self.refit_growth))
            theta = self._solve(gram, rhs)
            z = self._argmin(theta, d)
            xm = bb.clamp((centre + half * z).to(bb.dtype))
            report(xm)
            if self.local_steps > 0:
                xl = self._descend(bb, xm, half.to(bb.dtype))
                if xl is not None:
                    report(xl)

    def _descend(self, bb: BlackBox, x: Tensor, half: Tensor) -> Tensor | None:
        """Projected Adam (Kingma & Ba 2015, Algorithm 1) on the true energy from ``x``; the best
        point seen if it is better than ``x`` (``x`` itself is already reported), else None."""
        b1, b2, eps = 0.9, 0.999, 1e-8
        lr = self.local_lr * half
        m = torch.zeros_like(x)
        v = torch.zeros_like(x)
        best_x, best_e, start_e = x.clone(), math.inf, math.inf
        for k in range(self.local_steps + 1):
            e, g = bb.energy_and_grad(x[None])
            ev = float(e[0])
            if k == 0:
                start_e = ev
            if math.isfinite(ev) and ev < best_e:
                best_x, best_e = x.clone(), ev
            if k == self.local_steps or not bool(torch.isfinite(g).all()):
                break
            g = g[0]
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            mh = m / (1 - b1 ** (k + 1))
            vh = v / (1 - b2 ** (k + 1))
            x = bb.clamp(x - lr * mh / (vh.sqrt() + eps))
        return best_x if best_e < start_e else None
