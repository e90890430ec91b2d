"""convert of models edge-fer did not make: a foreign frozen graph and Keras files.

The models are tiny Keras networks built here (a few training steps on the built-in synthetic
faces), frozen the way users freeze them (tf.function → convert_variables_to_constants_v2, which
leaves NoOps and run-time bias reshapes) or saved as `.keras`/`.h5`:
  - foreign.pb: 64×64×1 input `input_1` with a free batch, scaled to [-1, 1], eight logits
    (output node `Identity`), labels in a file;
  - rgb.keras: 48×48×3 RGB with ImageNet mean/std, softmax over seven;
  - lambda.keras / lambda.h5: the same with a Lambda layer (Python code in the file).
Each converts to TFLite and ONNX and passes the fidelity checks with its own spec; the dlc target
prints the exact snpe-tensorflow-to-dlc command; mismatches are one line, exit 1, nothing written.
"""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest

from edge_fer.labels import LABELS
from edge_fer.tensors.spec import IMAGENET_MEAN, IMAGENET_STD

EIGHT = (*LABELS, "contempt")
CHECKS = ("--verify-count", "24", "--calib-count", "24")


def _keras_model(shape, classes: int, logits: bool, lambda_layer: bool = False):
    import keras

    inputs = keras.Input(shape=shape, name="input_1")
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(classes, activation=None if logits else "softmax")(x)
    if lambda_layer:
        x = keras.layers.Lambda(lambda t: t * 1.0)(x)
    return keras.Model(inputs, x)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory) -> dict:
    """The models and the faces they are trained and checked on."""
    import cv2
    import keras
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    from edge_fer.data.synthetic import generate

    keras.utils.set_random_seed(0)
    root = tmp_path_factory.mktemp("own_convert")
    faces, labels = generate(160, seed=5)
    gray64 = np.stack([cv2.resize(f, (64, 64)) for f in faces]).astype(np.float32)[..., None]
    model = _keras_model((64, 64, 1), 8, logits=True)
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(gray64 / 127.5 - 1, np.where(np.arange(160) % 9 == 0, 7, labels), epochs=1,
              verbose=0)
    function = tf.function(lambda x: model(x, training=False)).get_concrete_function(
        tf.TensorSpec([None, 64, 64, 1], tf.float32, name="input_1"))
    graph_def = convert_variables_to_constants_v2(function).graph.as_graph_def()
    (root / "foreign.pb").write_bytes(graph_def.SerializeToString())
    (root / "eight.txt").write_text("\n".join(EIGHT) + "\n")

    rgb = _keras_model((48, 48, 3), 7, logits=False)
    rgb.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    inputs = (np.repeat(faces[..., None] / 255.0, 3, -1) - IMAGENET_MEAN) / IMAGENET_STD
    rgb.fit(inputs.astype(np.float32), labels, epochs=1, verbose=0)
    rgb.save(root / "rgb.keras")
    unsafe = _keras_model((48, 48, 3), 7, logits=False, lambda_layer=True)
    unsafe.save(root / "lambda.keras")
    unsafe.save(root / "lambda.h5")
    return {"root": root, "pb": root / "foreign.pb", "labels": root / "eight.txt",
            "rgb": rgb, "keras": root / "rgb.keras"}


def _only_line(done) -> str:
    lines = [line for line in done.output.splitlines() if line.strip()]
    assert len(lines) == 1, done.output
    return lines[0]


def _manifest(path) -> dict:
    return json.loads(path.with_suffix(".json").read_text())


