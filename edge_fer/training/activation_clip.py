"""Bounded activations for int8: each int8 tensor of a frozen graph clipped, in the float graph
itself, at a percentile of its values on training faces.

TFLite's int8 model keeps each activation tensor at one scale, min to max over the calibration
faces. A ReLU's long tail (a few values several times the rest) sets that range, so the values
that matter get few of the 256 steps, and the distilled edge models, whose top two scores are
often close, change label on 2 % of faces. Clipping every such tensor at its 99.9th percentile
(the idea of MobileNet's ReLU6, with the bound measured per tensor) changes the float model little
and gives int8 a grid several times finer. The float model clips too, so both compute the same
bounded function (tiny4, kernels on the int8 grid: agreement 97.91 % → 99.00 % of PublicTest,
float 66.62 % → 66.43 %; docs/models.md).

The output is a frozen graph with the input's nodes and names plus `<tensor>/clip` nodes
(Minimum, and Maximum first where the tensor goes below zero) that its consumers now read.
"""

from __future__ import annotations

import numpy as np

from edge_fer.preprocess import to_model_input
from edge_fer.tensors.graphio import INPUT_NAME, LOGITS_NAME

CLIP_SUFFIX = "/clip"
HISTOGRAM_BINS = 8192


def clip_tensors(graph_def, quantized: list[str]) -> list[str]:
    """Of the tensors int8 stores at their own range (`quantized`: int8_tune.quantized_tensors),
    those to clip: not the input (exact on the int8 grid already) nor the logits (their order is
    the label)."""
    nodes = {node.name: node for node in graph_def.node}
    logits = nodes.get(LOGITS_NAME)
    while logits is not None and logits.op == "Identity":  # freeze names the logits with an Identity
        logits = nodes.get(logits.input[0].split(":")[0])
    kept = {INPUT_NAME, LOGITS_NAME, logits.name if logits is not None else LOGITS_NAME}
    readers: dict[str, list] = {}
    for node in graph_def.node:
        for name in node.input:
            readers.setdefault(name.split(":")[0].lstrip("^"), []).append(node)

    def bias_added(name: str) -> bool:
        """Read only by an Add of a constant (a bias written as `conv + b`): the converter fuses it."""
        return all(reader.op in ("Add", "AddV2") and any(
            nodes.get(other.split(":")[0]) is not None and nodes[other.split(":")[0]].op == "Const"
            for other in reader.input if other.split(":")[0] != name) for reader in readers.get(name, []))

    return [name for name in quantized if name not in kept and not bias_added(name)]


def activation_bounds(graph_def, images: np.ndarray, percentile: float, tensors: list[str],
                      batch: int = 100) -> dict[str, tuple[float, float]]:
    """{tensor: (low, high)}: the (100 − p)th and pth percentiles of its values over `images`
    (uint8 faces [N, 48, 48]), from a histogram of HISTOGRAM_BINS bins between its min and max
    (two passes; the values are never all held). low is 0 for a tensor that is never negative."""
    import tensorflow as tf

    from edge_fer.tensors.graphio import dynamic_batch_graph, import_graph
    from edge_fer.training.train import session_config

    fixed = int(next(n for n in graph_def.node if n.name == INPUT_NAME).attr["shape"].shape.dim[0].size)
    batched = dynamic_batch_graph(graph_def, fixed)[0] if fixed > 0 else graph_def
    graph = import_graph(batched)
    fetches = [graph.get_tensor_by_name(f"{name}:0") for name in tensors]
    with tf.compat.v1.Session(graph=graph, config=session_config("fp32")) as sess:
        def passes():
            for first in range(0, len(images), batch):
                yield sess.run(fetches, {f"{INPUT_NAME}:0": to_model_input(images[first:first + batch])})

        low = np.full(len(tensors), np.inf)
        high = np.full(len(tensors), -np.inf)
        for values in passes():
            low = np.minimum(low, [v.min() for v in values])
            high = np.maximum(high, [v.max() for v in values])
        high = np.maximum(high, low + 1e-6)
        counts = np.zeros((len(tensors), HISTOGRAM_BINS), np.int64)
        for values in passes():
            for k, value in enumerate(values):
                counts[k] += np.histogram(value, HISTOGRAM_BINS, (low[k], high[k]))[0]
    bounds = {}
    for k, name in enumerate(tensors):
        edges = np.linspace(low[k], high[k], HISTOGRAM_BINS + 1)
        share = np.cumsum(counts[k]) / counts[k].sum()
        top = float(edges[np.searchsorted(share, percentile / 100.0) + 1])
        bottom = float(edges[np.searchsorted(share, 1 - percentile / 100.0)]) if low[k] < 0 else 0.0
        bounds[name] = (min(bottom, 0.0), max(top, 1e-6))
    return bounds


def with_clipped_activations(graph_def, bounds: dict[str, tuple[float, float]]):
    """A copy of graph_def in which each tensor of `bounds` is clipped to (low, high) before any
    consumer reads it (low 0: no lower clip, for tensors that are never negative)."""
    import tensorflow as tf

    out = type(graph_def).FromString(graph_def.SerializeToString())
    for node in out.node:
        for k, name in enumerate(node.input):
            if name in bounds:  # data inputs only ("^name" is a control input, "name:1" another output)
                node.input[k] = name + CLIP_SUFFIX
    for name, (low, high) in bounds.items():
        source = name
        for op, bound, keep in (("Maximum", low, low < 0), ("Minimum", high, True)):
            if not keep:
                continue
            const = out.node.add(name=f"{name}{CLIP_SUFFIX}_{op.lower()}_bound", op="Const")
            const.attr["dtype"].type = tf.float32.as_datatype_enum
            const.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.float32(bound)))
            clip = out.node.add(name=f"{name}{CLIP_SUFFIX}" if op == "Minimum" else f"{name}{CLIP_SUFFIX}_maximum",
                                op=op, input=[source, const.name])
            clip.attr["T"].type = tf.float32.as_datatype_enum
            source = clip.name
    return out


def clip_activations(graph_def, images: np.ndarray, percentile: float,
                     quantized: list[str]) -> tuple[object, dict]:
    """graph_def with its int8 tensors (of `quantized`, see clip_tensors) clipped at `percentile`
    of their values on `images`, and the bounds used."""
    bounds = activation_bounds(graph_def, images, percentile, clip_tensors(graph_def, quantized))
    return with_clipped_activations(graph_def, bounds), bounds
