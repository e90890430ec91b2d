"""The ONNX reader (`.onnx`, `_ctx.onnx`): the protobuf parsed once, its external data confined to
the model's own folder before ONNX or ONNX Runtime follows a path out of it (docs/trust.md), then
described (describe_onnx).

A tensor may keep its bytes in another file (`external_data` `location`, relative to the model's
folder). A location that is absolute, climbs with `..`, or resolves (through a symlink) outside
the folder is refused in one line; so is a missing or too short data file. Nothing is loaded
from the external files here: they are only checked to exist and be long enough.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from edge_fer.artifacts.description import Description, Tensor, product
from edge_fer.errors import EdgeFerError
from edge_fer.files import not_regular, read_regular

EXTERNAL = 1  # onnx.TensorProto.EXTERNAL
INT64 = 7     # onnx.TensorProto.INT64
# numpy's names of ONNX's element types (onnx.helper.tensor_dtype_to_np_dtype, without importing
# onnx); the rest are named by ONNX's own enum, lower-cased.
_NUMPY_NAMES = {"FLOAT": "float32", "DOUBLE": "float64", "FLOAT16": "float16", "BOOL": "bool",
                "STRING": "object", "COMPLEX64": "complex64", "COMPLEX128": "complex128"}


def onnx_proto():
    """ONNX's generated protobuf module (ModelProto, TensorProto, …). `import onnx` costs about
    0.6 s (its ml_dtypes extension), more than a small model takes to run, so a command that
    only reads a model loads the generated module by itself, under its own name, where the
    onnx package finds it if it is imported later (one registration of onnx-ml.proto)."""
    module = sys.modules.get("onnx.onnx_ml_pb2")
    if module is not None:
        return module
    package = importlib.util.find_spec("onnx")
    if package is None or not package.submodule_search_locations:
        raise ImportError("onnx is not installed")
    source = Path(package.submodule_search_locations[0]) / "onnx_ml_pb2.py"
    if not source.is_file():  # laid out otherwise than the wheels we pin: the package's own way
        from onnx import onnx_ml_pb2

        return onnx_ml_pb2
    spec = importlib.util.spec_from_file_location("onnx.onnx_ml_pb2", source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[spec.name]
        raise
    return module


def _tensors_of_graph(graph) -> Iterator:
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        yield from _tensors_of_node(node)


def _tensors_of_node(node) -> Iterator:
    for attribute in node.attribute:
        if attribute.HasField("t"):
            yield attribute.t
        yield from attribute.tensors
        if attribute.HasField("sparse_tensor"):
            yield attribute.sparse_tensor.values
            yield attribute.sparse_tensor.indices
        for sparse in attribute.sparse_tensors:
            yield sparse.values
            yield sparse.indices
        if attribute.HasField("g"):
            yield from _tensors_of_graph(attribute.g)
        for graph in attribute.graphs:
            yield from _tensors_of_graph(graph)


def all_tensors(model) -> Iterator:
    """Every TensorProto of the model: initializers, constants, subgraphs', functions'."""
    yield from _tensors_of_graph(model.graph)
    for function in model.functions:
        for node in function.node:
            yield from _tensors_of_node(node)


def _external_field(tensor, key: str) -> str | None:
    return next((entry.value for entry in tensor.external_data if entry.key == key), None)


_DRIVE = re.compile(r"^[A-Za-z]:")


def confined(folder: Path, location: str, what: str) -> Path:
    """`location` (a path the model file names, relative to its folder) resolved, refused unless
    it is a regular file inside `folder` (no absolute path, no `..`, no symlink out of it)."""
    if os.path.isabs(location) or location.startswith(("/", "\\")) or _DRIVE.match(location):
        raise EdgeFerError(f"{what} {location!r}, an absolute path; refused: the files a model "
                           f"names must lie in its folder")
    if ".." in re.split(r"[\\/]", location):
        raise EdgeFerError(f"{what} {location!r}, which climbs out with '..'; refused: the "
                           f"files a model names must lie in its folder")
    target = (folder / location).resolve()
    if not target.is_relative_to(folder):
        raise EdgeFerError(f"{what} {location!r}, which leads to {target} outside the model's "
                           f"folder (a symlink); refused")
    if not target.exists():
        raise EdgeFerError(f"{what} {location!r}, which is missing (expected {target})")
    kind = not_regular(target)
    if kind:
        raise EdgeFerError(f"{what} {location!r}, which is {kind}, not a data file")
    return target


def check_context_binaries(model, path: Path) -> list[Path]:
    """The QNN context binaries a compiled `_ctx.onnx` names (EPContext, embed_mode 0), each
    confined to the model's folder like external data."""
    folder = path.parent.resolve()
    files = []
    for node in model.graph.node:
        if node.op_type != "EPContext":
            continue
        attributes = {a.name: a for a in node.attribute}
        embed = attributes.get("embed_mode")
        if embed is not None and embed.i == 1:
            continue
        cache = attributes.get("ep_cache_context")
        location = cache.s.decode("utf-8", "replace") if cache is not None else ""
        what = f"{path}: EPContext node {node.name!r} keeps its compiled graph in"
        if not location:
            raise EdgeFerError(f"{what} a file, but names none")
        files.append(confined(folder, location, what))
    return files


