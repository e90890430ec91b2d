"""Which TensorFlow ops a model file may hold: a graph is data, so before TensorFlow imports or runs
one, every node — those inside the graph's function library included — must be a pure inference
op (docs/trust.md). Stateful, file and process I/O, Python callbacks and unknown ops are refused in
one line naming the node and the op.

Three sets:
  - INFERENCE_OPS: the ops of SNPE's TensorFlow op list and the other pure tensor arithmetic that
    frozen image classifiers hold (Keras graphs frozen with convert_variables_to_constants_v2, TF1
    graphs with tf.cond). They read only their inputs and write only their outputs.
  - SavedModel plumbing (VARIABLE_OPS, CHECKPOINT_OPS): a SavedModel also holds its variables and
    the functions TensorFlow saves and restores them with. Those may be in the file, but what
    TensorFlow runs when it loads the folder and what the serving signature computes may not write
    a checkpoint (SaveV2 …): see `check_saved_model`.
A call (`PartitionedCall`, or a node whose op is a function's name) must name a function of the
graph's own library: TensorFlow otherwise instantiates the op of that name, which would pass any
op through the check.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from edge_fer.errors import EdgeFerError

TRUST_DOC = "docs/trust.md"

INFERENCE_OPS = frozenset({
    # graph plumbing
    "Placeholder", "PlaceholderWithDefault", "Const", "Identity", "IdentityN", "NoOp", "Snapshot",
    "StopGradient", "PreventGradient", "CheckNumerics", "EnsureShape", "Switch", "Merge",
    # SNPE's TensorFlow layers: convolution, pooling, normalisation, activations
    "Conv2D", "DepthwiseConv2dNative", "Conv2DBackpropInput", "Conv3D", "BiasAdd", "MatMul",
    "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "MaxPool", "MaxPoolV2", "AvgPool",
    "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3", "LRN", "Relu", "Relu6", "Elu",
    "Selu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Softplus", "Softsign",
    # element-wise arithmetic
    "Add", "AddV2", "AddN", "Sub", "Mul", "Div", "RealDiv", "DivNoNan", "FloorDiv", "FloorMod",
    "Maximum", "Minimum", "Pow", "SquaredDifference", "Neg", "Abs", "Sign", "Square", "Sqrt",
    "Rsqrt", "Reciprocal", "Inv", "Exp", "Log", "Log1p", "Expm1", "Erf", "Sin", "Cos", "Floor",
    "Ceil", "Round", "Rint", "ClipByValue", "Cast", "Equal", "NotEqual", "Greater",
    "GreaterEqual", "Less", "LessEqual", "LogicalAnd", "LogicalOr", "LogicalNot", "Select",
    "SelectV2", "IsNan", "IsFinite",
    # reductions and arg-reductions
    "Mean", "Sum", "Max", "Min", "Prod", "All", "Any", "ArgMax", "ArgMin", "TopKV2",
    # shape and layout
    "Reshape", "Squeeze", "ExpandDims", "Shape", "ShapeN", "Size", "Rank", "Fill", "ZerosLike",
    "OnesLike", "Range", "Pack", "Unpack", "Concat", "ConcatV2", "Split", "SplitV", "Slice",
    "StridedSlice", "Tile", "Transpose", "Pad", "PadV2", "MirrorPad", "Gather", "GatherV2",
    "GatherNd", "OneHot", "Reverse", "ReverseV2", "BroadcastTo", "BroadcastArgs",
    "SpaceToBatchND", "BatchToSpaceND", "SpaceToDepth", "DepthToSpace", "Where",
    # image resizing inside models
    "ResizeBilinear", "ResizeNearestNeighbor", "ResizeArea", "ResizeBicubic",
    # quantisation simulation (quantisation-aware trained graphs)
    "FakeQuantWithMinMaxArgs", "FakeQuantWithMinMaxVars", "FakeQuantWithMinMaxVarsPerChannel",
    # functions of the graph's own library (their bodies are checked too), functional control flow
    "PartitionedCall", "StatefulPartitionedCall", "StatelessIf", "StatelessWhile", "If", "While",
})

# Variables of a SavedModel: read, assigned from its own checkpoint, held in memory.
VARIABLE_OPS = frozenset({
    "VarHandleOp", "ReadVariableOp", "AssignVariableOp", "VarIsInitializedOp",
    "DestroyResourceOp", "DisableCopyOnRead", "VariableV2", "Variable", "Assign",
    "IsVariableInitialized", "RestoreV2", "RestoreSlice", "Restore",
})
# The functions TensorFlow saves a SavedModel's checkpoint with (never run to read a model).
CHECKPOINT_WRITE_OPS = frozenset({"SaveV2", "SaveSlices", "Save", "MergeV2Checkpoints"})
CHECKPOINT_OPS = CHECKPOINT_WRITE_OPS | {"ShardedFilename", "ShardedFilespec", "StringJoin",
                                        "StaticRegexFullMatch", "RegexFullMatch"}


def _func_attrs(node) -> Iterator[str]:
    """The names of the functions a node's attributes name (`f`, `then_branch`, `body`, …)."""
    for value in node.attr.values():
        if value.HasField("func"):
            yield value.func.name
        if value.HasField("list"):
            yield from (func.name for func in value.list.func)


