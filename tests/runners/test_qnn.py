"""qnn runner on the real QNN HTP backend of onnxruntime-qnn (Qualcomm's emulator on x86_64):
QDQ model vs the TF reference, Result layout read by classify, --profile and its CSV parser,
an unsupported op named, the runner chosen only by name, exit 3 without the package."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edge_fer.cli import app
from edge_fer.errors import EdgeFerError, ToolMissingError, UsageError
from edge_fer.runners import REGISTRY, load_runner, runner_for

HAVE_QNN = importlib.util.find_spec("onnxruntime_qnn") is not None
needs_qnn = pytest.mark.skipif(not HAVE_QNN, reason="onnxruntime-qnn is not installed "
                                                    "(pip install 'edge-fer[qnn]')")
EDGE_FER = Path(sys.executable).with_name("edge-fer")


class _Reader:
    def __init__(self, images, name):
        self._feeds = iter({name: image[None]} for image in images)

    def get_next(self):
        return next(self._feeds, None)


def quantize_for_qnn(source: Path, target: Path, images: np.ndarray) -> Path:
    """QDQ with QNN's own quantization config (what convert --target qnn uses)."""
    import onnx
    from onnxruntime.quantization import quantize
    from onnxruntime.quantization.execution_providers.qnn import get_qnn_qdq_config

    name = onnx.load(str(source)).graph.input[0].name
    quantize(str(source), str(target), get_qnn_qdq_config(str(source), _Reader(images, name)))
    return target


@pytest.fixture(scope="module")
def qdq_model(onnx_model, synthetic_inputs) -> Path:
    return quantize_for_qnn(onnx_model, onnx_model.with_name("model_qnn.onnx"),
                            synthetic_inputs[100:150])


@needs_qnn
def test_run_profile_matches_tf_and_classify_reads_it(qdq_model, input_list, tmp_path,
                                                       reference_probs):
    from edge_fer.analysis.classify import classify_output
    from edge_fer.labels import LABELS
    from edge_fer.runners.qnn import read_profile

    out = tmp_path / "out"
    done = CliRunner().invoke(app, ["run", str(qdq_model), "--runtime", "qnn", "-i",
                                    str(input_list), "-o", str(out), "--profile", "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["runtime"] == "qnn" and summary["inputs"] == 24
    assert "QNN execute time" in summary["note"]
    report = classify_output(out)
    predicted = [LABELS.index(p.top[0][0]) for p in report.predictions]
    expected = reference_probs[:24].argmax(1)
    assert np.mean(np.array(predicted) == expected) >= 0.95
    profile = read_profile(out / "qnn_profile.csv")
    assert len(profile.execute_us) == 24 and all(t > 0 for t in profile.execute_us)
    assert len(profile.accelerator_us) == 24
    saved = json.loads((out / "qnn_profile.json").read_text())
    assert saved["inferences"] == 24 and saved["execute_ms"][0] == round(
        profile.execute_us[0] / 1000, 3)
    assert (out / "qnn_profile_qnn.log").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


@needs_qnn
def test_runner_agrees_with_tf_and_is_batch_one(qdq_model, synthetic_inputs, reference_probs):
    runner = load_runner(qdq_model, "qnn")
    assert runner.max_batch == 1
    probs = runner.infer(synthetic_inputs[:10])
    runner.close()
    assert probs.shape == (10, 7) and np.abs(probs - reference_probs[:10]).max() < 0.05
    assert (probs.argmax(1) == reference_probs[:10].argmax(1)).all()


@needs_qnn
def test_detailed_profile_csv_gives_cycles_per_op(qdq_model, synthetic_inputs, tmp_path):
    from edge_fer.platform import qnn
    from edge_fer.runners.qnn import read_profile

    csv_path = tmp_path / "detailed.csv"
    session = qnn.open_session(qdq_model, {"profiling_level": "detailed",
                                           "profiling_file_path": str(csv_path)})
    for image in synthetic_inputs[:2]:
        session.run(None, {session.get_inputs()[0].name: image[None]})
    del session
    profile = read_profile(csv_path)
    assert len(profile.execute_us) == 2
    assert any(name.startswith("conv1/") for name in profile.node_cycles)
    assert sum(profile.node_cycles.values()) > 0


def test_profile_parser_rejects_other_files(tmp_path):
    from edge_fer.runners.qnn import read_profile

    other = tmp_path / "other.csv"
    other.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(EdgeFerError, match="not a QNN profiling CSV"):
        read_profile(other)


@needs_qnn
def test_an_op_htp_cannot_take_is_named_not_run_on_cpu(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"], name="relu0"),
         helper.make_node("Erf", ["r"], ["output"], name="erf_node")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 48, 48, 1])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 48, 48, 1])])
    model = tmp_path / "erf.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(model))
    qdq = quantize_for_qnn(model, tmp_path / "erf_qnn.onnx",
                           np.random.default_rng(0).random((4, 48, 48, 1), np.float32))
    with pytest.raises(EdgeFerError, match=r"unsupported op Erf \(node erf_node"):
        load_runner(qdq, "qnn")


def test_qnn_is_chosen_by_name_only_and_profile_belongs_to_it(tmp_path):
    assert runner_for("model_qnn.onnx").name == "onnx"
    assert runner_for("model_qnn_sm8650_ctx.onnx", "qnn").name == "qnn"
    model = tmp_path / "m.onnx"
    model.write_bytes(b"")
    with pytest.raises(UsageError, match="--profile does not apply to the onnx runner"):
        REGISTRY["onnx"].load(model, profile=True)


def test_without_onnxruntime_qnn_it_is_exit_3_with_the_extra(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxruntime_qnn" else real(name, *a))
    model = tmp_path / "m_qnn.onnx"
    model.write_bytes(b"onnx")
    with pytest.raises(ToolMissingError, match=r"pip install 'edge-fer\[qnn\]'") as caught:
        REGISTRY["qnn"].load(model)
    assert caught.value.exit_code == 3


@needs_qnn
def test_run_json_stdout_stays_json_with_the_native_libraries(qdq_model, input_list, tmp_path):
    """The QNN libraries print '# LIBNATIVE: ...' on stdout once per process: not into --json."""
    from edge_fer.tensors.rawio import read_input_list, write_input_list

    three = write_input_list(tmp_path / "three.txt", read_input_list(input_list).raw_paths()[:3])
    done = subprocess.run([str(EDGE_FER), "run", str(qdq_model), "--runtime", "qnn", "-i",
                           str(three), "-o", str(tmp_path / "o"), "--json"],
                          check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "LIBNATIVE" not in done.stdout
    assert json.loads(done.stdout)["inputs"] == 3
