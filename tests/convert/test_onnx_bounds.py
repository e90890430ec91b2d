"""convert/onnx.py's bounds_as_clip: element-wise bounds against one-value constants become one Clip
each, the model computes the same, and a bound that would broadcast its input is left alone."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edge_fer.converters.onnx import bounds_as_clip


def bounded_model():
    """x [1, 4, 4, 3] → Relu → Min 0.5 → Max −0.2 → Min 0.3 → Max 0.1 (lone) → y; and
    v [2, 3] → Min with a [1, 1, 1] constant (broadcasts v to 3-D: not a Clip) → w."""
    def const(name, value, dims):
        return numpy_helper.from_array(np.full(dims, value, np.float32), name)

    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Min", ["r", "c_hi"], ["a"], name="relu_min"),
        helper.make_node("Max", ["a", "c_lo"], ["b"], name="max"),
        helper.make_node("Min", ["b", "c_hi2"], ["c"], name="max_min"),
        helper.make_node("Max", ["c", "c_floor"], ["y"], name="lone_max"),
        helper.make_node("Min", ["v", "c_wide"], ["w"], name="wide_min"),
    ]
    graph = helper.make_graph(
        nodes, "bounds",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 4, 3]),
         helper.make_tensor_value_info("v", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4, 3]),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, [1, 2, 3])],
        [const("c_hi", 0.5, [1, 1, 1, 1]), const("c_lo", -0.2, [1, 1, 1, 1]),
         const("c_hi2", 0.3, []), const("c_floor", 0.1, [1]), const("c_wide", 0.0, [1, 1, 1])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(model, feeds):
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def test_bounds_become_clips_that_compute_the_same():
    model = bounded_model()
    rng = np.random.default_rng(0)
    feeds = {"x": rng.normal(0, 1, (1, 4, 4, 3)).astype(np.float32),
             "v": rng.normal(0, 1, (2, 3)).astype(np.float32)}
    before = run(model, feeds)
    rewritten = onnx.ModelProto.FromString(model.SerializeToString())
    # Relu+Min, then the Min whose Max it absorbs, then the lone Max whose Min-input is a Clip now
    # (two Clips in a row: each from its own bounds)
    assert bounds_as_clip(rewritten) == 3
    onnx.checker.check_model(rewritten, full_check=True)
    ops = [node.op_type for node in rewritten.graph.node]
    assert ops.count("Clip") == 3 and "Relu" not in ops and ops.count("Max") == 0
    assert ops.count("Min") == 1  # the broadcasting one stays
    clips = {node.name: node for node in rewritten.graph.node if node.op_type == "Clip"}
    values = {init.name: float(numpy_helper.to_array(init)) for init in rewritten.graph.initializer
              if not init.dims}
    relu_min = clips["relu_min__clip"]
    assert relu_min.input[0] == "x" and values[relu_min.input[1]] == 0.0 and values[relu_min.input[2]] == 0.5
    max_min = clips["max_min__clip"]
    assert max_min.input[0] == "a" and np.isclose(values[max_min.input[1]], -0.2)
    assert clips["lone_max__clip"].input[2] == ""  # no upper bound
    assert {"c_hi", "c_lo", "c_floor"}.isdisjoint(i.name for i in rewritten.graph.initializer)
    for ours, theirs in zip(run(rewritten, feeds), before):
        assert ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
