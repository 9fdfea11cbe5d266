"""The command line: thin commands over the packages (``gmbench.cli.app``), one error guard."""

from gmbench.cli.app import app
from gmbench.cli.app import main

__all__ = ["app", "main"]
