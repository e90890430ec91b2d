"""Models edge-fer did not make (runners/model_io.py + the whole raws → run → classify path).

Each model is a tiny Keras network trained a few steps on the built-in synthetic faces and
exported here with the converters' own APIs (TFLite converter, tf2onnx), not with edge-fer:
  - 64×64×1 gray scaled to [-1, 1], TFLite, softmax;
  - 48×48×3 RGB with ImageNet mean/std, ONNX with an NCHW input;
  - 48×48×1 with eight labels (contempt added) and a logits output, TFLite.
raw-inputs (spec from the model, plus the mean/std a file cannot hold) → run → classify must give
the Keras model's own top-1 on the same images, preprocessed independently here; mismatches are
one-line errors with exit 1 and nothing written.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_fer.labels import LABELS
from edge_fer.tensors.spec import IMAGENET_MEAN, IMAGENET_STD

EDGE_FER = Path(sys.executable).with_name("edge-fer")
EIGHT = (*LABELS, "contempt")


def _keras_model(shape, classes: int, logits: bool):
    import keras

    inputs = keras.Input(shape=shape, name="input_1")
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(classes, activation=None if logits else "softmax")(x)
    return keras.Model(inputs, outputs)


def _train(model, images: np.ndarray, labels: np.ndarray, logits: bool) -> None:
    import keras

    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=logits))
    model.fit(images, labels, epochs=2, batch_size=32, verbose=0)


def _to_tflite(model, shape, path: Path) -> Path:
    import tensorflow as tf

    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def _to_onnx_nchw(model, shape, path: Path) -> Path:
    import tensorflow as tf
    import tf2onnx

    function = tf.function(lambda x: model(x, training=False))
    spec = (tf.TensorSpec([1, *shape], tf.float32, name="input_1"),)
    tf2onnx.convert.from_function(function, input_signature=spec, opset=17,
                                  inputs_as_nchw=["input_1:0"], output_path=str(path))
    return path


@pytest.fixture(scope="session")
def faces(tmp_path_factory) -> tuple[Path, list[Path], np.ndarray, np.ndarray]:
    """24 synthetic faces as PNG files, and 400 more (uint8 48×48) to train on."""
    from edge_fer.data.synthetic import generate

    images, labels = generate(424, seed=3)
    folder = tmp_path_factory.mktemp("own_faces")
    paths = []
    for i, image in enumerate(images[:24]):
        paths.append(folder / LABELS[int(labels[i])] / f"face{i:02d}.png")
        paths[-1].parent.mkdir(exist_ok=True)
        cv2.imwrite(str(paths[-1]), image)
    return folder, sorted(paths), images[24:], labels[24:]  # the order raw-inputs lists them


def _gray64(path: Path) -> np.ndarray:
    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    gray = cv2.resize(gray, (64, 64), interpolation=cv2.INTER_LINEAR)
    return (gray.astype(np.float32) / 127.5 - 1.0)[:, :, None]


def _rgb_imagenet(path: Path) -> np.ndarray:
    rgb = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return (rgb.astype(np.float32) / 255.0 - np.float32(IMAGENET_MEAN)) / np.float32(IMAGENET_STD)


def _gray48(path: Path) -> np.ndarray:
    return (cv2.imread(str(path), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0)[:, :, None]


@pytest.fixture(scope="session")
def foreign_models(faces, tmp_path_factory) -> dict[str, dict]:
    """name → {model file, raw-inputs flags, the test's own preprocessing, Keras top-1 labels}."""
    import keras

    keras.utils.set_random_seed(0)
    _, paths, train_images, train_labels = faces
    root = tmp_path_factory.mktemp("foreign")
    cases = {}

    gray = train_images.astype(np.float32)[..., None]
    shape64 = (64, 64, 1)
    model = _keras_model(shape64, 7, logits=False)
    _train(model, np.stack([cv2.resize(g, (64, 64))[:, :, None] for g in gray]) / 127.5 - 1,
           train_labels, logits=False)
    cases["gray64"] = {"model": _to_tflite(model, shape64, root / "gray64.tflite"),
                       "flags": ["--mean", "0.5", "--std", "0.5"], "keras": model,
                       "prepare": _gray64, "labels": LABELS}

    shape_rgb = (48, 48, 3)
    model = _keras_model(shape_rgb, 7, logits=False)
    rgb = np.repeat(gray / 255.0, 3, axis=-1)
    _train(model, (rgb - np.float32(IMAGENET_MEAN)) / np.float32(IMAGENET_STD), train_labels,
           logits=False)
    cases["rgb_nchw"] = {"model": _to_onnx_nchw(model, shape_rgb, root / "rgb_nchw.onnx"),
                         "flags": ["--mean", ",".join(map(str, IMAGENET_MEAN)),
                                   "--std", ",".join(map(str, IMAGENET_STD))],
                         "keras": model, "prepare": _rgb_imagenet, "labels": LABELS}

    shape48 = (48, 48, 1)
    model = _keras_model(shape48, 8, logits=True)
    eight_labels = np.where(np.arange(len(train_labels)) % 9 == 0, 7, train_labels)
    _train(model, gray / 255.0, eight_labels, logits=True)
    folder = root / "eight"
    folder.mkdir()
    (folder / "labels.txt").write_text("\n".join(EIGHT) + "\n")
    cases["eight_logits"] = {"model": _to_tflite(model, shape48, folder / "eight.tflite"),
                             "flags": [], "keras": model, "prepare": _gray48, "labels": EIGHT}
    for case in cases.values():
        inputs = np.stack([case["prepare"](path) for path in paths])
        scores = np.asarray(case["keras"](inputs, training=False))
        case["expected"] = [case["labels"][i] for i in scores.argmax(1)]
    return cases


def edge_fer(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(EDGE_FER), *args], check=False, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("name", ["gray64", "rgb_nchw", "eight_logits"])
def test_raws_run_classify_give_the_keras_models_labels(name, foreign_models, faces, tmp_path):
    case = foreign_models[name]
    folder, paths, _, _ = faces
    raws, out = tmp_path / "raws", tmp_path / "out"
    made = edge_fer("raw-inputs", str(folder), "--model", str(case["model"]), *case["flags"],
                    "--out", str(raws), "--json")
    assert made.returncode == 0, made.stderr
    spec = json.loads(made.stdout)["input_spec"]
    assert "input_1" in spec["name"]  # TFLite: serving_default_input_1:0
    ran = edge_fer("run", str(case["model"]), "-i", str(raws / "input_list.txt"), "-o", str(out),
                   "-q")
    assert ran.returncode == 0, ran.stderr
    shown = edge_fer("classify", str(out), "--json")
    assert shown.returncode == 0, shown.stderr
    results = json.loads(shown.stdout)["results"]
    assert [Path(r["source"]).name for r in results] == [p.name for p in paths]
    assert [r["label"] for r in results] == case["expected"]
    if name == "eight_logits":
        assert json.loads((out / "run.json").read_text())["output_spec"]["labels"] == list(EIGHT)
        assert 0 < results[0]["top"][0]["p"] <= 1  # softmax of the logits, not a logit
    if name == "rgb_nchw":
        assert spec["layout"] == "nchw" and spec["color"] == "rgb"


def _nothing_new(folder: Path, before: set[Path]) -> bool:
    return {p for p in folder.rglob("*")} == before


def test_raws_for_another_shape_are_one_line_error_and_nothing_written(foreign_models, faces,
                                                                       tmp_path):
    folder = faces[0]
    raws = tmp_path / "raws48"
    assert edge_fer("raw-inputs", str(folder), "--out", str(raws), "-q").returncode == 0
    before = set(tmp_path.rglob("*"))
    for name in ("gray64", "rgb_nchw"):
        ran = edge_fer("run", str(foreign_models[name]["model"]), "-i",
                       str(raws / "input_list.txt"), "-o", str(tmp_path / f"out_{name}"))
        assert ran.returncode == 1, ran.stderr
        lines = ran.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in ran.stderr
        assert "[1,48,48,1]" in lines[0] and foreign_models[name]["model"].name in lines[0]
    (raws / "input_spec.json").unlink()  # older raws without a record: the sizes still tell
    before = set(tmp_path.rglob("*"))
    ran = edge_fer("run", str(foreign_models["gray64"]["model"]), "-i",
                   str(raws / "input_list.txt"), "-o", str(tmp_path / "out_sizes"))
    assert ran.returncode == 1 and len(ran.stderr.strip().splitlines()) == 1
    assert "9,216 bytes" in ran.stderr and "64x64x1" in ran.stderr
    assert _nothing_new(tmp_path, before)


def test_a_labels_file_of_the_wrong_length_is_one_line_error(foreign_models, faces, tmp_path):
    case = foreign_models["eight_logits"]
    raws, out = tmp_path / "raws", tmp_path / "out"
    assert edge_fer("raw-inputs", str(faces[0]), "--model", str(case["model"]), "--out",
                    str(raws), "-q").returncode == 0
    assert edge_fer("run", str(case["model"]), "-i", str(raws / "input_list.txt"), "-o",
                    str(out), "-q").returncode == 0
    seven = tmp_path / "seven.txt"
    seven.write_text("\n".join(LABELS) + "\n")
    before = set(tmp_path.rglob("*"))
    shown = edge_fer("classify", str(out), "--labels", str(seven), "--out",
                     str(tmp_path / "labels.json"), "--format", "json")
    assert shown.returncode == 1
    assert len(shown.stderr.strip().splitlines()) == 1 and "7 labels" in shown.stderr
    assert _nothing_new(tmp_path, before)
    from edge_fer.errors import EdgeFerError
    from edge_fer.runners.model_io import model_spec

    with pytest.raises(EdgeFerError, match="7 labels, but eight.tflite gives 8 scores"):
        model_spec(case["model"], labels_file=seven)


def test_evaluate_takes_a_labels_file_of_any_count(foreign_models, faces, tmp_path):
    """The eight-class model away from its labels.txt: its labels come from --labels; the
    correct count over both splits of the face folder is what the Keras model gets right."""
    import shutil

    case = foreign_models["eight_logits"]
    model = shutil.copy(case["model"], tmp_path / "eight.tflite")
    labels = tmp_path / "labels8.txt"
    labels.write_text("\n".join(EIGHT) + "\n")
    folder, paths, _, _ = faces
    correct = 0
    for split in ("train", "val"):
        done = edge_fer("evaluate", str(model), "--data", str(folder), "--split", split,
                        "--labels", str(labels), "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["labels"] == list(EIGHT) and len(report["confusion"]) == 8
        correct += report["correct"]
    truth = [path.parent.name for path in paths]
    assert correct == sum(e == t for e, t in zip(case["expected"], truth))
    before = set(tmp_path.rglob("*"))
    seven = tmp_path / "seven.txt"
    seven.write_text("\n".join(LABELS) + "\n")
    done = edge_fer("evaluate", str(model), "--data", str(folder), "--labels", str(seven))
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert "7 labels, but eight.tflite gives 8 scores" in done.stderr
    assert set(tmp_path.rglob("*")) == before | {seven}


def test_evaluate_and_runners_take_the_mean_and_std_a_file_cannot_hold(foreign_models, faces):
    """The [-1, 1] model without a manifest: evaluate --mean 0.5 --std 0.5 scores what the Keras
    model gets right over both splits of the face folder; without them it is fed [0, 1]."""
    from edge_fer.runners import load_runner

    case = foreign_models["gray64"]
    folder, paths, _, _ = faces
    truth = [path.parent.name for path in paths]
    expected = sum(e == t for e, t in zip(case["expected"], truth))

    def correct(*flags: str) -> int:
        total = 0
        for split in ("train", "val"):
            done = edge_fer("evaluate", str(case["model"]), "--data", str(folder), "--split",
                            split, *flags, "--json")
            assert done.returncode == 0, done.stderr
            total += json.loads(done.stdout)["correct"]
        return total

    assert correct("--mean", "0.5", "--std", "0.5") == expected
    runner = load_runner(case["model"], input_flags={"mean": "0.5", "std": "0.5"})
    assert (runner.input_spec.mean, runner.input_spec.std, runner.input_spec.height) == ((0.5,), (0.5,), 64)
    assert load_runner(case["model"]).input_spec.mean == (0.0,)
    bad = edge_fer("evaluate", str(case["model"]), "--data", str(folder), "--mean", "0.5,0.5")
    assert bad.returncode == 2 and "--mean" in bad.stderr
