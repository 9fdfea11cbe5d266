"""The one error guard of every ``gmbench`` command: a :class:`GmbenchError` (bad user input) becomes
one ``error:`` line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable, TypeVar

import typer
from rich.console import Console
from typer.core import TyperGroup

try:  # typer >= 0.2x carries its own copy of click; older releases use click itself
    from typer import _click as _click_mod
except ImportError:  # pragma: no cover
    import click as _click_mod

_exc = _click_mod.exceptions
_NoArgsIsHelp = getattr(_exc, "NoArgsIsHelpError", ())  # click >= 8.2
_Abort = getattr(_exc, "Abort", None) or getattr(_click_mod, "Abort", None) or typer.Abort
from rich.markup import escape

from gmbench.core.errors import GmbenchError

F = TypeVar("F", bound=Callable[..., Any])

console = Console(stderr=True)


def guard(fn: F) -> F:
    """Wrap a command: user errors print ``error: <message>`` on stderr and exit with status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GmbenchError as exc:
            console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2)

    return wrapper  # type: ignore[return-value]


class OneLineErrors(TyperGroup):
    """The command group: usage errors (an unknown option, a missing argument, a value of the wrong
    type) are one ``error:`` line and exit status 2 as well, instead of click's boxed usage text."""

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _NoArgsIsHelp as exc:  # `gmbench` alone: the help, as before
            exc.show()
            sys.exit(exc.exit_code)
        except _exc.UsageError as exc:
            where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
            console.print(f"[bold red]error:[/] {escape(exc.format_message())}{escape(where)}",
                          highlight=False, soft_wrap=True)
            sys.exit(2)
        except _exc.ClickException as exc:
            console.print(f"[bold red]error:[/] {escape(exc.format_message())}", highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code)
        except _Abort:
            console.print("aborted", highlight=False)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)
