"""CMA-ES, batched over B independent instances, in torch (device-resident, float64 state).

The (μ/μ_w, λ)-CMA-ES with active covariance update (negative recombination weights), cumulative (or,
from D = 300 on, two-point) step-size adaptation and the rank-one and rank-μ covariance updates, as in
N. Hansen, "The CMA
Evolution Strategy: A Tutorial", arXiv:1604.00772 (2016, 2023 revision), and N. Hansen & A.
Ostermeier, "Completely derandomized self-adaptation in evolution strategies", Evolutionary
Computation 9(2), 159-195, 2001. Every default is the one of pycma 4.x (N. Hansen et al.,
github.com/CMA-ES/pycma; ``cma.CMAEvolutionStrategy``), which the ``cma-es`` method wraps and
``tests/test_cma.py`` checks this kernel against; where pycma departs from the tutorial, pycma is
followed and the difference is named below.

As an ``(init, step)`` pair in the style of the other kernels in :mod:`gmbench.optim`:
``cma_init(x0, sigma0, params, generator) -> state`` holds the first population ``state.x``
``(B, λ, D)`` (phenotypes: the points to evaluate); ``cma_step(state, f) -> state`` takes their
energies ``f`` ``(B, λ)`` (``tell``) and samples the next population (``ask``). All B instances
share D, λ and the strategy parameters (:class:`CmaParams`); everything else (mean, step size,
covariance, paths, termination) is per instance. :func:`cma_stop` gives each instance's termination
signal (pycma's default termination criteria, :class:`CmaTolerances`) and :class:`RestartPolicy` the
IPOP / BIPOP restart schedule of pycma's ``fmin``.

Strategy parameters (:func:`cma_params`; N = D, tutorial Table 1 unless noted):

* λ = ⌊4 + 3 ln N⌋; raw weights w'_i = ln((λ+1)/2) − ln i; μ = ⌊λ/2⌋ positive weights normalised to
  sum 1, μ_eff = 1/Σw_i²; negative weights normalised to sum −1 and then scaled (pycma's
  ``RecombinationWeights.finalize_negative_weights``, tutorial eq. 53 with its three limits) to
  Σ|w⁻| = 1 + c₁/c_μ, at most (1 − c₁ − c_μ)/(N c_μ) (positive definiteness) and at most
  1 + 2 μ⁻_eff/(μ_eff + 2);
* c₁ = 2 min(1, λ/6)/((N + 1.3)² + μ_eff) (pycma's factor min(1, λ/6)), c_μ = min(1 − c₁,
  2 (μ_eff − 2 + 1/μ_eff + 1/4)/((N + 2)² + μ_eff)) (pycma's + 1/4), c_c = (4 + μ_eff/N)/(N + 4 +
  2 μ_eff/N);
* step size below D = 300: cumulative step-size adaptation (CSA) with c_σ = min(1/2, (μ_eff + 2)/(N +
  μ_eff + 3)) (pycma; the tutorial has N + μ_eff + 5), d_σ = 1 + 2 max(0, δ √((μ_eff − 1)/(N + 1)) − 1)
  + c_σ with pycma 4's δ = max(1, 3 (1 − 2^(−N/9))) (the tutorial: δ = 1), the change clipped to a
  factor e^(±1); from D = 300 on, pycma's default two-point step-size adaptation (TPA; N. Hansen,
  "CMA-ES with two-point step-size adaptation", arXiv:0805.0231, 2008, in pycma's
  ``CMAAdaptSigmaTPA`` form): the first two samples of a generation are ±(last mean shift) scaled to
  the Mahalanobis length of a random normal vector, their rank difference z ∈ [−1, 1] is smoothed,
  s ← 0.7 s + 0.3 sign(z) √|z|, and σ ← σ exp(s/d) with d = 0.7 + 2 ln N + 2 ln max(1, λ − N);
* h_σ = 1 iff ‖p_σ‖²/(1 − (1 − c_σ)^(2g)) / N − 1 < 1 + 4/(N + 1) (pycma's squared form of the
  tutorial's test), and the rank-one learning rate corrected by (1 − h_σ) c₁ c_c (2 − c_c);
* negative weights are applied to vectors rescaled to squared Mahalanobis length N (tutorial
  eq. 46: w°_i = w_i N/‖C^(-1/2) y_i‖²);
* eigendecomposition (``torch.linalg.eigh``) lazily, when 1/(10 N (c₁ + c_μ)) generations have
  passed since the last one (tutorial Sec. B.2; pycma's ``lazy_update_gap``); the paths use the
  decomposition the population was sampled with, as pycma does.

Diagonal covariance (separable CMA-ES, R. Ros & N. Hansen, "A simple modification in CMA-ES achieving
linear time and space complexity", PPSN X, LNCS 5199, 296-305, 2008), as pycma's ``CMA_diagonal:
True`` implements it: the covariance is a diagonal scaling s (C = diag(s²)), learned with pycma's
larger separable rates c₁ = 1/(N + 2√N + μ_eff/N), c_μ = min(1 − c₁, (μ_eff − 2 + 1/μ_eff + 1/4)/(N +
4√N + μ_eff/2)), c_c = (1 + 1/N + μ_eff/N)/(√N + 1/N + 2 μ_eff/N), negative weights finalised with
these rates and without the positive-definiteness limit, and pycma's multiplicative update
s ← s · exp((ln 2 / 2) (c₁ₐ (p_c² − 1) + c_μ Σ w_i (z_i² − 1))) (``DiagonalDecoding.update``) with
p_c kept in the standardised coordinates; O(λN) per generation and no eigendecomposition.

Bounds: pycma's ``BoundTransform`` (``BoxConstraintsLinQuadTransformation``), ported to torch
(:class:`BoxTransform`): the search runs on an unconstrained genotype, and the phenotype that is
evaluated (and reported) is its image under a periodic map that is the identity inside the box away
from its faces and quadratic near them. The per-coordinate standard deviation is capped at a third of
the box's width (pycma's ``maxstd_boundrange``; pycma keeps the cap in a separate diagonal scaling,
this kernel multiplies it into C and p_c).

Differences from pycma that remain: mirrored sampling (pycma's default only for λ < 6, i.e. D = 1 with
the default λ) is not implemented; pycma's ``alleviate_conditioning`` (moving a covariance condition
above 1e12, or a diagonal ratio above 1e8, into its genotype-phenotype map) is not, so an instance
here stops at ``tolconditioncov`` where pycma would go on; ``tolxstagnation`` (mean moving less than
1e-9) is not checked (``tolx``/``tolfun`` end such runs first); TPA's mirrored pair is scaled with the
decomposition the generation samples with (pycma uses the one before its lazy update). Random numbers
come from the torch generator, so the two never draw the same samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal

import torch
from torch import Tensor


# ---------------------------------------------------------------------------------- strategy parameters

def default_popsize(dim: int) -> int:
    """pycma's and the tutorial's λ = ⌊4 + 3 ln N⌋."""
    return int(4 + 3 * math.log(dim))


def default_maxiter(dim: int, popsize: int) -> float:
    """pycma's ``maxiter``: 100 + 150 (N + 3)² // √λ."""
    return 100 + (150 * (dim + 3) ** 2) // popsize**0.5


