"""tf, tflite and onnx runners on the shared frozen model: same labels, batch-invariant, and the
Result layout written by the one driver."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from edge_fer.cli import app
from edge_fer.errors import EdgeFerError
from edge_fer.runners import load_runner
from edge_fer.runners.base import read_run_info, run_input_list
from edge_fer.tensors.rawio import read_input_list
from edge_fer.tensors.results import read_results


@pytest.fixture(scope="module")
def models(frozen_model, tflite_models, onnx_model):
    return {"tf": frozen_model, "tflite": tflite_models["fp32"], "tflite-int8": tflite_models["int8"],
            "onnx": onnx_model}


def test_every_runtime_matches_the_tf_reference(models, synthetic_inputs, reference_probs):
    batch = synthetic_inputs[:32]
    for name, path in models.items():
        runner = load_runner(path, threads=1)
        probs = runner.infer(batch)
        assert probs.shape == (32, 7) and probs.dtype == np.float32
        tolerance = 0.05 if name == "tflite-int8" else 1e-4
        np.testing.assert_allclose(probs, reference_probs[:32], atol=tolerance, err_msg=name)
        if name != "tflite-int8":
            np.testing.assert_array_equal(probs.argmax(1), reference_probs[:32].argmax(1))
        runner.close()


@pytest.mark.parametrize("name", ["tf", "tflite", "onnx"])
def test_batching_does_not_change_results(models, synthetic_inputs, name):
    runner = load_runner(models[name])
    one_by_one = np.concatenate([runner.infer(synthetic_inputs[i:i + 1]) for i in range(8)])
    np.testing.assert_allclose(runner.infer(synthetic_inputs[:8]), one_by_one, atol=1e-6)


def test_driver_writes_one_result_per_line_and_times_each_call(models, input_list, tmp_path):
    runner = load_runner(models["onnx"])
    stale = tmp_path / "out" / "Result_99"
    stale.mkdir(parents=True)
    timings = run_input_list(runner, input_list, tmp_path / "out", batch=5)
    assert timings.batch_sizes == [5, 5, 5, 5, 4]
    assert len(timings.per_image_ms) == 5 and all(t > 0 for t in timings.per_image_ms)
    entries = read_results(tmp_path / "out")
    assert [e.index for e in entries] == list(range(24)) and all(e.ok for e in entries)
    assert sorted(p.name for p in (tmp_path / "out" / "Result_0").iterdir()) == ["output.raw"]
    assert not stale.exists()
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    info = read_run_info(tmp_path / "out")
    assert info["runtime"] == "onnx" and info["inputs"] == 24
    assert info["input_list"] == str(input_list.resolve())
    raw = read_input_list(input_list).raw_paths()[7]
    expected = runner.infer(np.fromfile(raw, "<f4").reshape(1, 48, 48, 1))[0]
    np.testing.assert_allclose(entries[7].probs, expected, atol=1e-6)


def test_an_output_folder_holding_other_files_keeps_them(models, input_list, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the user's")
    run_input_list(load_runner(models["onnx"]), input_list, out, batch=8)
    assert (out / "notes.txt").read_text() == "the user's"
    assert len(read_results(out)) == 24
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_a_bad_raw_fails_naming_it_and_leaves_no_partial_result(models, tmp_path):
    (tmp_path / "a.raw").write_bytes(np.zeros(2304, "<f4").tobytes()[:100])
    (tmp_path / "list.txt").write_text("a.raw\n")
    with pytest.raises(EdgeFerError, match="a.raw: 100 bytes"):
        run_input_list(load_runner(models["onnx"]), tmp_path / "list.txt", tmp_path / "out")
    assert not list((tmp_path / "out").glob("Result_*")) if (tmp_path / "out").exists() else True


def test_a_corrupt_model_is_a_one_line_error(tmp_path):
    for suffix in (".tflite", ".onnx", ".pb"):
        bad = tmp_path / f"bad{suffix}"
        bad.write_text("not a model")
        with pytest.raises(EdgeFerError, match=f"bad{suffix}"):
            load_runner(bad)


def test_done_when_sample_faces_agree_on_tf_tflite_onnx_and_classify_scores_them(
        models, sample_dir, tmp_path):
    cli = CliRunner()
    raws = tmp_path / "raws"
    done = cli.invoke(app, ["raw-inputs", str(sample_dir), "--out", str(raws), "-q"])
    assert done.exit_code == 0, done.output
    assert "wrote 70 raws" in done.output and "skipped 0" in done.output
    assert len(list(raws.glob("*.raw"))) == 70
    labels = {}
    for name in ("tf", "tflite", "onnx"):
        out = tmp_path / f"out_{name}"
        done = cli.invoke(app, ["run", str(models[name]), "--input-list",
                                str(raws / "input_list.txt"), "--out", str(out),
                                "--batch", "16", "-q"])
        assert done.exit_code == 0, done.output
        labels[name] = [int(e.probs.argmax()) for e in read_results(out)]
    assert len(labels["tf"]) == 70
    assert labels["tf"] == labels["tflite"] == labels["onnx"]
    done = cli.invoke(app, ["classify", str(tmp_path / "out_tflite"), "--rows"])
    assert done.exit_code == 0, done.output
    assert "accuracy" in done.output and "over 70 of 70 results" in done.output
    assert "PublicTest_" in done.output  # sources named through the manifest


def test_tflite_falls_back_to_one_image_per_invoke_when_the_graph_pins_batch_1(tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 48, 48, 1], name="x")
        flat = tf.reshape(x, [1, 2304])  # pinned: a resized input cannot pass
        weights = tf.constant(np.random.default_rng(0).normal(size=(2304, 7)).astype(np.float32))
        tf.nn.softmax(tf.matmul(flat, weights), name="output")
    converter = tf.compat.v1.lite.TFLiteConverter(graph.as_graph_def(), None, None,
                                                  input_arrays_with_shape=[("x", [1, 48, 48, 1])],
                                                  output_arrays=["output"])
    path = tmp_path / "pinned.tflite"
    path.write_bytes(converter.convert())
    runner = load_runner(path)
    batch = np.random.default_rng(1).random((3, 48, 48, 1), dtype=np.float32)
    probs = runner.infer(batch)
    assert runner.max_batch == 1
    np.testing.assert_allclose(probs[1], runner.infer(batch[1:2])[0], atol=1e-6)
