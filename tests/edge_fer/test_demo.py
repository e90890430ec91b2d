"""edge-fer demo: the whole pipeline on the built-in data ends in one summary table."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from edge_fer.cli import app


def test_demo_runs_every_available_runtime_and_agrees_with_tf(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--epochs", "1",
                                      "--faces-per-class", "2", "--quiet"],
                                env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    rows = {(row["model"], row["runtime"]): row for row in summary["rows"] if not row["problem"]}
    for key in (("model.pb", "tf"), ("model.tflite", "tflite"), ("model.onnx", "onnx"),
                ("model_int8.tflite", "tflite")):
        assert key in rows, sorted(rows)
    for key in (("model.tflite", "tflite"), ("model.onnx", "onnx")):
        assert rows[key]["agreement"] == 1.0 and rows[key]["max_abs_dp"] < 1e-4
    assert summary["faces"]["written"] == 14
    dlc = [c for c in summary["conversions"] if c["target"] == "dlc"]
    assert dlc and all(c["status"] == "skipped" and "SNPE_ROOT" in c["reason"] for c in dlc)
    for line in ("model.pb", "model_int8.tflite", "accuracy", "agree", " MiB"):
        assert line in result.output
    # the table and its notes fit 80 columns; no Python repr, one size unit
    assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    assert "{'" not in result.stdout and "['" not in result.stdout
    table = result.stdout.splitlines()[:1 + len(summary["rows"])]
    assert all(len(line.split()) == 8 for line in table), result.stdout  # one line per row
    assert "kB" not in result.stdout and "KiB" not in result.stdout
