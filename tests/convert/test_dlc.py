"""The dlc target against recording stand-ins for the SNPE tools: discovery, the exact argument
lists in SNPE 2.x and 1.x flag styles, int8 with --htp_socs, success-line checks, the op check
before any SDK call, and exit 3 with the commands when the SDK is absent.

The stand-ins only record their arguments and leave placeholder files; nothing here checks a DLC."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest

from edge_fer.tensors.rawio import read_input_list, write_input_list, write_raw


@pytest.fixture
def model(frozen_model, tmp_path):
    """A copy of the shared frozen model in its own folder (outputs go beside it, in dlc/)."""
    path = tmp_path / "m" / "model.pb"
    path.parent.mkdir()
    path.write_bytes(frozen_model.read_bytes())
    return path


@pytest.fixture
def calib_list(tmp_path, synthetic_inputs):
    folder = tmp_path / "calib"
    raws = [write_raw(folder / f"face_{i}.raw", image) for i, image in enumerate(synthetic_inputs[:12])]
    return write_input_list(folder / "input_list.txt", raws)


def _work_calls(calls):
    """Recorded calls other than --help (and --version)."""
    return [c for c in calls if "--help" not in c["argv"] and "--version" not in c["argv"]]


@pytest.mark.parametrize("style, input_flag, output_flag", [("2.x", "--input_network", "--output_path"),
                                                            ("1.x", "--graph", "--dlc")])
def test_fp32_argument_lists_follow_the_installed_flag_style(snpe_sdk, model, convert_cli, monkeypatch,
                                                              style, input_flag, output_flag):
    monkeypatch.setenv("SNPE_STAND_IN_STYLE", style)
    done = convert_cli(model, "--target", "dlc", "--json")
    assert done.exit_code == 0, done.output
    calls = snpe_sdk["calls"]()
    assert calls[0]["tool"] == "snpe-tensorflow-to-dlc" and calls[0]["argv"] == ["--help"]
    convert, info = _work_calls(calls)
    staged = convert["argv"][-1]
    assert convert["tool"] == "snpe-tensorflow-to-dlc"
    assert convert["argv"] == [input_flag, str(model.resolve()), "--input_dim", "x", "1,48,48,1",
                               "--out_node", "output", output_flag, staged]
    # written in a staging folder beside the target folder, which is then replaced whole
    assert staged.endswith("/model.dlc") and f"/{model.parent.name}/.dlc.edge-fer-" in staged
    assert info["tool"] == "snpe-dlc-info" and info["argv"] == ["-i", staged]
    final = model.parent / "dlc" / "model.dlc"
    assert final.read_bytes() == b"placeholder written by the SNPE stand-in"
    manifest = json.loads((model.parent / "dlc" / "model.json").read_text())
    shown = [input_flag, str(model.resolve()), "--input_dim", "x", "1,48,48,1", "--out_node",
             "output", output_flag, str(final.resolve())]
    assert manifest["commands"][0] == shlex.join([str(snpe_sdk["bin"] / "snpe-tensorflow-to-dlc"), *shown])
    assert manifest["sdk"] == {"root": str(snpe_sdk["root"]), "found_through": "SNPE_ROOT",
                               "flag_style": style}
    assert manifest["inputs"] == [{"name": "x:0", "shape": [1, 48, 48, 1], "dtype": "float32"}]
    assert "DLC info for:" in manifest["dlc_info"]
    assert sorted(p.name for p in (model.parent / "dlc").iterdir()) == [
        "labels.txt", "model.dlc", "model.json"]  # staging folder removed
    report = json.loads(done.stdout)
    assert [(r["precision"], r["status"]) for r in report["results"]] == [("fp32", "converted")]


@pytest.mark.parametrize("found_through", ["QAIRT_SDK_ROOT", "PATH"])
def test_tools_are_found_through_qairt_sdk_root_and_path(snpe_sdk, model, convert_cli, monkeypatch,
                                                         tmp_path, found_through):
    import os
    import platform
    import shutil

    monkeypatch.delenv("SNPE_ROOT")
    if found_through == "QAIRT_SDK_ROOT":
        if platform.machine() != "x86_64":
            pytest.skip("the QAIRT layout checked here is the x86_64 host's")
        root = tmp_path / "qairt"
        tools = root / "bin" / "x86_64-linux-clang"
        shutil.copytree(snpe_sdk["bin"], tools)
        monkeypatch.setenv("QAIRT_SDK_ROOT", str(root))
    else:
        tools = snpe_sdk["bin"]
        monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    done = convert_cli(model, "--target", "dlc")
    assert done.exit_code == 0, done.output
    manifest = json.loads((model.parent / "dlc" / "model.json").read_text())
    assert manifest["sdk"]["found_through"] == found_through
    assert manifest["tool_versions"]["snpe"] == "0.0.0"  # from the tool's --version
    assert manifest["commands"][0].startswith(str(tools / "snpe-tensorflow-to-dlc") + " ")


def test_int8_with_htp_socs_quantizes_the_fp32_dlc_with_the_given_list(snpe_sdk, model, calib_list,
                                                                       convert_cli):
    done = convert_cli(model, "--target", "dlc", "--precision", "int8", "--calib", calib_list,
                       "--htp-socs", "sm8650")
    assert done.exit_code == 0, done.output
    calls = _work_calls(snpe_sdk["calls"]())
    assert [c["tool"] for c in calls] == ["snpe-tensorflow-to-dlc", "snpe-dlc-info",
                                         "snpe-dlc-quantize", "snpe-dlc-info"]
    quantize = calls[2]
    staged = quantize["argv"][5]
    assert quantize["argv"] == ["--input_dlc", str((model.parent / "dlc" / "model.dlc").resolve()),
                                "--input_list", str(calib_list.resolve()), "--output_dlc", staged,
                                "--enable_htp", "--htp_socs", "sm8650"]
    assert staged.endswith("/model_int8.dlc")
    assert quantize["cwd"] == str(calib_list.parent.resolve())  # relative raws resolve there
    manifest = json.loads((model.parent / "dlc" / "model_int8.json").read_text())
    assert manifest["precision"] == "int8" and manifest["htp_socs"] == "sm8650"
    assert manifest["calibration"]["kind"] == "input-list"
    assert manifest["calibration"]["count"] == 12
    assert manifest["quantized_from"] == "model.dlc"


def test_int8_without_calib_writes_a_list_of_built_in_faces(snpe_sdk, model, convert_cli):
    done = convert_cli(model, "--target", "dlc", "--precision", "int8", "--calib-count", "20")
    assert done.exit_code == 0, done.output
    quantize = _work_calls(snpe_sdk["calls"]())[2]
    assert "--enable_htp" not in quantize["argv"]
    listed = model.parent / "dlc" / "model_calib" / "input_list.txt"
    assert quantize["argv"][3] == str(listed.resolve())
    raws = read_input_list(listed).raw_paths()
    assert len(raws) == 20 and all(p.is_absolute() and p.stat().st_size == 9216 for p in raws)
    pixels = np.fromfile(raws[0], "<f4")
    assert 0.0 <= pixels.min() and pixels.max() <= 1.0 and pixels.std() > 0
    calibration = json.loads((model.parent / "dlc" / "model_int8.json").read_text())["calibration"]
    assert calibration["kind"] == "data-set" and calibration["source"] == "synthetic"
    assert calibration["count"] == 20


@pytest.mark.parametrize("mode, message", [
    ("silent", "never printed 'Conversion completed successfully'"),
    ("unresolved", "Some operations in the Tensorflow graph were not resolved to a layer"),
])
def test_a_tool_without_its_success_line_is_exit_1_and_leaves_nothing(snpe_sdk, model, convert_cli,
                                                                      monkeypatch, mode, message):
    monkeypatch.setenv("SNPE_STAND_IN_MODE", mode)
    done = convert_cli(model, "--target", "dlc")
    assert done.exit_code == 1
    assert message in done.output and len(done.output.strip().splitlines()) == 1
    assert sorted(p.name for p in model.parent.iterdir()) == ["model.pb"]


def test_htp_socs_needs_a_quantizer_that_offers_it(snpe_sdk, model, calib_list, convert_cli,
                                                   monkeypatch):
    monkeypatch.setenv("SNPE_STAND_IN_MODE", "no-htp")
    done = convert_cli(model, "--target", "dlc", "--precision", "int8", "--calib", calib_list,
                       "--soc", "sm8650")
    assert done.exit_code == 1 and "--enable_htp" in done.output
    assert "snpe-dlc-quantize" not in [c["tool"] for c in _work_calls(snpe_sdk["calls"]())]
    assert not (model.parent / "dlc" / "model_int8.dlc").exists()


def test_snpe_op_check_runs_before_any_sdk_call(snpe_sdk, tmp_path, convert_cli):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 48, 48, 1], name="x")
        flat = tf.reshape(x, [1, 2304])
        logits = tf.matmul(flat, tf.constant(np.ones((2304, 7), np.float32)))
        tf.nn.softmax(tf.math.sigmoid(logits), name="output")
    model = tmp_path / "sigmoid.pb"
    model.write_bytes(graph.as_graph_def().SerializeToString())
    done = convert_cli(model, "--target", "dlc")
    assert done.exit_code == 1 and "op Sigmoid" in done.output
    assert snpe_sdk["calls"]() == []


def test_no_sdk_is_exit_3_naming_snpe_root_and_printing_the_command(no_sdk, model, convert_cli):
    done = convert_cli(model, "--target", "dlc")
    assert done.exit_code == 3
    assert "SNPE_ROOT" in done.stderr
    expected = shlex.join(["snpe-tensorflow-to-dlc", "--input_network", str(model.resolve()),
                           "--input_dim", "x", "1,48,48,1", "--out_node", "output",
                           "--output_path", str((model.parent / "dlc" / "model.dlc").resolve())])
    assert expected in [line.strip() for line in done.stdout.splitlines()]
    assert sorted(p.name for p in model.parent.iterdir()) == ["model.pb"]


def test_dry_run_prints_the_commands_and_writes_nothing(snpe_sdk, model, convert_cli):
    done = convert_cli(model, "--target", "dlc", "--precision", "int8", "--dry-run", "--json",
                       "--out", model.parent / "new")
    assert done.exit_code == 0, done.output
    rows = json.loads(done.stdout)["results"]
    assert [(r["precision"], r["status"]) for r in rows] == [("fp32", "planned"), ("int8", "planned")]
    assert rows[1]["commands"][0].split()[1:3] == [
        "--input_dlc", str((model.parent / "new" / "dlc" / "model.dlc").resolve())]
    assert all(c["argv"] == ["--help"] for c in snpe_sdk["calls"]())  # flag style only
    assert sorted(p.name for p in model.parent.iterdir()) == ["model.pb"]
