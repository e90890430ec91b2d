"""The runner table: suffix → runner, names, options that belong to one runner only."""

from __future__ import annotations

import pytest

from edge_fer.errors import ToolMissingError, UsageError
from edge_fer.runners import REGISTRY, RUNNERS, runner_for


@pytest.mark.parametrize("name, runner", [("m.pb", "tf"), ("m.tflite", "tflite"),
                                          ("m_int8.TFLITE", "tflite"), ("m.onnx", "onnx"),
                                          ("m.dlc", "snpe"), ("m_qnn.onnx", "onnx"),
                                          ("qnn/m_qnn_sm8650_ctx.onnx", "qnn"),
                                          ("M_QNN_SM8650_CTX.ONNX", "qnn"),
                                          ("m_ctx.onnx.dlc", "snpe")])
def test_model_suffix_picks_the_runner(name, runner):
    """The longest matching suffix wins: a compiled context model goes to qnn, a plain .onnx
    (QDQ included) to onnx."""
    assert runner_for(name).name == runner


def test_the_longest_suffix_wins_and_the_first_row_breaks_a_tie():
    assert REGISTRY["qnn"].matched_suffix("m_ctx.onnx") == "_ctx.onnx"
    assert REGISTRY["qnn"].matched_suffix("m.onnx") == REGISTRY["onnx"].matched_suffix("m.onnx") == ".onnx"
    assert [spec.name for spec in RUNNERS].index("onnx") < [spec.name for spec in RUNNERS].index("qnn")
    assert REGISTRY["tf"].matched_suffix("m_ctx.onnx") == ""


def test_a_named_runtime_still_takes_either_onnx_kind(tmp_path):
    """--runtime chooses over the suffix: qnn takes a QDQ .onnx, onnx a _ctx.onnx."""
    for name in ("m_ctx.onnx", "m.onnx"):
        assert REGISTRY["qnn"].matched_suffix(name) and REGISTRY["onnx"].matched_suffix(name)
    with pytest.raises(UsageError, match=r"qnn runner takes _ctx\.onnx, \.onnx files"):
        REGISTRY["qnn"].load(tmp_path / "m.tflite")


def test_every_row_has_a_module_with_a_runner_and_an_availability_check():
    for spec in RUNNERS:
        assert spec.runner_class().name == spec.name
        reason = spec.unavailable_reason()
        assert reason is None or isinstance(reason, str)


def test_unknown_suffix_and_runtime_are_usage_errors():
    with pytest.raises(UsageError, match=r"\.h5.*known: \.pb \(tf\)"):
        runner_for("model.h5")
    with pytest.raises(UsageError, match="unknown runtime 'trt'"):
        runner_for("model.onnx", "trt")


def test_a_named_runtime_overrides_the_suffix_but_checks_the_file(tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"")
    with pytest.raises(UsageError, match="tflite runner takes .tflite"):
        REGISTRY["tflite"].load(model)


def test_an_option_of_another_runner_is_refused(tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"")
    with pytest.raises(UsageError, match="--device does not apply to the onnx runner"):
        REGISTRY["onnx"].load(model, device="SERIAL")


def test_snpe_without_sdk_is_exit_3_naming_snpe_root(tmp_path, monkeypatch):
    monkeypatch.delenv("SNPE_ROOT", raising=False)
    monkeypatch.delenv("QAIRT_SDK_ROOT", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    model = tmp_path / "m.dlc"
    model.write_bytes(b"dlc")
    with pytest.raises(ToolMissingError, match="SNPE_ROOT") as caught:
        REGISTRY["snpe"].load(model)
    assert caught.value.exit_code == 3
