"""The TFLite reader (`.tflite`): the flatbuffer read as data through LiteRT's generated schema,
no interpreter built — tensors with their quantisation, op histogram, weights, FLOPs, metadata.
A file carrying TensorFlow ops (`Flex…`, converted with Select TF ops) is described, but its
`problem` refuses it to every runner (docs/trust.md)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from edge_fer.artifacts.description import Description, Tensor, product
from edge_fer.errors import EdgeFerError
from edge_fer.files import read_regular

FORMAT = "tflite"
# Constant inputs that are weights (op → input positions); others hold shapes or quantisation.
_WEIGHT_INPUTS = {"CONV_2D": (1, 2), "DEPTHWISE_CONV_2D": (1, 2), "FULLY_CONNECTED": (1, 2),
                  "TRANSPOSE_CONV": (1, 3)}


def _enum_names(enum_class) -> dict[int, str]:
    return {value: key for key, value in vars(enum_class).items() if not key.startswith("_")}


def _quantization(tensor) -> dict | None:
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


def _flops(subgraph, codes: list[str]) -> int:
    """Multiply-adds × 2 of the convolutions and dense layers, counted like the frozen graph's
    (pbfile.graph_flops): the output's elements × each one's products. A free batch counts 1."""
    flops = 0
    for i in range(subgraph.OperatorsLength()):
        op = subgraph.Operators(i)
        name = codes[op.OpcodeIndex()]
        if name not in _WEIGHT_INPUTS:
            continue
        inputs, outputs = op.InputsAsNumpy(), op.OutputsAsNumpy()
        out = subgraph.Tensors(int(outputs[0])).ShapeAsNumpy()
        w = subgraph.Tensors(int(inputs[1])).ShapeAsNumpy()  # every one of them: input 1
        if name == "CONV_2D":              # weights [out, kh, kw, in]
            flops += 2 * product(out) * product(w[1:])
        elif name == "DEPTHWISE_CONV_2D":  # weights [1, kh, kw, out]
            flops += 2 * product(out) * product(w[1:3])
        elif name == "FULLY_CONNECTED":    # weights [out, in]
            flops += 2 * product(out) * int(w[-1])
        else:                              # transposed: each input element × kernel × out ch
            source = subgraph.Tensors(int(inputs[2])).ShapeAsNumpy()
            flops += 2 * product(source) * product(w[:3])
    return flops


def _op_codes(model, schema) -> list[str]:
    op_names = _enum_names(schema.BuiltinOperator)
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        custom = code.CustomCode()
        codes.append(custom.decode() if custom else op_names.get(builtin, f"BUILTIN_{builtin}"))
    return codes


def _read(path: Path, data: bytes) -> Description:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(data, 0)
    codes = _op_codes(model, schema)
    type_names = _enum_names(schema.TensorType)
    subgraph = model.Subgraphs(0)

    def dtype_of(tensor) -> str:
        return type_names.get(tensor.Type(), str(tensor.Type())).lower()

    def tensor_at(index: int) -> Tensor:
        tensor = subgraph.Tensors(index)
        signature = tensor.ShapeSignatureAsNumpy() if tensor.ShapeSignatureLength() else None
        shape = [int(d) for d in (signature if signature is not None else tensor.ShapeAsNumpy())]
        return Tensor(tensor.Name().decode(), shape, dtype_of(tensor), _quantization(tensor))

    ops: Counter = Counter()
    weights: set[int] = set()
    producers: dict[int, str] = {}
    flex = None
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            name = codes[op.OpcodeIndex()]
            ops[name] += 1
            if name.startswith("Flex") and flex is None:
                flex = (i, name)
            if g == 0:
                inputs = op.InputsAsNumpy() if op.InputsLength() else []
                weights |= {int(inputs[p]) for p in _WEIGHT_INPUTS.get(name, ())
                            if p < len(inputs) and inputs[p] >= 0}
                for out in (op.OutputsAsNumpy() if op.OutputsLength() else []):
                    producers.setdefault(int(out), name)

    dtypes: Counter = Counter()
    quantized = parameters = 0
    for i in range(subgraph.TensorsLength()):
        tensor = subgraph.Tensors(i)
        dtype = dtype_of(tensor)
        dtypes[dtype] += 1
        quantized += _quantization(tensor) is not None
        buffer = model.Buffers(tensor.Buffer())
        constant = buffer is not None and (buffer.DataLength() > 0 or buffer.Size() > 0)
        if constant and (i in weights or dtype in ("float32", "float16", "int8", "uint8")):
            parameters += product(tensor.ShapeAsNumpy()) if tensor.ShapeLength() else 1
    outputs = []
    for index in subgraph.OutputsAsNumpy():
        tensor = tensor_at(int(index))
        tensor.softmax = producers.get(int(index)) == "SOFTMAX"
        outputs.append(tensor)
    description = model.Description()
    problem = None if flex is None else (
        f"{path}: refused: op {flex[0]} is {flex[1]}, a TensorFlow op carried in the TFLite "
        f"file (Select TF ops); edge-fer runs only TFLite's own ops (see docs/trust.md)")
    return Description(
        path, FORMAT, len(data), [tensor_at(int(i)) for i in subgraph.InputsAsNumpy()], outputs,
        dict(ops), parameters, _flops(subgraph, codes),
        {"schema_version": int(model.Version()),
         "description": description.decode() if description else "",
         "tensor_dtypes": dict(sorted(dtypes.items())), "quantized_tensors": quantized,
         "metadata": [model.Metadata(i).Name().decode() for i in range(model.MetadataLength())]},
        problem=problem)


def describe_tflite(path: Path) -> Description:
    from ai_edge_litert import schema_py_generated as schema

    data = read_regular(path, "a TFLite model", "the model")
    if len(data) < 8 or not schema.Model.ModelBufferHasIdentifier(data, 0):
        raise EdgeFerError(f"{path}: not a TFLite model (no TFL3 flatbuffer identifier)")
    try:
        return _read(path, data)
    except Exception as exc:  # noqa: BLE001 - flatbuffers raises plain IndexError/struct errors on bad data
        raise EdgeFerError(f"{path}: damaged TFLite model ({type(exc).__name__}: {exc})") from None
