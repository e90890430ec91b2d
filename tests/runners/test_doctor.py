"""doctor tells the truth: with nothing optional (imports, SDK and adb simulated away) every part
is missing with its hint; with everything (onnxruntime-qnn here, a stand-in SDK folder and a
stand-in adb with two devices) every part is found as it is; --json stays JSON."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge_fer.cli import app
from edge_fer.runners import doctor

HAVE_QNN = importlib.util.find_spec("onnxruntime_qnn") is not None
OPTIONAL = {"ai_edge_litert", "onnxruntime", "onnxruntime_qnn"}
SDK_TOOLS = ("snpe-tensorflow-to-dlc", "snpe-dlc-quantize", "snpe-dlc-info", "snpe-net-run",
             "snpe-diagview")

FAKE_ADB = '''#!{python}
"""Stand-in adb: version, devices (one ready SM8650 phone, one unauthorized), getprop."""
import sys
args = sys.argv[1:]
if args == ["version"]:
    print("Android Debug Bridge version 1.0.41\\nVersion 35.0.2-12147458")
elif args == ["devices"]:
    print("List of devices attached\\nR5CX12345\\tdevice\\n0123ABCD\\tunauthorized\\n")
elif args[:2] == ["-s", "R5CX12345"] and args[2:] == ["shell", "getprop", "ro.soc.model"]:
    print("SM8650")
else:
    sys.exit(f"stand-in adb: unexpected {{args}}")
'''


@pytest.fixture
def nothing_optional(tmp_path, monkeypatch):
    """No LiteRT, onnxruntime or onnxruntime-qnn importable, no SDK, no adb on PATH."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.split(".")[0] in OPTIONAL else real(name, *a))
    for var in ("SNPE_ROOT", "QAIRT_SDK_ROOT"):
        monkeypatch.delenv(var, raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.fixture
def everything(tmp_path, monkeypatch) -> Path:
    """A stand-in SDK folder at SNPE_ROOT (host and Android builds, sdk.yaml) and adb on PATH."""
    root = tmp_path / "qairt" / "2.28.0.241029"
    host = root / "bin" / "x86_64-linux-clang"
    android = root / "bin" / "aarch64-android"
    for folder in (host, android):
        folder.mkdir(parents=True)
    for tool in SDK_TOOLS:
        (host / tool).write_text("#!/bin/sh\necho stand-in\n")
        (host / tool).chmod(0o755)
    (android / "snpe-net-run").write_text("#!/bin/sh\n")
    (android / "snpe-net-run").chmod(0o755)
    (root / "sdk.yaml").write_text("name: qairt\nversion: 2.28.0.241029\n")
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "adb").write_text(FAKE_ADB.format(python=sys.executable))
    (tools / "adb").chmod(0o755)
    monkeypatch.setenv("SNPE_ROOT", str(root))
    monkeypatch.delenv("QAIRT_SDK_ROOT", raising=False)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    return root


def _by_name(report: dict) -> dict:
    return {c["name"]: c for c in report["components"]}


def test_nothing_optional_is_reported_missing_with_how_to_get_it(nothing_optional):
    report = doctor.diagnose()
    parts = _by_name(report)
    assert {name: c["status"] for name, c in parts.items()} == {
        "LiteRT": "missing", "onnxruntime": "missing", "onnxruntime-qnn": "missing",
        "SNPE SDK": "missing", "adb": "missing"}
    assert "pip install ai-edge-litert" in parts["LiteRT"]["hint"]
    assert "pip install onnxruntime" in parts["onnxruntime"]["hint"]
    assert "pip install 'edge-fer[qnn]'" in parts["onnxruntime-qnn"]["hint"]
    assert "SNPE_ROOT" in parts["SNPE SDK"]["hint"]
    assert "platform-tools" in parts["adb"]["hint"]
    assert all(not c["version"] for c in report["components"])
    runners = report["runners"]
    assert runners["tf"] is None
    assert all(runners[name] for name in ("tflite", "onnx", "snpe", "qnn"))


def test_nothing_optional_through_the_cli_is_exit_0_and_json(nothing_optional):
    done = CliRunner().invoke(app, ["doctor", "--json"])
    assert done.exit_code == 0, done.output
    assert [c["status"] for c in json.loads(done.stdout)["components"]] == ["missing"] * 5


