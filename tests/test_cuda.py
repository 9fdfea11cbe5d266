"""CUDA against CPU: every function, potential and method gives the same numbers on a GPU as on the CPU
within the dtype's tolerance. Marked ``cuda`` and skipped where no CUDA device is visible (run them with
``scripts/gpu-check`` or ``python -m pytest -m cuda tests/test_cuda.py``).

Tolerances. float64: relative 1e-9 of the batch's scale (CUDA's and the CPU's libm may differ in the
last bits; sums may be ordered differently). float32: CUDA's error against the float64 CPU value may be
at most 10x the float32 CPU error or 1e-5 of the scale, whichever is larger (the same arithmetic with
different rounding, not a fixed number that would be wrong for functions with cancellation).

Methods: the BlackBox's seeded generator lives on the cell's device, and CUDA's generator (Philox)
draws a different stream from the CPU's (Mersenne Twister), so a method's trajectory on CUDA is not the
CPU's; what must agree is the harness's account of it: every method runs to a result on CUDA, and the
stored final energy is the problem's float64 CPU energy of the stored prediction.
"""

from __future__ import annotations

import math

import pytest
import torch

from gmbench.core.blackbox import Budget
from gmbench.core.errors import GmbenchError
from gmbench.methods import METHODS
from gmbench.problems import PROBLEMS, make_problem

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

FUNCTIONS = sorted(n for n, e in PROBLEMS.items() if e.family in ("function", "bbob"))
ATOMS = sorted(n for n, e in PROBLEMS.items() if e.family == "atoms")


def _function(name: str):
    for dim in (10, 2, 3, 4, 5, 20):
        try:
            return make_problem(name, dim=dim)
        except GmbenchError:
            continue
    pytest.skip(f"{name}: no small dimension accepted")


def _atoms(name: str):
    try:
        return make_problem(name)
    except GmbenchError:
        return make_problem(name, n=16)