def default_tolstagnation(dim: int, popsize: int) -> int:
    """pycma's ``tolstagnation``: int(100 + 100 N^1.5 / λ) generations."""
    return int(100 + 100 * dim**1.5 / popsize)


def chi_n(dim: int) -> float:
    """E‖N(0, I)‖ ≈ √N (1 − 1/(4N) + 1/(21N²))."""
    return dim**0.5 * (1 - 1.0 / (4 * dim) + 1.0 / (21 * dim**2))


@dataclass(frozen=True)
class CmaParams:
    """Strategy parameters shared by all instances of a batch (see the module doc)."""

    dim: int
    popsize: int
    diagonal: bool
    mu: int
    weights: tuple[float, ...]  # λ weights: μ positive (sum 1), then negative (finalised)
    mueff: float
    cc: float
    cs: float
    c1: float
    cmu: float
    damps: float
    chi_n: float
    lazy_gap: float  # generations between eigendecompositions (full covariance)
    hist_len: int  # pycma's fit.hist: the last ⌊10 + 30 N / λ⌋ best values (tolfun)
    tpa: bool = False  # two-point step-size adaptation instead of CSA (pycma: D >= 300)
    tpa_damp: float = 0.0
    tpa_c: float = 0.3


def _finalize_negative(w: list[float], mu: int, mueff: float, dim: int, c1: float, cmu: float,
                       pos_def: bool) -> list[float]:
    """pycma's ``RecombinationWeights.finalize_negative_weights`` (negatives already sum to −1)."""
    neg = w[mu:]
    if not neg or neg[-1] >= 0:
        return w
    mueff_minus = sum(abs(v) for v in neg) ** 2 / sum(v * v for v in neg)

    def scale_to(total: float, only_if_larger: bool) -> None:
        s = -sum(neg)
        if s > 0 and (not only_if_larger or s > total):
            for i in range(len(neg)):
                neg[i] *= total / s

    if cmu > 0:
        scale_to(1 + c1 / cmu, False)
        if pos_def:
            scale_to((1 - c1 - cmu) / cmu / dim, True)
    scale_to(1 + 2 * mueff_minus / (mueff + 2), True)
    return w[:mu] + neg


#: pycma uses two-point step-size adaptation instead of CSA from this dimension on (``TPA_dimension``)
TPA_DIMENSION = 300


