"""One module per command; each defines `register(app)` and keeps its function thin."""

from __future__ import annotations

import functools
from collections.abc import Callable
from inspect import Parameter, signature  # not `import inspect`: commands/inspect.py shadows it

import typer

from edge_fer import reporter
from edge_fer.errors import EdgeFerError

VERBOSE_OPTION = typer.Option(False, "--verbose", "-v", help="Show the libraries' own notices "
                              "and warnings (TensorFlow, LiteRT, onnxruntime, QNN) on stderr.")


def reports_errors(func: Callable) -> Callable:
    """Every command's wrapper: adds `--verbose/-v`, runs the command with the libraries'
    native chatter swallowed unless verbose (reporter.quiet_native), and turns an EdgeFerError
    into its one-line message on stderr and its exit code."""

    @functools.wraps(func)
    def wrapper(*args, verbose: bool = False, **kwargs):
        reporter.set_verbose(verbose)
        try:
            with reporter.quiet_native():
                return func(*args, **kwargs)
        except EdgeFerError as exc:
            reporter.console.print(f"[red]error:[/red] {exc}", markup=True, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    own = signature(func, eval_str=True)
    wrapper.__signature__ = own.replace(parameters=[
        *own.parameters.values(),
        Parameter("verbose", Parameter.KEYWORD_ONLY, default=VERBOSE_OPTION, annotation=bool)])
    wrapper.__annotations__ = {**func.__annotations__, "verbose": bool}
    return wrapper
