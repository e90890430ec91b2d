"""graphio.producer_op: the one walk through Identity nodes (a hostile graph cannot hang it)."""

from __future__ import annotations

from edge_fer.tensors.graphio import producer_op


def _graph(*nodes):
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    for name, op, inputs in nodes:
        node = graph_def.node.add(name=name, op=op)
        node.input.extend(inputs)
    return graph_def


def test_the_walk_looks_through_identities():
    graph_def = _graph(("s", "Softmax", ["x"]), ("a", "Identity", ["s"]), ("b", "Identity", ["a:0"]))
    assert producer_op(graph_def, "b") == "Softmax"
    assert producer_op(graph_def, "b:0") == "Softmax"


def test_a_cycle_or_a_missing_input_ends_the_walk():
    assert producer_op(_graph(("a", "Identity", ["b"]), ("b", "Identity", ["a"])), "a") == "Identity"
    assert producer_op(_graph(("a", "Identity", ["gone"])), "a") == "Identity"
