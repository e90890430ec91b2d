"""ONNX models through ONNX Runtime's CPU execution provider."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from edge_fer.artifacts.facts import pick_output
from edge_fer.errors import EdgeFerError
from edge_fer.runners.base import Runner


def unavailable_reason() -> str | None:
    if importlib.util.find_spec("onnxruntime") is None:
        return "onnxruntime is not installed (pip install onnxruntime)"
    return None


class OnnxRunner(Runner):
    name = "onnx"

    def __init__(self, model_path: Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.model_path = model_path
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(model_path), sess_options=options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime's errors derive from Exception only
            raise EdgeFerError(f"{model_path}: ONNX Runtime cannot load it "
                               f"({str(exc).splitlines()[0]})") from None
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise EdgeFerError(f"{model_path}: expected one input, found "
                               f"{', '.join(i.name for i in inputs)}")
        self._input = inputs[0].name
        try:
            self._output = pick_output([o.name for o in self._session.get_outputs()])
        except EdgeFerError as exc:
            raise EdgeFerError(f"{model_path}: {exc}") from None
        batch_dim = inputs[0].shape[0] if inputs[0].shape else None
        self.max_batch = batch_dim if isinstance(batch_dim, int) else None

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run([self._output], {self._input: batch})[0]


RUNNER = OnnxRunner
