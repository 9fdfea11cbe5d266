"""The parent's side of a sealed cell (:mod:`gmbench.sandbox`): the zygote, and serving one child.

The parent holds the problem, the real BlackBox (whose counters and clock bind), the Inbox and the
Recorder; the child holds the method and a BlackBox whose functions are requests. :class:`Session`
starts a child for a cell, hands it its :class:`~gmbench.sandbox.child.Assignment`, and serves its
requests until the method returns, fails, or outlives its budget.

**Budgets enforced from outside.** With a time budget the parent waits for each request at most until
the budget plus the grace (:func:`gmbench.run.execute.grace_s`) has passed; once it has answered
``EXHAUSTED`` (evaluations or time), the method has the grace to return. A child that does not is
terminated (SIGTERM, then SIGKILL a second later), its cell is stored with status ``overrun`` and the
candidates it reported before are kept. A child that dies or breaks the protocol fails its cell.
"""

from __future__ import annotations

import atexit
import math
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from gmbench.core.blackbox import BlackBox, BudgetExhausted, Clock
from gmbench.core.errors import GmbenchError
from gmbench.core.text import printable
from gmbench.run.recorder import Inbox
from gmbench.sandbox import protocol as P
from gmbench.sandbox.child import Assignment
from gmbench.sandbox.confine import read_paths

#: stop reasons a child may report (anything else reads as "error")
STOPS = ("finished", "evals", "time", "error")
#: the most scalars one report may carry (the rest are dropped)
MAX_SCALARS = 64


