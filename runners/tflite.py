"""TFLite models (fp32, fp16, int8) through LiteRT's Interpreter.

Batching resizes the input tensor; a model whose graph pins batch 1 (e.g. a fixed Reshape) falls
back to one image per invoke. int8/uint8 inputs and outputs are quantized and dequantized with the
tensors' own scale and zero point, so a `_int8.tflite` takes the same float raws as every runtime.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from edge_fer.artifacts.facts import pick_output
from edge_fer.errors import EdgeFerError
from edge_fer.runners.base import Runner


def unavailable_reason() -> str | None:
    if importlib.util.find_spec("ai_edge_litert") is None:
        return "LiteRT is not installed (pip install ai-edge-litert)"
    return None


def quantize(values: np.ndarray, detail: dict) -> np.ndarray:
    """float → the tensor's integer type with its (scale, zero point); floats pass through."""
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        return values.astype(dtype, copy=False)
    scale, zero_point = detail["quantization"]
    if not scale:
        raise EdgeFerError(f"input tensor {detail['name']!r} is {dtype} without quantization "
                           f"parameters")
    info = np.iinfo(dtype)
    return np.clip(np.round(values / scale + zero_point), info.min, info.max).astype(dtype)


def dequantize(values: np.ndarray, detail: dict) -> np.ndarray:
    if values.dtype.kind == "f":
        return values.astype(np.float32, copy=False)
    scale, zero_point = detail["quantization"]
    return ((values.astype(np.float32) - zero_point) * scale).astype(np.float32)


class TfliteRunner(Runner):
    name = "tflite"

    def __init__(self, model_path: Path, threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.model_path = model_path
        try:
            self._interpreter = Interpreter(model_path=str(model_path), num_threads=threads)
        except (ValueError, RuntimeError) as exc:
            raise EdgeFerError(f"{model_path}: LiteRT cannot load it "
                               f"({str(exc).splitlines()[0]})") from None
        inputs = self._interpreter.get_input_details()
        if len(inputs) != 1:
            raise EdgeFerError(f"{model_path}: expected one input, found "
                               f"{', '.join(d['name'] for d in inputs)}")
        self._input_index = inputs[0]["index"]
        outputs = {d["name"]: d for d in self._interpreter.get_output_details()}
        try:
            self._output_name = pick_output(list(outputs))
        except EdgeFerError as exc:
            raise EdgeFerError(f"{model_path}: {exc}") from None
        try:
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:  # e.g. a custom op LiteRT does not have
            raise EdgeFerError(f"{model_path}: LiteRT cannot prepare it "
                               f"({' '.join(str(exc).split())[:300]})") from None
        self._batch = int(inputs[0]["shape"][0])

    def _details(self) -> tuple[dict, dict]:
        inputs = self._interpreter.get_input_details()[0]
        outputs = {d["name"]: d for d in self._interpreter.get_output_details()}
        return inputs, outputs[self._output_name]

    def _resize(self, batch: int) -> None:
        shape = [batch, *self._interpreter.get_input_details()[0]["shape"][1:]]
        self._interpreter.resize_tensor_input(self._input_index, shape)
        self._interpreter.allocate_tensors()
        self._batch = batch

    def _invoke(self, batch: np.ndarray) -> np.ndarray:
        if len(batch) != self._batch:
            self._resize(len(batch))
        input_detail, output_detail = self._details()
        self._interpreter.set_tensor(self._input_index, quantize(batch, input_detail))
        self._interpreter.invoke()
        probs = self._interpreter.get_tensor(output_detail["index"])
        return dequantize(probs, output_detail).reshape(len(batch), -1)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if self.max_batch == 1 or len(batch) == 1:
            return np.concatenate([self._invoke(batch[i:i + 1]) for i in range(len(batch))])
        try:
            probs = self._invoke(batch)
            if probs.shape[0] == len(batch) and self._output_rows() == len(batch):
                return probs
        except (RuntimeError, ValueError):
            pass
        # The graph pins batch 1 somewhere past the input: run images one by one from now on.
        self.max_batch = 1
        self._resize(1)
        return self.predict(batch)

    def _output_rows(self) -> int:
        return int(self._details()[1]["shape"][0])


RUNNER = TfliteRunner
