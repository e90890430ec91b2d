"""The snpe runner against a recording stand-in for snpe-net-run (and adb), since the SDK is
Qualcomm's and absent here: the argument lists, the layout it writes, and exit 3 when a tool or
device is missing."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from typer.testing import CliRunner

from edge_fer.cli import app
from edge_fer.tensors.rawio import read_input_list
from edge_fer.tensors.results import read_results


@pytest.fixture
def dlc(tmp_path):
    path = tmp_path / "model.dlc"
    path.write_bytes(b"not a real dlc: the stand-in does not read it")
    return path


def run(*args):
    return CliRunner().invoke(app, ["run", *map(str, args)])


def test_host_run_passes_snpe_flags_and_adopts_the_snpe_layout(snpe_sdk, dlc, input_list,
                                                                tmp_path, stand_in_probs):
    out = tmp_path / "out"
    done = run(dlc, "--input-list", input_list, "--out", out, "--snpe-runtime", "dsp", "-q")
    assert done.exit_code == 0, done.output
    record = json.loads(snpe_sdk.read_text())
    argv = record["argv"]
    assert argv[:4] == ["--container", str(dlc.resolve()), "--input_list", str(input_list.resolve())]
    assert argv[4] == "--output_dir" and argv[6:] == ["--use_dsp"]
    assert record["cwd"] == str(input_list.parent.resolve())  # relative raw paths resolve there
    entries = read_results(out)
    raws = read_input_list(input_list).raw_paths()
    assert len(entries) == len(raws) == 24
    for entry, raw in zip(entries, raws):
        assert entry.path.name == "output.raw"
        np.testing.assert_allclose(entry.probs, stand_in_probs(raw), atol=1e-7)
    assert (out / "SNPEDiag_0.log").read_bytes() == b"diag"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # scratch folder removed
    classified = CliRunner().invoke(app, ["classify", str(out), "--format", "json"])
    assert classified.exit_code == 0
    assert json.loads(classified.output)["classified"] == 24


@pytest.mark.parametrize("runtime, flags", [("cpu", []), ("gpu", ["--use_gpu"]),
                                            ("aip", ["--use_aip"])])
def test_runtime_flags(snpe_sdk, dlc, input_list, tmp_path, runtime, flags):
    done = run(dlc, "-i", input_list, "-o", tmp_path / "o", "--snpe-runtime", runtime, "-q")
    assert done.exit_code == 0, done.output
    assert json.loads(snpe_sdk.read_text())["argv"][6:] == flags


def test_a_failing_snpe_net_run_is_exit_1_with_its_message(snpe_sdk, dlc, input_list, tmp_path,
                                                           monkeypatch):
    monkeypatch.setenv("SNPE_STAND_IN_FAIL", "1")
    done = run(dlc, "-i", input_list, "-o", tmp_path / "out", "-q")
    assert done.exit_code == 1
    assert "snpe-net-run failed" in done.output and "Casting of tensor failed" in done.output
    assert not list((tmp_path / "out").glob("Result_*"))


def test_unknown_snpe_runtime_and_batch_are_usage_errors(snpe_sdk, dlc, input_list, tmp_path):
    assert run(dlc, "-i", input_list, "-o", tmp_path / "o", "--snpe-runtime", "npu").exit_code == 2
    assert run(dlc, "-i", input_list, "-o", tmp_path / "o", "--batch", "4").exit_code == 2


def test_no_sdk_is_exit_3_naming_snpe_root(dlc, input_list, tmp_path, monkeypatch):
    monkeypatch.delenv("SNPE_ROOT", raising=False)
    monkeypatch.delenv("QAIRT_SDK_ROOT", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    done = run(dlc, "-i", input_list, "-o", tmp_path / "out")
    assert done.exit_code == 3
    assert "snpe-net-run not found" in done.output and "SNPE_ROOT" in done.output


def test_device_without_adb_is_exit_3_naming_adb(snpe_sdk, dlc, input_list, tmp_path,
                                                 monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    done = run(dlc, "-i", input_list, "-o", tmp_path / "out", "--device", "SERIAL1")
    assert done.exit_code == 3
    assert "adb not found" in done.output


def test_absent_device_is_exit_3_naming_it(fake_device, dlc, input_list, tmp_path):
    done = run(dlc, "-i", input_list, "-o", tmp_path / "out", "--device", "OTHER9")
    assert done.exit_code == 3
    assert "device OTHER9 not available" in done.output and "FAKE123" in done.output


def test_device_run_pushes_runs_and_pulls_back(fake_device, snpe_sdk, dlc, input_list, tmp_path,
                                               stand_in_probs):
    out = tmp_path / "out"
    done = run(dlc, "-i", input_list, "-o", out, "--device", "FAKE123", "--snpe-runtime", "dsp",
               "-q")
    assert done.exit_code == 0, done.output
    record = json.loads(snpe_sdk.read_text())
    remote = str(tmp_path / "device" / "edge-fer")  # the fake device's /data/local/tmp/edge-fer
    assert record["argv"] == ["--container", f"{remote}/run/model.dlc", "--input_list",
                              f"{remote}/run/input_list.txt", "--output_dir",
                              f"{remote}/run/output", "--use_dsp"]
    assert record["LD_LIBRARY_PATH"].endswith("edge-fer/sdk/aarch64-android/lib")
    assert record["ADSP_LIBRARY_PATH"].split(";")[0].endswith("edge-fer/sdk/dsp")
    calls = fake_device.read_text().splitlines()
    assert any("/data/local/tmp/edge-fer/sdk/aarch64-android/bin/snpe-net-run --container "
               "/data/local/tmp/edge-fer/run/model.dlc" in call for call in calls)
    assert all(call.startswith("-s FAKE123") for call in calls)
    assert any(call.startswith("-s FAKE123 pull") for call in calls)
    # the SDK build and DSP skeletons are chosen by the device's ABI and SoC
    assert any(call.endswith("getprop ro.soc.model") for call in calls)
    assert any(call.endswith("getprop ro.product.cpu.abi") for call in calls)
    entries = read_results(out)
    raws = read_input_list(input_list).raw_paths()
    assert len(entries) == 24
    np.testing.assert_allclose(entries[5].probs, stand_in_probs(raws[5]), atol=1e-7)
    assert not (tmp_path / "device" / "edge-fer" / "run").exists()  # device folder cleaned
    assert os.listdir(tmp_path / "device" / "edge-fer" / "sdk" / "dsp") == ["libSnpeHtpV73Skel.so"]
