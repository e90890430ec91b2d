"""The `edge-fer` command: one typer app, one module per command under edge_fer/commands."""

from __future__ import annotations

import importlib
import os
import sys

import typer

from edge_fer import __version__
from edge_fer.errors import DEBUG_ENV

COMMAND_MODULES = ("train", "freeze", "convert", "inspect", "raw_inputs", "run", "classify", "compare", "evaluate", "demo", "doctor", "bench", "predict", "models")

app = typer.Typer(
    name="edge-fer",
    help="Train a facial expression CNN and take it to Snapdragon edge runtimes "
         "(SNPE DLC, QNN, TFLite, ONNX).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"edge-fer {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit."),
         debug: bool = typer.Option(False, "--debug", help="Print the traceback of a failure "
                                    f"(also {DEBUG_ENV}=1); it may come anywhere on the line.")
         ) -> None:
    """edge-fer: train → freeze → convert → raw-inputs → run → classify."""
    if debug:
        os.environ[DEBUG_ENV] = "1"


for _name in COMMAND_MODULES:
    importlib.import_module(f"edge_fer.commands.{_name}").register(app)


def debug_first(argv: list[str]) -> list[str]:
    """`edge-fer run ... --debug` works like `edge-fer --debug run ...`: --debug belongs to the
    root, wherever it is typed (not after `--`)."""
    end = argv.index("--") if "--" in argv else len(argv)
    if "--debug" not in argv[:end]:
        return argv
    return ["--debug"] + [a for a in argv[:end] if a != "--debug"] + argv[end:]


def main() -> None:
    app(args=debug_first(sys.argv[1:]))
