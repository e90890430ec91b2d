"""Option types the commands share, so that a bad value is a usage error (exit 2) naming it before
any work or SDK check: fixed choices as Enums (typer lists them in --help and refuses others) and
finite ranges (click's own ranges let NaN through: `nan < 0` is false).

The choice lists are spelled here rather than imported, so that `edge-fer --help` does not load
numpy, OpenCV or the runners; tests/edge_fer/commands/test_options.py checks each equals the list
of the module that uses it.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable

import typer

SNPE_RUNTIMES = ("cpu", "gpu", "dsp", "aip")            # runners/snpe.py RUNTIME_FLAGS
RAW_DTYPES = ("float32", "uint8")                       # tensors/raw_inputs.py RAW_DTYPES
COLORS = ("gray", "rgb", "bgr")                         # tensors/spec.py COLORS
LAYOUTS = ("nhwc", "nchw")                              # tensors/spec.py LAYOUTS
TRAIN_PRECISIONS = ("auto", "fp32", "bf16")             # training/train.py PRECISIONS
LR_SCHEDULES = ("constant", "cosine")                   # training/train.py LR_SCHEDULES
CLASS_WEIGHTINGS = ("none", "balanced", "sqrt")         # training/train.py CLASS_WEIGHTINGS
AUGMENTATIONS = ("none", "flip", "full")                # training/augment.py AUGMENTATIONS
BN_STATISTICS = ("precise", "moving-average")           # training/bn_stats.py BN_STATISTICS
CHECKPOINTS = ("best", "last")                          # training/freeze.py find_checkpoint
RUNTIMES = ("tf", "tflite", "onnx", "snpe", "qnn")      # runners/__init__.py REGISTRY
PERF_PROFILES = ("high_performance", "burst", "sustained_high_performance", "balanced",
                 "default", "power_saver", "low_power_saver", "high_power_saver",
                 "system_settings")                     # benchmarks/device/snpe.py PERF_PROFILES
TFLITE_DELEGATES = ("cpu", "gpu", "nnapi")              # benchmarks/device/tflite.py TFLITE_DELEGATE_FLAGS
ROW_FORMATS = ("table", "csv", "json")                  # classify, compare, evaluate: rows


def choice(name: str, values: Iterable[str]) -> type[enum.Enum]:
    """An Enum whose values are `values`: as an option type, typer accepts only these, lists them
    in --help, and names a wrong one (exit 2)."""
    return enum.Enum(name, {value: value for value in values}, type=str)


Color = choice("Color", COLORS)
RowFormat = choice("RowFormat", ROW_FORMATS)


# What a model file and its manifest may not say about the input, for the commands that read
# one (raw-inputs --model, evaluate, predict): a model brought from elsewhere without a manifest.
def _per_channel(flag: str) -> Callable[[str | None], str | None]:
    """A typer callback: `A` or `A,B,C`, finite numbers (above 0 for --std), checked before
    any work (a usage error, exit 2)."""
    def check(value: str | None) -> str | None:
        if value is not None:
            from edge_fer.errors import UsageError
            from edge_fer.tensors.spec import parse_values

            try:
                parse_values(value, flag)
            except UsageError as exc:
                raise typer.BadParameter(str(exc).removeprefix(f"{flag} ")) from None
        return value

    return check


# Their details (defaults from the model's manifest, else 0, 1, gray/rgb) are in docs/own-model.md.
MEAN_OPTION = typer.Option(None, "--mean", callback=_per_channel("--mean"),
                           help="A or A,B,C: input is (pixel/255-mean)/std.")
STD_OPTION = typer.Option(None, "--std", callback=_per_channel("--std"),
                          help="A or A,B,C (default: manifest's, else 1).")
COLOR_OPTION = typer.Option(None, "--color", show_default=False,
                            help="Input channel order (see docs/own-model.md).")


def input_flags(color, mean: str | None, std: str | None) -> dict:
    """The given ones of --color/--mean/--std, as model_spec and InputSpec.with_overrides take them."""
    given = {"color": plain(color), "mean": mean, "std": std}
    return {key: value for key, value in given.items() if value is not None}


# classify, compare and evaluate print a summary; one row per result only when asked for.
def rows_options(what: str, before: str = "instead of") -> tuple:
    """(--rows, --format, --out) options for a command whose rows are one per `what`."""
    return (typer.Option(False, "--rows", help=f"Print one row per {what} {before} the "
                         "summary."),
            typer.Option(None, "--format", "-f", show_default=False, help=f"Print one row per "
                         f"{what} as table, csv or json (json: the summary's figures too)."),
            typer.Option(None, "--out", "-o", help=f"File to write one row per {what} to (in "
                         "--format, else by its suffix: .csv, .json, else a table); the summary "
                         "still prints."))


def rows_format(fmt: str | None, out=None) -> str:
    """The format rows are written in: as asked, else by the --out file's suffix (.json, .csv),
    else the aligned table."""
    if fmt is not None:
        return fmt
    suffix = out.suffix.lower() if out is not None else ""
    return {".json": "json", ".csv": "csv"}.get(suffix, "table")


def write_rows(chosen: str | None, out, rows_text: Callable[[str], str]) -> bool:
    """`--out FILE`: the rows into it, written atomically; `--format csv|json` without --out:
    the rows on stdout, and True (nothing else belongs there)."""
    from edge_fer import reporter
    from edge_fer.atomic import atomic_write_text

    if out:
        atomic_write_text(out, rows_text(rows_format(chosen, out)))
    if chosen in ("csv", "json") and not out:
        reporter.emit(rows_text(chosen))
        return True
    return False


def complete_list(values: Iterable[str]) -> Callable[[str], list[str]]:
    """Shell completion for an option that takes several of `values` (comma-separated): the
    ones starting with what was typed after the last comma."""
    def complete(incomplete: str) -> list[str]:
        done, _, last = incomplete.rpartition(",")
        return [f"{done},{value}" if done else value for value in values if value.startswith(last)]

    return complete


def plain(value):
    """The string behind a choice (None stays None), for the library functions."""
    return value.value if isinstance(value, enum.Enum) else value


def output_format(as_json: bool, fmt, default: str = "table") -> str:
    """The format asked for by `--json` and `--format` (None: not given): `--json` is
    `--format json`; with another --format it is a usage error rather than a silent choice."""
    from edge_fer.errors import UsageError

    chosen = plain(fmt)
    if as_json and chosen not in (None, "json"):
        raise UsageError(f"--json and --format {chosen} ask for two formats; give one of them")
    return "json" if as_json else chosen or default


def finite(low: float | None = None, high: float | None = None, low_open: bool = False,
           high_open: bool = False) -> Callable[[float | None], float | None]:
    """A typer callback: the value must be a finite number in the range (None passes)."""
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '≥'} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '≤'} {high:g}")
    wanted = "a finite number" + (" " + " and ".join(parts) if parts else "")

    def check(value: float | None) -> float | None:
        if value is None:
            return value
        inside = math.isfinite(value) \
            and (low is None or value > low or (not low_open and value == low)) \
            and (high is None or value < high or (not high_open and value == high))
        if not inside:
            raise typer.BadParameter(f"{value!r} is not {wanted}")
        return value

    return check


# ---- sizes bounded before any work (edge_fer.limits) ----------------------------------------

BATCH_LIMIT = 4096  # edge_fer.limits.MAX_BATCH: `max=` of every --batch option


def parsed_by(parse: Callable[[str], object]) -> Callable[[str | None], str | None]:
    """A typer callback: the text must be what `parse` takes — a usage error at once (exit 2),
    before any model or data loads."""
    def check(value: str | None) -> str | None:
        if value is None:
            return value
        from edge_fer.errors import UsageError

        try:
            parse(value)
        except UsageError as exc:
            raise typer.BadParameter(str(exc)) from None
        return value

    return check


def _size(text: str):
    from edge_fer.tensors.spec import parse_size

    return parse_size(text)


SIZE_CHECK = parsed_by(_size)  # --size H or HxW, at most 4096 a side
