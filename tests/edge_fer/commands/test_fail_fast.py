"""Fail fast: a bad path, option or missing extra is one error line before TensorFlow, ONNX
Runtime or any model loads (so within a second, not after the work that precedes its use)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
{prelude}
from edge_fer.cli import app
try:
    app({args!r}, prog_name="edge-fer")
    code = 0
except SystemExit as exc:
    code = exc.code
heavy = [m for m in ("tensorflow", "onnxruntime", "ai_edge_litert", "tf2onnx") if m in sys.modules]
print(json.dumps({{"code": code, "heavy": heavy}}))
"""


def probe(args: list[str], cwd, prelude: str = "") -> tuple[dict, str]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=args, prelude=prelude)],
                          capture_output=True, text=True, timeout=120, cwd=cwd, check=False)
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "model.pb").write_bytes(b"not read before the checks")
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "input_list.txt").write_text("")
    (tmp_path / "photo.jpg").write_bytes(b"")
    return tmp_path


CASES = {
    "convert --calib list": (["convert", "model.pb", "--target", "tflite", "--precision", "int8",
                              "--calib", "missing.txt"], "missing.txt: no such input list"),
    "convert --calib data": (["convert", "model.pb", "--target", "tflite", "--precision", "int8",
                              "--calib", "missing.csv"], "missing.csv: no such file or folder"),
    "convert --labels": (["convert", "model.pb", "--target", "tflite", "--labels", "nope.txt"],
                         "nope.txt: no such labels file"),
    "convert --out file": (["convert", "model.pb", "--target", "tflite", "--out", "a_file"],
                           "a_file: is a file"),
    "inspect": (["inspect", "missing.pb"], "missing.pb: no such model file"),
    "compare": (["compare", "model.pb", "runs/missing", "-i", "input_list.txt"],
                "runs/missing: no such model file or output folder"),
    "evaluate model": (["evaluate", "missing.tflite", "--data", "synthetic"],
                       "missing.tflite: no such model file"),
    "evaluate data": (["evaluate", "model.pb", "--data", "missing_folder"],
                      "missing_folder: no such file or folder"),
    "demo --out file": (["demo", "--out", "a_file"], "a_file: is a file"),
    "predict --out file": (["predict", "photo.jpg", "model.pb", "--out", "a_file"],
                           "a_file: is a file"),
    "predict model": (["predict", "photo.jpg", "missing.tflite"],
                      "missing.tflite: no such model file"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_bad_path_is_one_line_before_any_model_loads(case, files):
    args, message = CASES[case]
    result, stderr = probe(args, files)
    assert result["code"] == 1, stderr
    assert not result["heavy"], f"{result['heavy']} loaded before the error"
    assert stderr.strip().splitlines() == [stderr.strip()] and message in stderr, stderr


def test_a_missing_extra_is_one_line_naming_the_install(files):
    prelude = "sys.modules['onnxruntime_qnn'] = None  # the qnn extra is not installed"
    result, stderr = probe(["convert", "model.pb", "--target", "qnn", "--soc", "sm8650"], files,
                           prelude)
    assert result["code"] == 3 and not result["heavy"], (result, stderr)
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "pip install 'edge-fer[qnn]'" in stderr and stderr.count("not installed") <= 1


def test_target_all_lists_qnn_as_needing_its_extra(tiny_frozen_model, tmp_path):
    prelude = "sys.modules['onnxruntime_qnn'] = None"
    args = ["convert", str(tiny_frozen_model), "--target", "all", "--out", str(tmp_path / "o"),
            "--verify-count", "5", "--json"]
    script = (f"import sys\n{prelude}\nfrom edge_fer.cli import main\n"
              "sys.argv = ['edge-fer', *sys.argv[1:]]\nmain()")
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                          timeout=300, check=False)
    rows = {row["target"]: row for row in json.loads(done.stdout)["results"]}
    assert rows["qnn"]["status"] == "skipped"
    assert rows["qnn"]["reason"].startswith("needs the qnn extra: pip install 'edge-fer[qnn]'")
    assert rows["tflite"]["status"] == "converted"
