"""scripts/build_pretrained.py end to end on a tiny FER2013-style CSV with a small recipe: trains in
stages (a warm restart), recomputes batch-norm statistics, freezes with mirror averaging, converts
to int8, scores both on PublicTest and records the commands that reproduce it."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_pretrained.py"


@pytest.fixture
def build_pretrained(monkeypatch):
    spec = importlib.util.spec_from_file_location("build_pretrained", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "RECIPE", module.RECIPE | {"arch": "resxs", "batch_size": 32, "precision": "fp32"})
    monkeypatch.setattr(module, "STAGES", (1, 2))
    return module


def _tiny_csv(path: Path) -> None:
    """Faces whose brightness encodes the label, so a tiny run learns something."""
    rng = np.random.default_rng(0)
    rows = ["emotion,pixels,Usage"]
    for i in range(140):
        label = i % 7
        pixels = np.clip(rng.normal(30 + 30 * label, 10, 2304), 0, 255).astype(int)
        rows.append(f"{label},{' '.join(map(str, pixels))},{'Training' if i < 112 else 'PublicTest'}")
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(rows) + "\n")


def test_one_command_trains_in_stages_and_ships_scored_float_and_int8(build_pretrained, tmp_path):
    data = tmp_path / "fer2013.csv.gz"
    _tiny_csv(data)
    runs, out = tmp_path / "runs", tmp_path / "shipped"
    assert build_pretrained.main(["--data", str(data), "--run", str(runs), "--out", str(out), "--tta-flip"]) == 0

    assert {p.name for p in out.iterdir()} == {"model.pb", "labels.txt", "metrics.json"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["arch"] == "resxs" and metrics["members"] == 1 and metrics["tta_flip_in_graph"]
    assert metrics["command"] == "python scripts/build_pretrained.py --data fer2013.csv.gz --tta-flip"
    for precision in ("float", "int8"):
        assert metrics["public_test"][precision]["count"] == 28
    member = metrics["training"]["members"][0]
    assert member["epochs_run"] == 2 and len(member["images_per_second"]) == 2
    assert member["selection"]["bn_statistics"] in ("precise", "moving-average")
    first, second = member["train_commands"]
    assert "--epochs 1" in first and "--resume" not in first
    assert "--epochs 2" in second and second.endswith("--resume") and "runs/pretrained/seed0" in second
    # a second call resumes: nothing left to train, the same model is shipped again
    shipped = (out / "model.pb").read_bytes()
    assert build_pretrained.main(["--data", str(data), "--run", str(runs), "--out", str(out), "--tta-flip"]) == 0
    assert (out / "model.pb").read_bytes() == shipped
