"""edge-fer hub against the stand-in client (conftest.py): upload → compile → job → download →
Result_<i> → classify, profiles as bench rows, and every way it cannot run (one line, exit 3)."""

from __future__ import annotations

import importlib.util
import inspect
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edge_fer.cli import app
from edge_fer.hub import jobs
from edge_fer.runners import load_runner
from edge_fer.runners.base import read_run_info
from edge_fer.tensors.rawio import read_input_list
from edge_fer.tensors.results import read_results

S24 = "Samsung Galaxy S24 (Family)"


def cli(*args) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def models(tmp_path_factory, tiny_frozen_model) -> dict[str, Path]:
    """The tiny graph as float and int8 (int8 in and out) TFLite and as ONNX, labels beside."""
    import tensorflow as tf
    import tf2onnx

    from edge_fer.tensors.graphio import load_graph_def

    folder = tmp_path_factory.mktemp("hub-models")
    shutil.copy(tiny_frozen_model.parent / "labels.txt", folder / "labels.txt")

    def converter():
        return tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(str(tiny_frozen_model), ["x"], ["output"])

    (folder / "model.tflite").write_bytes(converter().convert())
    quantizing = converter()
    quantizing.optimizations = [tf.lite.Optimize.DEFAULT]
    faces = np.random.default_rng(0).random((20, 48, 48, 1), dtype=np.float32)
    quantizing.representative_dataset = lambda: ([face[None]] for face in faces)
    quantizing.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    quantizing.inference_input_type = quantizing.inference_output_type = tf.int8
    (folder / "model_int8.tflite").write_bytes(quantizing.convert())
    onnx_model, _ = tf2onnx.convert.from_graph_def(load_graph_def(tiny_frozen_model), input_names=["x:0"],
                                                   output_names=["output:0"], opset=17)
    (folder / "model.onnx").write_bytes(onnx_model.SerializeToString())
    return {"fp32": folder / "model.tflite", "int8": folder / "model_int8.tflite",
            "onnx": folder / "model.onnx"}


@pytest.fixture(scope="module")
def raws(tmp_path_factory) -> Path:
    """Six synthetic faces as raws with their input list and manifest (raw-inputs)."""
    import cv2

    from edge_fer.data.synthetic import generate

    folder = tmp_path_factory.mktemp("hub-faces")
    faces, labels = generate(6, 3)
    for i, (face, label) in enumerate(zip(faces, labels)):
        (folder / "faces" / str(label)).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / "faces" / str(label) / f"f{i}.png"), face)
    done = cli("raw-inputs", folder / "faces", "--out", folder / "raws", "-q")
    assert done.exit_code == 0, done.output
    return folder / "raws" / "input_list.txt"


def local_labels(model: Path, input_list: Path, out: Path) -> list[int]:
    runner = load_runner(model)
    runner.run_list(read_input_list(input_list), out)
    return [int(np.argmax(entry.probs)) for entry in read_results(out)]


@pytest.mark.parametrize("kind", ["fp32", "int8"])
def test_run_lands_results_that_classify_reads_with_the_local_runners_labels(hub_client, models, raws,
                                                                              tmp_path, kind):
    out = tmp_path / "s24"
    done = cli("hub", "run", models[kind], "-i", raws, "--device", S24, "-o", out, "--json")
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary[0]["device"] == S24 and summary[0]["inputs"] == 6 and len(summary[0]["jobs"]) == 1
    hosted = [int(np.argmax(entry.probs)) for entry in read_results(out)]
    assert hosted == local_labels(models[kind], raws, tmp_path / "local")
    info = read_run_info(out)
    assert info["runtime"] == "hub" and info["hub"]["device"] == S24
    assert info["hub"]["compile"] == {}  # a .tflite runs as it is: uploaded, not compiled
    assert [c[0] for c in hub_client.calls] == ["get_devices", "upload_model", "submit_inference_job"]
    classified = cli("classify", out, "--json")
    assert classified.exit_code == 0, classified.output


