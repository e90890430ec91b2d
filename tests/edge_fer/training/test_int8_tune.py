"""Int8-aware fine-tuning: kernels on TFLite's int8 grid, simulated int8 tower, one epoch end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from edge_fer.preprocess import to_model_input
from edge_fer.tensors.graphio import load_graph_def
from edge_fer.training.freeze import frozen_outputs
from edge_fer.training.int8_tune import (
    Int8TuneConfig,
    build_tune_graph,
    calibrate_ranges,
    const_values,
    fine_tune_for_int8,
    quantized_tensors,
    round_to_int8_grid,
    snap_weights,
    weight_nodes,
)


def faces(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 48, 48), dtype=np.uint8)


def test_a_kernel_on_the_int8_grid_keeps_each_channels_peak_and_quantizes_exactly():
    kernel = np.random.default_rng(1).normal(0, 0.3, (3, 3, 4, 5)).astype(np.float32)
    kernel[..., 2] *= 100  # channels of very different scales: per-channel, not per-tensor
    snapped = round_to_int8_grid(kernel, axis=3)
    peak = np.abs(kernel).max(axis=(0, 1, 2))
    assert np.allclose(np.abs(snapped).max(axis=(0, 1, 2)), peak)
    steps = snapped / (peak / 127.0)
    assert np.allclose(steps, np.round(steps), atol=1e-3)
    assert np.all(np.abs(snapped - kernel).max(axis=(0, 1, 2)) <= peak / 254 * 1.0001)  # half a step
    assert np.array_equal(round_to_int8_grid(snapped, axis=3), snapped)


def test_the_converter_stores_snapped_kernels_exactly(tiny_frozen_model, tmp_path):
    """What the rounding is for: TFLite's int8 weights, dequantized, are the snapped float weights."""
    from ai_edge_litert.interpreter import Interpreter

    from edge_fer.converters import ConvertRequest, convert_model

    snapped = tmp_path / "snapped" / "model.pb"
    snapped.parent.mkdir()
    snapped.write_bytes(snap_weights(load_graph_def(tiny_frozen_model)).SerializeToString())
    report = convert_model(ConvertRequest(model=snapped, target="tflite", precision="int8", calib="synthetic",
                                          calib_count=16, out_dir=tmp_path / "out", verify_count=0))
    int8 = next(r.path for r in report.results if r.variant.startswith("int8 in"))
    interpreter = Interpreter(model_path=str(int8))
    stored = []
    for detail in interpreter.get_tensor_details():
        scales = detail["quantization_parameters"]["scales"]
        if detail["dtype"] == np.int8 and len(detail["shape"]) == 4 and len(scales) > 1:
            values = interpreter.get_tensor(detail["index"]).astype(np.float64)
            stored.append(values * scales.reshape(-1, 1, 1, 1))  # TFLite conv kernels: [out, h, w, in]
    graph_def = load_graph_def(snapped)
    kernels = [np.moveaxis(v, 3, 0) for name, v in const_values(graph_def, weight_nodes(graph_def)).items()
               if v.ndim == 4]
    assert len(stored) == len(kernels) == 2
    for ours in kernels:
        assert any(s.shape == ours.shape and np.allclose(s, ours, atol=1e-7) for s in stored)


def test_int8_tensors_are_the_ones_tflite_keeps_after_fusing(tiny_frozen_model):
    chosen = quantized_tensors(load_graph_def(tiny_frozen_model))
    assert chosen[0] == "x" and "logits" in chosen
    graph_def = load_graph_def(tiny_frozen_model)
    ops = {node.name: node.op for node in graph_def.node}
    assert all(ops[name] != "Const" for name in chosen)
    assert "output" not in chosen  # softmax's output scale is fixed, not calibrated


def test_the_float_tower_is_the_frozen_graph_and_the_int8_tower_is_close(tiny_frozen_model):
    import tensorflow as tf

    graph_def = load_graph_def(tiny_frozen_model)
    inputs = faces(32)
    graph, handles = build_tune_graph(graph_def, Int8TuneConfig(), with_teacher=False)
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(handles["init"])
        calibrate_ranges(sess, handles, faces(16, seed=1))
        float_logits, int8_logits = sess.run([handles["float_logits"], handles["quant_logits"]],
                                             {handles["x"]: to_model_input(inputs)})
    reference = frozen_outputs(graph_def, to_model_input(inputs))
    assert np.allclose(tf.nn.softmax(float_logits).numpy(), reference, atol=1e-6)
    assert not np.array_equal(float_logits, int8_logits)  # rounding is simulated ...
    assert np.abs(float_logits - int8_logits).max() < 0.1 * np.abs(float_logits).max()  # ... and small


