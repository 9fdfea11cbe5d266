"""The peers ``gmbench perf`` measures gmbench against, run on the same inputs in the same process:

* jax-md's FIRE (``jax_md.minimize.fire_descent``, ``vmap`` over structures + ``jit``, float64) with
  the Kob-Andersen energy written through jax-md's ``smap.pair`` and its ``energy.lennard_jones``,
  truncated (not shifted) at 2.5 sigma_ab per pair as gmbench's (jax-md's ``lennard_jones_pair``
  scales ONE cut-off by max(sigma) and smooths it between ``r_onset`` and ``r_cutoff``
  (``multiplicative_isotropic_cutoff``, after HOOMD-blue), so it cannot express per-pair cut-offs);
* torch-sim's batched FIRE (``torch_sim.optimizers.fire``, velocity-Verlet flavour) with its
  single-species ``LennardJonesModel`` (dense minimum-image pairs);
* vesin's neighbour lists (``vesin.NeighborList`` and ``vesin.torch.NeighborList``);
* the vectorised plain-torch Adam sweep: what an expert writes in twenty lines without tricks
  (Kingma & Ba, ICLR 2015, Algorithm 1, with torch.optim.Adam's bias-correction arithmetic),
  eager and under ``torch.compile``;
* pycma (``cma.CMAEvolutionStrategy``, ask/tell), the reference CMA-ES that ``cma-es-torch`` is timed
  against (:func:`pycma_generations`).

The peers are optional (``pip install gmbench[perf]``) and imported only inside these functions,
never when gmbench is imported. :func:`peer_versions` reads installed versions from the package
metadata without importing anything.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

NOT_INSTALLED = "not installed (pip install gmbench[perf])"

# distribution names of the peers (package metadata; nothing is imported to read them)
PEER_DISTS = {"jax": "jax", "jax_md": "jax-md", "torch_sim": "torch-sim-atomistic", "vesin": "vesin",
              "vesin_torch": "vesin-torch", "ase": "ase", "cma": "cma", "ioh": "ioh", "cocoex": "coco-experiment"}


def peer_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for key, dist in PEER_DISTS.items():
        try:
            out[key] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[key] = None
    return out


def peer_import(*names: str) -> list[Any] | None:
    """The modules, or None when any of them cannot be imported (not installed, hidden, or broken: a
    peer that fails to import is reported as unavailable, never fatal)."""
    try:
        return [importlib.import_module(n) for n in names]
    except Exception:  # noqa: BLE001 - ImportError, or e.g. an OSError from a binary built for another torch
        return None


# ---------------------------------------------------------------------------------------------- jax-md

def limit_xla_threads() -> str:
    """With one torch thread, ask XLA's CPU backend for one thread too (only effective before jax is
    first imported in this process)."""
    import sys

    if torch.get_num_threads() != 1:
        return "XLA's default CPU threads"
    if "jax" in sys.modules:
        return "XLA threads as set when jax was first imported in this process"
    flags = os.environ.get("XLA_FLAGS", "")
    if "intra_op_parallelism_threads" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()
    return "XLA CPU limited to one thread (--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1)"


class JaxMdKA:
    """jax-md's Kob-Andersen energy and FIRE on a batch of structures in a periodic box.

    ``energy(R)`` (N, 3) -> scalar: 1/2 sum_{i != j} 4 eps_ab ((s/r)^12 - (s/r)^6) [r < 2.5 sigma_ab]
    over minimum-image distances (``space.periodic``), i.e. gmbench's ``kob_andersen_energy``.
    ``relax(frames)`` runs ``steps`` FIRE steps on every structure (``vmap`` + ``jit``); the first call
    compiles and is timed separately (:attr:`compile_s`).
    """

    def __init__(self, species: np.ndarray, box: float, steps: int, dt_start: float, dt_max: float,
                 sigma: list[list[float]], epsilon: list[list[float]], cutoff_factor: float,
                 single_species: bool = False, float64_params: bool = True):
        self.threads_note = limit_xla_threads()
        jax, = peer_import("jax")
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        from jax_md import energy as jenergy
        from jax_md import minimize, smap, space

        self.jax, self.jnp = jax, jnp
        displacement, shift = space.periodic(box)
        sig = jnp.asarray(sigma, dtype=jnp.float64)
        eps = jnp.asarray(epsilon, dtype=jnp.float64)

        def truncated_lj(dr, sigma, epsilon):  # truncated at cutoff_factor * sigma_ab, not shifted
            return jnp.where(dr < cutoff_factor * sigma, jenergy.lennard_jones(dr, sigma, epsilon), 0.0)

        if single_species:
            self.energy = smap.pair(truncated_lj, space.canonicalize_displacement_or_metric(displacement),
                                    sigma=float(sigma), epsilon=float(epsilon))
        else:
            self.energy = smap.pair(truncated_lj, space.canonicalize_displacement_or_metric(displacement),
                                    species=jnp.asarray(species), sigma=sig, epsilon=eps)
        # jax-md casts FIRE's parameters to the smallest numpy dtype that holds them (util.static_cast,
        # numpy.min_scalar_type): Python floats become float16, so dt and alpha would evolve in float16.
        # One-element float64 arrays keep them in float64, as gmbench's (same work, same algorithm).
        kw = dict(dt_start=dt_start, dt_max=dt_max, f_inc=1.1, f_dec=0.5, alpha_start=0.1, f_alpha=0.99)
        if float64_params:
            kw = {k: np.array([v], dtype=np.float64) for k, v in kw.items()}
        init, apply = minimize.fire_descent(self.energy, shift, **kw)

        def relax_one(R):
            state = jax.lax.fori_loop(0, steps, lambda i, s: apply(s), init(R))
            return self.energy(state.position), state.position

        self._relax = jax.jit(jax.vmap(relax_one))
        self._energy_and_grad = jax.jit(jax.vmap(jax.value_and_grad(self.energy)))
        self.compile_s: float | None = None

    def to_device(self, frames: np.ndarray):
        return self.jnp.asarray(frames, dtype=self.jnp.float64)

    def compile(self, frames_j) -> float:
        t0 = time.perf_counter()
        self._relax.lower(frames_j).compile()
        self.compile_s = time.perf_counter() - t0
        return self.compile_s

    def relax(self, frames_j) -> tuple[np.ndarray, np.ndarray]:
        """Final energies (B,) and positions (B, N, 3)."""
        e, r = self._relax(frames_j)
        return np.asarray(e.block_until_ready()), np.asarray(r)

    def energies_and_forces(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        e, g = self._energy_and_grad(self.to_device(frames))
        return np.asarray(e), -np.asarray(g)


# -------------------------------------------------------------------------------------------- torch-sim

class TorchSimLJ:
    """torch-sim's batched FIRE (velocity-Verlet flavour, its closest to jax-md's order) with its stock
    single-species ``LennardJonesModel`` (dense minimum-image pairs: with r_c > L/2, the vesin-list
    path counts several images of a pair and is not the same energy).

    torch-sim 0.3.0's model adds each pair's force to both atoms from a list holding both directions,
    so its forces are twice -dE/dr (the caller checks it against gmbench's); ``force_scale`` multiplies
    the model's forces after it (0.5 there: one multiply per evaluation) so that FIRE follows the
    energy's true gradient, as gmbench's and jax-md's do.
    """

    def __init__(self, box: float, n_atoms: int, batch: int, sigma: float, epsilon: float, cutoff: float,
                 dt_start: float, dt_max: float, force_scale: float = 0.5):
        ts, = peer_import("torch_sim")
        from torch_sim.models.lennard_jones import LennardJonesModel
        from torch_sim.optimizers import fire

        self.ts = ts
        self.box, self.n, self.batch = box, n_atoms, batch
        stock = LennardJonesModel(sigma=sigma, epsilon=epsilon, cutoff=cutoff, dtype=torch.float64,
                                  use_neighbor_list=False)
        self.stock = stock
        model = stock
        if force_scale != 1.0:
            class _Scaled(type(stock)):  # the stock model, forces x force_scale
                def forward(self, state):  # noqa: D401
                    out = super().forward(state)
                    out["forces"] = force_scale * out["forces"]
                    return out

            model = _Scaled(sigma=sigma, epsilon=epsilon, cutoff=cutoff, dtype=torch.float64,
                            use_neighbor_list=False)
        self.model = model
        self.init, self.step = fire(model, dt_start=dt_start, dt_max=dt_max, md_flavor="vv_fire")

    def state(self, r: Tensor):
        B, N = r.shape[0], r.shape[1]
        return self.ts.SimState(positions=r.reshape(-1, 3).to(torch.float64).clone(),
                                masses=torch.ones(B * N, dtype=torch.float64),
                                cell=(torch.eye(3, dtype=torch.float64) * self.box).expand(B, 3, 3).clone(),
                                pbc=True, atomic_numbers=torch.full((B * N,), 18, dtype=torch.long),
                                system_idx=torch.arange(B).repeat_interleave(N))

    def stock_energies_and_forces(self, r: Tensor) -> tuple[Tensor, Tensor]:
        out = self.stock(self.state(r))
        return out["energy"], out["forces"].reshape(r.shape)

    def relax(self, r: Tensor, steps: int) -> Tensor:
        s = self.init(self.state(r))
        for _ in range(steps):
            s = self.step(s)
        return self.model(s)["energy"]  # energies at the final positions


# ----------------------------------------------------------------------------------------------- vesin

def vesin_pairs(r: Tensor, box: float, cutoff: float, use_torch: bool = True) -> tuple[Tensor, Tensor]:
    """Half list (each unordered pair once) of one structure ``r`` (N, 3) in a cubic periodic box."""
    threads = torch.get_num_threads()
    if use_torch:
        mods = peer_import("vesin_torch") or peer_import("vesin.torch")  # vesin >= 0.4: vesin_torch
        assert mods is not None, "vesin-torch is not installed"
        nl = mods[0].NeighborList(cutoff=cutoff, full_list=False, n_threads=threads)
        i, j = nl.compute(r, torch.eye(3, dtype=r.dtype) * box, True, quantities="ij")
        return i, j
    v, = peer_import("vesin")
    nl = v.NeighborList(cutoff=cutoff, full_list=False, n_threads=threads)
    i, j = nl.compute(r.numpy(), np.eye(3) * box, True, quantities="ij", copy=False)
    return torch.from_numpy(np.asarray(i, dtype=np.int64)), torch.from_numpy(np.asarray(j, dtype=np.int64))


def canonical_pairs(i: Tensor, j: Tensor) -> Tensor:
    """Unordered pairs as sorted (M, 2) rows (min, max)."""
    i, j = i.to(torch.long).reshape(-1), j.to(torch.long).reshape(-1)
    lo, hi = torch.minimum(i, j), torch.maximum(i, j)
    key = lo * (int(max(int(hi.max()) if hi.numel() else 0, 0)) + 1) + hi
    order = torch.argsort(key)
    return torch.stack([lo[order], hi[order]], 1)


# ------------------------------------------------------------------------------------------ Adam sweep

def _adam_step_fn(f: Callable[[Tensor], Tensor], beta1: float, beta2: float, eps: float):
    """One Adam step of every (rate, point): x, m, v (L, P, D); ``step_size`` (L, 1, 1) = lr / (1 - beta1^t)
    and ``bc2_sqrt`` = sqrt(1 - beta2^t) computed in double precision by the caller. Returns the
    energies at x (L, P) and the updated x, m, v, with torch.optim.Adam's arithmetic (single-tensor
    path: lerp for m, addcmul for v, (-step_size * m) / denom as addcdiv)."""

    def step(x: Tensor, m: Tensor, v: Tensor, step_size: Tensor, bc2_sqrt: Tensor):
        L, P, D = x.shape
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            e = f(x.reshape(L * P, D)).reshape(L, P)
            (g,) = torch.autograd.grad(e.sum(), x)
        m = torch.lerp(m, g, 1 - beta1)
        v = torch.addcmul(v * beta2, g, g, value=1 - beta2)
        denom = v.sqrt() / bc2_sqrt + eps
        x = x.detach() + (-step_size * m) / denom
        return e.detach(), x, m, v

    return step


class VectorisedAdam:
    """The vectorised plain-torch sweep: x (L, P, D) for L learning rates, autograd energy summed,
    the Adam update over all rates at once with a step-size tensor (L, 1, 1); best energy per rate over
    every iterate including the last. ``compiled``: the whole step function under ``torch.compile``
    (``dynamic=True``; the first calls compile, timed by the caller as the warm-up)."""

    def __init__(self, f: Callable[[Tensor], Tensor], compiled: bool = False, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8):
        self.f = f
        self.betas = (beta1, beta2)
        step = _adam_step_fn(f, beta1, beta2, eps)
        if compiled:
            step = torch.compile(step, dynamic=True)
        self.step = step

    def __call__(self, starts: Tensor, lrs: list[float], n_steps: int) -> Tensor:
        L = len(lrs)
        x = starts.unsqueeze(0).repeat(L, 1, 1)
        m, v = torch.zeros_like(x), torch.zeros_like(x)
        best = torch.full((L,), math.inf, dtype=x.dtype, device=x.device)
        b1, b2 = self.betas
        for t in range(1, n_steps + 1):
            step_size = torch.tensor([lr / (1 - b1**t) for lr in lrs], dtype=torch.float64).to(x).reshape(L, 1, 1)
            bc2_sqrt = torch.tensor((1 - b2**t) ** 0.5, dtype=torch.float64, device=x.device)
            e, x, m, v = self.step(x, m, v, step_size, bc2_sqrt)
            best = torch.minimum(best, e.min(1).values)
        L_, P, D = x.shape
        with torch.no_grad():
            best = torch.minimum(best, self.f(x.reshape(L_ * P, D)).reshape(L_, P).min(1).values)
        return best


# ----------------------------------------------------------------------------------------------- pycma

def pycma_generations(x0: np.ndarray, sigma0: float, lower: float, upper: float, popsize: int, diagonal: bool,
                      generations: int) -> np.ndarray:
    """Run one pycma CMA-ES per row of ``x0`` (B, D), one after another, for ``generations`` ask/tell
    generations on the sphere (bounds by pycma's BoundTransform, quiet, no files); the best energy of each
    instance's last generation (B,)."""
    import warnings

    cma, = peer_import("cma")
    best = np.empty(len(x0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b, x in enumerate(x0):
            es = cma.CMAEvolutionStrategy(x, sigma0, {
                "bounds": [lower, upper], "popsize": popsize, "CMA_diagonal": diagonal, "seed": b + 1,
                "verbose": -9, "verb_log": 0, "verb_disp": 0, "verb_time": False, "signals_filename": None})
            for _ in range(generations):
                X = es.ask()
                a = np.asarray(X)
                f = (a * a).sum(1)
                es.tell(X, f.tolist())
            best[b] = f.min()
    return best
