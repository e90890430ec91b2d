"""edge-fer freeze: inference-only graph per CONVENTIONS, same outputs as the checkpoint."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from edge_fer.cli import app
from edge_fer.tensors.graphio import SNPE_OPS, load_graph_def
from edge_fer.training.freeze import freeze_run, frozen_outputs, reference_outputs

runner = CliRunner()


def test_frozen_graph_is_inference_only_with_x_and_output(frozen_model):
    graph_def = load_graph_def(frozen_model)
    ops = {node.op for node in graph_def.node}
    assert ops <= SNPE_OPS
    assert not ops & {"RandomUniform", "ArgMax", "SoftmaxCrossEntropyWithLogits", "VariableV2"}
    x = next(node for node in graph_def.node if node.name == "x")
    assert [d.size for d in x.attr["shape"].shape.dim] == [1, 48, 48, 1]
    assert (frozen_model.parent / "labels.txt").read_text().split() == [
        "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def test_frozen_outputs_are_probabilities_equal_to_the_checkpoint(frozen_model, trained_run, synthetic_inputs):
    frozen = frozen_outputs(load_graph_def(frozen_model), synthetic_inputs[:20])
    np.testing.assert_allclose(frozen.sum(axis=1), 1.0, atol=1e-5)
    checkpoint = reference_outputs(trained_run / "best" / "model.ckpt", synthetic_inputs[:20])
    np.testing.assert_allclose(frozen, checkpoint, atol=1e-5)


def test_freeze_cli_dynamic_batch_and_json(trained_run, tmp_path):
    result = runner.invoke(app, ["freeze", str(trained_run), "--out", str(tmp_path / "m.pb"),
                                 "--input-batch", "0", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["max_abs_diff_vs_checkpoint"] < 1e-4 and summary["batch"] is None
    inputs = np.zeros((3, 48, 48, 1), np.float32)
    assert frozen_outputs(load_graph_def(tmp_path / "m.pb"), inputs).shape == (3, 7)


def test_freeze_without_checkpoint_is_one_line_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"arch": "seed003"}))
    result = runner.invoke(app, ["freeze", str(tmp_path), "--out", str(tmp_path / "m.pb")])
    assert result.exit_code == 1
    assert "no best checkpoint" in result.output and not (tmp_path / "m.pb").exists()


def test_inspect_reports_tensors_params_and_flops(frozen_model):
    result = runner.invoke(app, ["inspect", str(frozen_model), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["inputs"] == [{"name": "x", "shape": [1, 48, 48, 1], "dtype": "float32"}]
    assert report["outputs"] == [{"name": "output", "shape": [1, 7], "dtype": "float32"}]
    # seed003: 3 convs + 2 dense layers
    assert report["parameters"] == 320 + 18496 + 36928 + 2304 * 1024 + 1024 + 1024 * 7 + 7
    assert report["ops"]["Conv2D"] == 3 and report["flops"] > 30_000_000


def test_tta_flip_graph_averages_the_mirror_image_with_snpe_ops(trained_run, frozen_model, synthetic_inputs, tmp_path):
    result = runner.invoke(app, ["freeze", str(trained_run), "--out", str(tmp_path / "tta.pb"), "--tta-flip"])
    assert result.exit_code == 0, result.output
    graph_def = load_graph_def(tmp_path / "tta.pb")
    assert {node.op for node in graph_def.node} <= SNPE_OPS
    plain = load_graph_def(frozen_model)
    x = synthetic_inputs[:10]
    expected = 0.5 * (frozen_outputs(plain, x) + frozen_outputs(plain, x[:, :, ::-1].copy()))
    np.testing.assert_allclose(frozen_outputs(graph_def, x), expected, atol=1e-5)
    # the two towers share every weight: the file is barely larger than the plain model
    assert (tmp_path / "tta.pb").stat().st_size < 1.01 * frozen_model.stat().st_size


def test_several_runs_freeze_into_one_ensemble_averaging_their_softmaxes(trained_run, frozen_model,
                                                                         resxs_run, synthetic_inputs,
                                                                         tmp_path):
    other = resxs_run.path  # the session's second trained architecture
    single = tmp_path / "resxs.pb"
    assert runner.invoke(app, ["freeze", str(other), "--out", str(single)]).exit_code == 0
    result = runner.invoke(app, ["freeze", str(trained_run), str(other), "--out", str(tmp_path / "ens.pb"),
                                 "--tta-flip", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["arch"] == "seed003+resxs" and summary["members"] == 2
    graph_def = load_graph_def(tmp_path / "ens.pb")
    assert {node.op for node in graph_def.node} <= SNPE_OPS
    x = synthetic_inputs[:6]
    mirror = x[:, :, ::-1].copy()
    members = [load_graph_def(frozen_model), load_graph_def(single)]
    expected = np.mean([frozen_outputs(g, v) for g in members for v in (x, mirror)], axis=0)
    np.testing.assert_allclose(frozen_outputs(graph_def, x), expected, atol=1e-5)
    # each member keeps its own weights under its own scope; the flip matrix is shared
    assert {node.name.split("/")[0] for node in graph_def.node if node.op == "Conv2D"} == {"m0", "m1"}


def test_freezing_twice_gives_the_same_bytes(trained_run, tmp_path):
    """Manifests identify a model by its sha256, so the same checkpoint must freeze to the same file."""
    first, second = tmp_path / "a.pb", tmp_path / "b.pb"
    freeze_run(trained_run, first, tta_flip=True)
    freeze_run(trained_run, second, tta_flip=True)
    assert first.read_bytes() == second.read_bytes()
