"""The one place that talks to the terminal: progress bars and console output.

Library code reports through here so that `--quiet`, non-TTY runs and `--json` output stay clean.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")

console = Console(stderr=True, highlight=False)
QUIET = False


def set_quiet(quiet: bool) -> None:
    global QUIET
    QUIET = quiet


def info(message: str) -> None:
    if not QUIET:
        console.print(message)


def warn(message: str) -> None:
    console.print(f"[yellow]warning:[/yellow] {message}")


def progress_enabled() -> bool:
    return not QUIET and sys.stderr.isatty()


def make_progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
                    console=console, disable=not progress_enabled(), transient=False)


def track(items: Iterable[T], total: int | None = None, description: str = "") -> Iterator[T]:
    """Iterate with a rich progress bar when stderr is a terminal."""
    with make_progress() as bar:
        task = bar.add_task(description, total=total, status="")
        for item in items:
            yield item
            bar.advance(task)


@contextlib.contextmanager
def native_stdout_to_stderr() -> Iterator[None]:
    """Send what native libraries print on file descriptor 1 to stderr while converting, so
    `--json` output on stdout stays machine-readable (CONVENTIONS: Qualcomm runtimes)."""
    try:
        stdout_fd = sys.__stdout__.fileno() if sys.__stdout__ else 1
    except (OSError, ValueError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(stdout_fd)
    try:
        os.dup2(sys.__stderr__.fileno() if sys.__stderr__ else 2, stdout_fd)
        yield
    finally:
        try:
            sys.stdout.flush()
        except ValueError:
            pass
        os.dup2(saved, stdout_fd)
        os.close(saved)
