"""The `edge-fer` command: one typer app, one module per command under edge_fer/commands."""

from __future__ import annotations

import importlib

import typer

from edge_fer import __version__

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
                                      help="Print the version and exit.")) -> None:
    """edge-fer: train → freeze → convert → raw-inputs → run → classify."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"edge_fer.commands.{_name}").register(app)


def main() -> None:
    app()
