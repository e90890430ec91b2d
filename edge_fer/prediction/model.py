"""The classifier predict runs: a model the user names, or the shipped one converted once.

The shipped model is a frozen graph; predict runs it as int8 TFLite with a dynamic batch (the
faces of a frame in one call), converted on first use into a cache folder keyed by the graph's
sha256 and reused after. The converter writes each file under a temporary name and renames it,
so an interrupted conversion leaves nothing a later run would take for finished.
"""

from __future__ import annotations

import os
from pathlib import Path

from edge_fer import reporter
from edge_fer.atomic import output_lock, settle
from edge_fer.errors import EdgeFerError, UsageError
from edge_fer.files import require_regular

# The runtime's converted file in <cache>/<sha256 prefix>/ (convert's folder per target).
CONVERTED = {
    "tflite": ("tflite", "int8", "tflite/model_int8.tflite", ("_int8",)),
    "onnx": ("onnx", "int8", "onnx/model_int8.onnx", None),
}


# What the converter advises, in the words of a command the user can run from predict.
PREDICT_CALIB_ADVICE = ("to calibrate on faces of your own: edge-fer convert best --target tflite "
                        "--precision int8 --dynamic-batch --calib FACES, then give predict the "
                        "model_int8.tflite it writes")


def _converter_messages(outer):
    """The converter's messages, shown as predict's: its --calib advice (an option predict does
    not take) said as the commands that do it."""
    from rich.markup import escape

    from edge_fer.converters.verify import CALIB_ADVICE

    def sink(line: str) -> None:
        line = line.replace(CALIB_ADVICE, PREDICT_CALIB_ADVICE)
        if outer is not None:
            outer(line)
        elif line.startswith("warning: "):
            reporter.console.print(f"[yellow]warning:[/yellow] {escape(line[9:])}",
                                   soft_wrap=not reporter.console.is_terminal)
        elif not reporter.QUIET:
            reporter.console.print(escape(line), soft_wrap=not reporter.console.is_terminal)

    return sink


def cache_dir() -> Path:
    """$EDGE_FER_CACHE, else $XDG_CACHE_HOME/edge-fer, else ~/.cache/edge-fer."""
    if os.environ.get("EDGE_FER_CACHE"):
        return Path(os.environ["EDGE_FER_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "edge-fer"


def converted_model(graph: Path, runtime: str) -> Path:
    """`graph` (.pb) as the int8 model `runtime` runs fastest, converted once and cached.

    A second predict starting while the first converts waits for it (a lock beside the entry)
    instead of failing or converting too; an entry whose file no longer matches the sha256 its
    manifest records (damaged, truncated) is converted again."""
    from edge_fer.converters import ConvertRequest, convert_model
    from edge_fer.files import sha256_file

    target, precision, relative, tags = CONVERTED[runtime]
    folder = cache_dir() / "predict" / sha256_file(graph)[:16]
    path = folder / relative
    if _intact(path):
        return path
    folder.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(folder.parent / f"{folder.name}-{target}", wait=True):
        if _intact(path):  # converted by the predict we waited for
            return path
        if path.exists():
            reporter.warn(f"{path}: does not match the sha256 its manifest records; "
                          f"converting it again")
        reporter.info(f"converting {graph.name} to {precision} {target} once for predict "
                      f"(cached in {folder})")
        with reporter.messages_to(_converter_messages(reporter.SINK)):
            convert_model(ConvertRequest(model=graph, target=target, precision=precision,
                                         dynamic_batch=True, out_dir=folder, file_tags=tags))
    return path


def _intact(path: Path) -> bool:
    """The cached file is there and its sha256 is the one its manifest (<name>.json) records."""
    import json

    from edge_fer.files import sha256_file

    settle(path)
    try:
        recorded = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["sha256"]
        return path.is_file() and sha256_file(path) == recorded
    except (OSError, ValueError, KeyError, TypeError):
        return False


def resolve_model(model: Path | None, runtime: str | None) -> tuple[Path, str | None]:
    """The model file to load and the runtime to load it on.

    No model, or a shipped model's name: the shipped graph, as int8 TFLite (or int8 ONNX for
    `--runtime onnx`, the graph itself for `--runtime tf`). A named .pb file with --runtime
    tflite/onnx is converted the same way; without --runtime it runs on tf.
    """
    from edge_fer.training.pretrained import model_or_default, names_shipped_model

    shipped = names_shipped_model(model)

    path = model_or_default(model, note=" (as int8 TFLite)" if runtime in (None, "tflite") else "")
    if path.suffix.lower() != ".pb":
        return path, runtime
    if runtime is None:
        runtime = "tflite" if shipped else "tf"
    if runtime == "tf":
        return path, "tf"
    if runtime not in CONVERTED:
        raise UsageError(f"--runtime {runtime} needs a converted model file (edge-fer convert "
                         f"{path} --target {runtime}); predict converts .pb files for "
                         f"{', '.join(CONVERTED)} or runs them on tf")
    require_regular(path, "a model file")
    if not path.is_file():
        raise EdgeFerError(f"{path}: no such model file")
    return converted_model(path, runtime), runtime
