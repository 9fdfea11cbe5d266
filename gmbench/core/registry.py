"""One registry pattern for problems and methods, open to users' own modules.

Users add their own problems or methods by importing a module that calls
``register`` (``--plugin my_module`` on the CLI, or the ``GMBENCH_PLUGINS``
environment variable, a comma-separated list of module names or ``.py`` paths).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

from gmbench.core.errors import GmbenchError, unknown_name

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}
        # names that are part of the design but not built yet: name -> why
        self.planned: dict[str, str] = {}

    def register(self, name: str, item: T, aliases: tuple[str, ...] = (), replace: bool = False) -> T:
        """Register ``item`` under ``name``; ``replace``: over an item of that name (not an alias)."""
        key = self._norm(name)
        if (key in self._items and not replace) or key in self._aliases:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self._items[key] = item
        self.planned.pop(key, None)
        for a in aliases:
            alias = self._norm(a)
            if alias == key:
                continue
            if alias in self._items or self._aliases.get(alias, key) != key:
                raise ValueError(f"{self.kind} alias {a!r} of {name!r} collides with another name")
            self._aliases[alias] = key
        return item

    @staticmethod
    def _norm(name: str) -> str:
        return str(name).strip().lower().replace("_", "-").replace(" ", "-")

    def canonical(self, name: str) -> str:
        key = self._norm(name)
        key = self._aliases.get(key, key)
        if key in self._items or key in self.planned:
            return key
        raise unknown_name(self.kind, str(name), self.names() + sorted(self.planned))

    def get(self, name: str) -> T:
        key = self.canonical(name)
        if key in self.planned:
            raise GmbenchError(f"{self.kind} {name!r} is not available yet: {self.planned[key]}")
        return self._items[key]

    def is_planned(self, name: str) -> bool:
        return self.canonical(name) in self.planned

    def names(self) -> list[str]:
        return list(self._items)

    def items(self) -> list[tuple[str, T]]:
        return list(self._items.items())

    def __contains__(self, name: str) -> bool:
        key = self._aliases.get(self._norm(name), self._norm(name))
        return key in self._items


ENTRY_POINT_GROUP = "gmbench.plugins"
_entry_points_loaded = False


def load_entry_point_plugins() -> None:
    """Import the plugins installed packages declare in the entry-point group ``gmbench.plugins``
    (``[project.entry-points."gmbench.plugins"] name = "module"`` or ``"module:register"``; a callable
    target is called once). Done once per process."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            if callable(obj) and not isinstance(obj, type(sys)):
                obj()
        except Exception as exc:  # a broken plugin is a user error at the edge
            raise GmbenchError(f"cannot load plugin {ep.name!r} ({ep.value}) of entry-point group "
                               f"{ENTRY_POINT_GROUP}: {type(exc).__name__}: {exc}") from exc


def load_plugins(specs: list[str] | None = None) -> None:
    """Import user modules (names or .py paths) so that they can register problems and methods, and the
    plugins of installed packages (entry-point group ``gmbench.plugins``)."""
    load_entry_point_plugins()
    specs = list(specs or [])
    env = os.environ.get("GMBENCH_PLUGINS", "")
    specs += [s for s in env.split(",") if s.strip()]
    for spec in specs:
        spec = spec.strip()
        try:
            if spec.endswith(".py"):
                path = Path(spec)
                if not path.is_file():
                    raise GmbenchError(f"plugin file not found: {spec}")
                name = f"gmbench_plugin_{path.stem}"
                if name in sys.modules:
                    continue
                mod_spec = importlib.util.spec_from_file_location(name, path)
                assert mod_spec and mod_spec.loader
                module = importlib.util.module_from_spec(mod_spec)
                sys.modules[name] = module
                try:
                    mod_spec.loader.exec_module(module)
                except BaseException:
                    del sys.modules[name]  # a failed plugin is not loaded: a later attempt runs it again
                    raise
            else:
                importlib.import_module(spec)
        except GmbenchError:
            raise
        except SystemExit as exc:  # a plugin that exits at import must not end gmbench silently
            raise GmbenchError(f"cannot load plugin {spec!r}: it called sys.exit({exc.code!r}) at import") from None
        except KeyboardInterrupt:
            raise GmbenchError(f"cannot load plugin {spec!r}: it raised KeyboardInterrupt at import") from None
        except Exception as exc:  # a broken plugin is a user error at the edge
            raise GmbenchError(f"cannot load plugin {spec!r}: {type(exc).__name__}: {exc}") from exc


def decorator(registry: Registry[Any], name: str, aliases: tuple[str, ...] = ()) -> Callable[[T], T]:
    def wrap(obj: T) -> T:
        registry.register(name, obj, aliases)
        return obj

    return wrap


def import_submodules(package: str, path: list[str] | Any) -> list[str]:
    """Import every module of a package (``package`` its dotted name, ``path`` its ``__path__``) except
    private ones (``_name``), in name order, so that each registers what it defines: a new built-in
    method, atomistic system or function collection is one new file in its folder."""
    import pkgutil

    names = sorted(m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_"))
    for name in names:
        importlib.import_module(f"{package}.{name}")
    return names
