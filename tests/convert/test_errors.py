"""Bad input is one line and exit 1 with nothing written; usage errors exit 2; --dry-run writes
nothing. These fail before any conversion runs, so they are quick."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edge_fer.tensors.rawio import write_input_list, write_raw


def _only_line(done) -> str:
    lines = [line for line in done.output.splitlines() if line.strip()]
    assert len(lines) == 1, done.output
    return lines[0]


@pytest.mark.parametrize("kind", ["missing", "empty", "truncated", "not-a-graph"])
def test_a_bad_pb_is_one_line_exit_1_and_leaves_nothing(frozen_model, tmp_path, convert_cli, kind):
    model = tmp_path / "bad.pb"
    if kind == "empty":
        model.write_bytes(b"")
    elif kind == "truncated":
        model.write_bytes(frozen_model.read_bytes()[:5000])
    elif kind == "not-a-graph":
        model.write_text("this is a text file, not a GraphDef\n" * 10)
    out = tmp_path / "out"
    done = convert_cli(model, "--target", "all", "--out", out)
    assert done.exit_code == 1
    line = _only_line(done)
    assert line.startswith("error:") and str(model) in line
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if kind == "missing" else ["bad.pb"])


@pytest.fixture
def raws(tmp_path, synthetic_inputs):
    folder = tmp_path / "raws"
    return [write_raw(folder / f"face_{i}.raw", image) for i, image in enumerate(synthetic_inputs[:5])]


def test_a_calibration_list_naming_a_missing_raw_is_exit_1_naming_it(frozen_model, tmp_path,
                                                                    convert_cli, raws):
    listing = write_input_list(tmp_path / "raws" / "input_list.txt", raws)
    raws[3].unlink()
    out = tmp_path / "out"
    done = convert_cli(frozen_model, "--target", "tflite", "--precision", "int8", "--calib", listing,
                       "--out", out)
    assert done.exit_code == 1
    line = _only_line(done)
    assert "face_3.raw" in line and "missing" in line
    assert not out.exists()


def test_a_calibration_raw_of_the_wrong_size_is_exit_1_naming_it(frozen_model, tmp_path,
                                                                convert_cli, raws):
    raws[2].write_bytes(np.zeros(48 * 48, np.uint8).tobytes())  # a uint8 raw: 2,304 bytes
    listing = write_input_list(tmp_path / "raws" / "input_list.txt", raws)
    out = tmp_path / "out"
    done = convert_cli(frozen_model, "--target", "all", "--precision", "int8", "--calib", listing,
                       "--out", out)
    assert done.exit_code == 1
    line = _only_line(done)
    assert "face_2.raw" in line and "2,304 bytes, expected 9,216" in line
    assert not out.exists()


@pytest.mark.parametrize("args", [
    ["--target", "coreml"],
    ["--target", "tflite", "--precision", "int4"],
    ["--target", "onnx", "--precision", "fp16"],
    ["--target", "onnx", "--htp-socs", "sm8650", "--precision", "int8"],
    ["--target", "dlc", "--htp-socs", "sm8650"],
    ["--target", "dlc", "--soc", "sm8650"],  # dlc's default precision is fp32
    ["--target", "qnn", "--precision", "fp32"],
    ["--target", "all", "--soc", "sm8650"],  # all: fp32 unless --precision int8
    ["--target", "dlc", "--dynamic-batch"],
])
def test_usage_errors_are_exit_2(frozen_model, tmp_path, convert_cli, args):
    done = convert_cli(frozen_model, *args, "--out", tmp_path / "out")
    assert done.exit_code == 2
    assert _only_line(done).startswith("error:")
    assert not (tmp_path / "out").exists()


def test_dry_run_all_lists_every_file_and_command_and_writes_nothing(frozen_model, tmp_path,
                                                                     convert_cli, no_sdk):
    from edge_fer.converters import REGISTRY

    out = tmp_path / "out"
    done = convert_cli(frozen_model, "--target", "all", "--precision", "int8", "--dry-run",
                       "--out", out, "--json")
    assert done.exit_code == 0, done.output
    rows = json.loads(done.stdout)["results"]
    assert {r["target"] for r in rows} == set(REGISTRY)
    planned = [(r["target"], r["path"]) for r in rows
               if r["target"] in ("dlc", "tflite", "onnx") and r["status"] == "planned"]
    assert planned == [(target, str(out / target / name)) for target, name in (
        ("dlc", "model.dlc"), ("dlc", "model_int8.dlc"), ("tflite", "model_int8.tflite"),
        ("tflite", "model_int8_float_io.tflite"), ("onnx", "model.onnx"), ("onnx", "model_int8.onnx"))]
    assert "SNPE_ROOT" in rows[0]["reason"]
    assert all(r["commands"] for r in rows if r["status"] == "planned")
    assert not out.exists()


@pytest.mark.parametrize("target, expected", [("tflite", {("tflite", "fp32")}),
                                              ("qnn", {("qnn", "int8")}),
                                              ("all", {("dlc", "fp32"), ("tflite", "fp32"),
                                                       ("onnx", "fp32"), ("qnn", "fp32")})])
def test_without_precision_each_target_takes_its_default(frozen_model, tmp_path, convert_cli,
                                                         no_sdk, target, expected):
    done = convert_cli(frozen_model, "--target", target, "--dry-run", "--json", "--out", tmp_path)
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert {(r["target"], r["precision"]) for r in report["results"]} == expected
    assert report["precision"] == ("int8" if target == "qnn" else "fp32")
    if target == "all":  # one precision for the run; qnn says what it offers
        (qnn,) = [r for r in report["results"] if r["target"] == "qnn"]
        assert qnn["status"] == "skipped" and qnn["reason"] == "qnn offers int8, w8a16, fp16, not fp32"
