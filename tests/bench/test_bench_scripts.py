"""bench/e2e.py and bench/train_throughput.py, small: each prints both figures and their ratio
from one run, and what they print agrees with what they write."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tflite_model(frozen_model, tmp_path_factory) -> Path:
    from edge_fer.converters import ConvertRequest, convert_model

    report = convert_model(ConvertRequest(model=frozen_model, target="tflite", precision="fp32",
                                          out_dir=tmp_path_factory.mktemp("e2e_model"),
                                          verify_count=0))
    return next(r.path for r in report.results if r.status == "converted")


def test_e2e_prints_both_rates_and_ratio(tflite_model, tmp_path, capsys):
    e2e = load("e2e")
    code = e2e.main(["--model", str(tflite_model), "--images", "70", "--batch", "16",
                     "--work", str(tmp_path / "work"), "--json", str(tmp_path / "e2e.json"),
                     "--target-rate", "1", "--target-ratio", "0.01", "--target-cli-rate", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    figures = json.loads((tmp_path / "e2e.json").read_text())
    assert figures["product"]["images"] == figures["naive"]["images"] == figures["cli"]["images"] \
        == 70
    stages, floors = figures["stage_files_per_s"], figures["floor_files_per_s"]
    assert f"{'classify (read Result folders)':40} {stages['classify']:9,.0f} " \
        f"{floors['read_results']:9,.0f}" in out
    assert f"= {figures['cli']['images_per_s']:,.0f} images/s" in out
    assert figures["labels_identical"] == 70  # both paths give the same labels
    assert f"ratio: {figures['ratio']:.2f}x" in out
    assert f"{figures['product']['images_per_s']:,.0f} images/s" in out
    assert f"{figures['naive']['images_per_s']:,.0f} images/s" in out
    assert "FLOP floor" in out and figures["flops_per_image"] > 0
    assert "MET" in out


def test_e2e_misses_are_exit_1(tflite_model, tmp_path, capsys):
    e2e = load("e2e")
    code = e2e.main(["--model", str(tflite_model), "--images", "14", "--target-ratio", "1000",
                     "--target-cli-rate", "2000", "--no-cli"])
    out = capsys.readouterr().out
    assert code == 1 and "MISSED" in out and "commands ≥ 2,000 images/s not run" in out


def test_train_throughput_prints_both_and_ratio(tmp_path, capsys):
    train = load("train_throughput")
    code = train.main(["--images", "128", "--epochs", "1", "--repeats", "1", "--batch", "32",
                       "--json", str(tmp_path / "train.json")])
    out = capsys.readouterr().out
    assert code == 0
    figures = json.loads((tmp_path / "train.json").read_text())
    assert figures["params"] == figures["keras_params"] > 0  # the same network on both sides
    assert figures["edge_fer_median"] > 0 and figures["keras_median"] > 0
    assert f"ratio {figures['ratio']:.2f}x" in out


def test_train_throughput_resxs_in_bf16_is_the_same_network_on_both_sides(tmp_path, capsys):
    train = load("train_throughput")
    code = train.main(["--arch", "resxs", "--precision", "bf16", "--images", "64", "--epochs", "1",
                       "--repeats", "1", "--batch", "32", "--json", str(tmp_path / "train.json")])
    assert code == 0
    figures = json.loads((tmp_path / "train.json").read_text())
    assert figures["precision"] == "bf16"
    assert figures["params"] == figures["keras_params"] == 1_227_623
    assert "resxs (bf16)" in capsys.readouterr().out
    import keras

    # The policy is process-wide: later Keras models in the same process (own-model tests) stay float32.
    assert keras.mixed_precision.global_policy().name == "float32"


def test_train_throughput_edge_networks_have_keras_twins_and_a_step_breakdown(tmp_path, capsys):
    train = load("train_throughput")
    code = train.main(["--arch", "tiny", "--images", "64", "--epochs", "1", "--repeats", "1",
                       "--batch", "32", "--breakdown", "2", "--json", str(tmp_path / "train.json")])
    assert code == 0
    figures = json.loads((tmp_path / "train.json").read_text())
    assert figures["params"] == figures["keras_params"] == 61_223
    parts = figures["step_breakdown_ms"]
    assert set(parts) == {"augmentation", "batch assembly", "feed", "session call"}
    assert all(ms > 0 for ms in parts.values())
    assert "session call" in capsys.readouterr().out
    for arch, params in (("fast", 231_335), ("tinyx", 49_783)):  # the twins' layers match
        model = train.KERAS_ARCHS[arch](0.5)
        assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == params


def test_stages_prints_each_file_stage_in_wall_and_cpu_seconds(tflite_model, tmp_path, capsys):
    e2e, stages = load("e2e"), load("stages")
    e2e.make_jpegs(tmp_path / "jpegs", 21)
    code = stages.main(["--model", str(tflite_model), "--jpegs", str(tmp_path / "jpegs"),
                        "--work", str(tmp_path / "work"), "--repeats", "1", "--batch", "8"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and [line.split()[0] for line in lines] == ["raw-inputs", "run", "classify"]
    assert all("files/s" in line and "files per CPU-second" in line for line in lines)
    assert len(list((tmp_path / "work" / "output").glob("Result_*"))) == 21


def test_e2e_without_goals_exits_0_as_the_readme_runs_it(tflite_model, capsys):
    e2e = load("e2e")
    code = e2e.main(["--model", str(tflite_model), "--images", "14"])
    out = capsys.readouterr().out
    assert code == 0 and "images/s" in out and "MISSED" not in out and "targets" not in out