def cma_params(dim: int, popsize: int | None = None, diagonal: bool = False, tpa: bool | None = None) -> CmaParams:
    """pycma's defaults for dimension ``dim`` and population size ``popsize`` (None: ⌊4 + 3 ln N⌋);
    ``tpa`` None: two-point adaptation from D = 300 on, as pycma."""
    n = int(dim)
    lam = default_popsize(n) if popsize is None else int(popsize)
    if lam < 2:
        raise ValueError(f"popsize must be at least 2, got {lam}")
    raw = [math.log((lam + 1) / 2.0) - math.log(i) for i in range(1, lam + 1)]
    mu = sum(1 for v in raw if v > 0)
    spos = sum(raw[:mu])
    w = [v / spos for v in raw]
    sneg = sum(w[mu:])
    if sneg != 0:
        w = w[:mu] + [v / -sneg for v in w[mu:]]
    mueff = 1.0 / sum(v * v for v in w[:mu])
    if diagonal:
        cc = (1 + 1 / n + mueff / n) / (n**0.5 + 1 / n + 2 * mueff / n)
        c1 = 1.0 / (n + 2.0 * n**0.5 + mueff / n)
        cmu = min(1 - c1, (0.25 + mueff + 1 / mueff - 2) / (n + 4 * n**0.5 + mueff / 2.0))
        w = _finalize_negative(w, mu, mueff, n, c1, cmu, pos_def=False)
        gap = 0.0
    else:
        cc = (4 + mueff / n) / (n + (4 + 2 * mueff / n))
        c1 = min(1.0, lam / 6) * 2 / ((n + 1.3) ** 2 + mueff)
        cmu = min(1 - c1, 2 * (0.25 + mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + mueff))
        w = _finalize_negative(w, mu, mueff, n, c1, cmu, pos_def=True)
        gap = 1.0 / (c1 + cmu + 1e-23) / n / 10
    tpa = n >= TPA_DIMENSION if tpa is None else bool(tpa)
    if tpa and lam < 3:
        raise ValueError("two-point step-size adaptation needs popsize >= 3")
    # CSA's c_σ (capped at 1/2); with TPA the path p_σ only serves h_σ and pycma's base class leaves it uncapped
    cs = (mueff + 2) / (n + mueff + 3) if tpa else min(0.5, (mueff + 2) / (n + mueff + 3))
    damp_in = max(1.0, 3 * (1 - 0.5 ** (n / 9)))
    damps = 1 + 2 * max(0.0, damp_in * ((mueff - 1) / (n + 1)) ** 0.5 - 1) + cs
    return CmaParams(dim=n, popsize=lam, diagonal=diagonal, mu=mu, weights=tuple(w), mueff=mueff, cc=cc, cs=cs,
                     c1=c1, cmu=cmu, damps=damps, chi_n=chi_n(n), lazy_gap=gap,
                     hist_len=int(10 + 30 * n / lam), tpa=tpa,
                     tpa_damp=0.7 + 2 * math.log(n) + 2 * math.log(max(1, lam - n)))


@dataclass(frozen=True)
class CmaTolerances:
    """pycma's default termination criteria (``cma.CMAOptions``); ``maxiter``/``tolstagnation`` None:
    pycma's formulas for the batch's D and λ (:func:`default_maxiter`, :func:`default_tolstagnation`)."""

    tolfun: float = 1e-11
    tolfunhist: float = 1e-12
    tolx: float = 1e-11
    tolfacupx: float = 1e3
    tolupsigma: float = 1e20
    tolconditioncov: float = 1e14
    tolflatfitness: int = 1
    maxiter: float | None = None
    tolstagnation: int | None = None


# ---------------------------------------------------------------------------------------- bound handling

class BoxTransform:
    """pycma's ``BoxConstraintsLinQuadTransformation`` (``BoundTransform``), elementwise over any
    leading dimensions: a periodic map from R onto [lb, ub] that is the identity on [lb + al, ub − au]
    and quadratic (C¹) from lb − 3 al to lb + al (and mirrored at ub), with al = min((ub − lb)/2,
    max(1, |lb|)/20) (pycma's ``margin_width2``), au alike."""

    def __init__(self, lower: Tensor, upper: Tensor):
        lb, ub = lower.to(torch.float64), upper.to(torch.float64)
        if bool((lb >= ub).any()):
            raise ValueError("lower bounds must be below the upper bounds")
        half = (ub - lb) / 2
        self.lb, self.ub = lb, ub
        self.al = torch.minimum(half, lb.abs().clamp_min(1.0) / 20)
        self.au = torch.minimum(half, ub.abs().clamp_min(1.0) / 20)

    def __call__(self, x: Tensor) -> Tensor:
        lb, ub, al, au = self.lb, self.ub, self.al, self.au
        y = x
        start = lb - 2 * al - (ub - lb) / 2
        far = (y < start) | (y > ub + 2 * au + (ub - lb) / 2)
        period = 2 * (ub - lb + al + au)
        y = torch.where(far, y - period * torch.floor((y - start) / period), y)
        y = torch.where(y > ub + au, y - 2 * (y - ub - au), y)
        y = torch.where(y < lb - al, y + 2 * (lb - al - y), y)
        y = torch.where(y < lb + al, lb + (y - (lb - al)) ** 2 / 4 / al, y)
        y = torch.where(y > ub - au, ub - (y - (ub + au)) ** 2 / 4 / au, y)
        return y

    def inverse(self, y: Tensor) -> Tensor:
        """The genotype in [lb − al, ub + au] of a phenotype in [lb, ub] (clipped there first)."""
        lb, ub, al, au = self.lb, self.ub, self.al, self.au
        y = torch.minimum(torch.maximum(y, lb), ub)
        low = (lb - al) + 2 * (al * (y - lb)).clamp_min(0).sqrt()
        high = (ub + au) - 2 * (au * (ub - y)).clamp_min(0).sqrt()
        return torch.where(y < lb + al, low, torch.where(y < ub - au, y, high))


