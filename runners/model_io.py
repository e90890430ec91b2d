"""A model file's input and output specification: from the file, its manifest, then flags.

The file says what it can (tensor names, shape and so size and layout, dtype and quantisation,
class count, whether the last op is a softmax); the manifest edge-fer writes beside a converted
model (`<name>.json`: `input_spec`, `output_spec`) says what a file cannot (colour order,
mean/std, labels); flags override both. Nothing is unpickled: TFLite through LiteRT, ONNX and
frozen graphs through their protobufs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from edge_fer.artifacts.manifest import (
    LABELS_NAME,
    manifest_path,
    manifest_specs,
    read_labels,
    read_manifest,
)
from edge_fer.errors import EdgeFerError, UsageError
from edge_fer.files import require_regular
from edge_fer.labels import LABELS
from edge_fer.tensors.graphio import OUTPUT_NAME
from edge_fer.tensors.spec import InputSpec, OutputSpec


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


def layout_of(shape: list[int | None]) -> str:
    """NCHW when the second dimension is the channel count (1 or 3) and the last is not."""
    if len(shape) == 4 and shape[1] in (1, 3) and shape[3] not in (1, 3):
        return "nchw"
    return "nhwc"


def _input_from_facts(spec: InputSpec, facts: FileFacts, path: Path) -> InputSpec:
    shape = facts.input_shape
    if len(shape) == 3:  # [N, H, W]: one channel without its axis
        shape = [*shape, 1]
    if len(shape) != 4:
        raise EdgeFerError(f"{path}: input {facts.input_name!r} has shape {shape}; edge-fer takes "
                           f"image inputs [N, H, W, C] or [N, C, H, W]")
    layout = layout_of(shape)
    channels, height, width = (shape[1], shape[2], shape[3]) if layout == "nchw" else \
        (shape[3], shape[1], shape[2])
    changes: dict = {"name": facts.input_name, "layout": layout, "dtype": facts.input_dtype,
                     "scale": facts.scale, "zero_point": facts.zero_point, "batch": shape[0]}
    if height and width:
        changes["height"], changes["width"] = height, width
    if channels == 1:
        changes["color"] = "gray"
    elif channels == 3 and spec.color == "gray":
        changes["color"] = "rgb"   # the usual order; a manifest or --color bgr says otherwise
    elif channels not in (None, 3):
        raise EdgeFerError(f"{path}: input {facts.input_name!r} has {channels} channels; "
                           f"edge-fer makes gray (1) or colour (3) images")
    if changes.get("color", spec.color) == "gray" and len(spec.mean) > 1:
        changes["mean"], changes["std"] = spec.mean[:1], spec.std[:1]
    return replace(spec, **changes)


def _default_labels(classes: int | None) -> tuple[str, ...]:
    if classes is None or classes == len(LABELS):
        return LABELS
    return tuple(f"class_{i}" for i in range(classes))


def _resolve_labels(path: Path, output: OutputSpec, from_manifest: bool, classes: int | None,
                    labels_file: str | Path | None) -> tuple[OutputSpec, str]:
    """The labels and where they came from: --labels, else the manifest, else the labels.txt
    beside the model, else the defaults. A labels.txt that disagrees with the manifest or with
    the model's class count is an error, never passed over in silence; --labels settles it."""
    if labels_file is not None:
        return replace(output, labels=read_labels(labels_file)), str(labels_file)
    beside = path.parent / LABELS_NAME
    found = read_labels(beside) if beside.is_file() else None
    settle = "fix or remove it (evaluate, predict and convert also take --labels)"
    if from_manifest:
        if found is not None and found != output.labels:
            raise EdgeFerError(f"{beside}: {_some(found)} disagree with {manifest_path(path)}'s "
                               f"{_some(output.labels)}; {settle}")
        return output, str(manifest_path(path))
    if found is not None:
        if classes is not None and len(found) != classes:
            raise EdgeFerError(f"{beside}: {len(found)} labels, but {path.name} gives {classes} "
                               f"scores; {settle}")
        return replace(output, labels=found), str(beside)
    return replace(output, labels=_default_labels(classes)), str(path)


def _some(labels: tuple[str, ...]) -> str:
    shown = ", ".join(labels[:4]) + (", …" if len(labels) > 4 else "")
    return f"{len(labels)} labels ({shown})"


def model_spec(path: str | Path, labels_file: str | Path | None = None,
               output_kind: str | None = None, **flags) -> tuple[InputSpec, OutputSpec]:
    """The model's input and output specification: file, then manifest, then flags.

    `flags` are InputSpec.with_overrides' (size, color, layout, mean, std, face_crop); a labels
    file whose length is not the model's class count is a one-line error.
    """
    path = Path(path)
    return spec_from_facts(path, file_facts(path), labels_file, output_kind, **flags)


def spec_from_facts(path: str | Path, facts: FileFacts | None,
                    labels_file: str | Path | None = None, output_kind: str | None = None,
                    **flags) -> tuple[InputSpec, OutputSpec]:
    """model_spec with the file's facts already read (convert reads them from the graph it
    converts, with the names and dimensions the user gave)."""
    path = Path(path)
    manifest = read_manifest(path) if path.is_file() else {}
    recorded_input, recorded_output = manifest_specs(path, manifest)
    spec = recorded_input or InputSpec()
    if facts is not None:
        spec = _input_from_facts(spec, facts, path)
    spec = spec.with_overrides(**{k: v for k, v in flags.items() if v is not None})
    if facts is not None and facts.input_shape and None not in facts.input_shape[1:] and \
            any(flags.get(key) for key in ("size", "layout")):
        fixed = _input_from_facts(InputSpec(), facts, path)
        if (fixed.height, fixed.width, fixed.layout) != (spec.height, spec.width, spec.layout):
            raise UsageError(f"{path}: its input {fixed.describe()} is fixed; --size/--layout "
                             f"cannot change it")
    output = recorded_output or OutputSpec()
    classes = facts.classes if facts is not None else None
    if facts is not None:
        activation = "probabilities" if facts.softmax else (
            output.activation if "output_spec" in manifest else "auto")
        output = replace(output, name=facts.output_name, activation=activation)
    output, where = _resolve_labels(path, output, recorded_output is not None, classes,
                                    labels_file)
    if output_kind:
        output = replace(output, activation=output_kind)
    if classes is not None and classes != output.classes:
        raise EdgeFerError(f"{where}: {output.classes} labels, but {path.name} gives {classes} "
                           f"scores")
    return spec, output
