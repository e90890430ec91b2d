"""inspect: FLOPs of .tflite and .onnx files counted as for the frozen graph they came from, and
the colour order and normalisation said to be assumed when nothing records them."""

from __future__ import annotations

import pytest

from edge_fer.analysis.inspect import inspect_model


@pytest.fixture(scope="module")
def converted(tiny_frozen_model, tmp_path_factory):
    from edge_fer.converters import ConvertRequest, convert_model

    out = tmp_path_factory.mktemp("inspect")
    for target in ("tflite", "onnx"):
        convert_model(ConvertRequest(model=tiny_frozen_model, target=target, precision="fp32",
                                     out_dir=out, verify_count=4))
    convert_model(ConvertRequest(model=tiny_frozen_model, target="onnx", precision="int8",
                                 out_dir=out, verify_count=4, calib_count=8))
    return out


def test_flops_of_converted_files_equal_the_graph_s(tiny_frozen_model, converted):
    expected = inspect_model(tiny_frozen_model)["flops"]
    assert expected > 0
    for name in ("tflite/model.tflite", "onnx/model.onnx", "onnx/model_int8.onnx"):
        assert inspect_model(converted / name)["flops"] == expected, name


def test_normalisation_is_said_to_come_from_the_manifest_or_to_be_assumed(converted, tmp_path):
    import tensorflow as tf

    assert "manifest" in inspect_model(converted / "tflite/model.tflite")["spec"]["normalisation"]

    @tf.function(input_signature=[tf.TensorSpec([1, 64, 64, 3], tf.float32, name="image")])
    def foreign(image):
        return tf.nn.softmax(tf.reduce_mean(image, axis=[1, 2]))

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [foreign.get_concrete_function()], foreign)
    path = tmp_path / "foreign.tflite"
    path.write_bytes(converter.convert())
    spec = inspect_model(path)["spec"]
    assert spec["normalisation"].startswith("not in the file: assumed")
