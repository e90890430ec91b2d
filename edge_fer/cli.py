"""The `edge-fer` command: one typer app, one module per command under edge_fer/commands."""

from __future__ import annotations

import importlib
import os
import re
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


def _wrap_without_breaking_words() -> None:
    """Help text wraps at spaces only: click's wrapper also breaks at hyphens, which cuts option
    names in two (`--list-` / `archs`)."""
    from typer._click import _textwrap

    class Wrapper(_textwrap.TextWrapper):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("break_on_hyphens", False)
            kwargs.setdefault("break_long_words", False)
            super().__init__(*args, **kwargs)

    _textwrap.TextWrapper = Wrapper  # wrap_text imports it from there when it wraps


_wrap_without_breaking_words()

def _version(value: bool) -> None:
    if value:
        typer.echo(f"edge-fer {__version__}")
        raise typer.Exit()


def root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit (edge-fer doctor --short: each "
                                      "runtime's too, on one line)."),
         debug: bool = typer.Option(False, "--debug", help="Print the traceback of a failure "
                                    f"(also {DEBUG_ENV}=1); it may come anywhere on the line.")
         ) -> None:
    """edge-fer: train → freeze → convert → raw-inputs → run → classify."""
    if debug:
        os.environ[DEBUG_ENV] = "1"


# One line each in `edge-fer --help`'s list (click cuts longer ones with "...").
SHORT_HELP = {
    "train": "Train a CNN on FER2013, image folders or synthetic faces.",
    "freeze": "Freeze a training run into an inference-only .pb.",
    "convert": "Convert a model to TFLite, ONNX, QNN and SNPE DLC.",
    "inspect": "A model's tensors, ops, parameters and FLOPs.",
    "raw-inputs": "Images or a FER2013 CSV → .raw tensors + input list.",
    "run": "Run a model over an input list into Result folders.",
    "classify": "Labels, accuracy and confusion matrix of a run.",
    "compare": "Agreement of models, runtimes and runs on one list.",
    "evaluate": "Accuracy of a model on a data set, in one step.",
    "demo": "The whole pipeline on built-in synthetic faces.",
    "doctor": "Which runtimes, SDKs and devices are available.",
    "bench": "Latency and memory of models on their runtimes.",
    "device-bench": "Benchmark a model on an Android device over adb.",
    "predict": "Every face in photos, videos or a camera → emotion.",
    "models": "The shipped models and their figures.",
    "hub": "Profile and run models on AI Hub's hosted devices.",
}
EXAMPLE_LINE = re.compile(r"^\s*(edge-fer|python)\s")
NOTE = re.compile(r"^(?P<command>.*?)\s{2,}\((?P<note>.*)\)\s*$")
EXAMPLE_WIDTH = 74  # the help's 2-space indent + this fits 80 columns (click stops at 78)


def _example(line: str, width: int = EXAMPLE_WIDTH) -> list[str]:
    """One example as shell lines that fit `width`: a long command continues with ` \\`, a
    trailing `   (note)` becomes a `# note` line above it, so every line can be pasted."""
    found = NOTE.match(line.strip())
    command, note = (found["command"], found["note"]) if found else (line.strip(), None)
    lines = []
    if note:
        current = "  #"
        for word in note.split():
            if len(current) + 1 + len(word) > width:
                lines.append(current)
                current = "  #"
            current += " " + word
        lines.append(current)
    words = []  # an option and its value stay on one line
    for word in command.split():
        if words and words[-1].startswith("-") and " " not in words[-1] \
                and not word.startswith("-"):
            words[-1] += " " + word
        else:
            words.append(word)
    current = "  " + words[0]
    for word in words[1:]:
        if len(current) + 1 + len(word) + 2 > width:
            lines.append(current + " \\")
            current = "      " + word
        else:
            current += " " + word
    lines.append(current)
    return lines


def verbatim_examples(text: str | None) -> str | None:
    """A command's help with its example paragraphs kept as typed (click's `\\b`), each example
    fitted to 80 columns; other paragraphs wrap as usual."""
    if not text:
        return text
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [line for line in paragraph.splitlines() if line.strip()]
        if lines and all(EXAMPLE_LINE.match(line) for line in lines):
            paragraphs.append("\b\n" + "\n".join(out for line in lines for out in _example(line)))
        else:
            paragraphs.append(paragraph)
    return "\n\n".join(paragraphs)


def _fit_help(typer_app: typer.Typer, prefix: str = "") -> None:
    """Short help and verbatim examples for every command; a group's commands are looked up as
    `group command` in SHORT_HELP (`hub run` is not `run`)."""
    for info in typer_app.registered_commands:
        name = info.name or ""
        info.short_help = info.short_help or SHORT_HELP.get(prefix + name)
        info.help = verbatim_examples(info.help)
        info.epilog = verbatim_examples(info.epilog)
    for group in typer_app.registered_groups:
        group.short_help = group.short_help or SHORT_HELP.get(group.name or "")
        if group.typer_instance is not None:
            info = group.typer_instance.info
            info.epilog = verbatim_examples(info.epilog)
            _fit_help(group.typer_instance, prefix=f"{prefix}{group.name} ")


def build_app(modules: tuple[str, ...] = COMMAND_MODULES) -> typer.Typer:
    """The `edge-fer` app with the commands of `modules` (edge_fer/commands/<module>.py)."""
    # Plain (click) help, not typer's rich panels: at 80 columns the panels squeeze the description
    # into a narrow column and cut option names (`--distill-temper…`); click's layout wraps instead.
    app = typer.Typer(
        name="edge-fer",
        help="Train a facial expression CNN and take it to Snapdragon edge runtimes "
             "(SNPE DLC, QNN, TFLite, ONNX).",
        cls=OneLineErrors,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=True,
        rich_markup_mode=None,
    )
    app.callback()(root)
    for name in modules:
        importlib.import_module(f"edge_fer.commands.{name}").register(app)
    _fit_help(app)
    return app


def invoked_module(argv: list[str]) -> str | None:
    """The module of the command `argv` runs (its first word that is not an option), or None:
    no command (the root's help or --version), an unknown one, or shell completion at work."""
    if any(name.startswith("_") and name.endswith("_COMPLETE") for name in os.environ):
        return None  # typer's completion (_EDGE_FER_COMPLETE) lists every command
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):  # the root's options (--debug, --version) take no value
            module = arg.replace("-", "_")
            return module if module in COMMAND_MODULES else None
    return None


def __getattr__(name: str):
    """`edge_fer.cli.app`: every command, built on first use (tests, scripts, CliRunner)."""
    if name == "app":
        globals()["app"] = built = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """The `edge-fer` entry point: only the invoked command's module is imported and built
    (start-up is most of a short command's time); the root's help and errors get them all."""
    module = invoked_module(sys.argv[1:])
    build_app((module,) if module else COMMAND_MODULES)()
