"""What a sealed child may touch once it holds a method: two layers, applied before the method's module
is imported (so a plugin's import-time code is confined too).

1. **Landlock** (Linux >= 5.13; https://docs.kernel.org/userspace-api/landlock.html), where the kernel
   has it: the child may read only the Python installation, the directories of installed packages,
   gmbench's method-side packages (not ``problems``, ``run``, ``store``, ``studies``, ``cli``,
   ``bench``; ``config`` and ``report`` for the parameter checker and plot declarations), the method's own plugin file, its own ``/proc/<pid>``, CPU
   information and ``/dev/null``/``/dev/urandom``; it may write nothing, open no TCP connection
   (ABI >= 4), signal no process outside itself and connect to no abstract socket (ABI >= 6), and
   ptrace nothing (Landlock's ptrace rule). The restriction cannot be lifted and is inherited by
   anything the child starts. Reading ``/proc/<parent>/cmdline``, the suite file, the store, or the
   parent's memory is refused by the kernel.
2. **An audit hook** (PEP 578; it cannot be removed from Python): imports of gmbench's harness-side
   packages, starting processes, ``os.kill``, socket connections and ``ctypes`` symbol lookups are
   refused, and, where Landlock is missing, opening files outside the same allow-list. Without Landlock
   this layer is best effort: a C extension that opens files itself (``torch.from_file``) is not seen.

:func:`confine` returns which layers hold ("landlock+audit" or "audit"); the parent stores it with
the cell (``sealed`` column).
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

#: gmbench packages a method may import (everything else in gmbench is the harness's)
METHOD_SIDE = ("core", "methods", "optim", "models", "physics", "sandbox", "config", "report")
#: files of gmbench's own a method may read besides (its package marker)
METHOD_SIDE_FILES = ("__init__.py",)
#: gmbench modules a sealed method may not import (it could rebuild problems from them)
HARNESS = ("gmbench.problems", "gmbench.config.suite", "gmbench.config.targets", "gmbench.run",
           "gmbench.store", "gmbench.studies", "gmbench.cli", "gmbench.bench", "gmbench.report.")
#: ... except these (what a method declares its figures with)
METHOD_SIDE_MODULES = frozenset({"gmbench.report.plots"})
BLOCKED_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                  "os.forkpty", "pty.spawn", "os.kill", "os.killpg", "signal.pthread_kill", "socket.connect",
                  "socket.bind", "ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.string_at",
                  "ctypes.wstring_at", "ctypes.PyObj_FromPtr", "ctypes.call_function", "sys.addaudithook")
#: file system changes: allowed inside the child's scratch directory only (or on file descriptors)
FS_EVENTS = ("os.remove", "os.mkdir", "os.rename", "os.rmdir", "os.symlink", "os.link", "os.truncate", "os.chmod",
             "os.chown", "os.utime", "shutil.copyfile", "shutil.rmtree", "os.chdir")


def read_paths(plugin_file: str | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(directories, files) a sealed child may read: the interpreter's installation and installed
    packages (``sys.path`` entries, except a source checkout that contains gmbench, of which only the
    method side), system libraries, and the method's plugin file."""
    import gmbench

    pkg = Path(gmbench.__file__).resolve().parent
    cwd = Path.cwd().resolve()
    dirs: set[str] = set()
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, "/usr/lib", "/usr/lib64", "/lib", "/lib64",
              "/usr/local/lib", "/sys/devices/system/cpu", *sys.path):
        if not p:
            continue
        path = Path(p).resolve()
        if not path.is_dir() or path in (Path("/"), Path("/usr"), Path("/usr/local")):
            continue
        if pkg.is_relative_to(path) and path != pkg:  # a checkout (editable install) holding suites and stores
            continue
        if cwd.is_relative_to(path):  # the harness's working directory (``python -m`` puts it on sys.path)
            continue
        dirs.add(str(path))
    dirs.update(str(pkg / d) for d in METHOD_SIDE if (pkg / d).is_dir())
    files = {str(pkg / f) for f in METHOD_SIDE_FILES if (pkg / f).is_file()}
    files.update(f for f in ("/etc/ld.so.cache", "/dev/null", "/dev/urandom", "/dev/random", "/proc/cpuinfo",
                             "/proc/meminfo", "/etc/localtime") if os.path.exists(f))
    if plugin_file:
        files.add(str(Path(plugin_file).resolve()))
    return tuple(sorted(dirs)), tuple(sorted(files))


