"""convert --target qnn on the real QNN HTP backend (Qualcomm's emulator on x86_64): the QDQ model
agrees with the TF graph, the context model compiled for sm8650 says so, reloads and runs; usage
errors, a dry run, exit 3 without the package, an op QNN cannot take named as a conversion
error."""

from __future__ import annotations

import importlib.util
import json
import re

import numpy as np
import pytest

from edge_fer.files import sha256_file
from edge_fer.tensors.rawio import write_input_list, write_raw

HAVE_QNN = importlib.util.find_spec("onnxruntime_qnn") is not None
needs_qnn = pytest.mark.skipif(not HAVE_QNN, reason="onnxruntime-qnn is not installed "
                                                    "(pip install 'edge-fer[qnn]')")


def _only_line(done) -> str:
    lines = [line for line in done.output.splitlines() if line.strip() and "LIBNATIVE" not in line]
    return lines[-1]


@pytest.fixture(scope="module")
def qnn_export(frozen_model, tmp_path_factory, convert_cli) -> dict:
    """The shared model through `convert --target qnn --soc sm8650` (issue 5's command: int8 is
    qnn's default), calibrated on 50 images of the built-in synthetic data set and checked on 30
    others (~100 ms each on the emulator)."""
    out = tmp_path_factory.mktemp("qnn")
    done = convert_cli(frozen_model, "--target", "qnn", "--soc", "sm8650", "--calib-count", "50",
                       "--verify-count", "30", "--out", out, "--json")
    assert done.exit_code == 0, done.output
    return {"out": out, "report": json.loads(done.stdout)}


def _manifest(path):
    return json.loads(path.with_suffix(".json").read_text())


@needs_qnn
def test_qdq_and_context_model_are_written_checked_and_described(qnn_export):
    out = qnn_export["out"] / "qnn"
    rows = qnn_export["report"]["results"]
    assert qnn_export["report"]["precision"] == "int8"
    assert [(r["status"], r["path"]) for r in rows] == [
        ("converted", str(out / "model_qnn.onnx")),
        ("converted", str(out / "model_qnn_sm8650_ctx.onnx"))]
    qdq = _manifest(out / "model_qnn.onnx")
    assert qdq["target"] == "qnn" and qdq["quantization_config"]["activation_type"] == "QUInt8"
    assert qdq["calibration"]["count"] == 50 and qdq["checks"]["runtime"] == "qnn"
    assert qdq["checks"]["inputs"] == 30 and qdq["checks"]["top1_agreement"] >= 0.9
    assert qdq["checks"]["top1_agreement_decisive"] >= 0.98
    assert qdq["fp32_onnx"]["checks"]["max_abs_dp"] <= 1e-4
    assert qdq["ops"]["QuantizeLinear"] > 0 and qdq["ops"]["Conv"] == 3
    ctx = _manifest(out / "model_qnn_sm8650_ctx.onnx")
    assert ctx["soc"] | {"source": ""} == {"name": "sm8650", "marketing_name": "Snapdragon 8 Gen 3",
                                           "soc_model": 57, "htp_arch": "v75", "source": ""}
    binary = out / ctx["context_binary"]["file"]
    tagged = f"model_qnn_sm8650_ctx_{ctx['context_binary']['sha256'][:8]}_qnn.bin"
    assert binary.name == tagged  # a new name per binary: the pair is replaced by one rename
    assert binary.stat().st_size == ctx["context_binary"]["bytes"] > 100_000
    assert sha256_file(binary) == ctx["context_binary"]["sha256"]
    assert ":75:57:" in ctx["ep_context"]["ep_compatibility_info"]
    assert ctx["checks"]["reloaded"] and ctx["checks"]["top1_agreement"] >= 0.9
    assert (out / "labels.txt").read_text().split() == ["angry", "disgust", "fear", "happy",
                                                         "sad", "surprise", "neutral"]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert sorted(p.name for p in out.iterdir()) == [
        "labels.txt", "model_qnn.json", "model_qnn.onnx", "model_qnn_sm8650_ctx.json",
        "model_qnn_sm8650_ctx.onnx", tagged]
    assert sorted(p.name for p in qnn_export["out"].iterdir()) == ["qnn"]  # fp32 ONNX: scratch


@needs_qnn
def test_context_model_reloads_and_runs_like_the_tf_graph(qnn_export, synthetic_inputs,
                                                         reference_probs):
    from edge_fer.runners import load_runner

    runner = load_runner(qnn_export["out"] / "qnn" / "model_qnn_sm8650_ctx.onnx")  # by suffix
    assert runner.name == "qnn"
    probs = runner.infer(synthetic_inputs[:10])
    runner.close()
    assert np.mean(probs.argmax(1) == reference_probs[:10].argmax(1)) >= 0.9
    assert np.abs(probs - reference_probs[:10]).max() < 0.1


@needs_qnn
def test_edge_fer_run_takes_the_context_model_to_qnn_by_its_name(qnn_export, synthetic_inputs,
                                                                  tmp_path):
    from typer.testing import CliRunner

    from edge_fer.cli import app

    raws = [write_raw(tmp_path / "raws" / f"{i}.raw", image)
            for i, image in enumerate(synthetic_inputs[:3])]
    listing = write_input_list(tmp_path / "raws" / "input_list.txt", raws)
    model = qnn_export["out"] / "qnn" / "model_qnn_sm8650_ctx.onnx"
    done = CliRunner().invoke(app, ["run", str(model), "-i", str(listing), "-o",
                                    str(tmp_path / "out"), "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert (summary["runtime"], summary["inputs"]) == ("qnn", 3)
    assert sorted(p.name for p in (tmp_path / "out").glob("Result_*")) == [
        "Result_0", "Result_1", "Result_2"]


@pytest.fixture(scope="module")
def qnn_precisions(frozen_model, tmp_path_factory, convert_cli) -> dict:
    """The shared model at QNN's other precisions: w8a16 (QDQ only) and fp16 for sm8650 (its
    fp16 mode needs soc_model), both checked on 30 inputs on the HTP backend."""
    out = tmp_path_factory.mktemp("qnn-precisions")
    reports = {}
    for precision, socs in (("w8a16", []), ("fp16", ["--soc", "sm8650"])):
        done = convert_cli(frozen_model, "--target", "qnn", "--precision", precision, *socs,
                           "--calib-count", "50", "--verify-count", "30", "--out", out, "--json")
        assert done.exit_code == 0, done.output
        reports[precision] = json.loads(done.stdout)
    return {"out": out / "qnn", "reports": reports}


@needs_qnn
def test_w8a16_is_qdq_with_uint16_activations_and_agrees_with_the_graph(qnn_precisions):
    out = qnn_precisions["out"]
    (row,) = qnn_precisions["reports"]["w8a16"]["results"]
    assert (row["status"], row["precision"], row["path"]) == (
        "converted", "w8a16", str(out / "model_qnn_w8a16.onnx"))
    manifest = _manifest(out / "model_qnn_w8a16.onnx")
    assert manifest["quantization_config"] | {"calibrate_method": ""} == {
        "api": "get_qnn_qdq_config + quantize", "activation_type": "QUInt16",
        "weight_type": "QUInt8", "per_channel": False, "calibrate_method": "",
        "preprocessed": manifest["quantization_config"]["preprocessed"]}
    activations = manifest["quantization"]["activations"]
    assert activations and {a["dtype"] for a in activations} == {"uint16"}
    assert manifest["checks"]["runtime"] == "qnn" and manifest["checks"]["inputs"] == 30
    assert manifest["checks"]["top1_agreement"] >= 0.95 and manifest["checks"]["max_abs_dp"] < 0.05
    assert row["bytes"] == (out / "model_qnn_w8a16.onnx").stat().st_size


@needs_qnn
def test_fp16_runs_the_float_model_in_htp_fp16_mode_and_compiles_it_per_soc(qnn_precisions,
                                                                           synthetic_inputs,
                                                                           reference_probs):
    from edge_fer.runners import load_runner

    out = qnn_precisions["out"]
    rows = qnn_precisions["reports"]["fp16"]["results"]
    assert [(r["status"], r["precision"], r["path"]) for r in rows] == [
        ("converted", "fp16", str(out / "model_qnn_fp16.onnx")),
        ("converted", "fp16", str(out / "model_qnn_fp16_sm8650_ctx.onnx"))]
    manifest = _manifest(out / "model_qnn_fp16.onnx")
    assert "QuantizeLinear" not in manifest["ops"] and "quantization_config" not in manifest
    assert manifest["htp_options"] == {"soc_model": "57", "htp_arch": "75",
                                       "enable_htp_fp16_precision": "1", "checked_on": "sm8650"}
    # fp16 rounding, not fp32's: above the fp32 file's error, within verify's fp16 tolerance
    checks = manifest["checks"]
    assert checks["top1_agreement"] == 1.0 and 1e-5 < checks["max_abs_dp"] <= 1e-2
    assert manifest["fp32_onnx"]["checks"]["max_abs_dp"] <= 1e-5
    ctx = _manifest(out / "model_qnn_fp16_sm8650_ctx.onnx")
    assert ":75:57:" in ctx["ep_context"]["ep_compatibility_info"]
    assert re.fullmatch(r"model_qnn_fp16_sm8650_ctx_[0-9a-f]{8}_qnn\.bin",
                        (out / ctx["context_binary"]["file"]).name)
    runner = load_runner(out / "model_qnn_fp16_sm8650_ctx.onnx")  # plain options: fp16 is compiled in
    probs = runner.infer(synthetic_inputs[:5])
    runner.close()
    delta = np.abs(probs - reference_probs[:5]).max()
    assert 1e-5 < delta <= 1e-2 and (probs.argmax(1) == reference_probs[:5].argmax(1)).all()


def test_fp16_without_a_soc_is_a_usage_error_and_all_skips_qnn_saying_why(frozen_model, tmp_path,
                                                                          convert_cli):
    done = convert_cli(frozen_model, "--target", "qnn", "--precision", "fp16", "--out",
                       tmp_path / "out")
    assert done.exit_code == 2, done.output
    assert "qnn fp16 needs --soc" in done.output and "soc_model" in done.output
    assert not (tmp_path / "out").exists()
    done = convert_cli(frozen_model, "--target", "all", "--precision", "fp16", "--dry-run",
                       "--json", "--out", tmp_path / "out")
    assert done.exit_code == 0, done.output
    (qnn_row,) = [r for r in json.loads(done.stdout)["results"] if r["target"] == "qnn"]
    assert qnn_row["status"] == "skipped" and qnn_row["reason"].startswith("qnn fp16 needs --soc")


def test_soc_is_refused_for_a_precision_that_compiles_for_none(frozen_model, tmp_path, convert_cli):
    done = convert_cli(frozen_model, "--target", "dlc", "--precision", "fp32", "--soc", "sm8650",
                       "--out", tmp_path / "out")
    assert done.exit_code == 2
    assert "--soc applies to --precision int8, w8a16, fp16" in done.output
    assert not (tmp_path / "out").exists()


def test_an_unknown_soc_is_a_usage_error_listing_the_known_ones(frozen_model, tmp_path,
                                                                convert_cli):
    done = convert_cli(frozen_model, "--target", "qnn", "--precision", "int8", "--htp-socs",
                       "sm8650,sm9999", "--out", tmp_path / "out")
    assert done.exit_code == 2
    assert "unknown SoC 'sm9999'" in done.output and "sm8650 (Snapdragon 8 Gen 3)" in done.output
    assert not (tmp_path / "out").exists()


def test_dry_run_lists_quantize_and_compile_per_soc_and_writes_nothing(frozen_model, tmp_path,
                                                                       convert_cli):
    out = tmp_path / "out"
    done = convert_cli(frozen_model, "--target", "qnn", "--soc", "sm8650", "--htp-socs", "sm8550",
                       "--dry-run", "--out", out, "--json")  # repeated, and under either name
    assert done.exit_code == 0, done.output
    rows = json.loads(done.stdout)["results"]
    assert {r["precision"] for r in rows} == {"int8"}
    assert [(r["status"], r["path"]) for r in rows] == [
        ("planned", str(out / "qnn" / "model_qnn.onnx")),
        ("planned", str(out / "qnn" / "model_qnn_sm8650_ctx.onnx")),
        ("planned", str(out / "qnn" / "model_qnn_sm8550_ctx.onnx"))]
    assert any("get_qnn_qdq_config" in c for c in rows[0]["commands"])
    assert any("'soc_model': '57', 'htp_arch': '75'" in c for c in rows[1]["commands"])
    assert any("'soc_model': '43', 'htp_arch': '73'" in c for c in rows[2]["commands"])
    assert not out.exists()


def test_without_onnxruntime_qnn_it_is_exit_3_with_the_extra(frozen_model, tmp_path,
                                                             convert_cli, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxruntime_qnn" else real(name, *a))
    done = convert_cli(frozen_model, "--target", "qnn", "--precision", "int8",
                       "--out", tmp_path / "out")
    assert done.exit_code == 3
    assert "pip install 'edge-fer[qnn]'" in done.output
    assert not (tmp_path / "out").exists()


@pytest.fixture
def erf_model(tmp_path):
    """A frozen graph holding Erf, an op QNN's HTP backend does not take."""
    import tensorflow as tf

    from edge_fer.tensors.graphio import save_graph_def

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 48, 48, 1], name="x")
        flat = tf.math.erf(tf.reshape(x, [1, 48 * 48]))
        weights = tf.constant(np.random.default_rng(0).normal(0, 0.05, (48 * 48, 7)),
                              tf.float32)
        tf.nn.softmax(tf.matmul(flat, weights), name="output")
    return save_graph_def(graph.as_graph_def(), tmp_path / "erf.pb")


@needs_qnn
def test_an_op_qnn_cannot_take_is_a_conversion_error_naming_it(erf_model, tmp_path, convert_cli,
                                                               synthetic_inputs):
    raws = [write_raw(tmp_path / "raws" / f"{i}.raw", image)
            for i, image in enumerate(synthetic_inputs[:5])]
    listing = write_input_list(tmp_path / "raws" / "input_list.txt", raws)
    out = tmp_path / "out"
    done = convert_cli(erf_model, "--target", "qnn", "--precision", "int8", "--htp-socs",
                       "sm8650", "--calib", listing, "--verify-count", "5", "--out", out)
    assert done.exit_code == 1, done.output
    line = _only_line(done)
    assert "unsupported op Erf" in line and "CPU fallback is disabled" in line
    assert not out.exists()  # the folders made for it are removed with the failed step
