"""reporter.quiet_native: at default verbosity a command's stderr holds only edge-fer's own
lines (no TensorFlow, LiteRT, onnxruntime or QNN chatter) and its --json stdout parses; with
--verbose the libraries speak again."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from edge_fer.tensors.rawio import write_input_list, write_raw

# What the libraries print: absl/glog lines (I0000 00:00:… file.cc:NN]), absl's pre-init notice,
# TF's CPU-feature and oneDNN notices, LiteRT's delegate line, the TFLite converter's settings,
# Python logging's root format (onnxruntime.quantization), onnxruntime-qnn's # LIBNATIVE line.
LIBRARY_LINE = re.compile(r"^[IWEF]\d{4} |absl|oneDNN|TensorFlow|tensorflow|XNNPACK|fully_quantize|"
                          r"^(INFO|WARNING|ERROR):|LIBNATIVE|onnxruntime")


def _edge_fer(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from edge_fer.cli import main; main()", *args],
                          check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=300)


def test_default_stderr_holds_no_library_chatter_and_verbose_brings_it_back(tiny_frozen_model,
                                                                            tmp_path):
    # the tiny untrained CNN takes the same converter paths as a trained model and makes the
    # same chatter with -v (TF's absl lines, the TFLite converter's fully_quantize, onnxruntime's
    # quantisation warnings, QNN's LIBNATIVE, XNNPACK), without a training run to wait for
    args = ["convert", str(tiny_frozen_model), "--target", "all", "--precision", "int8",
            "--calib-count", "4", "--verify-count", "2", "--out", str(tmp_path / "quiet")]
    quiet = _edge_fer(*args, "--json")
    assert quiet.returncode == 0, quiet.stderr
    noise = [line for line in quiet.stderr.splitlines() if LIBRARY_LINE.search(line)]
    assert noise == [], noise
    report = json.loads(quiet.stdout)  # stdout carries the results only
    converted = {row["target"] for row in report["results"] if row["status"] == "converted"}
    assert {"tflite", "onnx"} <= converted
    # the same library, asked to speak: LiteRT announces its delegate (no TensorFlow import)
    raw = tmp_path / "0.raw"
    write_raw(raw, np.zeros((48, 48, 1), np.float32))
    write_input_list(tmp_path / "list.txt", [raw])
    loud = _edge_fer("run", str(tmp_path / "quiet" / "tflite" / "model_int8_float_io.tflite"), "-i",
                     str(tmp_path / "list.txt"), "-o", str(tmp_path / "out"), "-q", "-v")
    assert loud.returncode == 0, loud.stderr
    assert "XNNPACK" in loud.stderr


def test_table_text_fits_the_width_keeps_file_names_and_stacks_items():
    from edge_fer.reporter import table_text

    rows = [[str(i), f"photos/PublicTest/happy/PublicTest_1011644{i}.jpg",
             "disgust 0.348  surprise 0.250  happy 0.120", "happy ✓"] for i in range(2)]
    headers = ["index", "source", "prediction (p)", "true"]
    wide = table_text(headers, rows, shrink=1, right=(0,), stack=2, width=120).splitlines()
    assert len(wide) == 3 and "photos/PublicTest/happy/PublicTest_10116441.jpg" in wide[2]
    for width in (80, 60):
        text = table_text(headers, rows, shrink=1, right=(0,), stack=2, width=width)
        lines = text.splitlines()
        assert max(len(line) for line in lines) <= width, text
        assert all(line == line.rstrip() for line in lines)
        assert "PublicTest_10116441.jpg" in text  # the file name stays whole
        assert "surprise 0.250" in lines[2]  # items stacked one per line, never split
    narrow = table_text(headers, rows, shrink=1, width=40)
    assert max(len(line) for line in narrow.splitlines()) <= 40 and "…" in narrow


@pytest.mark.parametrize("columns", ["0", "-5", "abc", ""])
def test_a_columns_that_is_not_a_width_is_ignored_not_obeyed(columns, tmp_path):
    """COLUMNS=0 made rich drop every row and the error line; now it is as if unset."""
    import os

    env = {**os.environ, "COLUMNS": columns}
    probe = "from edge_fer.cli import main; import sys; sys.argv = ['edge-fer', *sys.argv[1:]]; main()"
    done = subprocess.run([sys.executable, "-c", probe, "inspect", "missing.pb"], env=env,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)
    assert done.returncode == 1 and "error: missing.pb: no such model file" in done.stderr
    done = subprocess.run([sys.executable, "-c", probe, "models"], env=env, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path, check=False)
    assert done.returncode == 0 and "best" in done.stdout and "71.36" in done.stdout