def test_everything_is_found_as_it_is(everything):
    parts = _by_name(doctor.diagnose())
    sdk = parts["SNPE SDK"]
    assert (sdk["status"], sdk["version"]) == ("ok", "2.28.0.241029")
    assert sdk["facts"]["root"] == str(everything) and sdk["facts"]["source"] == "SNPE_ROOT"
    assert sorted(sdk["facts"]["tools"]) == sorted(SDK_TOOLS) and not sdk["facts"]["missing_tools"]
    assert sdk["facts"]["android_builds"] == ["aarch64-android"]
    adb = parts["adb"]
    assert (adb["status"], adb["version"]) == ("ok", "1.0.41")
    devices = {d["serial"]: d for d in adb["facts"]["devices"]}
    assert devices["R5CX12345"]["state"] == "device" and devices["R5CX12345"]["soc"] == "SM8650"
    assert devices["R5CX12345"]["htp_soc"]["name"] == "sm8650"
    assert devices["R5CX12345"]["htp_soc"]["soc_model"] == 57
    assert devices["0123ABCD"] == {"serial": "0123ABCD", "state": "unauthorized", "soc": None,
                                   "htp_soc": None}
    assert any("--htp-socs sm8650" in line for line in adb["details"])
    for name in ("LiteRT", "onnxruntime"):
        assert parts[name]["status"] == "ok" and parts[name]["version"]
    if HAVE_QNN:
        qnn_part = parts["onnxruntime-qnn"]
        assert qnn_part["status"] == "ok" and qnn_part["facts"]["qnn_sdk"]
        assert qnn_part["facts"]["backends"]["htp"]["runs"] is True
        assert qnn_part["facts"]["backends"]["cpu"]["runs"] is False  # libQnnCpu.so not shipped


def test_adb_without_a_ready_device_says_so(tmp_path, monkeypatch):
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "adb").write_text(f"#!{sys.executable}\nimport sys\n"
                               "print('List of devices attached\\n' if sys.argv[1] == 'devices' "
                               "else 'Android Debug Bridge version 1.0.41')\n")
    (tools / "adb").chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    part = doctor.check_adb()
    assert part.status == "problem" and "no device attached" in part.details
    assert "USB debugging" in part.hint


def test_a_partial_sdk_names_the_tools_it_lacks(everything):
    (everything / "bin" / "x86_64-linux-clang" / "snpe-dlc-quantize").unlink()
    part = doctor.check_snpe_sdk()
    assert part.status == "problem" and part.facts["missing_tools"] == ["snpe-dlc-quantize"]
    assert "snpe-dlc-quantize" in part.hint


def test_json_output_is_only_json_with_the_native_libraries_loaded(everything):
    """The QNN libraries print '# LIBNATIVE: ...' on stdout: doctor's probe keeps it off."""
    done = subprocess.run([str(Path(sys.executable).with_name("edge-fer")), "doctor", "--json"],
                          check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "LIBNATIVE" not in done.stdout
    report = json.loads(done.stdout)
    assert _by_name(report)["SNPE SDK"]["version"] == "2.28.0.241029"


def test_short_is_one_line_with_every_version_or_what_is_missing(nothing_optional):
    from edge_fer import __version__

    done = CliRunner().invoke(app, ["doctor", "--short"])
    assert done.exit_code == 0, done.output
    assert done.stdout.count("\n") == 1
    assert done.stdout.startswith(f"edge-fer {__version__}; tensorflow ")
    for part in ("LiteRT missing", "onnxruntime missing", "onnxruntime-qnn missing",
                 "SNPE SDK missing", "adb missing"):
        assert part in done.stdout
    assert CliRunner().invoke(app, ["doctor", "--short", "--json"]).exit_code == 2


def test_short_names_versions_htp_and_devices(everything):
    done = CliRunner().invoke(app, ["doctor", "-s"])
    assert done.exit_code == 0, done.output
    line = done.stdout.strip()
    assert "\n" not in line
    for part in ("SNPE SDK 2.28.0.241029", "adb 1.0.41 (1 device ready)",
                 f"LiteRT {doctor.distribution_version('ai-edge-litert')}"):
        assert part in line
    if HAVE_QNN:
        assert "(HTP runs)" in line
