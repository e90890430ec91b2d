"""One module per command; each defines `register(app)` and keeps its function thin."""

from __future__ import annotations

import functools
from collections.abc import Callable

import typer

from edge_fer import reporter
from edge_fer.errors import EdgeFerError


def reports_errors(func: Callable) -> Callable:
    """Turn an EdgeFerError into its one-line message on stderr and its exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except EdgeFerError as exc:
            reporter.console.print(f"[red]error:[/red] {exc}", markup=True, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper
