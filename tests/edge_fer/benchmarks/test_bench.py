"""edge-fer bench on the session model converted to TFLite and ONNX: the table, valid JSON, a
readable PNG, figures that hang together; runtimes chosen per file; skipped and failed cases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge_fer.benchmarks.bench import run_bench
from edge_fer.benchmarks.cases import default_runtimes, parse_int_list, plan_cases
from edge_fer.benchmarks.report import FAILED, MEASURED, SKIPPED, BenchSettings
from edge_fer.benchmarks.table import table_notes
from edge_fer.errors import UsageError
from edge_fer.runners.base import available_cores

EDGE_FER = Path(sys.executable).with_name("edge-fer")


@pytest.fixture(scope="module")
def converted(frozen_model, tmp_path_factory) -> dict[str, Path]:
    """model.tflite and model.onnx (fp32) written by the converters, manifests beside them."""
    from edge_fer.converters import ConvertRequest, convert_model

    out = tmp_path_factory.mktemp("bench_models")
    files = {}
    for target in ("tflite", "onnx"):
        report = convert_model(ConvertRequest(model=frozen_model, target=target,
                                              precision="fp32", out_dir=out, verify_count=0))
        files[target] = next(r.path for r in report.results if r.status == "converted")
    return files


def _flops(frozen_model: Path) -> int:
    from edge_fer.artifacts.pbfile import graph_flops
    from edge_fer.tensors.graphio import import_graph, load_graph_def

    return graph_flops(import_graph(load_graph_def(frozen_model)))


def test_bench_command_writes_table_json_and_png(converted, frozen_model, tmp_path):
    json_path, png_path = tmp_path / "bench.json", tmp_path / "bench.png"
    done = subprocess.run(
        [str(EDGE_FER), "bench", str(converted["tflite"]), str(converted["onnx"]),
         "--iterations", "12", "--warmup", "2", "--batch", "1,4", "--threads", "1",
         "--out", str(json_path), "--plot", str(png_path)],
        check=False, capture_output=True, text=True, timeout=300,
        env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, done.stdout  # fits the terminal
    head = " ".join(lines[:3])
    for label in ("model", "runtime", "p50", "std", "1st", "ms/img", "(p50)", "img/s", "(mean)"):
        assert label in head, head  # each figure says which statistic it is
    assert sum(line.startswith("model.") for line in lines) == 4
    assert "MFLOP" in done.stdout and "load average" in done.stdout
    assert "img/s = batch / mean latency" in done.stdout.replace("\n", " ")

    report = json.loads(json_path.read_text())
    assert report["host"]["cpu_count"] >= 1
    flops = _flops(frozen_model)
    assert flops > 0
    for row in report["rows"]:
        model = Path(row["model"])
        assert row["status"] == MEASURED
        assert row["precision"] == "fp32" and row["threads"] == 1
        assert row["bytes"] == model.stat().st_size
        assert row["flops_per_image"] == flops  # from the manifest's source .pb
        assert row["calls"] == 12
        assert 0 < row["min_ms"] <= row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"] <= row["max_ms"]
        assert row["images_per_s"] == pytest.approx(
            row["batch"] * 1000.0 / row["mean_ms"], rel=1e-6)
        assert row["std_ms"] >= 0 and row["first_call_ms"] > 0
        assert row["per_image_p50_ms"] == pytest.approx(row["p50_ms"] / row["batch"], rel=1e-3)
        assert row["peak_rss_mib"] > row["rss_growth_mib"] > 0
        if row["batch"] > 1:  # the converted files keep the graph's batch 1: one image per invoke
            assert row["model_batch"] == 1

    import cv2

    picture = cv2.imread(str(png_path))
    assert picture is not None and picture.shape[0] > 100 and picture.shape[1] > 100


def test_json_to_stdout_is_only_json(converted):
    done = subprocess.run([str(EDGE_FER), "bench", str(converted["tflite"]), "--iterations", "3",
                           "--warmup", "0", "--json"],
                          check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [row["runtime"] for row in report["rows"]] == ["tflite"]
    assert report["rows"][0]["threads"] == available_cores()  # default: every core


def test_qnn_native_line_stays_out_of_json(frozen_model, tmp_path):
    """onnxruntime-qnn prints '# LIBNATIVE: ...' on fd 1 once per process (CONVENTIONS)."""
    from edge_fer.converters import ConvertRequest, convert_model
    from edge_fer.platform.qnn import unavailable_reason

    if unavailable_reason():
        pytest.skip(unavailable_reason())
    report = convert_model(ConvertRequest(model=frozen_model, target="onnx", precision="int8",
                                          out_dir=tmp_path, verify_count=0, calib_count=20))
    qdq = next(r.path for r in report.results if r.status == "converted" and r.precision == "int8")
    assert default_runtimes(qdq) == ["onnx", "qnn"]
    done = subprocess.run([str(EDGE_FER), "bench", str(qdq), "--runtime", "qnn",
                           "--iterations", "2", "--warmup", "1", "--json"],
                          check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "LIBNATIVE" not in done.stdout
    (row,) = json.loads(done.stdout)["rows"]
    assert (row["runtime"], row["precision"], row["status"]) == ("qnn", "int8", MEASURED)


def test_missing_runtime_is_skipped_and_exit_3(tmp_path, monkeypatch):
    for var in ("SNPE_ROOT", "QAIRT_SDK_ROOT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no snpe-net-run anywhere
    dlc = tmp_path / "model.dlc"
    dlc.write_bytes(b"not really a dlc")
    report = run_bench([dlc], settings=BenchSettings(iterations=1, warmup=0), isolate=False)
    (row,) = report.rows
    assert row.status == SKIPPED and "SNPE_ROOT" in row.reason
    assert report.exit_code == 3
    assert "skipped: snpe runner unavailable" in "\n".join(table_notes(report))


def test_broken_model_is_a_failed_row_and_exit_1(converted, tmp_path):
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"\0" * 64)
    report = run_bench([converted["tflite"], broken],
                       settings=BenchSettings(iterations=2, warmup=0), isolate=False)
    assert [row.status for row in report.rows] == [MEASURED, FAILED]
    assert "broken.tflite" in report.rows[1].reason
    assert report.exit_code == 1


def test_plan_cases_follows_runtimes_option(converted):
    tflite, onnx = converted["tflite"], converted["onnx"]
    cases = plan_cases([tflite, onnx], None, [1, 8], [None])
    assert [(c.model.name, c.runtime, c.batch) for c in cases] == [
        ("model.tflite", "tflite", 1), ("model.tflite", "tflite", 8),
        ("model.onnx", "onnx", 1), ("model.onnx", "onnx", 8)]
    only_onnx = plan_cases([tflite, onnx], ["onnx"], [1], [1, 2])
    assert [(c.model.name, c.threads) for c in only_onnx] == [("model.onnx", 1), ("model.onnx", 2)]
    assert default_runtimes(onnx) == ["onnx"]  # a float model: no qnn
    with pytest.raises(UsageError, match="unknown runtime"):
        plan_cases([tflite], ["tensorrt"], [1], [None])
    with pytest.raises(UsageError, match="nothing to benchmark"):
        plan_cases([tflite], ["onnx"], [1], [None])


def test_parse_int_list():
    assert parse_int_list("1, 32,1", "--batch") == [1, 32]
    assert parse_int_list("auto,2", "--threads", allow_auto=True) == [None, 2]
    for bad in ("0", "x", ""):
        with pytest.raises(UsageError):
            parse_int_list(bad, "--batch")


@pytest.mark.parametrize("batch, expected", [(1, ["onnx", "qnn"]), ("N", ["onnx"])])
def test_qdq_onnx_runs_on_qnn_only_with_a_fixed_batch(tmp_path, batch, expected):
    """HTP takes static shapes: a dynamic-batch QDQ file is benchmarked on the CPU EP only."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["q"]),
         helper.make_node("DequantizeLinear", ["q", "scale", "zero"], ["output"])],
        "qdq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 48, 48, 1])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, 48, 48, 1])],
        [numpy_helper.from_array(np.array(0.01, np.float32), "scale"),
         numpy_helper.from_array(np.array(0, np.uint8), "zero")])
    path = tmp_path / "qdq.onnx"
    onnx.save(helper.make_model(graph), str(path))
    assert default_runtimes(path) == expected


def test_table_names_files_by_the_shortest_unique_path():
    from edge_fer.benchmarks.table import display_names

    names = display_names(["m/onnx/model_int8.onnx", "dyn/onnx/model_int8.onnx",
                           "m/tflite/model.tflite", "m/onnx/model_int8.onnx"])
    assert names == {"m/onnx/model_int8.onnx": "m/onnx/model_int8.onnx",
                     "dyn/onnx/model_int8.onnx": "dyn/onnx/model_int8.onnx",
                     "m/tflite/model.tflite": "model.tflite"}


def test_a_model_of_another_input_size_and_colour_is_timed_on_its_own_input(tmp_path):
    """A 64×64 RGB model from elsewhere: each case feeds the model its own input shape (the
    synthetic faces made as its spec says), not edge-fer's 48×48 gray."""
    import tensorflow as tf

    function = tf.function(lambda x: tf.nn.softmax(tf.reduce_mean(x, axis=[1, 2]) @ tf.ones([3, 7])),
                           input_signature=[tf.TensorSpec([1, 64, 64, 3], tf.float32, name="x")])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()],
                                                                function)
    model = tmp_path / "rgb64.tflite"
    model.write_bytes(converter.convert())
    report = run_bench([model], ["tflite"], [1, 2], settings=BenchSettings(iterations=2, warmup=1),
                       isolate=False)
    assert [row.status for row in report.rows] == [MEASURED, MEASURED], [r.reason for r in report.rows]


def test_a_file_without_a_manifest_is_labelled_by_what_its_tensors_hold(frozen_model, tmp_path):
    """A model from elsewhere (no manifest, any name): int8, int8 weights only, fp16 or fp32 is
    read from the file, not guessed from its name."""
    import shutil

    import tensorflow as tf

    from edge_fer.benchmarks.facts import precision_of
    from edge_fer.converters import ConvertRequest, convert_model
    from edge_fer.tensors.graphio import load_graph_def

    report = convert_model(ConvertRequest(model=frozen_model, target="onnx", precision="int8",
                                          out_dir=tmp_path / "made", verify_count=0, calib_count=8))
    qdq = next(r.path for r in report.results if r.path and r.path.name == "model_int8.onnx")
    graph_def = load_graph_def(frozen_model)
    for name, optimise in (("weights.tflite", "dynamic"), ("half.tflite", "fp16")):
        converter = tf.compat.v1.lite.TFLiteConverter(graph_def, None, None,
                                                      input_arrays_with_shape=[("x", [1, 48, 48, 1])],
                                                      output_arrays=["output"])
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if optimise == "fp16":
            converter.target_spec.supported_types = [tf.float16]
        (tmp_path / name).write_bytes(converter.convert())
    shutil.copy(qdq, tmp_path / "plain_name.onnx")
    assert precision_of(tmp_path / "weights.tflite", "tflite") == "int8w"
    assert precision_of(tmp_path / "half.tflite", "tflite") == "fp16"
    assert precision_of(tmp_path / "plain_name.onnx", "onnx") == "int8"
