"""The one error guard of every ``gmbench`` command: a :class:`GmbenchError` (bad user input) becomes
one ``error:`` line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import typer
from rich.console import Console
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
