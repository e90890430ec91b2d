"""One table of model formats: a file's suffix → the one reader that describes it. Every command
that reads a model file (inspect, the runners' spec, convert's manifests, bench, device-bench)
goes through `describe`, so a format is parsed in one place and checked the same way everywhere
(docs/trust.md)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from edge_fer.artifacts import dlcfile, kerasfile, onnxfile, pbfile, tflitefile
from edge_fer.artifacts.description import Description
from edge_fer.errors import EdgeFerError, UsageError
from edge_fer.files import require_regular

KERAS_SUFFIXES = kerasfile.SUFFIXES   # what convert freezes first (convert/source.py)
READERS: dict[str, Callable[[Path], Description]] = {
    ".pb": pbfile.describe_pb,
    ".tflite": tflitefile.describe_tflite,
    ".onnx": onnxfile.describe_onnx,        # `_ctx.onnx` too: its context binaries are listed
    **dict.fromkeys(KERAS_SUFFIXES, kerasfile.describe_keras),
    ".dlc": dlcfile.describe_dlc,           # the container only (dlcfile.UNREAD)
}
# Where the same reader can skip what a runner does not need (FLOPs, checker, quantisation).
TENSORS_ONLY: dict[str, Callable[[Path], Description]] = {
    ".onnx": partial(onnxfile.describe_onnx, full=False),
}


def reader_for(path: str | Path) -> Callable[[Path], Description] | None:
    return READERS.get(Path(path).suffix.lower())


def describe(path: str | Path, full: bool = True) -> Description:
    """The description of a model file (without `full`: its tensors, ops and format facts, not
    what costs more to work out); an unknown suffix is a usage error, a file that is not there
    or not a regular file one line."""
    path = Path(path)
    reader = (None if full else TENSORS_ONLY.get(path.suffix.lower())) or reader_for(path)
    if reader is None:
        raise UsageError(f"{path}: edge-fer reads no {path.suffix or 'suffix-less'} model files; "
                         f"known: {', '.join(READERS)}")
    require_regular(path, "a model file")
    if not path.is_file():
        raise EdgeFerError(f"{path}: no such model file")
    return reader(path)
