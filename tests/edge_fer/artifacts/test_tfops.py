"""The op allowlist every TensorFlow graph passes before it runs (edge_fer.artifacts.tfops)."""

from __future__ import annotations

import numpy as np
import pytest

from edge_fer.artifacts.tfops import (
    INFERENCE_OPS,
    check_graph_ops,
    check_saved_model,
)
from edge_fer.errors import EdgeFerError
from edge_fer.tensors.graphio import SNPE_OPS, load_graph_def


def _graph(build):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 4], name="x")
        build(tf, x)
    return graph.as_graph_def()


def test_snpe_ops_are_inference_ops():
    assert SNPE_OPS <= INFERENCE_OPS


def test_the_shipped_model_and_a_keras_model_frozen_elsewhere_pass():
    from edge_fer.training.pretrained import default_model

    load_graph_def(default_model())  # checked inside

    import keras
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    inputs = keras.Input((16, 16, 1))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(3, activation="softmax")(keras.layers.Dropout(0.2)(x))
    model = keras.Model(inputs, x)
    function = tf.function(lambda t: model(t, training=False)).get_concrete_function(
        tf.TensorSpec([None, 16, 16, 1], tf.float32))
    check_graph_ops(convert_variables_to_constants_v2(function).graph.as_graph_def())


@pytest.mark.parametrize(("build", "op"), [
    (lambda tf, x: tf.io.write_file("/tmp/never", "x", name="bad"), "WriteFile"),
    (lambda tf, x: tf.io.read_file("/etc/hostname", name="bad"), "ReadFile"),
    (lambda tf, x: tf.raw_ops.PrintV2(input="hi", name="bad"), "PrintV2"),
    (lambda tf, x: tf.compat.v1.py_func(lambda a: a, [x], tf.float32, name="bad"), "PyFunc"),
    (lambda tf, x: tf.random.uniform([1], name="bad"), "RandomUniform"),
])
def test_side_effect_and_unknown_ops_are_refused_naming_node_and_op(build, op):
    graph_def = _graph(build)
    with pytest.raises(EdgeFerError) as caught:
        check_graph_ops(graph_def, "m.pb")
    message = str(caught.value)
    assert message.startswith("m.pb: refused: node ") and f"a {op} op" in message
    assert "\n" not in message


def test_an_op_inside_a_library_function_is_refused_naming_the_function():
    def build(tf, x):
        @tf.function
        def hidden(t):
            tf.io.write_file("/tmp/never", "x")
            return t * 2.0

        tf.identity(hidden(x), name="output")

    with pytest.raises(EdgeFerError, match=r"in function '.*hidden.*' is a WriteFile op"):
        check_graph_ops(_graph(build), "m.pb")


def test_a_pure_library_function_passes_and_a_call_outside_the_library_is_refused():
    def build(tf, x):
        @tf.function
        def double(t):
            return t * 2.0

        tf.identity(double(x), name="output")

    graph_def = _graph(build)
    check_graph_ops(graph_def)
    call = next(node for node in graph_def.node if node.op.endswith("PartitionedCall"))
    call.attr["f"].func.name = "WriteFile"
    with pytest.raises(EdgeFerError, match="calling 'WriteFile', which is no function"):
        check_graph_ops(graph_def)


def test_a_keras_saved_model_passes(tmp_path):
    import keras

    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(
        keras.layers.Flatten()(inputs)))
    model.export(str(tmp_path / "sm"), verbose=False)
    check_saved_model(tmp_path / "sm")


def test_a_tf1_saved_model_passes(tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 4], name="x")
        w = tf.compat.v1.get_variable("w", initializer=np.ones((4, 3), np.float32))
        y = tf.nn.softmax(tf.matmul(x, w), name="output")
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.saved_model.simple_save(session, str(tmp_path / "sm"), {"x": x},
                                                 {"output": y})
    check_saved_model(tmp_path / "sm")


def test_a_saved_model_whose_signature_saves_a_checkpoint_is_refused(tmp_path):
    """SaveV2 may sit in a SavedModel's own saver, never in what serving or loading runs."""
    import tensorflow as tf

    class Module(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.ones((4, 3), np.float32))

        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
        def serve(self, x):
            tf.raw_ops.SaveV2(prefix=str(tmp_path / "dropped"), tensor_names=["w"],
                              shape_and_slices=[""], tensors=[self.w.read_value()])
            return tf.matmul(x, self.w)

    module = Module()
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"serving_default": module.serve})
    with pytest.raises(EdgeFerError, match="SaveV2 op, which writes files"):
        check_saved_model(tmp_path / "sm")


@pytest.mark.parametrize("content", [b"", b"garbage that is not a protobuf \xff\xff"])
def test_a_broken_saved_model_file_is_one_line(tmp_path, content):
    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "saved_model.pb").write_bytes(content)
    with pytest.raises(EdgeFerError, match="not a SavedModel"):
        check_saved_model(tmp_path / "sm")
