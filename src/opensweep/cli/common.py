"""What every CLI command shares: the consoles, the --url option and error handling."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console

from opensweep.client import connect
from opensweep.client.base import Client
from opensweep.errors import ConfigError, OpenSweepError

F = TypeVar("F", bound=Callable[..., Any])

# Piped output (CSV-like use, logs, CI) gets wide tables rather than rich's 80-column default.
_PIPED_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
console = Console(width=_PIPED_WIDTH)
err_console = Console(stderr=True)

url_option = click.option(
    "--url",
    envvar="OPENSWEEP_URL",
    default=None,
    help="Where state lives: sqlite:///file.db (default ./opensweep.db), postgresql://..., "
    "or http(s)://server. Also OPENSWEEP_URL.",
)


def handle_errors(fn: F) -> F:
    """Print opensweep errors as one clear message (all violations for configs), no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            err_console.print(f"[red]error:[/red] {exc.message}", highlight=False)
            for path, message in exc.violations:
                err_console.print(f"  {path}: {message}" if path else f"  {message}", markup=False)
            sys.exit(2)
        except OpenSweepError as exc:
            err_console.print(f"[red]error:[/red] {exc.message}", highlight=False)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def open_client(url: str | None) -> Client:
    return connect(url, token=os.environ.get("OPENSWEEP_TOKEN"))
