"""The one tool runner (edge_fer.platform.tools) and adb's device list (edge_fer.platform.adb)."""

from __future__ import annotations

import sys

import pytest

from edge_fer.errors import EdgeFerError, ToolMissingError
from edge_fer.platform.adb import parse_adb_devices
from edge_fer.platform.tools import run_tool

PY = sys.executable


def test_output_is_kept_and_merged_in_order():
    code = "import sys; print('a'); sys.stdout.flush(); print('b', file=sys.stderr)"
    run = run_tool([PY, "-c", code], merge=True)
    assert run.returncode == 0 and run.output.split() == ["a", "b"]


def test_a_failure_names_the_tool_and_its_last_lines():
    with pytest.raises(EdgeFerError, match=r"the tool failed with exit code 3: .*boom"):
        run_tool([PY, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"],
                 "the tool", check=True)
    assert run_tool([PY, "-c", "import sys; sys.exit(3)"]).returncode == 3  # unchecked


def test_a_missing_success_line_is_a_failure_even_with_exit_0():
    with pytest.raises(EdgeFerError, match="exited 0 without printing 'Saved'"):
        run_tool([PY, "-c", "print('something else')"], "quantize", expect=("Saved",))
    run_tool([PY, "-c", "print('Saved quantized dlc')"], "quantize", expect=("Saved",))


def test_a_hang_times_out_and_a_missing_tool_is_exit_3(tmp_path):
    with pytest.raises(EdgeFerError, match="did not finish within 0.5 s"):
        run_tool([PY, "-c", "import time; time.sleep(30)"], "sleeper", timeout=0.5)
    with pytest.raises(ToolMissingError, match="cannot start"):
        run_tool([tmp_path / "no-such-tool"])


def test_adb_devices_output_is_parsed():
    text = ("* daemon started successfully\nList of devices attached\nABC123\tdevice "
            "usb:1-1\nXYZ\tunauthorized\n\n")
    assert parse_adb_devices(text) == [("ABC123", "device"), ("XYZ", "unauthorized")]
