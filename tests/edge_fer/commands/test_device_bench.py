"""`edge-fer device-bench snpe|tflite` without a device: usage is checked first (exit 2), then a
missing adb is exit 3 with how to get it, and nothing is written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from edge_fer.cli import app


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    """A model file, an input list naming one raw, and a PATH without adb."""
    (tmp_path / "face.raw").write_bytes(bytes(48 * 48 * 4))
    (tmp_path / "input_list.txt").write_text("face.raw\n")
    (tmp_path / "model.bin").write_bytes(b"model")
    (tmp_path / "no-tools").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    return tmp_path


@pytest.mark.parametrize("kind", ["snpe", "tflite"])
def test_without_adb_is_exit_3_naming_it(kind, inputs):
    extra = ["--benchmark-model", str(inputs / "model.bin")] if kind == "tflite" else []
    done = CliRunner().invoke(app, ["device-bench", kind, str(inputs / "model.bin"), "-i",
                                    str(inputs / "input_list.txt"), "-o", str(inputs / "out"),
                                    "--json", *extra])
    assert done.exit_code == 3, done.output
    assert "adb not found" in done.output and "platform-tools" in done.output
    assert done.stdout == "" and done.output.startswith("error:") and done.output.count("\n") == 1
    assert not (inputs / "out").exists()


def test_bad_choices_are_usage_errors_before_any_device_check(inputs):
    base = ["device-bench", "snpe", str(inputs / "model.bin"), "-i", str(inputs / "input_list.txt")]
    done = CliRunner().invoke(app, [*base, "--perf-profile", "fastest"])
    assert done.exit_code == 2 and "fastest" in done.output
    done = CliRunner().invoke(app, [*base, "-r", "cpu,npu"])
    assert done.exit_code == 2 and "npu" in done.output, done.output


def test_help_lists_both_subcommands():
    done = CliRunner().invoke(app, ["device-bench", "--help"], env={"COLUMNS": "120"})
    assert done.exit_code == 0
    assert "snpe" in done.output and "tflite" in done.output
