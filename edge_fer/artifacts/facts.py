"""What a model file itself says about its one image input and its class-score output — one
reader per format, each through the checked loader of that format (docs/trust.md):

  .pb      edge_fer.tensors.graphio.load_graph_def (the op allowlist), names from graph_io_names
  .onnx    edge_fer.artifacts.onnxfile.read_onnx (external data confined to the model's folder)
  .tflite  LiteRT's Interpreter (TensorFlow ops carried as Flex ops refused)

A `.dlc` says nothing readable here: its manifest does (runners/model_io.py resolves the spec
from these facts, the manifest, labels.txt and flags). Nothing is unpickled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_fer.errors import EdgeFerError
from edge_fer.files import require_regular
from edge_fer.tensors.graphio import OUTPUT_NAME


@dataclass
class FileFacts:
    """What the model file itself says about its one input and its output."""

    input_name: str
    input_shape: list[int | None]         # None for a free dimension
    input_dtype: str = "float32"
    scale: float | None = None
    zero_point: int | None = None
    output_name: str = "output"
    classes: int | None = None
    softmax: bool | None = None           # the output is a Softmax's (None: cannot tell)
    output_dtype: str = "float32"
    output_scale: float | None = None     # quantisation of an integer output
    output_zero_point: int | None = None


def pick_output(names: list[str], wanted: str | None = None) -> str:
    """The class scores: `wanted` when named, else `output` (tf2onnx keeps TF's `output:0`),
    else the only output."""
    for name in names:
        if name in (wanted or OUTPUT_NAME, f"{wanted or OUTPUT_NAME}:0"):
            return name
    if len(names) == 1 and wanted is None:
        return names[0]
    raise EdgeFerError(f"model has outputs {', '.join(names)} and none named "
                       f"{wanted or OUTPUT_NAME!r}")


def _dim(value) -> int | None:
    return int(value) if isinstance(value, (int, np.integer)) and int(value) > 0 else None


def tflite_facts(path: Path) -> FileFacts:
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(model_path=str(path))
    except (ValueError, RuntimeError) as exc:
        raise EdgeFerError(f"{path}: LiteRT cannot load it ({str(exc).splitlines()[0]})") from None
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    if len(inputs) != 1:
        raise EdgeFerError(f"{path}: expected one input, found "
                           f"{', '.join(d['name'] for d in inputs)}")
    detail = inputs[0]
    signature = detail.get("shape_signature", detail["shape"])
    scale, zero_point = detail["quantization"]
    output = _pick_output_detail(path, outputs)
    softmax = None
    try:
        ops = interpreter._get_ops_details()  # no public API
    except (AttributeError, RuntimeError):
        ops = []
    flex = [op for op in ops if str(op.get("op_name", "")).startswith("Flex")]
    if flex:
        raise EdgeFerError(f"{path}: refused: op {flex[0].get('index')} is {flex[0]['op_name']}, "
                           f"a TensorFlow op carried in the TFLite file (Select TF ops); "
                           f"edge-fer runs only TFLite's own ops (see docs/trust.md)")
    try:
        producers = [op for op in ops if output["index"] in list(op["outputs"])]
        softmax = bool(producers) and producers[0]["op_name"] == "SOFTMAX"
    except KeyError:
        pass
    out_scale, out_zero_point = output["quantization"]
    return FileFacts(detail["name"], [_dim(d) for d in signature], np.dtype(detail["dtype"]).name,
                     float(scale) if scale else None, int(zero_point) if scale else None,
                     output["name"], _dim(output["shape"][-1]), softmax,
                     np.dtype(output["dtype"]).name, float(out_scale) if out_scale else None,
                     int(out_zero_point) if out_scale else None)


def _pick_output_detail(path: Path, outputs: list[dict]) -> dict:
    by_name = {d["name"]: d for d in outputs}
    try:
        return by_name[pick_output(list(by_name))]
    except EdgeFerError as exc:
        raise EdgeFerError(f"{path}: {exc}") from None


ONNX_TYPES = {1: "float32", 2: "uint8", 3: "int8", 10: "float16", 11: "float64"}


def onnx_facts(path: Path) -> FileFacts:
    from edge_fer.artifacts.onnxfile import read_onnx

    model = read_onnx(path)  # external data confined to the model's folder, before any runtime
    initializers = {init.name for init in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise EdgeFerError(f"{path}: expected one input, found {', '.join(i.name for i in inputs)}")
    tensor = inputs[0].type.tensor_type
    shape = [d.dim_value or None for d in tensor.shape.dim]
    outputs = {o.name: o for o in model.graph.output}
    try:
        output_name = pick_output(list(outputs))
    except EdgeFerError as exc:
        raise EdgeFerError(f"{path}: {exc}") from None
    out_dims = outputs[output_name].type.tensor_type.shape.dim
    producer = next((n for n in model.graph.node if output_name in n.output), None)
    softmax = None if producer is None else producer.op_type == "Softmax"
    if producer is not None and producer.op_type in ("Identity", "DequantizeLinear"):
        softmax = None  # a renamed or dequantised tensor: look at the values instead
    return FileFacts(inputs[0].name, shape, ONNX_TYPES.get(tensor.elem_type, "float32"),
                     output_name=output_name,
                     classes=(out_dims[-1].dim_value or None) if out_dims else None,
                     softmax=softmax)


def graph_facts(path: Path, input_name: str | None = None,
                output_name: str | None = None) -> FileFacts:
    from edge_fer.tensors.graphio import graph_io_names, load_graph_def, node_shapes, producer_op

    graph_def = load_graph_def(path, required=())
    input_name, output_name = graph_io_names(graph_def, path, input_name, output_name)
    softmax = producer_op(graph_def, output_name) == "Softmax"
    input_shape, classes = node_shapes(graph_def, input_name, output_name)
    return FileFacts(input_name, input_shape or [],
                     output_name=output_name,
                     classes=classes[-1] if classes else None,
                     softmax=True if softmax else None)


# The readers of each kind of model file (the longest matching suffix wins, as for runners).
FILE_READERS = {".tflite": tflite_facts, ".onnx": onnx_facts, ".pb": graph_facts}


def file_facts(path: str | Path) -> FileFacts | None:
    """What the model file says, or None for files read only through their manifest (.dlc)."""
    path = Path(path)
    reader = FILE_READERS.get(path.suffix.lower())
    if reader is None:
        return None
    require_regular(path, "a model file")
    if not path.is_file():
        raise EdgeFerError(f"{path}: no such model file")
    return reader(path)
