"""One module per command; each defines `register(app)` and keeps its function thin."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from inspect import Parameter, signature  # not `import inspect`: commands/inspect.py shadows it
from pathlib import Path

import typer
from rich.markup import escape

from edge_fer import reporter, signals
from edge_fer.errors import DEBUG_ENV, bug_location, debug_enabled, describe_failure

INTERRUPTED_EXIT = 130
BROKEN_PIPE_EXIT = 141  # 128 + SIGPIPE: what a shell reports for `yes | head`


def _code_roots() -> tuple[Path, ...]:
    """The folders edge-fer's own code lives in (the package and the wings kept beside it)."""
    import edge_fer

    roots = {Path(edge_fer.__file__).resolve().parent}
    for wing in ("runners", "convert", "data"):
        module = sys.modules.get(f"edge_fer.{wing}")
        if module is not None and getattr(module, "__file__", None):
            roots.add(Path(module.__file__).resolve().parent)
    return tuple(sorted(roots))


def _print_error(message: str) -> None:
    reporter.console.print(f"[red]error:[/red] {escape(reporter.printable(message))}", markup=True,
                           soft_wrap=True)


def report_failure(exc: BaseException) -> int:
    """Print what went wrong as one line on stderr and return the exit code.

    Expected failures (describe_failure) print `error: <path>: <what>`; anything else is a bug
    and says where it happened. With --debug / EDGE_FER_DEBUG=1 the traceback comes first.
    """
    if debug_enabled():
        traceback.print_exception(exc, file=sys.stderr)
    described = describe_failure(exc)
    if described is not None:
        message, code = described
        _print_error(message)
        return code
    what = " ".join(str(exc).split())
    hint = "" if debug_enabled() else f"; run again with --debug (or {DEBUG_ENV}=1) for the traceback"
    _print_error(f"internal error (a bug in edge-fer, please report it): {type(exc).__name__}"
                 f"{': ' + what if what else ''} at {bug_location(exc, _code_roots())}{hint}")
    return 1

VERBOSE_OPTION = typer.Option(False, "--verbose", "-v",
                              help="Show the libraries' own notices on stderr.")
QUIET_OPTION = typer.Option(False, "--quiet", "-q",
                            help="No progress messages; results still print.")


def reports_errors(func: Callable) -> Callable:
    """Every command's wrapper: adds `--quiet/-q` and `--verbose/-v` (the same on every
    command; `--json` implies quiet), runs the command with the libraries' native chatter
    swallowed unless verbose (reporter.quiet_native), and turns every failure into one line on
    stderr and an exit code (CONVENTIONS: 1 failure, 2 usage, 3 missing tool), never a
    traceback unless asked for (--debug)."""

    @functools.wraps(func)
    def wrapper(*args, quiet: bool = False, verbose: bool = False, **kwargs):
        reporter.set_quiet(bool(quiet or kwargs.get("as_json")))
        reporter.set_verbose(verbose)
        try:
            with signals.running(), reporter.quiet_native():
                return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # typer's own exits and usage errors already print and exit properly
        except KeyboardInterrupt as exc:  # SIGINT, or SIGTERM/SIGHUP (signals.Interrupted)
            _print_error("interrupted")
            raise typer.Exit(signals.exit_code(exc)) from None
        except BrokenPipeError as exc:
            if not reporter.stdout_reader_gone():
                raise typer.Exit(report_failure(exc)) from None
            # `edge-fer models | head`: the reader has what it wanted; stop without a word, as
            # a shell tool does (and without Python's own complaint when it flushes at exit)
            reporter.discard_stdout()
            raise typer.Exit(BROKEN_PIPE_EXIT) from None
        except Exception as exc:  # noqa: BLE001 - the one place every failure is reported
            raise typer.Exit(report_failure(exc)) from None

    own = signature(func, eval_str=True)
    wrapper.__signature__ = own.replace(parameters=[
        *own.parameters.values(),
        Parameter("quiet", Parameter.KEYWORD_ONLY, default=QUIET_OPTION, annotation=bool),
        Parameter("verbose", Parameter.KEYWORD_ONLY, default=VERBOSE_OPTION, annotation=bool)])
    wrapper.__annotations__ = {**func.__annotations__, "quiet": bool, "verbose": bool}
    return wrapper