class Zygote:
    """The clean process sealed children are forked from (one per harness process, started on first use)."""

    _current: "Zygote | None" = None

    def __init__(self) -> None:
        import gmbench

        self.ctrl, theirs = P.pair()
        env = {"PATH": os.defpath, "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONPATH": str(Path(gmbench.__file__).resolve().parent.parent), "OMP_NUM_THREADS": "1"}
        code = "import sys; from gmbench.sandbox.child import zygote; zygote(int(sys.argv[1]))"
        self.proc = subprocess.Popen([sys.executable, "-s", "-c", code, str(theirs.fileno())], env=env, cwd="/",
                                     pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        theirs.close()

    @classmethod
    def get(cls) -> "Zygote":
        z = cls._current
        if z is None or z.proc.poll() is not None:
            z = cls._current = Zygote()
            atexit.register(z.close)
        return z

    def spawn(self) -> tuple[socket.socket, int]:
        """A new child: (our end of its socket, its pid)."""
        ours, theirs = P.pair()
        try:
            P.send(self.ctrl, P.READY, fds=[theirs.fileno()])
            msg = P.recv(self.ctrl)
        except OSError:
            msg = None
        finally:
            theirs.close()
        if msg is None or msg[0] != P.OK:
            ours.close()
            raise GmbenchError("sealed run: the zygote process ended (could not start the method's process)")
        return ours, int(msg[1])

    def close(self) -> None:
        try:
            self.ctrl.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _since(now: float | None, then: float) -> float | None:
    return None if now is None else max(now - then, 0.0)


def method_module(method: Any) -> str:
    """The method's module as the child imports it: a plugin file's path, else the dotted name."""
    if getattr(type(method), "method_file", None):  # a method file: never imported here (gmbench.run.method_files)
        return str(type(method).method_file)
    mod = sys.modules.get(type(method).__module__)
    name = type(method).__module__
    if name.startswith("gmbench_plugin_") and getattr(mod, "__file__", None):
        return str(Path(mod.__file__).resolve())
    return name


class Session:
    """One sealed cell: the child, its assignment, and the requests it makes."""

    def __init__(self, cell: Any, problem: Any, method: Any):
        if not cell.device.startswith("cpu"):
            raise GmbenchError("sealed runs are CPU-only for now (batches cross through shared host memory; "
                               "CUDA IPC is not implemented): run CUDA cells without --sealed")
        self.cell, self.problem = cell, problem
        self.dtype = getattr(torch, cell.dtype)
        self.itemsize = torch.empty((), dtype=self.dtype).element_size()
        self.sock, self.pid = Zygote.get().spawn()
        structure = problem.structure()
        module = method_module(method)
        job = Assignment(
            method=cell.method.name, module=module, params=method.params(),
            system=problem.config().get("system"), dim=problem.dim, lower=problem.lower.clone(),
            upper=problem.upper.clone(), dtype=cell.dtype, device=cell.device, seed=cell.seed, budget=cell.budget,
            threads=cell.threads, structure=structure,
            n_out=structure.n_atoms if structure is not None and problem.atom_energy_fn() is not None else 0,
            has_sampler=problem.start_sampler() is not None,
            allow_read=read_paths(module if module.endswith(".py") else None),
            scratch=tempfile.mkdtemp(prefix="gmbench-sealed-"))
        blob = pickle.dumps(job)
        self.scratch = job.scratch
        fd = os.memfd_create("gmbench-assignment", os.MFD_CLOEXEC)
        try:
            os.write(fd, blob)
            os.lseek(fd, 0, os.SEEK_SET)
            P.send(self.sock, P.READY, len(blob), fds=[fd])
        finally:
            os.close(fd)
        self.buf: P.SharedBuffer | None = None
        self.n_out = max(job.n_out, 1)
        self._views: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        self.next_gid = 0
        self.protection: str | None = None
        self.early: tuple[str, str] | None = None  # (stop, error) when the method could not even be built
        msg = self._recv(timeout=120.0)
        info = P.tail_json(msg[4]) if msg else None
        if msg is not None and msg[0] == P.READY and isinstance(info, dict):
            self.protection = str(info.get("protection", "?"))[:40]
        elif msg is not None and msg[0] == P.DONE and isinstance(info, dict):
            self.early = ("error", printable(str(info.get("error", "the method could not be built")))[:2000])
            self.protection = str(info.get("protection", "?"))[:40]
        else:
            self.kill()
            self.early = ("error", "the sealed method's process did not start")

    # ---- plumbing -------------------------------------------------------------------------------
    def _recv(self, timeout: float | None) -> tuple | None:
        """The child's next message, waiting at most ``timeout`` seconds (``socket.timeout`` after that; a
        deadline already past times out at once: a zero timeout would make the socket non-blocking)."""
        if timeout is not None and timeout <= 0:
            raise socket.timeout("deadline passed")
        self.sock.settimeout(timeout)
        return P.recv(self.sock)

    def kill(self) -> None:
        """SIGTERM, a second for the child to go, then SIGKILL."""
        for sig, wait in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 0.0)):
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                return
            if wait:
                try:
                    if self._recv(wait) is None:
                        return
                except (socket.timeout, OSError, ValueError):
                    pass

    def close(self) -> None:
        if self.buf is not None:
            self.buf.close()
        self.sock.close()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def views(self, n: int, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (n, D), out (n * k,) and grad (n * D,) in the shared buffer (bounds-checked; once per (n, k))."""
        v = self._views.get((n, k))
        if v is None:
            if self.buf is None:
                raise ValueError("no shared buffer yet")
            dim = self.problem.dim
            out, grad, _ = P.layout(n, dim, k, self.itemsize)
            v = (self.buf.view(0, n * dim, self.dtype).view(n, dim), self.buf.view(out, n * k, self.dtype),
                 self.buf.view(grad, n * dim, self.dtype))
            if len(self._views) > 64:
                self._views.clear()
            self._views[(n, k)] = v
        return v

    # ---- serving --------------------------------------------------------------------------------
    def serve(self, bb: BlackBox, inbox: Inbox, clock: Clock, limit: float | None, grace: float
              ) -> tuple[str, str, str | None, float | None]:
        """Run the method to its end: (status, stop reason, error, the child's CPU seconds)."""
        if self.early is not None:
            return "failed", *self.early, None
        cpu_go = _cpu_seconds(self.pid) or 0.0  # the child's set-up (confinement, imports) is not the method's
        P.send(self.sock, P.GO)
        graphs: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        spent_at: float | None = None  # method time when the parent first answered EXHAUSTED
        stop, error, status = "finished", None, "done"
        while True:
            deadline = min(limit if limit is not None else math.inf,
                           spent_at + grace if spent_at is not None else math.inf)
            try:
                msg = self._recv(None if math.isinf(deadline) else deadline - clock.elapsed())
            except socket.timeout:
                cpu = _since(_cpu_seconds(self.pid), cpu_go)
                self.kill()
                over = clock.elapsed() - (bb.budget.time_s if spent_at is None else spent_at)
                what = "its time budget" if spent_at is None else "its budget was spent"
                return ("overrun", "overrun", f"the method was still running {over:.1f} s after {what} "
                        f"(grace {grace:.1f} s) and was stopped; its earlier reports are kept", cpu)
            except (OSError, ValueError) as exc:
                self.kill()
                return "failed", "error", f"the sealed method broke the protocol ({type(exc).__name__})", None
            if msg is None:
                return "failed", "error", "the method's process ended without a result (it exited or was killed)", None
            op, a, b, c, tail, fds = msg
            if op == P.DONE:
                info = P.tail_json(tail)
                info = info if isinstance(info, dict) else {}
                stop = str(info.get("stop", "error"))
                stop = stop if stop in STOPS else "error"
                if stop == "error":
                    status, error = "failed", printable(str(info.get("error") or "the method failed"))[:2000]
                cpu = _since(_cpu_seconds(self.pid), cpu_go)
                try:
                    P.send(self.sock, P.OK)
                except OSError:
                    pass
                return status, stop, error, cpu
            try:
                answer = self._handle(op, a, b, c, tail, fds, bb, inbox, graphs)
                P.send(self.sock, P.OK, *answer)
            except BudgetExhausted as exc:
                if spent_at is None:
                    spent_at = clock.elapsed()
                P.send(self.sock, P.EXHAUSTED, tail={"reason": exc.reason})
            except (ValueError, TypeError, RuntimeError, KeyError, IndexError) as exc:
                P.send(self.sock, P.ERROR, tail={"type": type(exc).__name__, "message": str(exc)[:2000]})
            except OSError:
                self.kill()
                return "failed", "error", "the sealed method's process went away mid-request", None

    def _handle(self, op: int, a: int, b: int, c: int, tail: bytes, fds: list[int], bb: BlackBox, inbox: Inbox,
                graphs: dict[int, tuple[torch.Tensor, torch.Tensor]]) -> tuple[int, int, int]:
        dim, dtype = bb.dim, self.dtype
        if op == P.BUFFER:
            if len(fds) != 1 or not 0 < a <= os.fstat(fds[0]).st_size:
                for fd in fds:
                    os.close(fd)
                raise ValueError("bad shared buffer")
            if self.buf is not None:
                self.buf.close()
            self.buf = P.SharedBuffer(fds[0], a)
            self._views.clear()
            return 0, 0, 0
        for fd in fds:
            os.close(fd)
        buf = self.buf
        if buf is None:
            raise ValueError("no shared buffer yet")
        if op in (P.ENERGY, P.ENERGY_GRAD, P.ENERGY_GRAPH, P.ATOMS):
            x, out_v, grad_v = self.views(a, self.n_out if op == P.ATOMS else 1)
            if op == P.ENERGY:
                out = bb.energy(x)
            elif op == P.ENERGY_GRAD:
                out, g = bb.energy_and_grad(x)
                grad_v.copy_(g.reshape(grad_v.shape))
            elif b != 1:  # a graph call without a graph to keep (or per-atom energies without one)
                out = bb.energy_graph(x) if op == P.ENERGY_GRAPH else bb.atom_energies(x, graph=b == 2)
            else:  # keep the graph for the child's backward pass
                free = (P.tail_json(tail) or {}).get("free", []) if tail else []
                for gid in free if isinstance(free, list) else []:
                    graphs.pop(gid, None) if isinstance(gid, int) else None
                xg = x.clone().requires_grad_(True)
                out = bb.energy_graph(xg) if op == P.ENERGY_GRAPH else bb.atom_energies(xg, graph=True)
                gid = self.next_gid = self.next_gid + 1
                graphs[gid] = (xg, out)
                out_v.copy_(out.detach().reshape(out_v.shape))
                return 0, 0, gid
            out_v.copy_(out.reshape(out_v.shape))
            return 0, 0, 0
        if op == P.VJP:
            xg, out = graphs[b]
            if a != xg.shape[0]:
                raise ValueError("vjp: wrong batch size")
            x, _, grad_v = self.views(a, out.numel() // max(a, 1))
            (g,) = torch.autograd.grad(out, xg, x.reshape(-1)[:out.numel()].view_as(out), retain_graph=True)
            grad_v.copy_(g.reshape(grad_v.shape))
            return 0, 0, 0
        if op == P.STARTS:
            n, size, at = a, b, c
            if at != P.layout(n, dim, 1, 8)[2]:
                raise ValueError("starts: bad layout")
            bb.generator.set_state(buf.view(at, size, torch.uint8).clone())
            pts = bb._sampler(n, bb.generator)
            buf.view(0, n * dim, torch.float64).copy_(pts.reshape(-1))
            buf.view(at, size, torch.uint8).copy_(bb.generator.get_state())
            return 0, 0, 0
        if op == P.REPORT:
            info = P.tail_json(tail) if tail else {}
            scalars = {}
            for k, v in list((info if isinstance(info, dict) else {}).items())[:MAX_SCALARS]:
                try:
                    scalars[printable(str(k))[:64]] = float(v)
                except (TypeError, ValueError):
                    continue
            inbox(buf.view(0, dim, torch.float64).clone(), **scalars)
            return 0, 0, 0
        if op == P.LOCAL:
            bb.count_local(max(0, min(a, 1 << 40)))
            return 0, 0, 0
        if op == P.SPENT:
            reason = (P.tail_json(tail) or {}).get("reason") if tail else None
            raise BudgetExhausted(reason if reason in ("evals", "time") else "evals")
        raise ValueError(f"unknown request {op}")
