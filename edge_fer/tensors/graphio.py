"""Load and save frozen TF graphs, and the op check that keeps them SNPE-convertible."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from edge_fer.artifacts.tfops import check_graph_ops
from edge_fer.atomic import atomic_write_bytes
from edge_fer.errors import EdgeFerError
from edge_fer.files import read_regular

INPUT_NAME = "x"
OUTPUT_NAME = "output"
LOGITS_NAME = "logits"

# Ops that snpe-tensorflow-to-dlc maps to layers (and TFLite int8 takes); a frozen graph holds no other.
SNPE_OPS = frozenset({
    "Placeholder", "Const", "Identity", "Conv2D", "DepthwiseConv2dNative", "BiasAdd", "Relu",
    "Relu6", "MaxPool", "AvgPool", "Reshape", "MatMul", "Add", "AddV2", "Mul", "Softmax",
    "ConcatV2", "Mean", "Pad",
    # element-wise bounds (the shipped edge models' activation clips): the converter's eltwise
    # layer maps them to ElementwiseBinaryMax/Min
    "Maximum", "Minimum",
})


def load_graph_def(path: str | Path, required: tuple[str, ...] = (INPUT_NAME, OUTPUT_NAME)):
    """Parse a frozen `.pb`; a missing, truncated or non-graph file, or one holding any op but pure
    inference ops (edge_fer.artifacts.tfops), is a one-line EdgeFerError.
    `required`: node names it must hold (edge-fer's own `x`/`output` unless told otherwise)."""
    path = Path(path)
    data = read_regular(path, "a frozen TensorFlow graph", "graph")  # before TensorFlow's import
    import tensorflow as tf
    from google.protobuf.message import DecodeError

    if not data:
        raise EdgeFerError(f"{path}: empty file, not a frozen TensorFlow graph")
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise EdgeFerError(f"{path}: not a frozen TensorFlow graph (protobuf: {exc})") from None
    if not graph_def.node or any(not node.op for node in graph_def.node):
        raise EdgeFerError(f"{path}: not a frozen TensorFlow graph (no valid nodes)")
    check_graph_ops(graph_def, path)  # a graph is data: only pure inference ops ever run
    names = {node.name for node in graph_def.node}
    for name in required:
        if name not in names:
            hint = (f"CONVENTIONS: input {INPUT_NAME!r}, output {OUTPUT_NAME!r}; name another "
                    f"model's tensors with --input/--output" if name in (INPUT_NAME, OUTPUT_NAME)
                    else "check --input/--output")
            raise EdgeFerError(f"{path}: graph has no tensor {name!r} ({hint})")
    return graph_def


_NOT_OUTPUTS = frozenset({"Const", "NoOp", "Placeholder", "PlaceholderWithDefault", "Assert",
                          "VarHandleOp", "SaveV2", "RestoreV2"})


def graph_io_names(graph_def, source: str | Path = "graph", input_name: str | None = None,
                   output_name: str | None = None) -> tuple[str, str]:
    """The graph's image input and class-score output: the names given, else edge-fer's own
    (`x`, `output`), else its only Placeholder and its only node nobody consumes."""
    nodes = {node.name: node for node in graph_def.node}
    for given, what in ((input_name, "--input"), (output_name, "--output")):
        if given is not None and given.split(":")[0] not in nodes:
            raise EdgeFerError(f"{source}: {what} {given!r}: no such node in the graph")
    if input_name is None:
        placeholders = [n.name for n in graph_def.node if n.op == "Placeholder"]
        if INPUT_NAME in placeholders or len(placeholders) != 1:
            if INPUT_NAME not in placeholders:
                raise EdgeFerError(f"{source}: {len(placeholders)} placeholders "
                                   f"({', '.join(placeholders[:5]) or 'none'}); name the input "
                                   f"with --input")
            placeholders = [INPUT_NAME]
        input_name = placeholders[0]
    if output_name is None:
        consumed = {inp.split(":")[0].lstrip("^") for n in graph_def.node for inp in n.input}
        sinks = [n.name for n in graph_def.node if n.name not in consumed
                 and n.op not in _NOT_OUTPUTS]
        if OUTPUT_NAME in nodes:
            sinks = [OUTPUT_NAME]
        if len(sinks) != 1:
            raise EdgeFerError(f"{source}: cannot tell the output among "
                               f"{', '.join(sinks[:5]) or 'no nodes'}; name it with --output")
        output_name = sinks[0]
    return input_name.split(":")[0], output_name.split(":")[0]


def producer_op(graph_def, name: str) -> str:
    """The op that makes node `name`, looking through Identity nodes (a frozen Keras graph names
    its output `Identity`); stops at a missing input or a cycle."""
    nodes = {node.name: node for node in graph_def.node}
    node, seen = nodes[name.split(":")[0]], set()
    while node.op == "Identity" and node.input and node.name not in seen:
        seen.add(node.name)
        upstream = nodes.get(node.input[0].split(":")[0].lstrip("^"))
        if upstream is None:
            break
        node = upstream
    return node.op


def node_shapes(graph_def, *names: str) -> list[list[int | None] | None]:
    """The static shape of each named node's first output (None per free dimension; None when
    TensorFlow cannot tell its rank), from one import of the graph."""
    graph = import_graph(graph_def)
    shapes = []
    for name in names:
        shape = graph.get_tensor_by_name(f"{name.split(':')[0]}:0").shape
        shapes.append(None if shape.rank is None else
                      [int(d) if d is not None and d > 0 else None for d in shape.as_list()])
    return shapes


def save_graph_def(graph_def, path: str | Path) -> Path:
    """Deterministic serialisation (attribute maps in key order): the same graph always gives the
    same bytes, so the sha256 that manifests record identifies the model."""
    return atomic_write_bytes(path, graph_def.SerializeToString(deterministic=True))


def op_histogram(graph_def) -> Counter:
    return Counter(node.op for node in graph_def.node)


def check_snpe_ops(graph_def, source: str | Path = "graph") -> None:
    """Fail, naming the op and node, if the graph holds an op SNPE's TF converter does not take."""
    for node in graph_def.node:
        if node.op not in SNPE_OPS:
            raise EdgeFerError(f"{source}: op {node.op} (node {node.name!r}) is not one SNPE's "
                               f"TensorFlow converter takes; allowed: {', '.join(sorted(SNPE_OPS))}")


def import_graph(graph_def):
    """A new tf.Graph holding graph_def with its original names (no 'import/' prefix)."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    return graph


def dynamic_batch_graph(graph_def, batch: int, input_name: str = INPUT_NAME):
    """A copy of graph_def whose input batch is -1 and whose Reshapes to [batch, …] (the frozen
    flatten) go to [-1, …]; returns it and the names of the rewritten Reshapes."""
    import tensorflow as tf

    graph_def = type(graph_def).FromString(graph_def.SerializeToString())
    consts = {node.name: node for node in graph_def.node if node.op == "Const"}
    rewritten = []
    for node in graph_def.node:
        if node.name == input_name:
            node.attr["shape"].shape.dim[0].size = -1
        elif node.op == "Reshape" and len(node.input) > 1:
            const = consts.get(node.input[1].split(":")[0])
            if const is None:
                continue
            shape = tf.make_ndarray(const.attr["value"].tensor)
            if shape.ndim == 1 and len(shape) > 1 and shape[0] == batch and -1 not in shape:
                shape = shape.copy()
                shape[0] = -1
                const.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(shape))
                rewritten.append(node.name)
    return graph_def, rewritten