def test_one_epoch_keeps_the_graph_and_its_names_and_a_rerun_reads_the_record(tiny_frozen_model, tmp_path):
    images, labels = faces(64), np.arange(64) % 7
    scored = []

    def score(path: Path) -> dict:
        graph_def = load_graph_def(path)
        scored.append([node.name for node in graph_def.node])
        kernels = const_values(graph_def, weight_nodes(graph_def))
        for name, axis in weight_nodes(graph_def).items():
            assert np.array_equal(round_to_int8_grid(kernels[name], axis), kernels[name])
        return {"agreement": 0.5 + 0.1 * len(scored), "accuracy": 0.3}

    config = Int8TuneConfig(epochs=1, batch_size=32, augment="flip")
    record = fine_tune_for_int8(tiny_frozen_model, tmp_path / "int8", images, labels, None, faces(8), score, config)
    original = [node.name for node in load_graph_def(tiny_frozen_model).node]
    assert scored == [original, original]  # epoch 0 (rounded input) and epoch 1
    assert record["chosen"] == 1 and [row["epoch"] for row in record["history"]] == [0, 1]
    tuned = load_graph_def(tmp_path / "int8" / "model.pb")
    before = const_values(load_graph_def(tiny_frozen_model), weight_nodes(tuned))
    after = const_values(tuned, weight_nodes(tuned))
    assert any(not np.array_equal(before[n], after[n]) for n in after)
    assert json.loads((tmp_path / "int8" / "tune.json").read_text())["settings"]["epochs"] == 1

    again = fine_tune_for_int8(tiny_frozen_model, tmp_path / "int8", images, labels, None, faces(8), score, config)
    assert again == record and len(scored) == 2  # nothing trained or scored again


def test_train_clipped_fine_tunes_the_clipped_graph_toward_the_unclipped_one(tiny_frozen_model, tmp_path):
    """Every epoch's graph keeps the same clips (bounds fixed before training, recorded), its
    weights move, and its outputs stay near the input model's (the anchor is the graph before its
    clips)."""
    from edge_fer.training.activation_clip import CLIP_SUFFIX

    images, labels = faces(64), np.arange(64) % 7
    graphs = []

    def score(path: Path) -> dict:
        graphs.append(load_graph_def(path))
        return {"agreement": 0.99, "accuracy": 0.3 + 0.01 * len(graphs)}

    config = Int8TuneConfig(epochs=2, batch_size=32, augment="flip", clip_percentile=99.0, train_clipped=True,
                            task=0.0, consistency=0.0, anchor=1.0, lr=1e-3, dither=False, choose="accuracy")
    record = fine_tune_for_int8(tiny_frozen_model, tmp_path / "int8", images, labels, None, faces(8), score, config)
    clips = [sorted(n.name for n in g.node if n.name.endswith(CLIP_SUFFIX)) for g in graphs]
    assert len(graphs) == 3 and clips[0] and clips[0] == clips[1] == clips[2]
    bounds = [sorted(float(n.attr["value"].tensor.float_val[0]) for n in g.node if "_bound" in n.name)
              for g in graphs]
    assert bounds[0] == bounds[1] == bounds[2]
    assert record["chosen"] == 2 and sorted(record["clip_bounds"]) == sorted(c[:-len(CLIP_SUFFIX)] for c in clips[0])
    weights = [const_values(g, weight_nodes(g)) for g in graphs]
    assert any(not np.array_equal(weights[0][n], weights[2][n]) for n in weights[0])
    inputs = to_model_input(faces(16, seed=3))
    reference = frozen_outputs(load_graph_def(tiny_frozen_model), inputs)
    assert np.abs(frozen_outputs(graphs[2], inputs) - reference).max() < 0.2


def test_choose_accuracy_keeps_the_most_accurate_epoch_that_agrees_enough(tiny_frozen_model, tmp_path):
    images, labels = faces(32), np.arange(32) % 7
    rows = iter([{"agreement": 0.99, "accuracy": 0.60}, {"agreement": 0.985, "accuracy": 0.62},
                 {"agreement": 0.97, "accuracy": 0.70}])
    config = Int8TuneConfig(epochs=2, batch_size=32, augment="flip", choose="accuracy", min_agreement=0.98)
    record = fine_tune_for_int8(tiny_frozen_model, tmp_path / "a", images, labels, None, faces(8),
                                lambda path: next(rows), config)
    assert record["chosen"] == 1  # epoch 2 is more accurate but int8 gives float's label too rarely
    rows = iter([{"agreement": 0.95, "accuracy": 0.60}, {"agreement": 0.97, "accuracy": 0.58},
                 {"agreement": 0.96, "accuracy": 0.70}])
    record = fine_tune_for_int8(tiny_frozen_model, tmp_path / "b", images, labels, None, faces(8),
                                lambda path: next(rows), config)
    assert record["chosen"] == 1  # none agrees enough: the one that agrees most


def test_a_mirrored_anchor_gives_a_face_and_its_mirror_image_the_same_target(tiny_frozen_model):
    import tensorflow as tf

    graph_def = load_graph_def(tiny_frozen_model)
    inputs = to_model_input(faces(8))
    targets = {}
    for mirror in (False, True):
        graph, handles = build_tune_graph(graph_def, Int8TuneConfig(anchor_mirror=mirror), with_teacher=False)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(handles["init"])
            targets[mirror] = [sess.run(handles["anchor_logits"], {handles["x"]: view})
                               for view in (inputs, inputs[:, :, ::-1])]
    assert not np.allclose(*targets[False], atol=1e-4)  # the model itself is not mirror-symmetric ...
    assert np.allclose(*targets[True], atol=1e-5)  # ... its mirror-averaged anchor is
    reference = frozen_outputs(graph_def, inputs), frozen_outputs(graph_def, inputs[:, :, ::-1])
    assert np.allclose(tf.nn.softmax(targets[False][0]).numpy(), reference[0], atol=1e-6)
    assert np.allclose(targets[True][0], (targets[False][0] + targets[False][1]) / 2, atol=1e-5)


def test_settings_that_cannot_work_are_refused():
    import pytest

    with pytest.raises(ValueError, match="choose"):
        Int8TuneConfig(choose="latest")
    with pytest.raises(ValueError, match="clip_percentile"):
        Int8TuneConfig(train_clipped=True)  # nothing to clip, so nothing to train clipped
