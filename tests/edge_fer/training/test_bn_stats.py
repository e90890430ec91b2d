"""Precise batch-norm statistics: exact across batching, the inference path then normalises like the
training tower on the same images, and `train` keeps them only when they validate better."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from edge_fer.cli import app
from edge_fer.data.synthetic import generate
from edge_fer.preprocess import to_model_input
from edge_fer.training.bn_stats import load_statistics, population_statistics, read_statistics
from edge_fer.training.train import BEST_CKPT, TrainConfig, build_training_graph, train


@pytest.fixture(scope="module")
def faces():
    images, _ = generate(30, seed=7)
    return images


@pytest.mark.parametrize("arch, first, dense", [("resxs", "stem", None), ("bn4", "conv1", "fc1")])
def test_first_layer_statistics_do_not_depend_on_the_batching(faces, arch, first, dense):
    """The first batch norm sees the raw conv output, so its population statistics are exact
    whatever the batch; later layers see inputs normalised by batch statistics (as in training)."""
    import tensorflow as tf

    graph, t = build_training_graph(TrainConfig(arch=arch))
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(t["init"])
        whole = population_statistics(sess, t, faces, batch=len(faces))
        chunked = population_statistics(sess, t, faces, batch=7)
        moving = read_statistics(sess, t)
    assert set(whole) == set(t["batch_norm"])
    np.testing.assert_allclose(chunked[first][0], whole[first][0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(chunked[first][1], whole[first][1], rtol=1e-3, atol=1e-6)
    assert not np.allclose(whole[first][0], moving[first][0])  # not the initial moving averages
    for mean, variance in whole.values():
        assert np.isfinite(mean).all() and (variance >= 0).all() and variance.max() > 0
    if dense:  # batch norm after a dense layer (tf.nn.moments) is collected too
        assert whole[dense][0].shape == (256,)


def test_loaded_statistics_make_inference_match_the_training_tower(faces):
    """With the population statistics of a set of images loaded, the inference path on those images
    gives the training tower's logits for them as one batch (dropout off)."""
    import tensorflow as tf

    graph, t = build_training_graph(TrainConfig(arch="resxs"))
    feed = {t["x"]: to_model_input(faces), t["keep_prob"]: 1.0}
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(t["init"])
        stats = population_statistics(sess, t, faces, batch=len(faces))
        before = sess.run(graph.get_tensor_by_name("logits:0"), feed)
        load_statistics(sess, t, stats)
        np.testing.assert_array_equal(read_statistics(sess, t)["stem"][1], stats["stem"][1])
        after, training = sess.run([graph.get_tensor_by_name("logits:0"), t["train_logits"]], feed)
    assert np.abs(before - training).max() > 1e-2
    np.testing.assert_allclose(after, training, atol=2e-3 * np.abs(training).max())


def test_train_keeps_precise_statistics_that_validate_better_and_resume_leaves_them(resxs_run,
                                                                                    tmp_path):
    import shutil

    from edge_fer.training.freeze import freeze_run

    run = tmp_path / "run"
    shutil.copytree(resxs_run.path, run)  # the session's resxs run, resumed here
    config = TrainConfig(**resxs_run.config, out=str(run))
    best = resxs_run.metrics["best"]
    # after 14 steps the moving averages are still near their initial values: precise ones win by far
    # (measured 0.17 → 0.48)
    assert best["bn_statistics"] == "precise"
    assert best["val_accuracy"] == best["val_accuracy_precise"] > best["val_accuracy_moving_average"]
    assert best["selection_accuracy"] == best["val_accuracy_moving_average"]
    assert freeze_run(run, tmp_path / "model.pb")["max_abs_diff_vs_checkpoint"] < 1e-4
    checkpoint = (run / f"{BEST_CKPT}.data-00000-of-00001").read_bytes()
    again = train(config, resume=True)["best"]
    assert again == best
    assert (run / f"{BEST_CKPT}.data-00000-of-00001").read_bytes() == checkpoint
    assert json.loads((run / "state.json").read_text())["best"] == best


def test_moving_average_option_leaves_the_checkpoint_as_trained(tmp_path):
    best = train(TrainConfig(data="synthetic", arch="resxs", epochs=1, max_steps=2, synthetic_train=128,
                             synthetic_val=70, precision="fp32", bn_statistics="moving-average",
                             out=str(tmp_path / "run")))["best"]
    assert "bn_statistics" not in best and best["val_accuracy"] == best["selection_accuracy"]


def test_unknown_bn_statistics_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["train", "--bn-statistics", "exact", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "--bn-statistics" in result.output


@pytest.mark.parametrize("recorded, taken", [(-1.0, True), (2.0, False)])
def test_the_last_epoch_with_precise_statistics_replaces_a_best_that_validates_worse(
        resxs_run, tmp_path, recorded, taken):
    """At the end of training the last checkpoint, with precise statistics, is weighed against
    the best one (selected on moving averages): a recorded best of accuracy -1 always loses, one
    of 2.0 never does; either way the decision is recorded and made once."""
    import shutil

    import tensorflow as tf

    from edge_fer.training.freeze import freeze_run

    run = tmp_path / "run"
    shutil.copytree(resxs_run.path, run)
    record = run / "best" / "best.json"
    earlier = {**json.loads(record.read_text()), "epoch": 1, "val_accuracy": recorded}
    earlier.pop("settled_after_epoch")
    record.write_text(json.dumps(earlier))
    checkpoint = (run / f"{BEST_CKPT}.data-00000-of-00001").read_bytes()
    best = train(TrainConfig(**resxs_run.config, out=str(run)), resume=True)["best"]
    assert best["settled_after_epoch"] == 2
    assert json.loads(record.read_text()) == json.loads((run / "state.json").read_text())["best"] == best
    if taken:
        assert best["epoch"] == 2 and best["bn_statistics"] == "precise"
        assert best["instead_of"] == {"epoch": 1, "val_accuracy": -1.0}
        assert 0.0 <= best["val_accuracy"] == best["val_accuracy_precise"] <= 1.0
        best_values, last_values = (tf.train.load_checkpoint(str(run / name / "model.ckpt"))
                                    for name in ("best", "last"))
        weights = [n for n in best_values.get_variable_to_shape_map() if "moving_" not in n]
        assert len(weights) > 10
        for name in weights:  # the last epoch's weights, whatever the best held before
            np.testing.assert_array_equal(best_values.get_tensor(name), last_values.get_tensor(name))
        assert freeze_run(run, tmp_path / "model.pb")["max_abs_diff_vs_checkpoint"] < 1e-4
    else:
        assert best == {**earlier, "settled_after_epoch": 2}
        assert (run / f"{BEST_CKPT}.data-00000-of-00001").read_bytes() == checkpoint
