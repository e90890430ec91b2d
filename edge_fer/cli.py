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


def given_value(argv: list[str], param) -> str | None:
    """What the user typed for an option that was refused (`--batch 0` → '0'), to name it."""
    for opt in getattr(param, "opts", None) or ():
        if not opt.startswith("-"):
            continue
        for i, arg in enumerate(argv):
            if arg == opt and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(opt + "="):
                return arg[len(opt) + 1:]
    return None


def main() -> None:
    """Run the app; a usage error is one line too (`error: edge-fer run: Invalid value for
    '--lr': ...`), exit 2, like every other failure (commands/__init__.py reports those)."""
    argv = debug_first(sys.argv[1:])
    try:
        code = app(args=argv, prog_name="edge-fer", standalone_mode=False)
    except typer.TyperException as exc:  # click's UsageError, BadParameter, NoSuchOption ...
        message = " ".join(exc.format_message().replace("Value error, ", "").split())
        if not message:  # no arguments at all: the help was shown
            sys.exit(exc.exit_code)
        value = given_value(argv, getattr(exc, "param", None))
        if value is not None and repr(value) not in message and value not in message.split():
            message += f" (given: {value!r})"
        context = getattr(exc, "ctx", None)
        where = f"{context.command_path}: " if context is not None else ""
        help_hint = f" (see {context.command_path} --help)" if context is not None else ""
        print(f"error: {where}{message}{help_hint}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
