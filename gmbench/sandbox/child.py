"""The sealed child: the zygote that forks one child per cell, and the child's side of a cell.

The **zygote** is started by the parent with an empty environment, ``/`` as its working directory and
an argument list that names nothing of the run (:func:`gmbench.run.sealed.Zygote`); it imports torch,
NumPy, SciPy's optimisers and gmbench's built-in methods (which import no problem, suite parser or
harness module), then forks a child for each socket the parent hands it and tells the parent the
child's pid. It never runs method code itself.

A **child** reads its assignment (what a BlackBox exposes plus the method's name, module and
configuration), confines itself (:func:`gmbench.sandbox.confine.confine`), imports the method's module
if it is a plugin file, builds the method, and runs it on a :class:`SealedBlackBox`: a BlackBox whose
energy, gradient, per-atom energy and starting-structure functions are requests to the parent. The
BlackBox keeps its own counters and clock (so ``evals_left`` and ``time_left`` answer locally) but the
parent's are the ones that bind: it charges every request again and answers ``EXHAUSTED`` when the
budget is spent. Autograd through the energy (``energy_graph``, per-atom energies with ``graph``) keeps
the graph in the parent; a backward pass asks the parent for the vector-Jacobian product.
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.util
import math
import os
import pickle
import signal
import socket
import sys
import weakref
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor

from gmbench.core.blackbox import BlackBox, Budget, BudgetExhausted, Clock, report_scalar
from gmbench.core.errors import method_failure
from gmbench.sandbox import protocol as P


@dataclass
class Assignment:
    """All a sealed child receives: the BlackBox's public part and the method's configuration."""

    method: str                 # registered name
    module: str                 # the method's module: a dotted name, or a plugin file's path
    params: dict[str, Any]      # the method's resolved parameters
    system: str | None          # the atomistic system's name (methods pick per-system defaults), or None
    dim: int
    lower: Tensor
    upper: Tensor
    dtype: str
    device: str
    seed: int
    budget: Budget
    threads: int
    structure: Any              # gmbench.problems.base.Structure or None (public: species, box, system)
    n_out: int                  # per-point outputs of atom_energies (N atoms), 0 if none
    has_sampler: bool
    allow_read: tuple[tuple[str, ...], tuple[str, ...]]  # (directories, files) it may read once confined
    scratch: str                 # a private directory it may write (removed by the parent afterwards)


@dataclass
class Survey:
    """A child's other job: import a method file (confined) and describe what it registers, or resolve one
    method configuration (:mod:`gmbench.run.method_files`)."""

    path: str
    allow_read: tuple[tuple[str, ...], tuple[str, ...]]
    scratch: str
    resolve: tuple[str, dict[str, Any]] | None = None  # (method name, parameters): answer its params() or error


def _describe(cls: Any) -> dict[str, Any]:
    import dataclasses

    from gmbench.config.params import format_type

    fields = []
    for f in dataclasses.fields(cls):
        if not f.init or f.name.startswith("_"):
            continue
        if f.default is not dataclasses.MISSING:
            default: Any = {"value": f.default}
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = {"value": f.default_factory()}  # type: ignore[misc]
        else:
            default = None
        fields.append({"name": f.name, "default": default, "type": format_type(f.type) if not isinstance(f.type, str)
                       else f.type})
    return {"class": cls.__name__, "fields": fields, "summaries": list(cls.summaries),
            "plots": dataclasses.asdict(cls.plots) if cls.plots is not None else None,
            "batch_fields": list(cls.BATCH_FIELDS), "presets": getattr(cls, "PRESETS", {}),
            "preset_by_system": getattr(cls, "PRESET_BY_SYSTEM", {})}


def survey(sock: socket.socket, job: "Survey") -> None:
    """Confine, import the method file, answer with its methods' descriptions (or one resolved
    configuration) as JSON; the parent reads nothing else from here."""
    from gmbench.methods import METHODS, make_method
    from gmbench.sandbox.confine import confine

    confine(job.allow_read, job.scratch)
    before = set(METHODS.names())
    try:
        _load_method_module(job.path)
        if job.resolve is not None:
            name, params = job.resolve
            answer: dict[str, Any] = {"params": make_method(name, params).params()}
        else:
            answer = {"methods": {n: _describe(METHODS.get(n)) for n in sorted(set(METHODS.names()) - before)}}
    except BaseException as exc:  # noqa: BLE001 - the parent reports it
        answer = {"error": str(exc) if isinstance(exc, Exception) and type(exc).__name__ == "GmbenchError"
                  else method_failure(exc)}
    P.send(sock, P.DONE, tail=answer)
    os._exit(0)


class Link:
    """The child's end of the socket and the shared buffer; every remote call goes through here."""

    def __init__(self, sock: socket.socket, dim: int, dtype: torch.dtype, n_out: int):
        self.sock, self.dim, self.dtype, self.n_out = sock, dim, dtype, max(n_out, 1)
        self.itemsize = torch.empty((), dtype=dtype).element_size()
        self.buf: P.SharedBuffer | None = None
        self._views: dict[tuple[int, int], tuple[Tensor, Tensor, Tensor]] = {}  # (n, k) -> x, out, grad
        self.freed: list[int] = []  # autograd graphs the parent may drop (sent with the next graph request)

    # ---- plumbing -------------------------------------------------------------------------------
    def ensure(self, nbytes: int) -> P.SharedBuffer:
        if self.buf is None or self.buf.nbytes < nbytes:
            size = max(nbytes, 2 * (self.buf.nbytes if self.buf else 0), 1 << 16)
            old, self.buf = self.buf, P.SharedBuffer.create(size)
            self._views.clear()
            P.send(self.sock, P.BUFFER, size, fds=[self.buf.fd])
            self.answer()
            if old is not None:
                old.close()
        return self.buf

    def answer(self) -> tuple[int, int, int]:
        data = self.sock.recv(P.MSG)  # the parent sends no descriptors after the assignment
        if len(data) < P.HEADER.size:  # the parent is gone: nothing to report to
            os._exit(3)
        op, a, b, c = P.HEADER.unpack_from(data)
        tail = data[P.HEADER.size:]
        if op == P.OK:
            return a, b, c
        info = P.tail_json(tail) or {}
        if op == P.EXHAUSTED:
            raise BudgetExhausted(str(info.get("reason", "evals")))
        kind = {"ValueError": ValueError, "TypeError": TypeError}.get(info.get("type"), RuntimeError)
        raise kind(str(info.get("message", "the harness refused the request")))

    def views(self, n: int, k: int) -> tuple[Tensor, Tensor, Tensor]:
        """The batch's regions of the shared buffer, x (n, D), out (n * k,) and grad (n, D), made once per
        (n, k) and buffer."""
        v = self._views.get((n, k))
        if v is None:
            out, grad, total = P.layout(n, self.dim, k, self.itemsize)
            buf = self.ensure(total)
            v = self._views[(n, k)] = (buf.view(0, n * self.dim, self.dtype).view(n, self.dim),
                                       buf.view(out, n * k, self.dtype), buf.view(grad, n * self.dim, self.dtype))
        return v

    def put(self, x: Tensor, k: int) -> tuple[int, Tensor, Tensor]:
        """Copy the batch x (..., D) into the buffer: (n, out view, grad view)."""
        n = x.numel() // self.dim if self.dim else 0
        xv, out, grad = self.views(n, k)
        xv.copy_(x.reshape(n, self.dim))
        return n, out, grad

    # ---- the BlackBox's functions ---------------------------------------------------------------
    def energy(self, x: Tensor) -> Tensor:
        graph = torch.is_grad_enabled()  # BlackBox.energy runs under no_grad, energy_graph under enable_grad
        if graph and x.requires_grad:
            return _Graph.apply(x, self, P.ENERGY_GRAPH)
        return self._plain(P.ENERGY_GRAPH if graph else P.ENERGY, x, 1)

    def atom_energy(self, x: Tensor) -> Tensor:
        if torch.is_grad_enabled() and x.requires_grad:
            return _Graph.apply(x, self, P.ATOMS)
        return self._plain(P.ATOMS, x, self.n_out)

    def _plain(self, op: int, x: Tensor, k: int) -> Tensor:
        n, out, _ = self.put(x.detach(), k)
        P.send(self.sock, op, n, 2 if torch.is_grad_enabled() else 0)  # 2: charged as a graph call, none kept
        self.answer()
        return out.clone().reshape(*x.shape[:-1], *((k,) if op == P.ATOMS else ()))

    def graph_forward(self, op: int, x: Tensor) -> tuple[Tensor, int]:
        k = self.n_out if op == P.ATOMS else 1
        n, out, _ = self.put(x.detach(), k)
        freed, self.freed = self.freed[:4000], self.freed[4000:]
        P.send(self.sock, op, n, 1, tail={"free": freed} if freed else None)
        _, _, gid = self.answer()
        return out.clone().reshape(*x.shape[:-1], *((k,) if op == P.ATOMS else ())), gid

    def vjp(self, gid: int, v: Tensor, shape: torch.Size) -> Tensor:
        n = int(math.prod(shape[:-1]))
        k = v.numel() // max(n, 1)
        xv, _, grad = self.views(n, k)
        xv.view(-1)[:v.numel()].copy_(v.reshape(-1))  # the cotangent (n * k values) where x goes
        P.send(self.sock, P.VJP, n, gid)
        self.answer()
        return grad.clone().reshape(shape)

    def energy_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        n, out, grad = self.put(x.detach(), 1)
        P.send(self.sock, P.ENERGY_GRAD, n)
        self.answer()
        return out.clone().reshape(x.shape[:-1]), grad.clone().reshape(x.shape)

    def sampler(self, n: int, generator: torch.Generator) -> Tensor:
        state = generator.get_state()
        out, _, total = P.layout(int(n), self.dim, 1, 8)
        buf = self.ensure(total + state.numel())
        buf.view(total, state.numel(), torch.uint8).copy_(state)
        P.send(self.sock, P.STARTS, int(n), state.numel(), total)
        self.answer()
        generator.set_state(buf.view(total, state.numel(), torch.uint8).clone())
        return buf.view(0, int(n) * self.dim, torch.float64).clone().reshape(int(n), self.dim)

    def report(self, bb: BlackBox, x: Tensor, **scalars: Any) -> None:
        if x.numel() != bb.dim:
            raise ValueError(f"report() takes one point of dimension {bb.dim}, got shape {tuple(x.shape)}")
        bb._charge(1, grad=False)
        buf = self.ensure(P.layout(1, self.dim, 1, 8)[2])
        buf.view(0, self.dim, torch.float64).copy_(x.detach().reshape(-1))
        values = {str(k): report_scalar(v) for k, v in scalars.items()}
        P.send(self.sock, P.REPORT, 1, tail={k: (v if math.isfinite(v) else str(v)) for k, v in values.items()})
        self.answer()

    def count_local(self, n: int) -> None:
        P.send(self.sock, P.LOCAL, int(n))
        self.answer()


