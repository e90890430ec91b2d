"""Activation clipping for int8: bounds are percentiles of each int8 tensor, the clipped graph keeps
its names and contract, and the int8 file takes the bounds as its tensors' ranges."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from edge_fer.preprocess import to_model_input
from edge_fer.tensors.graphio import SNPE_OPS, import_graph, load_graph_def, save_graph_def
from edge_fer.training.activation_clip import (
    CLIP_SUFFIX,
    HISTOGRAM_BINS,
    activation_bounds,
    clip_activations,
    clip_tensors,
    with_clipped_activations,
)
from edge_fer.training.freeze import frozen_outputs
from edge_fer.training.int8_tune import Int8TuneConfig, fine_tune_for_int8, quantized_tensors


def faces(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 48, 48), dtype=np.uint8)


def tensor_values(graph_def, names: list[str], images: np.ndarray) -> dict[str, np.ndarray]:
    """Each named tensor's values over `images`, one face per run (the graph's batch is 1)."""
    import tensorflow as tf

    graph = import_graph(graph_def)
    fetches = [graph.get_tensor_by_name(f"{name}:0") for name in names]
    values = {name: [] for name in names}
    with tf.compat.v1.Session(graph=graph) as sess:
        for image in to_model_input(images):
            for name, value in zip(names, sess.run(fetches, {"x:0": image[None]})):
                values[name].append(value.ravel())
    return {name: np.concatenate(found) for name, found in values.items()}


def test_the_clipped_tensors_are_the_int8_ones_but_input_and_logits(tiny_frozen_model):
    graph_def = load_graph_def(tiny_frozen_model)
    chosen = clip_tensors(graph_def, quantized_tensors(graph_def))
    assert chosen and "x" not in chosen and "logits" not in chosen and "output" not in chosen
    ops = {node.name: node.op for node in graph_def.node}
    # the tiny CNN's two ReLU maps and the pooled features (not the raw convolutions: their bias
    # Adds are fused, nor the logits)
    assert sorted(ops[name] for name in chosen) == ["Mean", "Relu", "Relu"]


def test_bounds_are_each_tensors_percentiles(tiny_frozen_model):
    graph_def = load_graph_def(tiny_frozen_model)
    names = clip_tensors(graph_def, quantized_tensors(graph_def))
    images = faces(24)
    bounds = activation_bounds(graph_def, images, 99.0, names, batch=10)  # batches that do not divide 24
    values = tensor_values(graph_def, names, images)
    for name in names:
        low, high = bounds[name]
        step = (values[name].max() - values[name].min()) / HISTOGRAM_BINS
        assert low == 0.0  # ReLU outputs and their mean: no lower clip
        assert np.mean(values[name] <= high + step) >= 0.99 > np.mean(values[name] <= high - 2 * step)
        assert 0 < high < values[name].max()


def test_a_clipped_graph_keeps_its_contract_and_clips_only_past_the_bounds(tiny_frozen_model):
    graph_def = load_graph_def(tiny_frozen_model)
    names = clip_tensors(graph_def, quantized_tensors(graph_def))
    images = faces(16, seed=3)
    values = tensor_values(graph_def, names, images)
    # bounds above every value: the same function, bit for bit
    loose = with_clipped_activations(graph_def, {n: (0.0, float(values[n].max()) + 1) for n in names})
    inputs = to_model_input(images)
    assert np.array_equal(frozen_outputs(loose, inputs), frozen_outputs(graph_def, inputs))
    # tight bounds, one of them two-sided: every consumer reads the clip, which holds the bounds
    tight = {n: (0.0, float(np.percentile(values[n], 50))) for n in names}
    tight[names[0]] = (-0.1, tight[names[0]][1])  # two-sided, as a linear tensor's: a Maximum first
    clipped = with_clipped_activations(graph_def, tight)
    readers = [(node.name, name) for node in clipped.node for name in node.input]
    for name in names:
        assert [reader for reader, read in readers if read == name] == (
            [f"{name}{CLIP_SUFFIX}_maximum"] if tight[name][0] < 0 else [f"{name}{CLIP_SUFFIX}"])
    after = tensor_values(clipped, [n + CLIP_SUFFIX for n in names], images)
    for name in names:
        assert after[name + CLIP_SUFFIX].max() <= tight[name][1]
    assert {node.op for node in clipped.node} <= SNPE_OPS
    outputs = frozen_outputs(clipped, inputs)
    np.testing.assert_allclose(outputs.sum(axis=1), 1.0, atol=1e-5)
    assert not np.array_equal(outputs, frozen_outputs(graph_def, inputs))


def test_the_int8_file_of_a_clipped_graph_takes_the_bounds_as_ranges(tiny_frozen_model, tmp_path):
    """What clipping is for: an int8 tensor's scale is its bound / 255, not its calibration max."""
    from ai_edge_litert.interpreter import Interpreter

    from edge_fer.converters import ConvertRequest, convert_model

    graph_def = load_graph_def(tiny_frozen_model)
    ops = {node.name: node.op for node in graph_def.node}
    calibration = faces(16, seed=5)
    clipped, bounds = clip_activations(graph_def, calibration, 90.0, quantized_tensors(graph_def))
    model = save_graph_def(clipped, tmp_path / "clipped" / "model.pb")
    (model.parent / "labels.txt").write_text((Path(tiny_frozen_model).parent / "labels.txt").read_text())
    report = convert_model(ConvertRequest(model=model, target="tflite", precision="int8", calib="synthetic",
                                          calib_count=16, out_dir=tmp_path / "out", verify_count=0))
    int8 = next(r.path for r in report.results if r.variant.startswith("int8 in"))
    scales = {d["name"]: d["quantization"][0] for d in Interpreter(model_path=str(int8)).get_tensor_details()
              if d["dtype"] == np.int8}
    for name, (low, high) in bounds.items():
        # at most the bound (a calibration that never reaches it gives less), and exactly it where
        # the faces reach it: the ReLU maps, 90th percentile
        assert scales[name + CLIP_SUFFIX] <= (high - low) / 255 * 1.001
        if ops[name] == "Relu":
            assert np.isclose(scales[name + CLIP_SUFFIX], (high - low) / 255, rtol=1e-3)
    assert sum(np.isclose(scale, scales["Relu/clip"]) for scale in scales.values()) >= 2  # the conv's own output too


def test_int8_tuning_clips_each_candidate_and_records_the_bounds(tiny_frozen_model, tmp_path):
    scored = []

    def score(path: Path) -> dict:
        scored.append({node.op for node in load_graph_def(path).node})
        return {"agreement": 0.9, "accuracy": 0.5}

    config = Int8TuneConfig(epochs=0, clip_percentile=99.0)
    record = fine_tune_for_int8(tiny_frozen_model, tmp_path / "int8", faces(32), np.arange(32) % 7, None,
                                faces(8), score, config)
    assert "Minimum" in scored[0]
    saved = json.loads((tmp_path / "int8" / "tune.json").read_text())
    assert saved["settings"]["clip_percentile"] == 99.0
    graph_def = load_graph_def(tiny_frozen_model)
    assert set(record["clip_bounds"]) == set(clip_tensors(graph_def, quantized_tensors(graph_def)))
    assert "Minimum" in {node.op for node in load_graph_def(tmp_path / "int8" / "model.pb").node}
