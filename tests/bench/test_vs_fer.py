"""bench/vs_fer.py: both pipelines on the same FER2013-CSV faces, in one run. The `fer` package
here is a stand-in with its FER class's interface (always "happy"), so the harness is checked
without the registry: faces written, the fer process given only its own path, both accuracies."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[2] / "bench"

FAKE_FER = '''
import cv2


class FER:
    def __init__(self, use_tflite=True):
        self.use_tflite = use_tflite

    def detect_emotions(self, img, face_rectangles=None):
        image = cv2.imread(img)
        assert image is not None and image.shape[:2] == (48, 48), img
        return [{"box": face_rectangles[0], "emotions": {"angry": 0.1, "happy": 0.8, "sad": 0.1}}]
'''


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_vs_fer", BENCH / "vs_fer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_csv(path: Path, labels_by_usage: dict[str, list[int]]) -> Path:
    rng = np.random.default_rng(3)
    rows = ["emotion,pixels,Usage"]
    for usage, labels in labels_by_usage.items():
        for label in labels:
            rows.append(f"{label},{' '.join(map(str, rng.integers(0, 256, 48 * 48)))},{usage}")
    path.write_text("\n".join(rows) + "\n")
    return path


def fake_fer_site(root: Path) -> Path:
    (root / "fer").mkdir(parents=True)
    (root / "fer" / "__init__.py").write_text("")
    (root / "fer" / "fer.py").write_text(FAKE_FER)
    return root


def test_both_pipelines_label_the_same_faces(tiny_frozen_model, tmp_path, capsys):
    public = [3, 3, 3, 0, 4, 5, 6, 3, 2, 1, 3, 6]  # 5 of 12 happy
    csv = write_csv(tmp_path / "fer.csv", {"Training": list(range(7)) * 3, "PublicTest": public})
    code = load_bench().main(["--model", str(tiny_frozen_model), "--data", str(csv), "--batch", "4",
                              "--fer-site", str(fake_fer_site(tmp_path / "site")),
                              "--work", str(tmp_path / "work"), "--json", str(tmp_path / "vs.json"),
                              "--target-rate", "1", "--target-ratio", "0", "--target-cli-rate", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    figures = json.loads((tmp_path / "vs.json").read_text())
    assert figures["faces"] == figures["edge_fer"]["images"] == figures["fer"]["images"] == 12
    assert figures["cli"]["images"] == 12 and f"{figures['cli']['images_per_s']:,.0f} images/s" in out
    assert f"{figures['floor_files_per_s']['decode_write_raws']:9,.0f}" in out
    assert figures["fer"]["accuracy"] == 5 / 12  # the stand-in says happy for every face
    assert 0 <= figures["edge_fer"]["accuracy"] <= 1
    assert figures["model"].endswith("_int8.tflite")  # a .pb is converted to int8 TFLite first
    assert f"{figures['edge_fer']['images_per_s']:,.0f} images/s" in out
    assert "accuracy 41.67%" in out and "MET" in out
    assert importlib.util.find_spec("fer") is None  # never in edge-fer's own environment


def test_without_the_fer_package_it_says_how_to_get_it(tmp_path, capsys):
    csv = write_csv(tmp_path / "fer.csv", {"PublicTest": [0, 1]})
    code = load_bench().main(["--data", str(csv), "--fer-site", str(tmp_path / "none")])
    assert code == 3
    assert "make bench-fer-env" in capsys.readouterr().err


def test_a_missing_model_is_one_error_line(tmp_path, capsys):
    csv = write_csv(tmp_path / "fer.csv", {"PublicTest": [0, 1]})
    code = load_bench().main(["--model", str(tmp_path / "nothing.tflite"), "--data", str(csv),
                              "--fer-site", str(fake_fer_site(tmp_path / "site"))])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err == [f"error: {tmp_path / 'nothing.tflite'}: no such model file"]