# ---------------------------------------------------------------------------------------------- state

HIST_CAP = 20_000  # pycma keeps at most 2e4 entries of histbest / histmedian


@dataclass
class CmaState:
    params: CmaParams
    tol: CmaTolerances
    generator: torch.Generator | None
    box: BoxTransform | None
    mean: Tensor  # (B, D) genotype
    sigma: Tensor  # (B,)
    sigma0: Tensor  # (B,)
    stds0: Tensor  # (D,) initial per-coordinate multipliers (pycma's CMA_stds / sigma_vec0)
    maxstd: Tensor | None  # (D,) per-coordinate cap on σ √C_ii (a third of the box's width)
    C: Tensor | None  # (B, D, D) full covariance
    eigvec: Tensor | None  # (B, D, D) columns: eigenvectors of C at the last decomposition
    eigsqrt: Tensor  # (B, D) square roots of the eigenvalues (ascending); diagonal mode: the scaling s
    pc: Tensor  # (B, D)
    ps: Tensor  # (B, D)
    maxiter: float
    tolstagnation: int
    iteration: int = 0  # generations told
    evals: int = 0  # per instance
    eigen_at: int = 0  # iteration of the last eigendecomposition
    eigen_stale: bool = False  # forced decomposition pending (after a maxstd cap)
    n_eigen: int = 0  # batched eigendecompositions done
    x: Tensor | None = None  # (B, λ, D) phenotypes to evaluate
    z: Tensor | None = None  # (B, λ, D) standard normal draws
    y: Tensor | None = None  # (B, λ, D) steps (genotype = mean + σ y)
    fit: Tensor | None = None  # (B, λ) sorted energies of the last generation
    best_f: Tensor | None = None  # (B,) best energy of this run
    best_evals: Tensor | None = None  # (B,) evaluations when it was found
    flat: Tensor | None = None  # (B,) generations with flat fitness in a row
    hist: Tensor | None = None  # (B, hist_len) ring of best energies
    histbest: Tensor | None = None  # (B, cap) ring, every 5 generations
    histmedian: Tensor | None = None
    n_histbest: int = 0
    tpa_s: Tensor | None = None  # (B,) TPA's smoothed rank difference
    shift: Tensor | None = None  # (B, D) the last mean shift (TPA's two mirrored samples point along it)
    w: Tensor | None = None  # (λ,) the recombination weights on the device

    @property
    def batch(self) -> int:
        return int(self.mean.shape[0])


