"""Which code computed a cell: a hash over the source files its result depends on, per dependency.

A cell's result depends on its method's module, its problem's modules, the harness that runs and assesses
it (:data:`HARNESS`) and every gmbench module these import (statically, at any depth; the registries'
dynamic ``import_submodules`` is not followed, so one method's change does not reach another's cells).
Each file is hashed as its syntax tree without comments and docstrings, so a change of wording marks
nothing. The store keeps, per cell, the hash and the list of files (``code``, ``code_files``); whether
a stored cell is *stale* (computed by other code than the installed one) is decided by hashing those
files again, from the installed sources, without importing any method or problem.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # .../gmbench

#: the modules that run and assess every cell (their imports follow)
HARNESS = ("gmbench.run.execute", "gmbench.run.recorder", "gmbench.core.blackbox", "gmbench.run.summaries")


def module_file(module: str) -> Path | None:
    """The source file of a module (a gmbench module or a plugin's), without importing it."""
    if module == "gmbench":
        return PACKAGE_ROOT / "__init__.py"
    if module.startswith("gmbench."):
        rel = Path(*module.split(".")[1:])
        for cand in (PACKAGE_ROOT / rel.with_suffix(".py"), PACKAGE_ROOT / rel / "__init__.py"):
            if cand.is_file():
                return cand
        return None
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec is not None and spec.origin and spec.origin.endswith(".py") else None


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


@lru_cache(maxsize=None)
def _parsed(path: str, mtime_ns: int) -> tuple[str, tuple[str, ...]]:
    """(hash of the code without comments and docstrings, gmbench modules it imports) of one file."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return hashlib.sha256(text.encode()).hexdigest(), ()
    imports = set()
    package = _package_of(Path(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.update(a.name for a in node.names if a.name.startswith("gmbench"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            if base.startswith("gmbench"):
                imports.add(base)
                imports.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import submodule`
    dump = ast.dump(_strip_docstrings(tree), include_attributes=False)
    return hashlib.sha256(dump.encode()).hexdigest(), tuple(sorted(imports))


def _package_of(path: Path) -> str:
    try:
        rel = path.resolve().relative_to(PACKAGE_ROOT.parent)
    except ValueError:
        return ""
    parts = rel.with_suffix("").parts
    return ".".join(parts if path.name == "__init__.py" else parts[:-1])


def _file_info(path: Path) -> tuple[str, tuple[str, ...]]:
    return _parsed(str(path), path.stat().st_mtime_ns)


def _key(path: Path) -> str:
    """A file's name in the store: relative to the installed package (``gmbench/...``), else absolute."""
    try:
        return path.resolve().relative_to(PACKAGE_ROOT.parent).as_posix()
    except ValueError:
        return str(path.resolve())


@lru_cache(maxsize=None)
def code_identity(modules: tuple[str, ...]) -> tuple[str, str]:
    """(hash, JSON list of files) of ``modules`` plus :data:`HARNESS` and everything they import inside
    gmbench. Cached per process (the sources do not change under a running process)."""
    todo, files = list(dict.fromkeys((*modules, *HARNESS))), {}
    seen: set[str] = set()
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        path = module_file(mod)
        if path is None:
            continue
        h, imports = _file_info(path)
        files[_key(path)] = h
        todo += [m for m in imports if m not in seen]
    names = sorted(files)
    return _combine(names, [files[n] for n in names]), json.dumps(names)


def _combine(names: Sequence[str], hashes: Iterable[str]) -> str:
    h = hashlib.sha256()
    for n, fh in zip(names, hashes):
        h.update(n.encode() + b"\0" + fh.encode() + b"\0")
    return h.hexdigest()[:16]


#: ``current_hash`` of a cell whose plugin source is not on this machine: its code cannot be checked
UNKNOWN = "unknown"


def current_hash(files_json: str) -> str | None:
    """The hash the listed files (a stored ``code_files``) have in the installed sources; None if one of
    gmbench's own files no longer exists (the cell's code is gone: stale); :data:`UNKNOWN` if a plugin's
    file (stored with an absolute path) is not on this machine (a store read elsewhere: not judged)."""
    names = json.loads(files_json)
    hashes = []
    for n in names:
        p = PACKAGE_ROOT.parent / n if not Path(n).is_absolute() else Path(n)
        if not p.is_file():
            return UNKNOWN if Path(n).is_absolute() else None
        hashes.append(_file_info(p)[0])
    return _combine(names, hashes)


def is_stale(code: str | None, files_json: str | None) -> bool:
    """Whether a stored cell was computed by other code than the installed one. Cells stored before code
    identities were recorded per dependency (no ``code_files``) cannot be checked and count as current
    only if they carry no code at all (the oldest stores)."""
    if code is None:
        return False
    if not files_json:
        return True  # a whole-package fingerprint of earlier gmbench: not comparable, so stale
    now = current_hash(files_json)
    return now != UNKNOWN and now != code
