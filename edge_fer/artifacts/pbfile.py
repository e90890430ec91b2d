"""The frozen TensorFlow graph reader (`.pb`): parsed and checked against the op allowlist by
edge_fer.tensors.graphio.load_graph_def before TensorFlow imports it, then described from one
import — placeholders, unconsumed nodes, op histogram, float weights, FLOPs. convert describes
the graph it holds in memory (a Keras file frozen) with the same function."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge_fer.artifacts.description import Description, Tensor
from edge_fer.errors import EdgeFerError

FORMAT = "tensorflow frozen graph"
_FLOP_OPS = ("Conv2D", "DepthwiseConv2dNative", "MatMul")


def graph_flops(graph) -> int | None:
    """Multiply-adds × 2 of Conv2D, DepthwiseConv2dNative and MatMul for one forward pass (the
    .tflite and .onnx readers count theirs the same way); None when a shape other than the
    batch is not fixed in the graph."""
    flops = 0
    for op in graph.get_operations():
        if op.type not in _FLOP_OPS:
            continue
        if op.outputs[0].shape.rank is None or op.inputs[1].shape.rank is None:
            return None
        out_shape = op.outputs[0].shape.as_list()
        kernel_shape = op.inputs[1].shape.as_list()
        if None in out_shape[1:] or None in kernel_shape:
            return None
        batch = out_shape[0] or 1
        if op.type == "MatMul":
            flops += 2 * batch * kernel_shape[0] * kernel_shape[1]
        else:  # Conv2D [kh, kw, in, out]; depthwise [kh, kw, in, multiplier]
            kh, kw, cin, cout = kernel_shape
            flops += 2 * batch * out_shape[1] * out_shape[2] * kh * kw * cin * cout
    return flops


def _parameters(graph_def) -> int:
    params = 0
    for node in graph_def.node:
        if node.op == "Const" and node.attr["dtype"].type == 1:  # DT_FLOAT weights, not shapes
            dims = [d.size for d in node.attr["value"].tensor.tensor_shape.dim]
            params += int(np.prod(dims)) if dims else 1
    return params


def describe_graph_def(graph_def, path: str | Path, input_name: str | None = None,
                       output_name: str | None = None, size: int | None = None) -> Description:
    """A checked GraphDef described; its image input and class-score output are the names given,
    else graph_io_names' choice (recorded as `picked`, or why it cannot choose as `problem`)."""
    from edge_fer.tensors.graphio import graph_io_names, import_graph, op_histogram, producer_op

    path = Path(path)
    graph = import_graph(graph_def)

    def tensor(name: str) -> Tensor | None:
        outputs = graph.get_operation_by_name(name).outputs
        if not outputs:
            return None
        shape = outputs[0].shape
        return Tensor(name, shape.as_list() if shape.rank is not None else None,
                      outputs[0].dtype.name)

    consumed = {inp.split(":")[0].lstrip("^") for node in graph_def.node for inp in node.input}
    inputs = [tensor(n.name) for n in graph_def.node if n.op == "Placeholder"]
    outputs = [tensor(n.name) for n in graph_def.node
               if n.name not in consumed and n.op not in ("Const", "NoOp")]
    description = Description(path, FORMAT, graph_def.ByteSize() if size is None else size,
                              [t for t in inputs if t], [t for t in outputs if t],
                              dict(op_histogram(graph_def)), _parameters(graph_def),
                              graph_flops(graph))
    try:
        picked = graph_io_names(graph_def, path, input_name, output_name)
    except EdgeFerError as exc:
        description.problem = str(exc)
        return description
    for name, listed in zip(picked, (description.inputs, description.outputs)):
        if not any(t.name == name for t in listed) and tensor(name) is not None:
            listed.append(tensor(name))
    description.picked = picked
    scores = description.output(picked[1])
    if scores is not None:
        scores.softmax = True if producer_op(graph_def, picked[1]) == "Softmax" else None
    return description


def describe_pb(path: Path) -> Description:
    from edge_fer.tensors.graphio import load_graph_def

    graph_def = load_graph_def(path, required=())  # any frozen graph, not only edge-fer's
    return describe_graph_def(graph_def, path, size=path.stat().st_size)