def test_onnx_is_compiled_for_the_runtime_asked_and_the_compile_is_recorded(hub_client, models, raws, tmp_path):
    out = tmp_path / "qnn"
    done = cli("hub", "run", models["onnx"], "-i", raws, "--device", "chipset:qualcomm-snapdragon-8gen3",
               "--runtime", "qnn", "-o", out)
    assert done.exit_code == 0, done.output
    compile_call = next(c for c in hub_client.calls if c[0] == "submit_compile_job")
    assert compile_call[2] == "--target_runtime qnn_context_binary"
    assert compile_call[3] == {"x:0": ((1, 48, 48, 1), "float32")}  # the file's own input name
    record = read_run_info(out)["hub"]["compile"]
    assert record["options"] == "--target_runtime qnn_context_binary" and record["job_id"].startswith("jc")
    hosted = [int(np.argmax(entry.probs)) for entry in read_results(out)]
    assert hosted == local_labels(models["onnx"], raws, tmp_path / "local")


def test_several_devices_run_as_parallel_jobs_into_one_folder_each(hub_client, models, raws, tmp_path):
    stdout = sys.stdout
    done = cli("hub", "run", models["fp32"], "-i", raws, "-d", S24, "-d", "Snapdragon 8 Elite QRD",
               "-o", tmp_path / "out")
    assert done.exit_code == 0, done.output
    for slug in ("samsung-galaxy-s24-family", "snapdragon-8-elite-qrd"):
        assert len(read_results(tmp_path / "out" / slug)) == 6
    assert sys.stdout is stdout  # the device threads left the process's stdout as it was


