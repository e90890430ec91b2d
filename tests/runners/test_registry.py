"""The runner table: suffix → runner, names, options that belong to one runner only."""

from __future__ import annotations

import pytest
from edge_fer.runners import REGISTRY, RUNNERS, runner_for

from edge_fer.errors import ToolMissingError, UsageError


@pytest.mark.parametrize("name, runner", [("m.pb", "tf"), ("m.tflite", "tflite"),
                                          ("m_int8.TFLITE", "tflite"), ("m.onnx", "onnx"),
                                          ("m.dlc", "snpe")])
def test_model_suffix_picks_the_runner(name, runner):
    assert runner_for(name).name == runner


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
