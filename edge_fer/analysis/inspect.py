"""Describe a model file: inputs, outputs, op histogram, parameters, FLOPs, size.

One table maps file suffixes to inspectors, so each format adds a row, not a branch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from edge_fer.errors import UsageError
from edge_fer.files import require_regular


def graph_flops(graph) -> int:
    """Multiply-adds × 2 of Conv2D, DepthwiseConv2dNative and MatMul for one forward pass."""
    flops = 0
    for op in graph.get_operations():
        if op.type not in ("Conv2D", "DepthwiseConv2dNative", "MatMul"):
            continue
        out_shape = op.outputs[0].shape.as_list()
        kernel_shape = op.inputs[1].shape.as_list()
        batch = out_shape[0] or 1
        if op.type == "MatMul":
            flops += 2 * batch * kernel_shape[0] * kernel_shape[1]
        elif op.type == "Conv2D":
            kh, kw, cin, cout = kernel_shape
            flops += 2 * batch * out_shape[1] * out_shape[2] * kh * kw * cin * cout
        else:
            kh, kw, cin, mult = kernel_shape
            flops += 2 * batch * out_shape[1] * out_shape[2] * kh * kw * cin * mult
    return flops


def inspect_pb(path: Path) -> dict:
    from edge_fer.tensors.graphio import import_graph, load_graph_def, op_histogram

    graph_def = load_graph_def(path, required=())  # any frozen graph, not only edge-fer's
    graph = import_graph(graph_def)
    consumed = {inp.split(":")[0].lstrip("^") for node in graph_def.node for inp in node.input}

    def describe(name: str) -> dict:
        tensor = graph.get_tensor_by_name(f"{name}:0")
        return {"name": name, "shape": tensor.shape.as_list() if tensor.shape.rank is not None else None,
                "dtype": tensor.dtype.name}

    params = 0
    for node in graph_def.node:
        if node.op == "Const" and node.attr["dtype"].type == 1:  # DT_FLOAT weights, not shapes
            dims = [d.size for d in node.attr["value"].tensor.tensor_shape.dim]
            params += int(np.prod(dims)) if dims else 1
    return {
        "path": str(path), "format": "tensorflow frozen graph", "bytes": path.stat().st_size,
        "inputs": [describe(n.name) for n in graph_def.node if n.op == "Placeholder"],
        "outputs": [describe(n.name) for n in graph_def.node
                    if n.name not in consumed and n.op not in ("Const", "NoOp")],
        "ops": dict(sorted(op_histogram(graph_def).items())),
        "parameters": params,
        "flops": graph_flops(graph),
    }


KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")  # what convert freezes first (convert/source.py)


def _artifact_inspectors() -> dict[str, Callable[[Path], dict]]:
    inspectors: dict[str, Callable[[Path], dict]] = {".pb": inspect_pb}
    try:
        from edge_fer.analysis.inspect_artifacts import inspect_onnx, inspect_tflite
    except ImportError:
        return inspectors
    inspectors.update({".tflite": inspect_tflite, ".onnx": inspect_onnx})
    return inspectors


def inspect_model(path: str | Path) -> dict:
    from edge_fer.errors import EdgeFerError

    path = Path(path)
    inspectors = _artifact_inspectors()
    inspector = inspectors.get(path.suffix.lower())
    if inspector is None:
        hint = ("; a Keras file or SavedModel: `edge-fer convert` it (it writes the frozen graph "
                "frozen/<name>.pb), then inspect that" if path.suffix.lower() in KERAS_SUFFIXES
                or path.is_dir() else "")
        raise UsageError(f"{path}: cannot inspect {path.suffix or 'files without a suffix'}; "
                         f"known: {', '.join(inspectors)}{hint}")
    require_regular(path, "a model file")
    if not path.is_file():
        raise EdgeFerError(f"{path}: no such file")
    report = inspector(path)
    report["spec"] = model_specs(path)
    return report


def model_specs(path: Path) -> dict:
    """The input and output specification edge-fer reads for this model (runners/model_io.py),
    or why it cannot tell."""
    from edge_fer.errors import EdgeFerError
    from edge_fer.runners.model_io import model_spec, read_manifest
    from edge_fer.tensors.spec import InputSpec

    try:
        input_spec, output_spec = model_spec(path)
    except EdgeFerError as exc:
        return {"problem": str(exc)}
    own = InputSpec()
    if "input_spec" in read_manifest(path):
        source = f"from its manifest {path.with_suffix('.json').name}"
    elif (input_spec.name, input_spec.height, input_spec.width, input_spec.channels) == \
            (own.name, own.height, own.width, own.channels) and output_spec.name == "output":
        source = "edge-fer's convention (its tensor names and shape)"
    else:  # a file says its tensors' shapes, never its colour order or normalisation
        source = ("not in the file: assumed; give --color/--mean/--std to raw-inputs, run, "
                  "evaluate and predict if the model expects otherwise")
    return {"input": input_spec.describe(), "input_spec": input_spec.to_dict(),
            "output_spec": output_spec.to_dict(), "normalisation": source}