def _points(problem, n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    u = torch.rand((n, problem.dim), generator=g, dtype=torch.float64)
    return problem.lower + (problem.upper - problem.lower) * u


def _energy_grad(fn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.clone().requires_grad_(True)
    e = fn(x)
    (g,) = torch.autograd.grad(e.sum(), x)
    return e.detach(), g.detach()


def _close64(cuda: torch.Tensor, cpu: torch.Tensor, what: str) -> None:
    ok = torch.isfinite(cpu)
    assert torch.equal(ok, torch.isfinite(cuda.cpu())), f"{what}: finiteness differs"
    scale = max(1.0, float(cpu[ok].abs().max())) if ok.any() else 1.0
    err = float((cuda.cpu()[ok] - cpu[ok]).abs().max()) if ok.any() else 0.0
    assert err <= 1e-9 * scale, f"{what}: |CUDA - CPU| = {err:.3g} (scale {scale:.3g})"


@pytest.mark.cuda
@cuda
@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_energy_and_gradient(name):
    problem = _function(name)
    fn = problem.energy_fn()
    x = _points(problem, 64)
    e_cpu, g_cpu = _energy_grad(fn, x)
    e_gpu, g_gpu = _energy_grad(fn, x.cuda())
    _close64(e_gpu, e_cpu, f"{name} energy (float64)")
    _close64(g_gpu, g_cpu, f"{name} gradient (float64)")
    # float32: CUDA no further from the float64 truth than the CPU's float32 (x10), or 1e-5 of the scale
    e32_cpu = fn(x.float()).double()
    e32_gpu = fn(x.float().cuda()).double().cpu()
    ok = torch.isfinite(e_cpu) & torch.isfinite(e32_cpu)
    if ok.any():
        scale = max(1.0, float(e_cpu[ok].abs().max()))
        cpu_err = float((e32_cpu[ok] - e_cpu[ok]).abs().max())
        gpu_err = float((e32_gpu[ok] - e_cpu[ok]).abs().max())
        assert gpu_err <= max(10 * cpu_err, 1e-5 * scale), f"{name} float32: CUDA {gpu_err:.3g}, CPU {cpu_err:.3g}"


@pytest.mark.cuda
@cuda
@pytest.mark.parametrize("name", ATOMS)
def test_potential_energy_forces_and_atom_energies(name):
    problem = _atoms(name)
    x = _points(problem, 4, seed=1)
    fused = problem.energy_and_grad_fn()
    if fused is not None:
        e_cpu, g_cpu = fused(x)
        e_gpu, g_gpu = fused(x.cuda())
    else:
        e_cpu, g_cpu = _energy_grad(problem.energy_fn(), x)
        e_gpu, g_gpu = _energy_grad(problem.energy_fn(), x.cuda())
    _close64(e_gpu, e_cpu, f"{name} energy")
    _close64(g_gpu, g_cpu, f"{name} gradient")
    per_atom = problem.atom_energy_fn()
    if per_atom is not None:
        _close64(per_atom(x.cuda()), per_atom(x), f"{name} per-atom energies")


SMALL = {  # small settings so that a method makes progress within the evaluation budget
    "random-search": {"batch_size": 500}, "gd": {"n_points": 20, "max_steps": 200},
    "adam": {"n_points": 20, "max_steps": 200}, "fire": {"n_points": 20, "max_steps": 200},
    "adam-sweep": {"n_points": 10, "n_steps": 100, "lr_start": 0.05, "lr_stop": 0.5, "lr_step": 0.05},
}


@pytest.mark.cuda
@cuda
@pytest.mark.parametrize("method", sorted(n for n, _ in METHODS.items() if not n.startswith("_")))
def test_method_runs_on_cuda_and_the_harness_agrees(method):
    from gmbench.run.cell import make_cell
    from gmbench.run.execute import execute

    problem = make_problem("sphere", dim=5)
    rows = {}
    for device in ("cpu", "cuda:0"):
        cell = make_cell("sphere", method, Budget(30.0, 5000), dim=5, method_params=SMALL.get(method, {}),
                         device=device, dtype="float32", suite="cuda-check", built_problem=problem)
        rows[device] = execute(cell).row
    if rows["cpu"]["status"] != "done":
        pytest.skip(f"{method} does not run on a function problem on the CPU either: {rows['cpu']['error']}")
    row = rows["cuda:0"]
    assert row["status"] == "done", row["error"]
    assert math.isfinite(row["final_energy"])
    x = torch.as_tensor(row["best_x"], dtype=torch.float64)
    assert abs(float(problem.energy_fn()(x)) - row["final_energy"]) <= 1e-9 * max(1.0, abs(row["final_energy"]))


# ---- memory-aware chunking (gmbench.core.memory): runs everywhere -----------------------------------
def test_chunk_rows_from_the_memory_the_device_reports(monkeypatch):
    from gmbench.core import memory

    monkeypatch.setattr(memory, "free_bytes", lambda device: 10_000)
    assert memory.chunk_rows(100, "cpu") == 50  # half of the free memory by default
    assert memory.chunk_rows(100, "cpu", fraction=1.0) == 100
    assert memory.chunk_rows(10**9, "cpu") == 1  # never zero
    monkeypatch.setattr(memory, "free_bytes", lambda device: None)
    assert memory.chunk_rows(100, "cpu") == memory.UNKNOWN_ROWS
    with pytest.raises(ValueError):
        memory.chunk_rows(0, "cpu")
    with pytest.raises(ValueError):
        memory.chunk_rows(1, "cpu", fraction=0)


def test_cpu_free_memory_is_read_from_meminfo():
    from pathlib import Path

    from gmbench.core.memory import free_bytes

    if not Path("/proc/meminfo").is_file():
        pytest.skip("no /proc/meminfo")
    total = next(int(ln.split()[1]) * 1024 for ln in Path("/proc/meminfo").read_text().splitlines()
                 if ln.startswith("MemTotal:"))
    free = free_bytes("cpu")
    assert free is not None and 0 < free <= total


def test_adam_sweep_chunks_shrink_to_the_memory_but_results_do_not_depend_on_it(monkeypatch):
    """The memory cap only lowers the chunk: with plenty of memory the chunking (and so the result under
    an evaluation budget) is the configured one; with little memory the sweep still runs, in smaller chunks."""
    from gmbench.run.cell import make_cell
    from gmbench.core import memory
    from gmbench.methods import adam_sweep
    from gmbench.run.execute import execute

    params = {"n_points": 12, "n_steps": 30, "lr_start": 0.1, "lr_stop": 0.3, "lr_step": 0.1, "report_every": 10,
              "chunk_elems": 4 * 3 * 5}  # 4 points per chunk
    problem = make_problem("sphere", dim=5)

    def run() -> dict:
        cell = make_cell("sphere", "adam-sweep", Budget(None, 3000), dim=5, method_params=params, suite="chunks",
                         built_problem=problem)
        return execute(cell).row

    sizes = []
    real = adam_sweep.adam_sweep_chunk
    monkeypatch.setattr(adam_sweep, "adam_sweep_chunk", lambda f, starts, *a, **k: (sizes.append(len(starts)), real(f, starts, *a, **k))[1])
    plenty = run()
    assert sizes[0] == 4
    monkeypatch.setattr(memory, "free_bytes", lambda device: 2**40)
    sizes.clear()
    assert run()["final_energy"] == plenty["final_energy"] and sizes[0] == 4
    monkeypatch.setattr(memory, "free_bytes", lambda device: 2 * 8 * 3 * 5 * 8)  # half of it: one point's 8 (3 x 5) float64 tensors
    sizes.clear()
    small = run()
    assert small["status"] == "done" and max(sizes) == 1
