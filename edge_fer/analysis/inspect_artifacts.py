"""Describe converted models: `.tflite` (LiteRT flatbuffer) and `.onnx`.

Both return the same keys as the `.pb` inspector (path, format, bytes, inputs, outputs, ops,
parameters) plus each format's own facts: quantization parameters, opsets, metadata. They read the
file itself, so what they report is what the file says, not what the converter meant to write.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from edge_fer.errors import EdgeFerError, failure_reason

# Constant inputs that hold shapes or quantization parameters, not weights: (op, input index).
_TFLITE_WEIGHT_INPUTS = {"CONV_2D": (1, 2), "DEPTHWISE_CONV_2D": (1, 2), "FULLY_CONNECTED": (1, 2),
                         "TRANSPOSE_CONV": (1, 3)}
_ONNX_NOT_WEIGHTS = {("Reshape", 1), ("QuantizeLinear", 1), ("QuantizeLinear", 2),
                     ("DequantizeLinear", 1), ("DequantizeLinear", 2)}


def _enum_names(enum_class) -> dict[int, str]:
    return {value: key for key, value in vars(enum_class).items() if not key.startswith("_")}


def _tflite_quantization(tensor) -> dict | None:
    quant = tensor.Quantization()
    if quant is None or quant.ScaleLength() == 0:
        return None
    scales = [float(s) for s in quant.ScaleAsNumpy()]
    zero_points = [int(z) for z in quant.ZeroPointAsNumpy()] if quant.ZeroPointLength() else []
    facts = {"scale": scales[0] if len(scales) == 1 else scales,
             "zero_point": (zero_points[0] if len(zero_points) == 1 else zero_points)
             if zero_points else 0}
    if len(scales) > 1:
        facts["quantized_dimension"] = int(quant.QuantizedDimension())
    return facts


def _product(dims) -> int:
    return int(np.prod([max(1, int(d)) for d in dims])) if len(dims) else 1


def _tflite_flops(subgraph, codes: list[str]) -> int:
    """Multiply-adds × 2 of the convolutions and dense layers, counted like the frozen graph's
    (edge_fer.analysis.inspect.graph_flops): the output's elements × each one's products. A
    free batch counts as 1."""
    flops = 0
    for i in range(subgraph.OperatorsLength()):
        op = subgraph.Operators(i)
        name = codes[op.OpcodeIndex()]
        if name not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"):
            continue
        inputs, outputs = op.InputsAsNumpy(), op.OutputsAsNumpy()
        weights = subgraph.Tensors(int(inputs[1]))  # every one of them: input 1
        out = subgraph.Tensors(int(outputs[0])).ShapeAsNumpy()
        w = weights.ShapeAsNumpy()
        if name == "CONV_2D":            # weights [out, kh, kw, in]
            flops += 2 * _product(out) * _product(w[1:])
        elif name == "DEPTHWISE_CONV_2D":  # weights [1, kh, kw, out]
            flops += 2 * _product(out) * _product(w[1:3])
        elif name == "FULLY_CONNECTED":    # weights [out, in]
            flops += 2 * _product(out) * int(w[-1])
        else:                              # transposed: each input element × kernel × out ch
            source = subgraph.Tensors(int(inputs[2])).ShapeAsNumpy()
            flops += 2 * _product(source) * _product(w[:3])
    return flops


def inspect_tflite(path: str | Path) -> dict:
    """Inputs/outputs (name, shape, dtype, scale/zero point), op histogram, tensor types, size."""
    from ai_edge_litert import schema_py_generated as schema

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EdgeFerError(f"{path}: cannot read ({failure_reason(exc)})") from None
    if len(data) < 8 or not schema.Model.ModelBufferHasIdentifier(data, 0):
        raise EdgeFerError(f"{path}: not a TFLite model (no TFL3 flatbuffer identifier)")
    try:
        model = schema.Model.GetRootAs(data, 0)
        op_names = _enum_names(schema.BuiltinOperator)
        type_names = _enum_names(schema.TensorType)
        codes = []
        for i in range(model.OperatorCodesLength()):
            code = model.OperatorCodes(i)
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            custom = code.CustomCode()
            codes.append(custom.decode() if custom else op_names.get(builtin, f"BUILTIN_{builtin}"))
        subgraph = model.Subgraphs(0)

        def tensor_facts(index: int) -> dict:
            tensor = subgraph.Tensors(index)
            signature = tensor.ShapeSignatureAsNumpy() if tensor.ShapeSignatureLength() else None
            shape = [int(d) for d in (signature if signature is not None else tensor.ShapeAsNumpy())]
            facts = {"name": tensor.Name().decode(), "shape": shape,
                     "dtype": type_names.get(tensor.Type(), str(tensor.Type())).lower()}
            quantization = _tflite_quantization(tensor)
            if quantization:
                facts["quantization"] = quantization
            return facts

        ops: Counter = Counter()
        weight_tensors: set[int] = set()
        for g in range(model.SubgraphsLength()):
            graph = model.Subgraphs(g)
            for i in range(graph.OperatorsLength()):
                op = graph.Operators(i)
                name = codes[op.OpcodeIndex()]
                ops[name] += 1
                if g == 0:
                    inputs = op.InputsAsNumpy() if op.InputsLength() else []
                    for position in _TFLITE_WEIGHT_INPUTS.get(name, ()):
                        if position < len(inputs) and inputs[position] >= 0:
                            weight_tensors.add(int(inputs[position]))

        dtypes: Counter = Counter()
        quantized = parameters = 0
        for i in range(subgraph.TensorsLength()):
            tensor = subgraph.Tensors(i)
            dtype = type_names.get(tensor.Type(), str(tensor.Type())).lower()
            dtypes[dtype] += 1
            if _tflite_quantization(tensor):
                quantized += 1
            buffer = model.Buffers(tensor.Buffer())
            constant = buffer is not None and (buffer.DataLength() > 0 or buffer.Size() > 0)
            if constant and (i in weight_tensors or dtype in ("float32", "float16", "int8", "uint8")):
                parameters += int(np.prod(tensor.ShapeAsNumpy())) if tensor.ShapeLength() else 1
        description = model.Description()
        return {
            "path": str(path), "format": "tflite", "bytes": len(data),
            "schema_version": int(model.Version()),
            "description": description.decode() if description else "",
            "inputs": [tensor_facts(int(i)) for i in subgraph.InputsAsNumpy()],
            "outputs": [tensor_facts(int(i)) for i in subgraph.OutputsAsNumpy()],
            "ops": dict(sorted(ops.items())),
            "parameters": parameters,
            "flops": _tflite_flops(subgraph, codes),
            "tensor_dtypes": dict(sorted(dtypes.items())),
            "quantized_tensors": quantized,
            "metadata": [model.Metadata(i).Name().decode() for i in range(model.MetadataLength())],
        }
    except EdgeFerError:
        raise
    except Exception as exc:  # noqa: BLE001 - flatbuffers raises plain IndexError/struct errors on bad data
        raise EdgeFerError(f"{path}: damaged TFLite model ({type(exc).__name__}: {exc})") from None


def _onnx_dtype(elem_type: int) -> str:
    import onnx

    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type)).name
    except (KeyError, TypeError, ValueError):
        return onnx.TensorProto.DataType.Name(elem_type).lower()


def _onnx_value_facts(value) -> dict:
    tensor_type = value.type.tensor_type
    shape = None
    if tensor_type.HasField("shape"):
        shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                 for d in tensor_type.shape.dim]
    return {"name": value.name, "shape": shape, "dtype": _onnx_dtype(tensor_type.elem_type)}


def _onnx_flops(model) -> int | None:
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
            flops += 2 * _product(out) * _product(w[1:])
        elif node.op_type == "ConvTranspose":           # w [in, out/groups, kh, kw]
            source = shapes.get(node.input[0])
            flops += 2 * _product(source or [1]) * _product(w[1:])
        elif node.op_type in ("MatMul", "Gemm"):        # w [in, out] (Gemm may transpose it)
            flops += 2 * _product(out) * int(_product(w) // max(1, out[-1]))
        else:
            continue
        counted = True
    return flops if counted else None  # e.g. a compiled QNN context model: nothing to count


def inspect_onnx(path: str | Path) -> dict:
    """Inputs/outputs, op histogram, opsets, QDQ quantization parameters, metadata, size."""
    import onnx
    from onnx import numpy_helper
    from onnx.external_data_helper import load_external_data_for_model

    from edge_fer.artifacts.onnxfile import read_onnx

    path = Path(path)
    if not path.exists():
        raise EdgeFerError(f"{path}: no such file")
    model = read_onnx(path)  # external data checked to lie in the model's folder
    load_external_data_for_model(model, str(path.parent))
    graph = model.graph
    try:
        onnx.checker.check_model(model)
        checker = "passed"
    except onnx.checker.ValidationError as exc:
        checker = f"failed: {str(exc).strip().splitlines()[0]}"

    initializers = {init.name: init for init in graph.initializer}
    not_weights = {node.input[i] for node in graph.node for op, i in _ONNX_NOT_WEIGHTS
                   if node.op_type == op and i < len(node.input)}
    parameters = sum(int(np.prod(init.dims)) if init.dims else 1
                     for name, init in initializers.items()
                     if name not in not_weights and init.data_type != onnx.TensorProto.INT64)

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

    ops = Counter(node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
                  for node in graph.node)
    facts = {
        "path": str(path), "format": "onnx", "bytes": path.stat().st_size,
        "ir_version": int(model.ir_version),
        "opset": {(o.domain or "ai.onnx"): int(o.version) for o in model.opset_import},
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "inputs": [_onnx_value_facts(v) for v in graph.input if v.name not in initializers],
        "outputs": [_onnx_value_facts(v) for v in graph.output],
        "ops": dict(sorted(ops.items())),
        "parameters": parameters,
        "flops": _onnx_flops(model),
        "checker": checker,
        "metadata": {prop.key: prop.value for prop in model.metadata_props},
    }
    if activations or weights:
        facts["quantization"] = {"format": "QDQ", "quantized_weights": weights,
                                 "activations": activations}
    return facts