def check_external_data(model, path: str | Path) -> list[Path]:
    """Every external data file the model names, each checked to lie inside the model's folder,
    exist and hold the bytes its tensors ask for; returns them."""
    path = Path(path)
    folder = path.parent.resolve()
    files: list[Path] = []
    for tensor in all_tensors(model):
        if tensor.data_location != EXTERNAL:
            continue
        what = f"{path}: tensor {tensor.name!r} keeps its data in"
        location = _external_field(tensor, "location")
        if not location:
            raise EdgeFerError(f"{what} an external file, but names none")
        target = confined(folder, location, what)
        try:
            offset = int(_external_field(tensor, "offset") or 0)
            length = _external_field(tensor, "length")
            length = None if length is None else int(length)
        except ValueError:
            raise EdgeFerError(f"{what} {location!r} at an offset or length that is no "
                               f"number") from None
        size = target.stat().st_size
        if offset < 0 or (length is not None and (length < 0 or offset + length > size)):
            raise EdgeFerError(f"{what} {location!r} at bytes {offset}..{offset + (length or 0)}"
                               f", but the file holds {size:,} bytes")
        files.append(target)
    return files


def read_onnx(path: str | Path):
    """The ModelProto of an `.onnx` file (external data not loaded, but checked): an empty,
    non-ONNX or truncated file, or external data outside the model's folder, is one line."""
    from google.protobuf.message import DecodeError

    path = Path(path)
    data = read_regular(path, "an ONNX model", "the model")
    if not data:
        raise EdgeFerError(f"{path}: empty file, not an ONNX model")
    model = onnx_proto().ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise EdgeFerError(f"{path}: not an ONNX model (protobuf: {exc})") from None
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.node:
        raise EdgeFerError(f"{path}: not an ONNX model (no graph with nodes in it)")
    check_external_data(model, path)
    check_context_binaries(model, path)
    return model


# --- the description (edge_fer/artifacts/description.py) -----------------------------------

FORMAT = "onnx"
# Constant inputs that hold shapes or quantisation parameters, not weights: (op, input index).
_NOT_WEIGHTS = {("Reshape", 1), ("QuantizeLinear", 1), ("QuantizeLinear", 2),
                ("DequantizeLinear", 1), ("DequantizeLinear", 2)}


def _dtype(elem_type: int) -> str:
    try:
        name = onnx_proto().TensorProto.DataType.Name(elem_type)
    except ValueError:
        return f"type {elem_type}"
    return _NUMPY_NAMES.get(name, name.lower())


def _tensor(value) -> Tensor:
    tensor_type = value.type.tensor_type
    shape = None
    if tensor_type.HasField("shape"):
        shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                 for d in tensor_type.shape.dim]
    return Tensor(value.name, shape, _dtype(tensor_type.elem_type))


def _softmax(graph, name: str) -> bool | None:
    """Whether output `name` is a Softmax's; None for a renamed or dequantised tensor (the
    values tell, not the graph)."""
    producer = next((n for n in graph.node if name in n.output), None)
    if producer is None or producer.op_type in ("Identity", "DequantizeLinear"):
        return None
    return producer.op_type == "Softmax"