def confine(allow: tuple[tuple[str, ...], tuple[str, ...]], scratch: str | None = None) -> str:
    """Confine this process (irreversibly). ``allow``: :func:`read_paths`'s (directories, files);
    ``scratch``: a private directory it may write (its ``TMPDIR``; the parent removes it afterwards)."""
    dirs, files = allow
    dirs = (*dirs, f"/proc/{os.getpid()}")
    if scratch:
        import tempfile

        os.environ["TMPDIR"] = tempfile.tempdir = scratch
    landlock = _landlock(dirs, files, scratch)
    _audit(dirs, files, scratch, check_open=not landlock)
    return "landlock+audit" if landlock else "audit"


# ---- Landlock -------------------------------------------------------------------------------------
_SYS_CREATE, _SYS_ADD, _SYS_RESTRICT = 444, 445, 446  # the same number on every Linux architecture
_READ_FILE, _READ_DIR = 1 << 2, 1 << 3


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: none)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        abi = libc.syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return 0
    return max(int(abi), 0)


def _landlock(dirs: tuple[str, ...], files: tuple[str, ...], scratch: str | None) -> bool:
    abi = landlock_abi()
    if abi < 1:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    fs = (1 << 13) - 1
    if abi >= 2:
        fs |= 1 << 13   # REFER
    if abi >= 3:
        fs |= 1 << 14   # TRUNCATE
    if abi >= 5:
        fs |= 1 << 15   # IOCTL_DEV
    attr = _RulesetAttr(fs, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)  # TCP bind/connect; abstract sockets, signals
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = libc.syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return False
    try:
        rules = [*((d, _READ_FILE | _READ_DIR) for d in dirs), *((f, _READ_FILE) for f in files)]
        if scratch:
            rules.append((scratch, fs))
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                rule = _PathBeneath(access, fd)
                libc.syscall(_SYS_ADD, ruleset, ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0))
            finally:
                os.close(fd)
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS, required to restrict without privileges
            return False
        return libc.syscall(_SYS_RESTRICT, ruleset, ctypes.c_uint32(0)) == 0
    finally:
        os.close(ruleset)


# ---- the audit hook -------------------------------------------------------------------------------
class SealedError(PermissionError):
    """What a sealed method gets for trying to leave its BlackBox."""


def _audit(dirs: tuple[str, ...], files: tuple[str, ...], scratch: str | None, check_open: bool) -> None:
    roots = tuple(d.rstrip("/") + "/" for d in dirs)
    mine = (scratch.rstrip("/") + "/") if scratch else None
    fs_events = frozenset(FS_EVENTS)

    def inside(path: object) -> bool:
        if isinstance(path, int):
            return True  # a file descriptor it already holds
        if not isinstance(path, (str, bytes)) or mine is None:
            return False
        return (os.path.abspath(os.fsdecode(path)) + "/").startswith(mine)

    allowed_files = frozenset(files)
    blocked = frozenset(BLOCKED_EVENTS)
    harness = HARNESS
    preloaded = frozenset(m for m in sys.modules if m.startswith("gmbench")) | METHOD_SIDE_MODULES

    def hook(event: str, args: tuple) -> None:
        if event in blocked:
            raise SealedError(f"sealed run: {event} is not allowed")
        if event in fs_events and not all(inside(a) for a in args[:2] if isinstance(a, (str, bytes, int))):
            raise SealedError(f"sealed run: {event} outside the method's scratch directory is not allowed")
        if event == "import":
            name = args[0] if args else ""
            if isinstance(name, str) and name.startswith(harness) and name not in preloaded:
                raise SealedError(f"sealed run: a method may not import {name}")
        elif event == "open" and check_open and args and isinstance(args[0], (str, bytes)):
            path = os.path.abspath(os.fsdecode(args[0]))
            if path not in allowed_files and not path.startswith(roots) and not inside(path):
                raise SealedError(f"sealed run: opening {path} is not allowed")

    sys.addaudithook(hook)
