"""The `edge-fer` command: one typer app, one module per command under edge_fer/commands."""

from __future__ import annotations

import importlib
import os
import sys

import typer
from typer.core import TyperGroup

from edge_fer import __version__
from edge_fer.errors import DEBUG_ENV

COMMAND_MODULES = ("train", "freeze", "convert", "inspect", "raw_inputs", "run", "classify", "compare", "evaluate", "demo", "doctor", "bench", "device_bench", "predict", "models", "hub")

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


# Old option spellings that still work without showing in --help: command → {old: new}.
HIDDEN_ALIASES = {"run": {"--output-dir": "--out"}, "freeze": {"--batch": "--input-batch"}}


def old_spellings(argv: list[str]) -> list[str]:
    """`edge-fer run --output-dir D` works as `--out D` (HIDDEN_ALIASES; not after `--`)."""
    command = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), None)
    if command is None or argv[command] not in HIDDEN_ALIASES:
        return argv
    aliases = HIDDEN_ALIASES[argv[command]]
    end = argv.index("--") if "--" in argv else len(argv)
    fixed = []
    for arg in argv[command + 1:end]:
        name, eq, value = arg.partition("=")
        fixed.append(aliases[name] + eq + value if name in aliases else arg)
    return argv[:command + 1] + fixed + argv[end:]


def usage_error_line(exc: typer.TyperException, argv: list[str]) -> str:
    """`error: edge-fer run: Invalid value for '--batch': ... (given: '0') (see edge-fer run --help)`."""
    message = " ".join(exc.format_message().replace("Value error, ", "").split())
    value = given_value(argv, getattr(exc, "param", None))
    if value is not None and repr(value) not in message and value not in message.split():
        message += f" (given: {value!r})"
    context = getattr(exc, "ctx", None)
    where = f"{context.command_path}: " if context is not None else ""
    help_hint = f" (see {context.command_path} --help)" if context is not None else ""
    return f"error: {where}{message}{help_hint}"


class OneLineErrors(TyperGroup):
    """The root command: a usage error is one line on stderr, exit 2, like every other failure
    (commands/__init__.py reports those), instead of typer's boxed panel."""

    def main(self, args=None, prog_name=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        argv = old_spellings(debug_first(list(sys.argv[1:] if args is None else args)))
        try:
            code = super().main(args=argv, prog_name=prog_name or "edge-fer",
                                standalone_mode=False, **extra)
        except typer.TyperException as exc:  # click's UsageError, BadParameter, NoSuchOption ...
            if exc.format_message().strip():  # empty: no arguments at all, the help was shown
                print(usage_error_line(exc, argv), file=sys.stderr)
            sys.exit(exc.exit_code)
        except typer.Abort:
            print("error: aborted", file=sys.stderr)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="edge-fer",
    help="Train a facial expression CNN and take it to Snapdragon edge runtimes "
         "(SNPE DLC, QNN, TFLite, ONNX).",
    cls=OneLineErrors,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"edge-fer {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit (edge-fer doctor --short: each "
                                      "runtime's too, on one line)."),
         debug: bool = typer.Option(False, "--debug", help="Print the traceback of a failure "
                                    f"(also {DEBUG_ENV}=1); it may come anywhere on the line.")
         ) -> None:
    """edge-fer: train → freeze → convert → raw-inputs → run → classify."""
    if debug:
        os.environ[DEBUG_ENV] = "1"


for _name in COMMAND_MODULES:
    importlib.import_module(f"edge_fer.commands.{_name}").register(app)


def main() -> None:
    app()