def _refuse(source, node, function: str | None, why: str) -> EdgeFerError:
    where = f"node {node.name!r}" + (f" in function {function!r}" if function else "")
    return EdgeFerError(f"{source}: refused: {where} is a {node.op} op, {why}; a model file is "
                        f"data and edge-fer runs no graph that holds it (see {TRUST_DOC})")


def _check_node(node, function: str | None, library, allowed: frozenset[str], source) -> None:
    if node.op not in allowed and node.op not in library:
        why = ("a Python callback" if "PyFunc" in node.op else
               "not a pure inference op")
        raise _refuse(source, node, function, why)
    for name in _func_attrs(node):
        if name not in library:
            raise _refuse(source, node, function,
                          f"calling {name!r}, which is no function of the graph's own library")


def _library(graph_def) -> dict:
    return {function.signature.name: function for function in graph_def.library.function}


def check_graph_ops(graph_def, source: str | Path = "graph",
                    allowed: frozenset[str] = INFERENCE_OPS) -> None:
    """Refuse, in one line naming the node and the op, a graph that holds any op not in `allowed`
    — in its nodes or in any function of its library — or a call of a function it does not hold."""
    library = _library(graph_def)
    for node in graph_def.node:
        _check_node(node, None, library, allowed, source)
    for name, function in library.items():
        for node in function.node_def:
            _check_node(node, name, library, allowed, source)


def _called(nodes: Iterable, library: dict) -> set[str]:
    """The library functions a set of nodes calls, and the ones those call, transitively."""
    todo = [name for node in nodes for name in (node.op, *_func_attrs(node)) if name in library]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(callee for node in library[name].node_def
                    for callee in (node.op, *_func_attrs(node)) if callee in library)
    return seen


def _ancestors(graph_def, tensor_names: Iterable[str]) -> list:
    """The top-level nodes the named tensors or ops are computed from (control inputs too)."""
    nodes = {node.name: node for node in graph_def.node}
    todo = [name.split(":")[0].lstrip("^") for name in tensor_names if name]
    seen: dict[str, object] = {}
    while todo:
        name = todo.pop()
        if name in seen or name not in nodes:
            continue
        seen[name] = nodes[name]
        todo.extend(i.split(":")[0].lstrip("^") for i in nodes[name].input)
    return list(seen.values())


def check_saved_model_graph(meta_graph, source: str | Path) -> None:
    """One meta graph of a SavedModel: every op anywhere is an inference op or SavedModel plumbing,
    and nothing TensorFlow runs when it loads the folder (the object graph's functions, the restore
    and init ops) or when the signatures are computed writes a checkpoint."""
    graph_def = meta_graph.graph_def
    check_graph_ops(graph_def, source, INFERENCE_OPS | VARIABLE_OPS | CHECKPOINT_OPS)
    library = _library(graph_def)
    objects = meta_graph.object_graph_def
    roots = set(objects.concrete_functions)
    for node in objects.nodes:
        kind = node.WhichOneof("kind")
        if kind == "function":
            roots.update(node.function.concrete_functions)
        elif kind == "bare_concrete_function":
            roots.add(node.bare_concrete_function.concrete_function_name)
    run_at_load = [meta_graph.saver_def.restore_op_name]
    run_at_load += [tensor.name for signature in meta_graph.signature_def.values()
                    for tensor in (*signature.inputs.values(), *signature.outputs.values())]
    run_at_load += [value for key, collection in meta_graph.collection_def.items()
                    if key in ("saved_model_main_op", "legacy_init_op", "init_op",
                               "table_initializer")
                    for value in collection.node_list.value]
    top = _ancestors(graph_def, run_at_load)
    reached = _called(top, library) | _called(
        (node for name in roots if name in library for node in library[name].node_def), library)
    reached |= roots & library.keys()
    for node in top:
        if node.op in CHECKPOINT_WRITE_OPS:
            raise _refuse(source, node, None, "which writes files, run when the SavedModel loads")
    for name in sorted(reached):
        for node in library[name].node_def:
            if node.op in CHECKPOINT_WRITE_OPS:
                raise _refuse(source, node, name,
                              "which writes files, run when the SavedModel loads or serves")


def check_saved_model(folder: str | Path, saved_model_file: str = "saved_model.pb") -> None:
    """Parse `<folder>/saved_model.pb` (before TensorFlow loads anything from the folder) and check
    every meta graph; a file that is no SavedModel is one line too."""
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    from edge_fer.errors import failure_reason

    path = Path(folder) / saved_model_file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EdgeFerError(f"{path}: cannot read the SavedModel ({failure_reason(exc)})") from None
    saved = saved_model_pb2.SavedModel()
    try:
        saved.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise EdgeFerError(f"{path}: not a SavedModel (protobuf: {exc})") from None
    if not saved.meta_graphs:
        raise EdgeFerError(f"{path}: not a SavedModel (no meta graph)")
    for meta_graph in saved.meta_graphs:
        check_saved_model_graph(meta_graph, Path(folder))
