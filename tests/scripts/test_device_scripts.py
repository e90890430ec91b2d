"""scripts/snpe_device_bench.py and scripts/tflite_device_bench.py (thin wrappers of
`edge-fer device-bench snpe|tflite`) as a user runs them: without adb, or with adb but no device,
they exit 3 and say what is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
NO_DEVICE_ADB = f"""#!{sys.executable}
import sys
if sys.argv[1:] == ["devices"]:
    print("List of devices attached")
    print("R3CN70ABCDE\\tunauthorized")
    sys.exit(0)
sys.exit("unexpected adb call: " + " ".join(sys.argv[1:]))
"""


@pytest.fixture
def inputs(tmp_path) -> tuple[Path, Path]:
    """A model file and an input list naming one float32 raw (the scripts check both first)."""
    raw = tmp_path / "face.raw"
    raw.write_bytes(bytes(48 * 48 * 4))
    (tmp_path / "input_list.txt").write_text("face.raw\n")
    model = tmp_path / "model.bin"
    model.write_bytes(b"model")
    return model, tmp_path / "input_list.txt"


def _run(script: str, model: Path, input_list: Path, path: str, tmp_path: Path):
    argv = [sys.executable, str(SCRIPTS / script), str(model), "-i", str(input_list),
            "-o", str(tmp_path / "out")]
    if script.startswith("tflite"):
        argv += ["--benchmark-model", str(model)]
    env = {**os.environ, "PATH": path}
    return subprocess.run(argv, check=False, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("script", ["snpe_device_bench.py", "tflite_device_bench.py"])
def test_without_adb_exit_3(script, inputs, tmp_path):
    done = _run(script, *inputs, str(tmp_path / "no-tools"), tmp_path)
    assert done.returncode == 3, done.stderr
    assert "adb not found" in done.stderr and "platform-tools" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("script", ["snpe_device_bench.py", "tflite_device_bench.py"])
def test_without_a_device_exit_3(script, inputs, tmp_path):
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "adb").write_text(NO_DEVICE_ADB)
    (tools / "adb").chmod(0o755)
    done = _run(script, *inputs, str(tools), tmp_path)
    assert done.returncode == 3, done.stderr
    assert "no device attached" in done.stderr and "R3CN70ABCDE unauthorized" in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("script", ["snpe_device_bench.py", "tflite_device_bench.py"])
def test_help_shows_an_example(script):
    done = subprocess.run([sys.executable, str(SCRIPTS / script), "--help"], check=False,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0 and "--device" in done.stdout
    assert f"edge-fer device-bench {script.split('_')[0]} " in done.stdout  # the command it wraps
