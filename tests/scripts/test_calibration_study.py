"""scripts/calibration_study.py on a tiny untrained graph and a few synthetic FER2013 rows: every
chosen variant is built, run on the PublicTest faces and scored against the float graph."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "calibration_study.py"


@pytest.fixture
def study(monkeypatch):
    spec = importlib.util.spec_from_file_location("calibration_study", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "calibration_study", module)  # dataclasses look it up
    spec.loader.exec_module(module)
    return module


def _fer_csv(path: Path, train: int = 12, test: int = 6) -> Path:
    rng = np.random.default_rng(0)
    rows = ["emotion,pixels,Usage"]
    for i in range(train + test):
        pixels = " ".join(str(v) for v in rng.integers(0, 256, 48 * 48))
        rows.append(f"{i % 7},{pixels},{'Training' if i < train else 'PublicTest'}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_variants_are_scored_against_the_float_graph(study, tiny_frozen_model, tmp_path, capsys):
    data = _fer_csv(tmp_path / "fer.csv")
    names = ["tflite per-channel (default)", "tflite per-tensor", "onnx symmetric activations",
             "onnx MinMax 200+mirror"]
    out_json, out_md = tmp_path / "study.json", tmp_path / "study.md"
    assert study.main(["--model", str(tiny_frozen_model), "--data", str(data), "--variants",
                       ",".join(names), "--count-scale", "0.02", "--layers", "2",
                       "--layer-faces", "3", "--json", str(out_json), "--markdown",
                       str(out_md)]) == 0
    summary = json.loads(out_json.read_text())
    assert summary["faces"] == 6 and summary["test_split"] == "PublicTest"
    assert [r["variant"] for r in summary["results"]] == names
    for row in summary["results"]:
        assert 0.0 <= row["agreement"] <= 1.0 and 0.0 <= row["accuracy"] <= 1.0
        assert 0.0 <= row["max_abs_dp"] <= 1.0
        assert row["calibration_samples"] == (8 if row["mirror"] else 4)
    assert len(summary["layers"]) == 2 and all(r["rmse_over_scale"] >= 0 for r in summary["layers"])
    table = out_md.read_text()
    assert capsys.readouterr().out == table and all(name in table for name in names)


def test_mirrored_calibration_adds_the_mirror_images(study, tmp_path):
    data = str(_fer_csv(tmp_path / "fer.csv"))
    plain, mirrored = study.calibration_images(data, 3, False), study.calibration_images(data, 3, True)
    np.testing.assert_array_equal(mirrored[:3], plain)
    np.testing.assert_array_equal(mirrored[3:], plain[:, :, ::-1])