def _flops(model) -> int | None:
    """Multiply-adds × 2 of Conv, ConvTranspose, MatMul and Gemm with constant weights (through
    a DequantizeLinear in QDQ models), counted like the frozen graph's; shapes by ONNX's own
    inference (a free batch counts as 1). None when the shapes cannot be inferred."""
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - onnx raises assorted errors on unusual graphs
        return None
    graph = inferred.graph
    shapes = {}
    for value in [*graph.input, *graph.value_info, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [d.dim_value if d.HasField("dim_value") else 1 for d in dims]
    weights = {init.name: list(init.dims) for init in graph.initializer}
    for node in graph.node:  # QDQ: the weight a DequantizeLinear gives is its initializer's
        if node.op_type == "DequantizeLinear" and node.input[0] in weights:
            weights[node.output[0]] = weights[node.input[0]]
    flops, counted = 0, False
    for node in graph.node:
        if len(node.input) < 2 or node.input[1] not in weights or not node.output:
            continue
        w, out = weights[node.input[1]], shapes.get(node.output[0])
        if not out:
            continue
        if node.op_type == "Conv":                      # w [out, in/groups, kh, kw]
            flops += 2 * product(out) * product(w[1:])
        elif node.op_type == "ConvTranspose":           # w [in, out/groups, kh, kw]
            source = shapes.get(node.input[0])
            flops += 2 * product(source or [1]) * product(w[1:])
        elif node.op_type in ("MatMul", "Gemm"):        # w [in, out] (Gemm may transpose it)
            flops += 2 * product(out) * int(product(w) // max(1, out[-1]))
        else:
            continue
        counted = True
    return flops if counted else None  # e.g. a compiled QNN context model: nothing to count


def _quantization(graph, initializers: dict) -> dict | None:
    """QDQ facts: how many weights a DequantizeLinear gives, and each QuantizeLinear's tensor with
    its scale and zero point."""
    from onnx import numpy_helper

    def constant(name: str):
        return numpy_helper.to_array(initializers[name]) if name in initializers else None

    activations, weights = [], 0
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] in initializers:
            weights += 1
        if node.op_type != "QuantizeLinear":
            continue
        scale = constant(node.input[1])
        zero_point = constant(node.input[2]) if len(node.input) > 2 else None
        entry = {"tensor": node.input[0]}
        if scale is not None:
            entry["scale"] = scale.tolist()
        if zero_point is not None:
            entry["zero_point"] = zero_point.tolist()
            entry["dtype"] = zero_point.dtype.name
        activations.append(entry)
    if not (activations or weights):
        return None
    return {"format": "QDQ", "quantized_weights": weights, "activations": activations}


def describe_onnx(path: Path, full: bool = True) -> Description:
    """Inputs/outputs, op histogram, weights, opsets, metadata, the context binaries a compiled
    `_ctx.onnx` names (their contents are QNN's own format, read only by the QNN SDK); and with
    `full` (inspect, convert's manifests, bench) the checker's verdict, QDQ quantisation and
    FLOPs, which need the onnx package and the external data — a runner needs neither."""
    import numpy as np

    path = Path(path)
    model = read_onnx(path)  # external data checked to lie in the model's folder
    binaries = check_context_binaries(model, path)
    graph = model.graph
    facts = {"ir_version": int(model.ir_version),
             "opset": {(o.domain or "ai.onnx"): int(o.version) for o in model.opset_import},
             "producer": f"{model.producer_name} {model.producer_version}".strip()}
    if full:
        import onnx
        from onnx.external_data_helper import load_external_data_for_model

        load_external_data_for_model(model, str(path.parent))
        try:
            onnx.checker.check_model(model)
            facts["checker"] = "passed"
        except onnx.checker.ValidationError as exc:
            facts["checker"] = f"failed: {str(exc).strip().splitlines()[0]}"
    facts["metadata"] = {prop.key: prop.value for prop in model.metadata_props}
    initializers = {init.name: init for init in graph.initializer}
    not_weights = {node.input[i] for node in graph.node for op, i in _NOT_WEIGHTS
                   if node.op_type == op and i < len(node.input)}
    parameters = sum(int(np.prod(init.dims)) if init.dims else 1
                     for name, init in initializers.items()
                     if name not in not_weights and init.data_type != INT64)
    outputs = [_tensor(v) for v in graph.output]
    for tensor in outputs:
        tensor.softmax = _softmax(graph, tensor.name)
    quantization = _quantization(graph, initializers) if full else None
    if quantization:
        facts["quantization"] = quantization
    if binaries:
        facts["context_binaries"] = [{"file": b.name, "bytes": b.stat().st_size} for b in binaries]
    ops = Counter(node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
                  for node in graph.node)
    return Description(path, FORMAT, path.stat().st_size,
                       [_tensor(v) for v in graph.input if v.name not in initializers], outputs,
                       dict(ops), parameters, _flops(model) if full else None, facts)