class _Graph(torch.autograd.Function):
    """An energy (or per-atom energies) whose autograd graph lives in the parent."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, link: Link, op: int) -> Tensor:  # type: ignore[override]
        y, gid = link.graph_forward(op, x)
        ctx.link, ctx.gid, ctx.shape = link, gid, x.shape
        weakref.finalize(ctx, link.freed.append, gid)  # the graph's node is gone: the parent may drop it
        return y

    @staticmethod
    def backward(ctx: Any, v: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        return ctx.link.vjp(ctx.gid, v.contiguous(), ctx.shape), None, None


class SealedBlackBox(BlackBox):
    """A BlackBox whose functions are requests to the parent (its counters mirror the parent's)."""

    __slots__ = ("_link",)

    def _charge(self, n: int, grad: bool) -> None:
        """Charge locally; when the local counters say the budget is spent, the parent hears it too (so it
        gives the method its grace to return, then stops it) before the method does."""
        try:
            super()._charge(n, grad)
        except BudgetExhausted as exc:
            P.send(self._link.sock, P.SPENT, tail={"reason": exc.reason})
            try:
                self._link.answer()
            except BudgetExhausted:
                pass
            raise

    def count_local(self, n: int = 1) -> None:
        super().count_local(n)
        self._link.count_local(n)


# ---- the child ------------------------------------------------------------------------------------
def _load_method_module(module: str) -> None:
    if not module.endswith(".py"):
        importlib.import_module(module)
        return
    name = f"gmbench_plugin_{os.path.splitext(os.path.basename(module))[0]}"
    spec = importlib.util.spec_from_file_location(name, module)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)


