"""The Python API: `import edge_fer` is cheap (no TensorFlow) and exposes convert, raw_inputs,
run, classify, load_runner and predict, documented; they chain like the commands, and report
through the caller's callback, not the terminal."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

import edge_fer


def test_import_is_cheap_and_exposes_the_documented_api():
    probe = ("import sys, edge_fer; names = [n for n in edge_fer.API if callable(getattr(edge_fer, n))]; "
             "print(len(names), 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    assert done.stdout.split() == [str(len(edge_fer.API)), "False"]
    for name in ("convert", "raw_inputs", "run", "classify", "load_runner", "predict"):
        assert name in dir(edge_fer) and len(getattr(edge_fer, name).__doc__) > 80
    assert "edge_fer.convert(" in edge_fer.__doc__


def test_api_chains_like_the_commands_and_reports_through_the_callback(frozen_model, tmp_path,
                                                                       capfd):
    from edge_fer.data.synthetic import render_png_folder

    render_png_folder(tmp_path / "faces", 1, seed=77)
    lines: list[str] = []
    made = edge_fer.raw_inputs(tmp_path / "faces", tmp_path / "raws", progress=lines.append)
    assert made.written == 7
    timings = edge_fer.run(frozen_model, made.input_list, tmp_path / "out", progress=lines.append)
    assert timings.summary()["images"] == 7
    report = edge_fer.classify(tmp_path / "out", progress=lines.append)
    assert len(report.predictions) == 7 and report.metrics is not None and not report.problems
    runner = edge_fer.load_runner(frozen_model, threads=1)
    try:
        probs = runner.infer(np.zeros((2, 48, 48, 1), np.float32))
    finally:
        runner.close()
    assert probs.shape == (2, 7) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert capfd.readouterr().err == ""  # nothing straight to the terminal