def test_a_foreign_frozen_graph_converts_to_tflite_and_onnx_and_passes_the_checks(
        foreign, tmp_path, convert_cli):
    from edge_fer.runners.model_io import model_spec

    out = tmp_path / "out"
    for target, precision in (("tflite", "fp32"), ("tflite", "int8"), ("onnx", "int8")):
        done = convert_cli(foreign["pb"], "--target", target, "--precision", precision,
                           "--input", "input_1", "--input-shape", "1,64,64,1", "--output",
                           "Identity", "--mean", "0.5", "--std", "0.5", "--labels",
                           foreign["labels"], *CHECKS, "--out", out, "--json")
        assert done.exit_code == 0, done.output
    # calibrated on inputs made by the spec: [-1, 1] (a [0, 1] calibration gives scale 1/255)
    quantized = _manifest(out / "tflite" / "foreign_int8.tflite")["inputs"][0]["quantization"]
    assert quantized["scale"] == pytest.approx(2 / 255, rel=0.02)
    for name in ("tflite/foreign.tflite", "tflite/foreign_int8_float_io.tflite",
                 "onnx/foreign.onnx", "onnx/foreign_int8.onnx"):
        manifest = _manifest(out / name)
        checks = manifest["checks"]
        assert checks["inputs"] == 24 and checks["compared"] == "softmax of the logits"
        assert checks["top1_agreement"] >= (1.0 if "int8" not in name else 0.9)
        if "int8" not in name:
            assert checks["max_abs_dp"] < 1e-4
        assert manifest["input_spec"]["name"] == "input_1"
        assert manifest["input_spec"]["shape"] == [1, 64, 64, 1]
        assert manifest["input_spec"]["mean"] == [0.5] and manifest["input_spec"]["std"] == [0.5]
        assert manifest["output_spec"] == {"name": "Identity", "labels": list(EIGHT),
                                           "activation": "logits"}
        assert manifest["source_model"]["path"] == str(foreign["pb"])
        # run/raw-inputs read the spec from the manifest: no flags needed for the converted file
        spec, output = model_spec(out / name)
        assert (spec.height, spec.width, spec.mean, spec.std) == (64, 64, (0.5,), (0.5,))
        assert output.labels == EIGHT and output.activation == "logits"
    assert (out / "tflite" / "labels.txt").read_text().split() == list(EIGHT)
    # raw-inputs → run → classify on the converted file with no spec flags at all
    import cv2
    from typer.testing import CliRunner

    from edge_fer.cli import app
    from edge_fer.data.synthetic import generate

    faces = tmp_path / "faces"
    faces.mkdir()
    for i, face in enumerate(generate(3, seed=2)[0]):
        cv2.imwrite(str(faces / f"f{i}.png"), face)
    model = out / "tflite" / "foreign.tflite"
    made = CliRunner().invoke(app, ["raw-inputs", str(faces), "--model", str(model), "--out",
                                    str(tmp_path / "raws"), "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["input_spec"]["mean"] == [0.5]
    ran = CliRunner().invoke(app, ["run", str(model), "-i", str(tmp_path / "raws" /
                                   "input_list.txt"), "-o", str(tmp_path / "ran"), "-q"])
    assert ran.exit_code == 0, ran.output
    shown = CliRunner().invoke(app, ["classify", str(tmp_path / "ran"), "--json"])
    assert shown.exit_code == 0, shown.output
    from edge_fer.tensors.graphio import load_graph_def
    from edge_fer.training.freeze import frozen_outputs

    own = np.stack([cv2.resize(cv2.imread(str(faces / f"f{i}.png"), cv2.IMREAD_GRAYSCALE),
                               (64, 64), interpolation=cv2.INTER_LINEAR)[..., None]
                    for i in range(3)]).astype(np.float32) / 127.5 - 1
    graph = frozen_outputs(load_graph_def(foreign["pb"], required=()), own, "input_1", "Identity")
    assert [r["label"] for r in json.loads(shown.stdout)["results"]] == \
        [EIGHT[i] for i in graph.argmax(1)]
    # The graph held Keras's NoOps and bias reshapes: it was folded into frozen/ and converted
    frozen = _manifest(out / "frozen" / "foreign.pb")
    assert frozen["input_spec"]["mean"] == [0.5] and frozen["outputs"] == [{"name": "Identity"}]
    # the same graph with no flags: its only placeholder and only unconsumed node are taken
    done = convert_cli(foreign["pb"], "--target", "tflite", "--verify-count", "8",
                       "--out", tmp_path / "defaults", "--json")
    assert done.exit_code == 0, done.output
    assert _manifest(tmp_path / "defaults" / "tflite" / "foreign.tflite")["input_spec"][
        "name"] == "input_1"


def test_dlc_prints_the_exact_snpe_command_with_the_models_names_and_dims(
        foreign, tmp_path, convert_cli, monkeypatch):
    for variable in ("SNPE_ROOT", "QAIRT_SDK_ROOT"):
        monkeypatch.delenv(variable, raising=False)
    out = tmp_path / "out"
    done = convert_cli(foreign["pb"], "--target", "dlc", "--input", "input_1", "--input-shape",
                       "1,64,64,1", "--output", "Identity", "--out", out, "--json")
    assert done.exit_code == 3, done.output  # the SDK is absent here
    report = json.loads(done.stdout)
    dlc = next(r for r in report["results"] if r["target"] == "dlc")
    frozen = out / "frozen" / "foreign.pb"
    assert dlc["commands"][0] == shlex.join([
        "snpe-tensorflow-to-dlc", "--input_network", str(frozen), "--input_dim", "input_1",
        "1,64,64,1", "--out_node", "Identity", "--output_path", str(out / "dlc" / "foreign.dlc")])
    assert frozen.is_file()  # what the printed command converts, ready for when the SDK is here
    done = convert_cli(foreign["keras"], "--target", "dlc", "--dry-run", "--out", out, "--json")
    assert done.exit_code == 0, done.output
    dlc = next(r for r in json.loads(done.stdout)["results"] if r["target"] == "dlc")
    assert "--input_dim input_1 1,48,48,3 --out_node Identity" in dlc["commands"][0]
    assert not (out / "frozen" / "rgb.pb").exists()  # a dry run writes nothing


def test_a_keras_file_converts_to_tflite_and_onnx_and_gives_what_keras_gives(
        foreign, tmp_path, convert_cli):
    from edge_fer.data.synthetic import generate
    from edge_fer.runners import load_runner

    out = tmp_path / "out"
    mean, std = ",".join(map(str, IMAGENET_MEAN)), ",".join(map(str, IMAGENET_STD))
    done = convert_cli(foreign["keras"], "--target", "all", "--mean", mean, "--std", std,
                       *CHECKS, "--out", out, "--json")
    assert done.exit_code == 0, done.output
    faces, _ = generate(6, seed=11)
    inputs = ((np.repeat(faces[..., None] / 255.0, 3, -1) - IMAGENET_MEAN) / IMAGENET_STD)
    expected = np.asarray(foreign["rgb"](inputs.astype(np.float32), training=False))
    for name in ("tflite/rgb.tflite", "onnx/rgb.onnx"):
        manifest = _manifest(out / name)
        assert manifest["checks"]["max_abs_dp"] < 1e-4, manifest["checks"]
        assert manifest["input_spec"]["color"] == "rgb"
        assert manifest["input_spec"]["mean"] == pytest.approx(list(IMAGENET_MEAN))
        assert manifest["source_model"]["path"] == str(foreign["keras"])
        runner = load_runner(out / name)
        try:
            got = runner.infer(inputs.astype(np.float32))
        finally:
            runner.close()
        np.testing.assert_allclose(got, expected, atol=1e-5)
    assert json.loads(done.stdout)["results"][0]["target"] == "frozen"


@pytest.mark.parametrize("name", ["lambda.keras", "lambda.h5"])
def test_a_keras_file_with_a_lambda_layer_is_refused_in_one_line(foreign, tmp_path,
                                                                   convert_cli, name):
    out = tmp_path / "out"
    done = convert_cli(foreign["root"] / name, "--target", "tflite", "--out", out)
    assert done.exit_code == 1
    line = _only_line(done)
    assert line.startswith("error:") and name in line and "--unsafe-keras" in line
    assert not out.exists()


@pytest.mark.parametrize("args, says", [
    (["--input-shape", "1,32,32,1"], "does not fit input 'input_1'"),
    (["--input", "nothing_here"], "'nothing_here': no such node"),
    (["--output", "input_1"], "not the class-score node"),
    (["--labels", "SEVEN"], "7 labels, but foreign.pb gives 8 scores"),
    (["--precision", "int8", "--calib", "RAWS48"], "raws made for 'x' [1,48,48,1]"),
])
def test_mismatches_are_one_line_exit_1_and_nothing_written(foreign, tmp_path, convert_cli,
                                                              args, says):
    seven = tmp_path / "seven.txt"
    seven.write_text("\n".join(LABELS) + "\n")
    if "RAWS48" in args:  # edge-fer's own 48×48 raws, with the input_spec.json raw-inputs records
        import cv2
        from typer.testing import CliRunner

        from edge_fer.cli import app
        from edge_fer.data.synthetic import generate

        folder = tmp_path / "faces"
        folder.mkdir()
        for i, face in enumerate(generate(3, seed=1)[0]):
            cv2.imwrite(str(folder / f"f{i}.png"), face)
        made = CliRunner().invoke(app, ["raw-inputs", str(folder), "--out",
                                        str(tmp_path / "raws"), "-q"])
        assert made.exit_code == 0, made.output
    args = [str(seven) if a == "SEVEN" else str(tmp_path / "raws" / "input_list.txt")
            if a == "RAWS48" else a for a in args]
    before = set(tmp_path.rglob("*"))
    out = tmp_path / "out"
    done = convert_cli(foreign["pb"], "--target", "tflite", *args, "--out", out)
    assert done.exit_code == 1, done.output
    line = _only_line(done)
    assert line.startswith("error:") and says in line, line
    assert not out.exists() and set(tmp_path.rglob("*")) == before


def test_unsafe_keras_lets_a_trusted_lambda_file_convert(foreign, tmp_path, convert_cli):
    out = tmp_path / "out"
    done = convert_cli(foreign["root"] / "lambda.keras", "--unsafe-keras", "--target", "tflite",
                       "--verify-count", "8", "--out", out, "--json")
    assert done.exit_code == 0, done.output
    assert _manifest(out / "frozen" / "lambda.pb")["frozen_with"]["loader"].endswith(
        "safe_mode=False)")
    done = convert_cli(foreign["pb"], "--unsafe-keras", "--target", "tflite", "--out", out)
    assert done.exit_code == 2 and "Keras files" in done.output


def test_a_saved_model_folder_converts_and_passes_the_checks(foreign, tmp_path, convert_cli):
    folder = tmp_path / "exported"
    foreign["rgb"].export(str(folder), verbose=False)
    out = tmp_path / "out"
    done = convert_cli(folder, "--target", "onnx", "--verify-count", "8", "--out", out, "--json")
    assert done.exit_code == 0, done.output
    manifest = _manifest(out / "onnx" / "exported.onnx")
    assert manifest["checks"]["max_abs_dp"] < 1e-4
    assert manifest["input_spec"]["shape"] == [1, 48, 48, 3]
    assert manifest["source_model"]["path"] == str(folder)


def test_qnn_takes_the_foreign_graphs_names_and_spec(foreign, tmp_path, convert_cli):
    pytest.importorskip("onnxruntime_qnn")
    out = tmp_path / "out"
    done = convert_cli(foreign["pb"], "--target", "qnn", "--mean", "0.5", "--std", "0.5",
                       "--labels", foreign["labels"], "--verify-count", "10", "--calib-count",
                       "16", "--out", out, "--json")
    assert done.exit_code == 0, done.output
    manifest = _manifest(out / "qnn" / "foreign_qnn.onnx")
    assert manifest["inputs"][0]["name"] == "input_1"
    assert manifest["inputs"][0]["shape"] == [1, 64, 64, 1]
    assert manifest["output_spec"]["labels"] == list(EIGHT)
    assert manifest["checks"]["inputs"] == 10 and manifest["checks"]["top1_agreement"] >= 0.8


def test_a_colour_the_input_cannot_take_is_a_usage_error_and_nothing_written(
        foreign, tmp_path, convert_cli):
    out = tmp_path / "out"
    done = convert_cli(foreign["pb"], "--color", "bgr", "--target", "tflite", "--out", out)
    assert done.exit_code == 2
    assert "--color bgr makes 3-channel images" in _only_line(done)
    assert not out.exists()