def run_cell(sock: socket.socket) -> None:
    """Serve one cell: read the assignment, confine, build the method, run it, say how it ended."""
    from threadpoolctl import threadpool_limits

    from gmbench.sandbox.confine import confine

    msg = P.recv(sock)
    if msg is None or not msg[5]:
        os._exit(4)
    fd = msg[5][0]
    with os.fdopen(fd, "rb") as f:
        job: Assignment = pickle.load(f)  # written by the parent (trusted); the child never sends pickles
    if isinstance(job, Survey):
        survey(sock, job)
    torch.set_num_threads(job.threads)
    limits = threadpool_limits(limits=job.threads)
    protection = confine(job.allow_read, job.scratch)
    dtype = getattr(torch, job.dtype)
    device = torch.device(job.device)
    try:
        _load_method_module(job.module)
        from gmbench.methods import make_method

        method = make_method(job.method, job.params, system=job.system)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as the cell's error
        P.send(sock, P.DONE, tail={"stop": "error", "error": method_failure(exc), "protection": protection})
        P.recv(sock)
        os._exit(0)
    link = Link(sock, job.dim, dtype, job.n_out)
    torch.manual_seed(job.seed)  # for methods that initialise networks from the global generator
    generator = torch.Generator(device=device)
    generator.manual_seed(job.seed)
    P.send(sock, P.READY, tail={"protection": protection})
    go = P.recv(sock)
    if go is None or go[0] != P.GO:
        os._exit(5)
    bb = SealedBlackBox(link.energy, job.dim, job.lower, job.upper, device, dtype, generator, job.budget,
                        Clock(device), link.sampler if job.has_sampler else None, job.structure,
                        link.atom_energy if job.n_out else None, link.energy_and_grad)
    bb._link = link
    report: Callable[..., None] = lambda x, **s: link.report(bb, x, **s)  # noqa: E731
    stop, error = "finished", None
    try:
        method.run(bb, report)
    except BudgetExhausted as exc:
        stop = exc.reason
    except BaseException as exc:  # noqa: BLE001 - a failing method is a result
        stop, error = "error", method_failure(exc)
    limits.unregister() if hasattr(limits, "unregister") else None
    P.send(sock, P.DONE, tail={"stop": stop, "error": error})
    P.recv(sock)  # the parent has read the CPU time; then we go
    os._exit(0)


def zygote(ctrl_fd: int) -> None:
    """Fork one child per cell socket the parent sends; answer each with the child's pid."""
    import gmbench.methods  # noqa: F401  (the built-in methods, preloaded for every child)

    for name in ("scipy.optimize", "cma", "threadpoolctl", "torch._dynamo"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    ctrl = socket.socket(fileno=ctrl_fd)
    while True:
        msg = P.recv(ctrl)
        if msg is None:  # the parent is gone
            os._exit(0)
        fds = msg[5]
        if not fds:
            continue
        pid = os.fork()
        if pid == 0:
            try:
                ctrl.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _die_with_parent()
                run_cell(socket.socket(fileno=fds[0]))
            finally:
                os._exit(6)
        os.close(fds[0])
        P.send(ctrl, P.OK, pid)


def _die_with_parent() -> None:
    """SIGKILL this child when the zygote ends (which ends when the harness does)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
