"""The Keras reader (edge_fer/artifacts/kerasfile.py): a tiny model saved by Keras itself, read back
from its config and weight shapes without Keras loading it — and files that only look like one."""

from __future__ import annotations

import zipfile

import pytest

from edge_fer.artifacts.facts import facts_of
from edge_fer.artifacts.formats import describe
from edge_fer.errors import EdgeFerError


def _tiny(keras, lambda_layer: bool = False):
    image = keras.Input((8, 8, 1), name="img")
    x = keras.layers.Conv2D(2, 3, padding="same", name="conv")(image)
    if lambda_layer:
        x = keras.layers.Lambda(lambda t: t * 2.0, name="code")(x)
    x = keras.layers.DepthwiseConv2D(3, strides=2, name="depthwise")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(5, name="dense")(x)
    return keras.Model(image, keras.layers.Softmax(name="probs")(x))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    import keras

    folder = tmp_path_factory.mktemp("keras")
    model = _tiny(keras)
    model.save(folder / "tiny.keras")
    model.save(folder / "tiny.h5")
    _tiny(keras, lambda_layer=True).save(folder / "code.keras")
    return folder, model.count_params()


@pytest.mark.parametrize("name", ["tiny.keras", "tiny.h5"])
def test_a_saved_model_is_described_without_loading_it(saved, name):
    folder, parameters = saved
    described = describe(folder / name)
    assert described.format == "keras"
    assert [(t.name, t.shape, t.dtype) for t in described.inputs] == [("img", [None, 8, 8, 1],
                                                                       "float32")]
    assert [(t.name, t.dims(), t.softmax) for t in described.outputs] == [("probs", [None, 5],
                                                                           True)]
    assert described.parameters == parameters
    assert described.ops["Conv2D"] == described.ops["DepthwiseConv2D"] == 1
    facts = facts_of(described)
    assert (facts.input_name, facts.input_shape, facts.classes, facts.softmax) == \
        ("img", [None, 8, 8, 1], 5, True)


def test_flops_are_counted_like_the_frozen_graph_s(saved):
    folder, _ = saved
    # conv 'same' 8×8×(3·3·1)×2, depthwise 'valid' stride 2 → 3×3 ×(3·3)×2, dense 18×5
    expected = 2 * (8 * 8 * 9 * 2 + 3 * 3 * 9 * 2 + 18 * 5)
    assert describe(folder / "tiny.keras").flops == expected


def test_python_code_in_a_model_is_listed_not_run(saved):
    folder, _ = saved
    described = describe(folder / "code.keras")
    assert described.facts["lambda_layers"] == ["code"]


@pytest.mark.parametrize(("content", "problem"), [
    (b"\x89HDF\r\n\x1a\n", "not a readable Keras model"),
    (b"", "not a readable Keras model"),
    (b"hello", "not a readable Keras model"),
])
def test_files_that_are_no_keras_model_are_one_line(tmp_path, content, problem):
    path = tmp_path / "model.keras"
    path.write_bytes(content)
    with pytest.raises(EdgeFerError, match=problem) as caught:
        describe(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


@pytest.mark.parametrize(("members", "problem"), [
    ({"other.txt": b"x"}, "no config.json"),
    ({"config.json": b"{not json"}, "config.json is not JSON"),
    ({"config.json": b"[1, 2]"}, "not a JSON object"),
    ({"config.json": b'{"class_name": "Functional", "config": {"layers": 5}}'},
     "its Keras config is not one edge-fer can read"),
])
def test_a_foreign_zip_named_keras_is_one_line(tmp_path, members, problem):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(EdgeFerError, match=problem):
        describe(path)


def test_weights_only_hdf5_says_so(tmp_path):
    import h5py

    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as h5:
        h5["layer/kernel"] = [1.0, 2.0]
    with pytest.raises(EdgeFerError, match="without a model config"):
        describe(path)