def test_profile_gives_bench_rows_with_the_devices_figures(hub_client, models, tmp_path):
    done = cli("hub", "profile", models["int8"], "--device", S24, "--json", "--out", tmp_path / "p.json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report == json.loads((tmp_path / "p.json").read_text())
    row, = report["rows"]
    assert row["device"] == S24 and row["runtime"] == "hub tflite" and row["precision"] == "int8"
    assert row["p50_ms"] == pytest.approx(0.180) and row["calls"] == 5
    assert row["peak_rss_mib"] == pytest.approx(3.0)
    assert row["compute_units"] == {"NPU": 2, "CPU": 1}
    assert [layer["name"] for layer in row["top_layers"]] == ["conv1", "matmul", "softmax"]
    assert next(c for c in hub_client.calls if c[0] == "submit_inference_job")[2] is True  # profile=True
    table = cli("hub", "profile", models["int8"], "--device", S24)
    assert table.exit_code == 0 and "slowest layers: conv1 0.120 ms (NPU)" in table.stdout


def test_devices_are_listed_and_filtered_by_chipset(hub_client):
    done = cli("hub", "devices", "--chipset", "qualcomm-snapdragon-8gen3", "--json")
    assert done.exit_code == 0, done.output
    rows = json.loads(done.stdout)
    assert rows == [{"name": S24, "os": "14", "chipset": "qualcomm-snapdragon-8gen3",
                     "runtimes": "tflite, qnn, onnx"}]
    assert S24 in cli("hub", "devices").stdout


@pytest.mark.parametrize("failure, expected", [
    ("compile_fails", "compile job jc"), ("inference_fails", "device ran out of memory"),
    ("timeout", "did not finish within 5 s")])
def test_a_failed_or_late_job_is_one_line_naming_the_job_and_nothing_is_written(
        hub_client, models, raws, tmp_path, failure, expected):
    hub_client.behaviour[failure] = True
    out = tmp_path / "out"
    done = cli("hub", "run", models["onnx"], "-i", raws, "-d", S24, "-r", "tflite", "-o", out,
               "--timeout", "5")
    assert done.exit_code == 1
    assert expected in done.output and "https://hub.invalid/jobs/" in done.output
    assert len(done.output.strip().splitlines()) == 1
    assert not out.exists()


def test_an_unknown_device_is_an_error_before_any_upload(hub_client, models, raws, tmp_path):
    done = cli("hub", "run", models["fp32"], "-i", raws, "-d", "Nokia 3310", "-o", tmp_path / "o")
    assert done.exit_code == 1 and "no device matching 'Nokia 3310'" in done.output
    assert [c[0] for c in hub_client.calls] == ["get_devices"]


@pytest.mark.parametrize("model, runtime, expected", [
    ("model.pb", None, "edge-fer convert"), ("model.tflite", "qnn", "from an .onnx model"),
    ("model_qnn_sm8650_ctx.onnx", None, "QDQ .onnx")])
def test_what_ai_hub_cannot_take_is_a_usage_error_before_the_network(tmp_path, model, runtime, expected,
                                                                      monkeypatch):
    monkeypatch.setitem(sys.modules, "qai_hub", None)  # nothing reaches a client
    path = tmp_path / model
    path.write_bytes(b"model")
    done = cli("hub", "profile", path, "-d", S24, *(["-r", runtime] if runtime else []))
    assert done.exit_code == 2 and expected in done.output


def test_without_the_extra_every_command_says_which_extra_in_one_line(models, raws, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "qai_hub", None)  # import qai_hub raises ImportError
    for args in (["devices"], ["profile", models["fp32"], "-d", S24],
                 ["run", models["fp32"], "-i", raws, "-d", S24, "-o", tmp_path / "o"]):
        done = cli("hub", *args)
        assert done.exit_code == 3, done.output
        assert done.output.strip() == "error: the hub commands need Qualcomm AI Hub's client: " \
                                      "pip install 'edge-fer[hub]'"


def test_without_a_token_it_says_how_to_configure_one(hub_client, tmp_path, monkeypatch):
    monkeypatch.setenv("QAIHUB_CLIENT_INI", str(tmp_path / "missing.ini"))
    done = cli("hub", "devices")
    assert done.exit_code == 3 and "qai-hub configure --api_token" in done.output
    (tmp_path / "empty.ini").write_text("[api]\napi_url = https://hub.invalid\n")
    monkeypatch.setenv("QAIHUB_CLIENT_INI", str(tmp_path / "empty.ini"))
    done = cli("hub", "devices")
    assert done.exit_code == 3 and "no api_token" in done.output


def test_without_the_network_it_ends_in_seconds(hub_client, tmp_path, monkeypatch):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    ini = tmp_path / "client.ini"
    ini.write_text(f"[api]\napi_token = t\napi_url = https://127.0.0.1:{closed}\n")
    monkeypatch.setenv("QAIHUB_CLIENT_INI", str(ini))
    started = time.monotonic()
    done = cli("hub", "devices")
    assert done.exit_code == 3 and "not reachable at 127.0.0.1" in done.output
    assert time.monotonic() - started < 10
    assert hub_client.calls == []


def test_profile_summary_uses_the_estimate_when_there_are_no_single_times():
    summary = jobs.profile_summary({"execution_summary": {"estimated_inference_time": 2500},
                                    "execution_detail": []})
    assert summary["p50_ms"] == 2.5 and summary["calls"] == 1 and summary["peak_memory_mib"] is None
    with pytest.raises(Exception, match="without inference times"):
        jobs.profile_summary({})


def test_the_stand_in_has_the_real_clients_signatures(stand_in_api):
    """The stand-in's parameters are qai_hub 0.56.0's (read from its source); where the real
    package is installed, they are checked against it as well."""
    signatures, stand_in = stand_in_api
    for qualified, expected in signatures.items():
        owner, method = qualified.split(".")
        assert _parameters(getattr(getattr(stand_in, owner), method)) == expected, qualified
    if importlib.util.find_spec("qai_hub") is None:
        return
    from qai_hub import client as real

    for qualified, expected in signatures.items():
        owner, method = qualified.split(".")
        assert _parameters(getattr(getattr(real, owner), method)) == expected, qualified


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_commands_runtime_choices_are_the_jobs_table():
    from edge_fer.commands.hub import HUB_RUNTIMES

    assert HUB_RUNTIMES == tuple(jobs.TARGET_RUNTIMES)
