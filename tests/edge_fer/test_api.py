"""The Python API: `import edge_fer` is cheap (no TensorFlow) and exposes convert, raw_inputs,
run, classify, load_runner and predict; they chain like the commands, keep their names however
often and in whatever order they are called, return typed results of plain values with short
reprs, and report through the caller's callback, never the terminal."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import edge_fer

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = REPO_ROOT.parent / "shared" / "data" / "fer2013" / "sample"


def test_import_is_cheap_and_exposes_the_documented_api():
    probe = ("import sys, edge_fer; names = [n for n in edge_fer.API if callable(getattr(edge_fer, n))]; "
             "print(len(names), 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    assert done.stdout.split() == [str(len(edge_fer.API)), "False"]
    for name in ("convert", "raw_inputs", "run", "classify", "load_runner", "predict"):
        assert name in dir(edge_fer) and len(getattr(edge_fer, name).__doc__) > 80
    assert "edge_fer.convert(" in edge_fer.__doc__


def test_no_module_of_the_package_shares_a_name_with_the_api():
    """Importing edge_fer.<x> binds the attribute x of edge_fer: a subpackage named like an API
    function would replace the function the first time it is imported."""
    import tomllib

    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    packages = pyproject["tool"]["setuptools"]["packages"]
    modules = {info.name for info in pkgutil.iter_modules(edge_fer.__path__)}
    modules |= {name.split(".")[1] for name in packages if name.count(".") == 1}
    assert {"converters", "prediction", "runners", "api"} <= modules
    assert not modules & {*edge_fer.API, *edge_fer.RESULTS}


def _photo(path: Path) -> Path:
    """A 320×240 picture with one face in it: a FER2013 sample face where the shared data is,
    else a drawn one (which the detector may not take for a face: then no face is found)."""
    import cv2

    from edge_fer.prediction.scenes import background, paste

    frame = background(240, 320, seed=3)
    if SAMPLE_DIR.is_dir():
        face = cv2.imread(str(min((SAMPLE_DIR / "happy").iterdir())))
    else:
        from edge_fer.data.synthetic import generate

        face = generate(1, seed=0)[0][0]
    paste(frame, face, 90, 40, 140)
    cv2.imwrite(str(path), frame)
    return path


CALLS = {
    "convert": "r = edge_fer.convert(MODEL, target='tflite', precision='fp32', out=OUT / 'conv{i}');"
               "assert isinstance(r, edge_fer.Conversion) and len(r.converted) == 1, r",
    "predict": "r = edge_fer.predict(PHOTO, MODEL, 'tf');"
               "assert isinstance(r, edge_fer.Predictions) and r.frames == 1, r",
}


@pytest.mark.parametrize("order", [("convert", "predict"), ("predict", "convert")])
def test_each_function_keeps_working_called_twice_in_either_order(order, tiny_frozen_model,
                                                                  tmp_path):
    """In a fresh process (the first import of a subpackage is what used to rebind the name)."""
    lines = ["import pathlib, edge_fer",
             f"MODEL = {str(tiny_frozen_model)!r}",
             f"PHOTO = {str(_photo(tmp_path / 'photo.jpg'))!r}",
             f"OUT = pathlib.Path({str(tmp_path)!r})"]
    for i, name in enumerate([*order, *order]):
        lines.append(CALLS[name].replace("{i}", str(i)))
        lines.append(f"assert callable(edge_fer.{name}) and edge_fer.{name}.__module__ == "
                     "'edge_fer.api'")
    lines.append("print('done')")
    done = subprocess.run([sys.executable, "-c", "\n".join(lines)], capture_output=True,
                          check=False, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "done"
    # quiet like the CLI: no LiteRT/converter/TensorFlow notices on either stream
    for noise in ("XNNPACK", "fully_quantize", "absl", "oneDNN"):
        assert noise not in done.stderr + done.stdout, done.stderr


def test_api_chains_like_the_commands_and_reports_through_the_callback(frozen_model, tmp_path,
                                                                       capfd):
    from edge_fer.data.synthetic import render_png_folder

    render_png_folder(tmp_path / "faces", 1, seed=77)
    lines: list[str] = []
    made = edge_fer.raw_inputs(tmp_path / "faces", tmp_path / "raws", progress=lines.append)
    assert made.written == 7 and made.labelled == 7 and not made.skipped
    timings = edge_fer.run(frozen_model, made.input_list, tmp_path / "out", progress=lines.append)
    assert isinstance(timings, edge_fer.RunResult) and timings.images == 7
    assert isinstance(timings.p50_ms, float) and timings.runtime == "tf"
    report = edge_fer.classify(tmp_path / "out", progress=lines.append)
    assert len(report) == 7 and not report.problems and report.scored == 7
    assert abs(report.accuracy - report.correct / 7) < 1e-12 and type(report.accuracy) is float
    assert sum(map(sum, report.confusion)) == 7 and set(report.recall) == set(report.labels)
    first = report[0]
    assert first.label == max(first.probabilities, key=first.probabilities.get)
    assert len(first.probabilities) == 7 and type(first.probability) is float
    assert abs(sum(first.probabilities.values()) - 1) < 1e-3
    runner = edge_fer.load_runner(frozen_model, threads=1)
    try:
        probs = runner.infer(np.zeros((2, 48, 48, 1), np.float32))
    finally:
        runner.close()
    assert probs.shape == (2, 7) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert capfd.readouterr().err == ""  # nothing straight to the terminal
    # short reprs; to_dict is plain JSON and round-trips through to_json
    for result in (made, timings, report, first):
        assert len(repr(result)) < 200, repr(result)
        assert json.loads(result.to_json()) == json.loads(json.dumps(result.to_dict()))
    assert len(report.to_dict()["results"]) == 7
    assert len(repr(timings.report)) < 200  # the library's RunTimings too: no float per call


def test_predict_gives_faces_of_plain_values(tiny_frozen_model, tmp_path):
    result = edge_fer.predict(_photo(tmp_path / "photo.jpg"), tiny_frozen_model, "tf",
                              out=tmp_path / "out")
    assert isinstance(result, edge_fer.Predictions) and result.frames == 1
    assert len(repr(result)) < 200 and (tmp_path / "out" / "summary.json").is_file()
    if not SAMPLE_DIR.is_dir():
        pytest.skip("the FER2013 sample faces are absent: no real face to find")
    assert len(result) == 1 and result.label == result[0].label
    face = result[0]
    assert all(type(v) is int for v in face.box) and type(face.probability) is float
    assert all(type(p) is float for p in face.probabilities.values())
    x0, y0, x1, y1 = face.box
    assert x0 < 160 < x1 and y0 < 110 < y1  # around the pasted face
    assert "np." not in repr(result[0]) and "np." not in result.to_json()
    assert json.loads(result.to_json())["faces"][0]["label"] == face.label
