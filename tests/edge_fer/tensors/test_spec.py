"""The input and output specifications, and preprocess driven by one."""

from __future__ import annotations

import numpy as np
import pytest

from edge_fer.errors import EdgeFerError, UsageError
from edge_fer.labels import LABELS
from edge_fer.preprocess import preprocess
from edge_fer.tensors.spec import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    InputSpec,
    OutputSpec,
    parse_size,
    read_spec,
    softmax,
    write_spec,
)


def test_default_spec_is_the_shipped_models_input_and_preprocess_matches_the_plain_call():
    spec = InputSpec()
    assert spec.shape == (1, 48, 48, 1) and spec.elements == 48 * 48
    image = (np.arange(100 * 80) % 256).astype(np.uint8).reshape(100, 80)
    np.testing.assert_array_equal(preprocess(image, spec=spec)[:, :, 0], preprocess(image))


def test_64_gray_scaled_to_minus_one_one():
    spec = InputSpec().with_overrides(size="64", mean="0.5", std="0.5")
    image = np.zeros((64, 64), np.uint8)
    image[0, 0] = 255
    out = preprocess(image, spec=spec)
    assert out.shape == (64, 64, 1)
    assert out[0, 0, 0] == pytest.approx(1.0) and out[1, 1, 0] == pytest.approx(-1.0)


def test_nchw_rgb_imagenet_normalisation_by_hand():
    spec = InputSpec(color="rgb", layout="nchw", height=32, width=40, mean=IMAGENET_MEAN,
                     std=IMAGENET_STD)
    bgr = np.zeros((32, 40, 3), np.uint8)
    bgr[..., 0], bgr[..., 1], bgr[..., 2] = 10, 120, 250   # blue, green, red
    out = preprocess(bgr, spec=spec)
    assert out.shape == (3, 32, 40)
    for channel, pixel in enumerate((250, 120, 10)):       # r, g, b
        expected = (pixel / 255 - IMAGENET_MEAN[channel]) / IMAGENET_STD[channel]
        assert out[channel, 5, 7] == pytest.approx(expected, abs=1e-6)
    bgr_out = preprocess(bgr, spec=InputSpec(color="bgr", height=32, width=40))
    assert bgr_out[0, 0, 0] == pytest.approx(10 / 255) and bgr_out.shape == (32, 40, 3)


def test_rectangular_size_resizes_height_by_width():
    spec = InputSpec().with_overrides(size="30x50")
    assert preprocess(np.zeros((200, 200, 3), np.uint8), spec=spec).shape == (30, 50, 1)
    assert parse_size("224") == (224, 224)


@pytest.mark.parametrize("flags", [{"size": "0"}, {"size": "a"}, {"color": "cmyk"},
                                   {"layout": "nwhc"}, {"mean": "0.1,0.2"},
                                   {"std": "0"}, {"mean": "0.1,0.2,0.3"}])
def test_bad_flags_are_usage_errors(flags):
    with pytest.raises(UsageError):
        InputSpec().with_overrides(**flags)  # three means for a gray input is an error too


def test_logits_get_softmax_probabilities_pass_and_auto_decides():
    logits = np.array([[2.0, -1.0, 0.5]], np.float32)
    labels = ("a", "b", "c")
    np.testing.assert_allclose(OutputSpec(labels=labels, activation="logits")
                               .probabilities(logits), softmax(logits))
    probs = softmax(logits)
    np.testing.assert_array_equal(OutputSpec(labels=labels, activation="auto")
                                  .probabilities(probs), probs)
    np.testing.assert_allclose(OutputSpec(labels=labels, activation="auto")
                               .probabilities(logits), probs)
    with pytest.raises(EdgeFerError, match="gives 8 scores but there are 7 labels"):
        OutputSpec().check_classes(8, "m.tflite")


def test_spec_round_trips_beside_raws(tmp_path):
    spec = InputSpec(name="input_1", color="rgb", layout="nchw", mean=IMAGENET_MEAN,
                     std=IMAGENET_STD, dtype="uint8", scale=0.02, zero_point=128)
    output = OutputSpec(name="Identity", labels=LABELS + ("contempt",), activation="logits")
    write_spec(tmp_path, spec, output, model="m.onnx")
    assert read_spec(tmp_path) == (spec, output)
    assert read_spec(tmp_path / "none") is None
    assert spec.same_tensor(InputSpec(name="other", color="rgb", layout="nchw",
                                      mean=IMAGENET_MEAN, std=IMAGENET_STD))
    assert not spec.same_tensor(InputSpec(color="rgb", layout="nchw"))
