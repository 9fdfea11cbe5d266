"""Method files the harness never imports (``method_files:`` in a suite, ``gmbench run --method-file``).

A plugin file is imported by the process that loads it, so its module-level code runs there; a sealed run
(:mod:`gmbench.sandbox`) confines the method's run, but a method loaded with ``--plugin`` has already been
imported by the harness, unconfined, to check the suite. A *method file* is only ever imported in a sealed
child: the harness asks a confined child to import it and describe the methods it registers (their
parameters with defaults, summaries, figures, batch fields, presets) and registers for each a stand-in
(:func:`stand_in`) that the suite loader, the cell factory and the report facts use like the real class. A
configuration is resolved (checked, defaults filled, ``params()``) by a confined child as well, once per
distinct configuration. Cells of such methods always run sealed. The stand-in's module is a stub that
points at the file without running it, so the code identity (stale marks) hashes the file as for any plugin.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import pickle
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

from gmbench.core.errors import GmbenchError
from gmbench.methods.base import METHODS, Method
from gmbench.report.plots import IterationPlot
from gmbench.sandbox import protocol as P
from gmbench.sandbox.child import Survey
from gmbench.sandbox.confine import read_paths

_RESOLVED: dict[tuple[str, str, str], dict[str, Any]] = {}  # (file, method, configuration) -> params()


def _ask(path: str, resolve: tuple[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One confined child's answer about the method file ``path`` (JSON, bounded)."""
    import shutil

    from gmbench.run.sealed import Zygote

    if not sys.platform.startswith("linux"):
        raise GmbenchError("method files need Linux (they are read only by a sealed child): use --plugin here")
    scratch = tempfile.mkdtemp(prefix="gmbench-survey-")
    sock, _pid = Zygote.get().spawn()
    try:
        blob = pickle.dumps(Survey(path, read_paths(path), scratch, resolve))
        fd = os.memfd_create("gmbench-survey", os.MFD_CLOEXEC)
        try:
            os.write(fd, blob)
            os.lseek(fd, 0, os.SEEK_SET)
            P.send(sock, P.READY, len(blob), fds=[fd])
        finally:
            os.close(fd)
        sock.settimeout(120.0)
        msg = P.recv(sock)
    except OSError as exc:
        raise GmbenchError(f"method file {path}: its sealed reader failed ({type(exc).__name__})") from None
    finally:
        sock.close()
        shutil.rmtree(scratch, ignore_errors=True)
    answer = P.tail_json(msg[4]) if msg is not None and msg[0] == P.DONE else None
    if not isinstance(answer, dict):
        raise GmbenchError(f"method file {path}: no readable description came back from its sealed reader")
    if "error" in answer:
        raise GmbenchError(f"method file {path}: {str(answer['error'])[:500]}")
    return answer


def load_method_files(paths: list[str]) -> list[str]:
    """Register a stand-in for every method each file defines (the files are read in confined children,
    never imported here); returns the absolute paths."""
    out = []
    for raw in paths:
        path = Path(raw)
        if path.suffix != ".py" or not path.is_file():
            raise GmbenchError(f"method file not found (a .py file): {raw}")
        path = path.resolve()
        out.append(str(path))
        module = _stub_module(path)
        if getattr(module, "_gmbench_surveyed", False):
            continue
        methods = _ask(str(path)).get("methods")
        if not isinstance(methods, dict) or not methods:
            raise GmbenchError(f"method file {raw} registers no method")
        for name, desc in methods.items():
            earlier = METHODS.get(name) if name in METHODS else None
            if earlier is not None and not getattr(earlier, "method_file", None):
                raise GmbenchError(f"method file {raw}: method {name!r} is already registered")
            # a method of another method file with this name (a copy of the file elsewhere): the later wins
            METHODS.register(str(name), stand_in(str(name), desc, str(path), module.__name__), replace=True)
        module._gmbench_surveyed = True  # type: ignore[attr-defined]
    return out


def _stub_module(path: Path) -> types.ModuleType:
    """A module object for the file that is never executed: its spec points at the file, so the code
    identity hashes it like any plugin's."""
    name = f"gmbench_sealed_{path.stem}_{abs(hash(str(path))) % 10**8}"
    if name not in sys.modules:
        module = types.ModuleType(name)
        module.__spec__ = importlib.util.spec_from_file_location(name, path)
        module.__file__ = str(path)
        sys.modules[name] = module
    return sys.modules[name]


def stand_in(name: str, desc: dict[str, Any], path: str, module: str) -> type[Method]:
    """A Method subclass with the described parameters (any type: the child checks them), summaries,
    figures, batch fields and presets; building it resolves the configuration in a confined child."""
    fields: list[Any] = []
    for f in desc.get("fields", []):
        if isinstance(f.get("default"), dict):
            value = f["default"].get("value")
            fields.append((f["name"], Any, dataclasses.field(default_factory=lambda v=value: json.loads(json.dumps(v)))))
        else:
            fields.append((f["name"], Any))
    fields.sort(key=lambda t: len(t) == 3)  # required parameters first, as a dataclass needs

    def __post_init__(self: Any) -> None:
        params = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        key = (path, name, json.dumps(params, sort_keys=True, default=str))
        if key not in _RESOLVED:
            answer = _ask(path, (name, params))
            if not isinstance(answer.get("params"), dict):
                raise ValueError("its sealed reader returned no parameters")
            _RESOLVED[key] = answer["params"]
        self._resolved = _RESOLVED[key]

    def params(self: Any) -> dict[str, Any]:
        return dict(self._resolved)

    def run(self: Any, bb: Any, report: Any) -> None:
        raise RuntimeError(f"method {name!r} comes from a method file: it runs only sealed")

    plots = desc.get("plots")
    ns = {"summaries": tuple(desc.get("summaries") or ()),
          "plots": IterationPlot.from_dict(plots) if isinstance(plots, dict) else None,
          "BATCH_FIELDS": tuple(desc.get("batch_fields") or ()), "PRESETS": dict(desc.get("presets") or {}),
          "PRESET_BY_SYSTEM": dict(desc.get("preset_by_system") or {}), "method_file": path,
          "__post_init__": __post_init__, "params": params, "run": run}
    cls = dataclasses.make_dataclass(str(desc.get("class", "StandIn")), fields, bases=(Method,), namespace=ns)
    cls.__module__ = module
    cls.name = name
    return cls
