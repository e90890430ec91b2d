"""The one place that talks to the terminal: progress bars and console output.

Library code reports through here so that `--quiet`, non-TTY runs and `--json` output stay clean.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
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

def console_environ() -> dict[str, str]:
    """The environment rich sizes its output by, without a COLUMNS or LINES that is not a
    positive number (`COLUMNS=0` would make rich drop every row and error line; shutil and
    click ignore such values too)."""
    return {name: value for name, value in os.environ.items()
            if name not in ("COLUMNS", "LINES") or (value.strip().isdigit() and int(value) > 0)}


def new_console(**options) -> Console:
    """A rich Console sized by console_environ()."""
    return Console(_environ=console_environ(), **options)


console = new_console(stderr=True, highlight=False)
QUIET = False
VERBOSE = False
# Python loggers of the libraries underneath: quiet unless --verbose (their errors still show)
THIRD_PARTY_LOGGERS = ("", "absl", "tensorflow", "tf2onnx", "onnxruntime", "h5py", "matplotlib")


def set_quiet(quiet: bool) -> None:
    global QUIET
    QUIET = quiet


def set_verbose(verbose: bool) -> None:
    """--verbose: the libraries' own notices and warnings show (on stderr); otherwise only
    their errors, and what they print natively is swallowed by quiet_native()."""
    import logging
    import warnings

    global VERBOSE
    VERBOSE = verbose
    level = logging.INFO if verbose else logging.ERROR
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(level)
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0" if verbose else "3"
    if not verbose:
        warnings.filterwarnings("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)


SINK = None  # a callable taking one line of plain text, set by messages_to() (the Python API)


# Messages wrap to a terminal's width; in a pipe or a log they stay one line each. Control
# characters in them (a file name holding an escape sequence) are shown escaped.
def info(message: str) -> None:
    message = printable(message)
    if SINK is not None:
        SINK(_plain(message))
    elif not QUIET:
        console.print(message, soft_wrap=not console.is_terminal)


def warn(message: str) -> None:
    message = printable(message)
    if SINK is not None:
        SINK(f"warning: {_plain(message)}")
    else:
        console.print(f"[yellow]warning:[/yellow] {message}", soft_wrap=not console.is_terminal)


def _plain(message: str) -> str:
    from rich.text import Text

    return Text.from_markup(message).plain


@contextlib.contextmanager
def messages_to(sink=None) -> Iterator[None]:
    """While it lasts, info and warnings go to `sink(line)` (default: the `edge_fer` logger,
    INFO and WARNING) instead of the terminal, and no progress bar is drawn: how the Python API
    (edge_fer.api) reports."""
    import logging

    global SINK
    if sink is None:
        logger = logging.getLogger("edge_fer")

        def sink(line: str) -> None:
            logger.log(logging.WARNING if line.startswith("warning: ") else logging.INFO, line)
    saved, SINK = SINK, sink
    try:
        yield
    finally:
        SINK = saved


def progress_enabled() -> bool:
    return SINK is None and not QUIET and sys.stderr.isatty()


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


def _stream_on(stream, fd: int) -> bool:
    try:
        return stream.fileno() == fd
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def quiet_native() -> Iterator[None]:
    """Swallow what native libraries print on file descriptors 1 and 2 while it lasts:
    TensorFlow's absl/oneDNN notices, LiteRT's `INFO: Created TensorFlow Lite XNNPACK delegate`,
    the TFLite converter's `fully_quantize: 0, …`, onnxruntime-qnn's `# LIBNATIVE: …`, and the
    same from child processes, which inherit the descriptors. Python's own sys.stdout and
    sys.stderr keep writing where they did (results on stdout, messages on stderr). With
    --verbose nothing is swallowed; native stdout still goes to stderr, so stdout carries results
    only. Every command runs inside it (edge_fer.commands.reports_errors)."""
    if VERBOSE:
        with native_stdout_to_stderr():
            yield
        return
    try:
        saved = {fd: os.dup(fd) for fd in (1, 2)}
    except OSError:  # no standard descriptors (embedded, daemon): nothing to redirect
        yield
        return
    swapped = {}
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name)
        if _stream_on(stream, fd):  # the real stream: keep it on the saved descriptor
            stream.flush()
            swapped[name] = stream
            setattr(sys, name, open(saved[fd], "w", buffering=1, encoding=stream.encoding,  # noqa: SIM115
                                    errors=stream.errors, closefd=False))  # closed: never (closefd=False)
    with tempfile.TemporaryFile() as sink:
        for fd in (1, 2):
            os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            for name, original in swapped.items():
                with contextlib.suppress(ValueError, OSError):
                    getattr(sys, name).flush()
                setattr(sys, name, original)
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)


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


def emit(text: str) -> None:
    """Print results on standard output; a closed one (`>&-`) is an error naming it, never a
    silent exit 0 (click's echo writes nothing when there is no stdout)."""
    stream = sys.stdout
    if stream is None or getattr(stream, "closed", False):
        from edge_fer.errors import EdgeFerError

        raise EdgeFerError("standard output is closed: nowhere to print the results (give "
                           "--out FILE, or leave stdout open)")
    stream.write(text)
    stream.flush()


def stdout_reader_gone() -> bool:
    """True when standard output is a pipe whose reader has closed (poll reports an error on it)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.__stdout__.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


def discard_stdout() -> None:
    """Point standard output at /dev/null, so nothing more written or flushed to it fails."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.__stdout__.fileno())
        os.close(null)


def mib(size: float | None, unit: bool = True) -> str:
    """A file's size in the one unit every command shows: `6.41 MiB` (empty for None); without
    the unit for a table column headed `MiB`."""
    return "" if size is None else f"{size / 2**20:.2f}" + (" MiB" if unit else "")


def printable(text: str) -> str:
    """A name from a file as it may reach a terminal: control characters (escape sequences,
    newlines, bidi overrides) written as escapes (`\\x1b`), the rest as it is."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def left_ellipsis(text: str, width: int) -> str:
    """`…/faces/happy/img_0001.png`: a path or name cut from its start to `width` characters
    (its end, the file name, is what tells rows apart)."""
    return text if len(text) <= width else "…" + text[-(width - 1):]


MIN_WIDTH = 48  # narrower than this, a summary table's headers would be cut into pieces


def terminal_width() -> int:
    """The width tables are fitted to: the terminal's (COLUMNS when set), 80 in a pipe or when
    COLUMNS says 0 or nonsense, never less than MIN_WIDTH (rows are never dropped for room)."""
    width = new_console().width
    return 80 if width <= 0 else max(width, MIN_WIDTH)


def table_text(headers: list[str], rows: list[list[str]], *, shrink: int = 0,
               right: tuple[int, ...] = (), stack: int | None = None,
               width: int | None = None, gap: int = 2) -> str:
    """Rows as an aligned plain-text table (rich, no colours) that fits `width` (default: the
    terminal's): column `shrink` (a path or a name) gets what the others leave, but at least
    its file names (up to half the width), and its long cells lose their start
    (left_ellipsis), never broken mid-word; column `stack` holds items separated by two spaces
    (`happy 0.880  sad 0.020`), put one per line when the row would not fit; the other columns
    wrap at spaces if they must; `gap` spaces between columns (1 for a table of many figures,
    bench's). Lines carry no trailing spaces."""
    import io

    from rich.table import Table

    width = width or terminal_width()

    def natural_widths() -> list[int]:
        return [max([len(line) for line in header.split("\n")]
                    + [len(line) for row in rows for line in row[i].split("\n")])
                for i, header in enumerate(headers)]

    def others_width() -> int:
        return sum(w for i, w in enumerate(natural) if i != shrink) + gap * (len(headers) - 1)

    natural = natural_widths()
    # a short path stays whole (up to a third of the width), a file name (up to half of it),
    # if the other columns can make room
    def kept(cell: str) -> int:
        return len(cell) if len(cell) <= width // 3 else len(cell.rsplit("/", 1)[-1]) + 2

    names = min(width // 2, max([kept(row[shrink]) for row in rows] or [0]), natural[shrink])
    if stack is not None and others_width() + names > width:  # whole paths only if no stacking
        names = min(names, max([len(row[shrink].rsplit("/", 1)[-1]) + 2 for row in rows] or [0]))
    if stack is not None and others_width() + names > width:
        rows = [[cell.replace("  ", "\n") if i == stack else cell for i, cell in enumerate(row)]
                for row in rows]
        natural = natural_widths()
    # never more than leaves the other columns their longest words (rich wraps them at spaces)
    longest = [max(len(word) for text in [header] + [row[i] for row in rows]
                   for word in text.split() or [""]) for i, header in enumerate(headers)]
    words = sum(w for i, w in enumerate(longest) if i != shrink) + gap * (len(headers) - 1)
    shrunk = min(natural[shrink], max(12, width - others_width(), min(names, width - words - 1)))
    table = Table(box=None, pad_edge=False, padding=(0, gap, 0, 0), header_style="",
                  show_edge=False)
    # the other columns' widths, set here (rich's own collapsing leaves min-width columns too
    # wide and crops the line): the widest gives way first, never below its longest word
    widths = list(natural)
    room = width - shrunk - gap * (len(headers) - 1)
    while sum(w for i, w in enumerate(widths) if i != shrink) > room:
        give = [i for i in range(len(widths)) if i != shrink and widths[i] > longest[i]]
        if not give:
            break
        widths[max(give, key=lambda i: widths[i])] -= 1
    for i, header in enumerate(headers):
        if i == shrink:
            table.add_column(header, no_wrap=True, overflow="ellipsis", min_width=shrunk,
                             max_width=shrunk)
        else:
            table.add_column(header, justify="right" if i in right else "left", overflow="fold",
                             width=widths[i])
    for row in rows:
        table.add_row(*(left_ellipsis(cell, shrunk) if i == shrink else cell
                        for i, cell in enumerate(row)))
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, highlight=False,
            emoji=False, markup=False).print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def wrapped(text: str, width: int | None = None, indent: str = "") -> str:
    """A note as lines of at most `width` characters (default: the terminal's), broken at
    spaces only (a path longer than a line stays whole); continuation lines indented."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width or terminal_width(), subsequent_indent=indent,
                                   break_long_words=False, break_on_hyphens=False)) or text