def cma_init(x0: Tensor, sigma0: float | Tensor, params: CmaParams, generator: torch.Generator | None = None,
             lower: Tensor | None = None, upper: Tensor | None = None, stds: Tensor | None = None,
             tol: CmaTolerances = CmaTolerances(), maxstd_boundrange: float = 1 / 3,
             dtype: torch.dtype = torch.float64) -> CmaState:
    """B instances from initial points ``x0`` ``(B, D)`` (phenotypes, inside the bounds when given)
    with step size ``sigma0`` (a number or ``(B,)``), per-coordinate multipliers ``stds`` ``(D,)``
    (pycma's ``CMA_stds``; default ones) and optional bounds (pycma's ``BoundTransform``). Samples the
    first population into ``state.x``."""
    x0 = x0.to(dtype)
    if x0.dim() != 2 or x0.shape[1] != params.dim:
        raise ValueError(f"x0 must be (B, {params.dim}), got {tuple(x0.shape)}")
    B, D = x0.shape
    dev = x0.device
    box = None
    maxstd = None
    if lower is not None and upper is not None:
        box = BoxTransform(lower.to(device=dev), upper.to(device=dev))
        mean = box.inverse(x0)
        maxstd = (box.ub - box.lb) * maxstd_boundrange
    else:
        mean = x0.clone()
    sig = torch.as_tensor(sigma0, dtype=dtype, device=dev).expand(B).clone()
    s0 = torch.ones(D, dtype=dtype, device=dev) if stds is None else stds.to(device=dev, dtype=dtype)
    zeros = torch.zeros((B, D), dtype=dtype, device=dev)
    if params.diagonal:
        C = eigvec = None
        eigsqrt = s0.expand(B, D).clone()
    else:
        # pycma's initial C: diag(stds² · exp(1e-4 i / N)) (a hack against equal eigenvalues)
        var = s0**2 * torch.exp((1e-4 / D) * torch.arange(D, dtype=dtype, device=dev))
        C = torch.diag_embed(var.expand(B, D).clone())
        eigvec = torch.eye(D, dtype=dtype, device=dev).expand(B, D, D).clone()
        eigsqrt = var.sqrt().expand(B, D).clone()
    lam = params.popsize
    state = CmaState(
        params=params, tol=tol, generator=generator, box=box, mean=mean, sigma=sig, sigma0=sig.clone(), stds0=s0,
        maxstd=maxstd, C=C, eigvec=eigvec, eigsqrt=eigsqrt, pc=zeros.clone(), ps=zeros.clone(),
        maxiter=tol.maxiter if tol.maxiter is not None else default_maxiter(D, lam),
        tolstagnation=tol.tolstagnation if tol.tolstagnation is not None else default_tolstagnation(D, lam),
        best_f=torch.full((B,), math.inf, dtype=dtype, device=dev),
        best_evals=torch.zeros(B, dtype=dtype, device=dev),
        flat=torch.zeros(B, dtype=torch.long, device=dev),
        hist=torch.full((B, params.hist_len), math.nan, dtype=dtype, device=dev),
        tpa_s=torch.zeros(B, dtype=dtype, device=dev) if params.tpa else None)
    _ask(state)
    return state


# ------------------------------------------------------------------------------------------ ask / tell

def _decompose(state: CmaState) -> None:
    """Eigendecomposition of every instance's C (symmetrised first); a non-positive eigenvalue adds the
    previous smallest eigenvalue to the diagonal and retries (pycma's ``_decompose_C``)."""
    C = state.C
    assert C is not None
    C = (C + C.transpose(-1, -2)) / 2
    for _ in range(5):
        vals, vecs = torch.linalg.eigh(C)
        bad = vals[:, 0] <= 0
        if not bool(bad.any()):
            break
        add = torch.where(bad, state.eigsqrt[:, 0] ** 2, torch.zeros_like(bad, dtype=C.dtype))
        C = C + add[:, None, None] * torch.eye(C.shape[-1], dtype=C.dtype, device=C.device)
    state.C = C
    state.eigvec, state.eigsqrt = vecs, vals.clamp_min(0).sqrt()
    state.eigen_at = state.iteration
    state.eigen_stale = False
    state.n_eigen += 1


def _ask(state: CmaState) -> None:
    p = state.params
    if not p.diagonal and (state.eigen_stale or (state.iteration > state.eigen_at
                                                 and state.iteration >= state.eigen_at + p.lazy_gap)):
        _decompose(state)
    B, D = state.mean.shape
    z = torch.randn((B, p.popsize, D), generator=state.generator, dtype=state.mean.dtype, device=state.mean.device)
    if p.diagonal:
        y = z * state.eigsqrt[:, None, :]
    else:
        y = torch.matmul(z * state.eigsqrt[:, None, :], state.eigvec.transpose(-1, -2))
    if p.tpa and state.shift is not None:
        # TPA: the first two samples are ±(last mean shift), scaled to the Mahalanobis length of a random
        # normal vector (pycma's _prepare_injection_directions and _random_rescaling_factor_to_mahalanobis_size)
        chi = torch.linalg.vector_norm(torch.randn((B, D), generator=state.generator, dtype=z.dtype, device=z.device),
                                       dim=-1)
        v = state.shift / state.sigma[:, None]
        if p.diagonal:
            zv = v / state.eigsqrt
        else:
            zv = torch.einsum("bji,bj->bi", state.eigvec, v) / state.eigsqrt  # D^-1 B^T v: ‖B zv‖ = ‖C^-1/2 v‖
        norm = torch.linalg.vector_norm(zv, dim=-1).clamp_min(1e-300)
        zv = zv * (chi / norm)[:, None]
        yv = v * (chi / norm)[:, None]
        z = torch.cat([zv[:, None], -zv[:, None], z[:, 2:]], dim=1)
        y = torch.cat([yv[:, None], -yv[:, None], y[:, 2:]], dim=1)
    geno = torch.addcmul(state.mean[:, None, :], state.sigma[:, None, None], y)
    state.z, state.y = z, y
    state.x = state.box(geno) if state.box is not None else geno


def _ring_put(buf: Tensor, k: int, v: Tensor) -> None:
    buf[:, k % buf.shape[1]] = v


