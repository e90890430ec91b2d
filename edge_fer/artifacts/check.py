"""One check of a model file as data, for commands that must refuse it before any work (bench
plans every case first): a frozen graph's ops, an ONNX model's external data and context
binaries. The runners make the same checks when they load a model."""

from __future__ import annotations

from pathlib import Path


def check_model_data(path: str | Path) -> None:
    """Raise the one-line EdgeFerError a runner would raise for a refused model file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".pb":
        from edge_fer.tensors.graphio import load_graph_def

        load_graph_def(path, required=())
    elif suffix == ".onnx":
        from edge_fer.artifacts.onnxfile import read_onnx

        read_onnx(path)
