"""scripts/build_pretrained.py end to end on a tiny FER2013-style CSV with a small recipe: trains in
stages (a warm restart), recomputes batch-norm statistics, freezes with mirror averaging, converts
to int8, scores both on PublicTest and records the commands that reproduce it."""

from __future__ import annotations

import gzip
import hashlib
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
    monkeypatch.setattr(module, "LATENCY_SETTINGS", {"iterations": 5, "warmup": 1, "max_seconds": 1.0})
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
    assert metrics["name"] == "best"
    assert metrics["sha256"] == hashlib.sha256((out / "model.pb").read_bytes()).hexdigest()
    assert metrics["int8_tflite_latency"]["p50_ms"] > 0 and metrics["int8_tflite_latency"]["threads"] == 1
    assert metrics["arch"] == "resxs" and metrics["members"] == 1 and metrics["tta_flip_in_graph"]
    assert metrics["command"] == "python scripts/build_pretrained.py --data fer2013.csv.gz --tta-flip"
    for precision in ("float", "int8"):
        assert metrics["public_test"][precision]["count"] == 28
    assert 0 <= metrics["int8_agreement"] <= 1
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


def test_an_edge_model_is_distilled_from_the_shipped_best_and_ships_under_its_name(build_pretrained, tmp_path,
                                                                                    monkeypatch):
    data = tmp_path / "fer2013.csv.gz"
    _tiny_csv(data)
    tiny = build_pretrained.MODELS["tiny"]
    monkeypatch.setitem(build_pretrained.MODELS, "tiny", build_pretrained.Recipe(
        tiny.train | {"batch_size": 32, "precision": "fp32"}, (1,),
        int8_tune=tiny.int8_tune | {"epochs": 1, "batch_size": 32}))
    runs, out = tmp_path / "runs", tmp_path / "shipped"
    assert build_pretrained.main(["--model", "tiny", "--data", str(data), "--run", str(runs), "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["name"] == "tiny" and metrics["arch"] == "tiny4"
    assert metrics["command"] == "python scripts/build_pretrained.py --model tiny --data fer2013.csv.gz"
    assert metrics["flops_per_image"] <= 15e6
    (command,) = metrics["training"]["members"][0]["train_commands"]
    assert "--teacher best" in command and "--distill-alpha 0.7" in command and "runs/tiny/seed0" in command
    assert (runs / "seed0" / "teacher_logits.npz").is_file()
    # fine-tuned for int8 first: the shipped graph is the chosen epoch's, scored as metrics.json says
    tuning = metrics["int8_tuning"]
    assert [row["epoch"] for row in tuning["history"]] == [0, 1]
    chosen = next(row for row in tuning["history"] if row["epoch"] == tuning["chosen_epoch"])
    assert chosen["agreement"] == metrics["int8_agreement"]
    assert (out / "model.pb").read_bytes() == (runs / "int8" / "model.pb").read_bytes()


def test_a_model_with_a_target_ships_only_when_it_meets_it_and_int8_keeps_up(build_pretrained):
    tiny = build_pretrained.MODELS["tiny"]
    assert tiny.target == 0.66 and build_pretrained.MODELS["fast"].target == 0.69
    assert build_pretrained.missed_targets(tiny, 0.665, 0.661) == ""
    assert "below its target 66%" in build_pretrained.missed_targets(tiny, 0.6599, 0.6599)
    assert "loses more than 0.5 point" in build_pretrained.missed_targets(tiny, 0.67, 0.6649)
    assert "on 97.90% of PublicTest, below 98%" in build_pretrained.missed_targets(tiny, 0.67, 0.67, 0.979)
    assert build_pretrained.missed_targets(tiny, 0.67, 0.67, 0.98) == ""
    assert build_pretrained.missed_targets(build_pretrained.recipe("best"), 0.5, 0.4, 0.5) == ""
    rows = [{"label": "happy"}, {"label": "sad"}, {"label": "fear"}, {"label": "sad"}]
    assert build_pretrained.top1_agreement(rows, rows[:2] + [{"label": "sad"}] * 2) == 0.75


def test_a_latency_that_was_not_measured_is_an_error_not_a_null_figure(build_pretrained, monkeypatch,
                                                                      tmp_path):
    import dataclasses

    from edge_fer.benchmarks import bench
    from edge_fer.errors import EdgeFerError

    real = bench.run_bench

    def failing(*args, **kwargs):
        report = real(*args, **kwargs)
        report.rows[0] = dataclasses.replace(report.rows[0], status="failed", reason="it crashed",
                                             p50_ms=None)
        return report

    monkeypatch.setattr(bench, "run_bench", failing)
    (tmp_path / "m.tflite").write_bytes(b"not a model")
    with pytest.raises(EdgeFerError, match="latency not measured"):
        build_pretrained.int8_latency(tmp_path / "m.tflite")