def _ring_recent(buf: Tensor, n_put: int, start: int, stop: int) -> Tensor:
    """Entries start..stop-1 of the ring, newest first (index 0 = the last put)."""
    cap = buf.shape[1]
    idx = (n_put - 1 - torch.arange(start, stop, device=buf.device)) % cap
    return buf[:, idx]


def cma_step(state: CmaState, f: Tensor) -> CmaState:
    """Tell the energies ``f`` ``(B, λ)`` of ``state.x`` (non-finite values count as +inf) and sample the
    next population into ``state.x``."""
    p = state.params
    dt = state.mean.dtype
    f = f.to(dtype=dt, device=state.mean.device).reshape(state.batch, p.popsize)
    f = torch.where(torch.isnan(f), torch.full_like(f, math.inf), f)
    state.iteration += 1
    state.evals += p.popsize
    g = state.iteration
    B, D = state.mean.shape
    fs, idx = torch.sort(f, dim=1)
    z = torch.gather(state.z, 1, idx[:, :, None].expand(-1, -1, D))
    y = torch.gather(state.y, 1, idx[:, :, None].expand(-1, -1, D))
    if state.w is None:
        state.w = torch.tensor(p.weights, dtype=dt, device=f.device)
    w = state.w
    wpos = w[:p.mu]

    # termination bookkeeping (pycma's fit.hist, histbest, histmedian, best, flat fitness)
    state.fit = fs
    improved = fs[:, 0] < state.best_f
    state.best_f = torch.where(improved, fs[:, 0], state.best_f)
    state.best_evals = torch.where(improved, torch.full_like(state.best_evals, state.evals), state.best_evals)
    state.hist = torch.roll(state.hist, 1, dims=1)
    state.hist[:, 0] = fs[:, 0]
    if g % 5 == 0:
        if state.histbest is None:
            cap = int(min(HIST_CAP, state.maxiter // 5 + 2))
            state.histbest = torch.full((B, cap), math.nan, dtype=dt, device=f.device)
            state.histmedian = torch.full((B, cap), math.nan, dtype=dt, device=f.device)
        i = p.popsize // 2
        median = fs[:, i] if p.popsize % 2 else (fs[:, i - 1] + fs[:, i]) / 2
        _ring_put(state.histbest, state.n_histbest, fs[:, 0])
        _ring_put(state.histmedian, state.n_histbest, median)
        state.n_histbest += 1
    flat_now = fs[:, 0] >= fs[:, int(0.75 * p.popsize)]
    state.flat = torch.where(flat_now, state.flat + 1, torch.zeros_like(state.flat))

    # mean, evolution paths
    dy = torch.einsum("l,bld->bd", wpos, y[:, :p.mu])
    dz = torch.einsum("l,bld->bd", wpos, z[:, :p.mu])
    state.shift = state.sigma[:, None] * dy
    state.mean = state.mean + state.shift
    iso = dz if p.diagonal else torch.einsum("bij,bj->bi", state.eigvec, dz)
    state.ps = (1 - p.cs) * state.ps + math.sqrt(p.cs * (2 - p.cs) * p.mueff) * iso
    ps2 = (state.ps * state.ps).sum(-1) / (1 - (1 - p.cs) ** (2 * g))
    hsig = (ps2 / D - 1 < 1 + 4.0 / (D + 1)).to(dt)
    step = dz if p.diagonal else dy  # diagonal: p_c in the standardised coordinates (pycma's sigma_vec)
    state.pc = (1 - p.cc) * state.pc + (hsig * math.sqrt(p.cc * (2 - p.cc) * p.mueff))[:, None] * step
    c1a = p.c1 * (1 - (1 - hsig) * p.cc * (2 - p.cc))  # (B,)

    # covariance
    if p.diagonal:
        W = math.log(2) * torch.cat([c1a[:, None], (p.cmu * w).expand(B, -1)], dim=1)  # (B, λ+1)
        v2 = torch.cat([(state.pc * state.pc)[:, None, :], z * z], dim=1)  # (B, λ+1, D)
        facs = torch.exp((torch.einsum("bk,bkd->bd", W, v2) - W.sum(1, keepdim=True)) / 2)
        state.eigsqrt = state.eigsqrt * facs
    else:
        assert state.C is not None
        wc = (p.cmu * w).expand(B, -1).clone()
        neg = w < 0
        if bool(neg.any()):
            zn2 = (z[:, neg] * z[:, neg]).sum(-1)  # ‖C^(-1/2) y‖² = ‖z‖² (the sampling decomposition)
            wc[:, neg] = wc[:, neg] * D / (zn2.sqrt() + 1e-9) ** 2
        decay = 1 - c1a - p.cmu * float(w.sum())
        C = state.C * decay[:, None, None]
        C = C + p.c1 * state.pc[:, :, None] * state.pc[:, None, :]
        C = C + torch.matmul((y * wc[:, :, None]).transpose(-1, -2), y)
        state.C = C

    # step size: CSA, or TPA (pycma's CMAAdaptSigmaTPA: the rank difference of the two mirrored samples,
    # in the order they were sampled)
    if p.tpa:
        zt = ((f < f[:, 1:2]).sum(1) - (f < f[:, 0:1]).sum(1)).to(dt) / (p.popsize - 1)
        state.tpa_s = (1 - p.tpa_c) * state.tpa_s + p.tpa_c * torch.sign(zt) * zt.abs().sqrt()
        state.sigma = state.sigma * torch.exp(state.tpa_s / p.tpa_damp)
    else:
        norm_ps = torch.linalg.vector_norm(state.ps, dim=-1)
        state.sigma = state.sigma * torch.exp(((norm_ps / p.chi_n - 1) * (p.cs / p.damps)).clamp(-1.0, 1.0))

    # a third of the box's width at most per coordinate (pycma's maxstd, _stds_into_limits)
    if state.maxstd is not None:
        fix = math.exp(1e-4) if g <= 2 else 1.0
        stds = _stds(state)
        over = stds > state.maxstd * fix
        if bool(over.any()):
            fac = torch.where(over, state.maxstd / stds, torch.ones_like(stds))
            if p.diagonal:
                state.eigsqrt = state.eigsqrt * fac
            else:
                state.C = state.C * fac[:, :, None] * fac[:, None, :]
                state.pc = state.pc * fac
                state.eigen_stale = True
    _ask(state)
    return state


def _stds(state: CmaState) -> Tensor:
    """σ √C_ii per coordinate ``(B, D)``."""
    if state.params.diagonal:
        return state.sigma[:, None] * state.eigsqrt
    return state.sigma[:, None] * torch.diagonal(state.C, dim1=-2, dim2=-1).clamp_min(0).sqrt()


# ------------------------------------------------------------------------------------------- termination

STOP_NAMES = ("maxiter", "tolx", "tolfacupx", "tolfun", "tolfunhist", "tolstagnation", "tolupsigma",
              "noeffectcoord", "noeffectaxis", "tolconditioncov", "tolflatfitness")


def cma_stop_reasons(state: CmaState) -> dict[str, Tensor]:
    """pycma's default termination criteria (``CMAEvolutionStrategy.stop``), each a ``(B,)`` bool."""
    p, t = state.params, state.tol
    B, D = state.mean.shape
    dev = state.mean.device
    no = torch.zeros(B, dtype=torch.bool, device=dev)
    g = state.iteration
    if g == 0:
        return {k: no for k in STOP_NAMES}
    out: dict[str, Tensor] = {}
    out["maxiter"] = no | (g >= state.maxiter)
    stds = _stds(state)
    pc_x = state.pc * state.eigsqrt if p.diagonal else state.pc
    out["tolx"] = (stds < t.tolx).all(-1) & ((state.sigma[:, None] * pc_x).abs() < t.tolx).all(-1)
    out["tolfacupx"] = (stds > (state.sigma0[:, None] * state.stds0) * t.tolfacupx).any(-1)
    fs = state.fit
    hist = state.hist[:, :min(g, p.hist_len)]
    hist_range = hist.amax(-1) - hist.amin(-1)
    out["tolfun"] = ((fs[:, -1] - fs[:, 0]) < t.tolfun) & (hist_range < t.tolfun)
    out["tolfunhist"] = (no | (min(g, p.hist_len) > 9)) & (hist_range < t.tolfunhist)
    out["tolstagnation"] = _tolstagnation(state)
    sig_over_d = state.sigma if p.diagonal else state.sigma / state.eigsqrt[:, -1]
    out["tolupsigma"] = sig_over_d > state.sigma0 * t.tolupsigma
    out["noeffectcoord"] = (state.mean == state.mean + 0.2 * stds).any(-1)
    if p.diagonal:
        out["noeffectaxis"] = no
        out["tolconditioncov"] = no
    else:
        i = g % D
        axis = 0.1 * state.sigma[:, None] * state.eigsqrt[:, i:i + 1] * state.eigvec[:, :, i]
        out["noeffectaxis"] = (state.mean == state.mean + axis).all(-1)
        out["tolconditioncov"] = state.eigsqrt[:, -1] > t.tolconditioncov**0.5 * state.eigsqrt[:, 0]
    out["tolflatfitness"] = state.flat > t.tolflatfitness
    return out


def _tolstagnation(state: CmaState) -> Tensor:
    p = state.params
    B, D = state.mean.shape
    no = torch.zeros(B, dtype=torch.bool, device=state.mean.device)
    g, n = state.iteration, min(state.n_histbest, HIST_CAP)
    if state.histbest is None:
        return no
    n = min(n, state.histbest.shape[1])
    ell = max(state.tolstagnation / 5.0 / 2, n / 10)
    if not (ell <= g and g > D * (5 + 100 / p.popsize) and n > 100 and 2 * int(ell) < n):
        return no
    ell = int(ell)
    late = (state.evals - state.best_evals) / p.popsize > state.tolstagnation / 2
    hm_new = torch.quantile(_ring_recent(state.histmedian, state.n_histbest, 0, ell), 0.5, dim=1)
    hm_old = torch.quantile(_ring_recent(state.histmedian, state.n_histbest, ell, 2 * ell), 0.5, dim=1)
    hb_new = torch.quantile(_ring_recent(state.histbest, state.n_histbest, 0, ell), 0.5, dim=1)
    hb_old = torch.quantile(_ring_recent(state.histbest, state.n_histbest, ell, 2 * ell), 0.5, dim=1)
    return late & (hm_new >= hm_old) & (hb_new >= hb_old)


def cma_stop(state: CmaState) -> Tensor:
    """``(B,)``: the instances that met any termination criterion."""
    reasons = cma_stop_reasons(state)
    out = torch.zeros(state.batch, dtype=torch.bool, device=state.mean.device)
    for v in reasons.values():
        out |= v
    return out


# ------------------------------------------------------------------------------------------------ restarts

@dataclass(frozen=True)
class Run:
    """One run of a restart schedule: its index, λ, the factor on σ₀, its generation limit (None:
    the first run's) and regime."""

    index: int
    popsize: int
    sigma_factor: float
    maxiter: float | None
    regime: str


class RestartPolicy:
    """The restart schedule of pycma's ``fmin``/``fmin2`` (``restarts``, ``incpopsize=2``, ``bipop``):

    * ``"none"``: one run;
    * ``"ipop"`` (A. Auger & N. Hansen, "A restart CMA evolution strategy with increasing population
      size", IEEE CEC 2005, 1769-1776): run k has λ = λ₀ · 2^k;
    * ``"bipop"`` (N. Hansen, "Benchmarking a BI-population CMA-ES on the BBOB-2009 function testbed",
      GECCO 2009 workshops, 2389-2396): after the first run (λ₀, budget counted as small), a *large*
      run (λ = λ₀ · 2^(number of large runs so far), σ₀) whenever the evaluations spent in small runs
      are at least those spent in large runs, otherwise a *small* run with λ = ⌊λ₀ (2^L)^(U²)⌋
      (L: large runs so far), σ₀ · 10^(−2U') and at most half the large runs' evaluations
      (generations ≤ min(maxiter₀, ½ Σ evals_large / λ)); U, U' uniform in [0, 1).

    ``max_restarts`` counts runs after the first as pycma does (small BIPOP runs not included; None:
    until the budget ends). ``uniform()`` supplies the U draws."""

    def __init__(self, mode: Literal["ipop", "bipop", "none"], popsize0: int, maxiter0: float,
                 max_restarts: int | None = None, incpopsize: float = 2.0):
        if mode not in ("ipop", "bipop", "none"):
            raise ValueError(f"unknown restart mode {mode!r}")
        self.mode, self.popsize0, self.maxiter0 = mode, int(popsize0), float(maxiter0)
        self.max_restarts, self.inc = max_restarts, incpopsize
        self.irun = 0
        self.runs_small = 0
        self.evals_small: list[int] = []
        self.evals_large: list[int] = []
        self._regime = "first"

    def next(self, uniform: Callable[[], float]) -> Run | None:
        """The next run, or None when the schedule is over."""
        if self.irun > 0:
            if self.mode == "none":
                return None
            if self.max_restarts is not None and self.irun - self.runs_small > self.max_restarts:
                return None
        if self.irun == 0:
            self._regime = "first"
            return Run(0, self.popsize0, 1.0, None, "first")
        if self.mode == "ipop":
            self._regime = "large"
            return Run(self.irun, int(self.popsize0 * self.inc**self.irun), 1.0, None, "ipop")
        if sum(self.evals_small) < max(1, sum(self.evals_large)):
            self.runs_small += 1
            sigma_factor = 0.01 ** uniform()
            mult = self.inc ** (self.irun - self.runs_small)
            lam = max(2, int(self.popsize0 * mult ** (uniform() ** 2)))
            maxiter = min(self.maxiter0, 0.5 * sum(self.evals_large) / lam)
            self._regime = "small"
            return Run(self.irun, lam, sigma_factor, maxiter, "small")
        self._regime = "large"
        return Run(self.irun, int(self.popsize0 * self.inc ** (self.irun - self.runs_small)), 1.0, None, "large")

    def done(self, evals: int) -> None:
        """Record the evaluations the run just ended used."""
        if self.mode == "bipop":
            (self.evals_large if self._regime == "large" else self.evals_small).append(int(evals))
        self.irun += 1
