"""Every architecture builds for training and for export, and export folds BN into SNPE-only ops."""

from __future__ import annotations

import numpy as np
import pytest

from edge_fer.errors import UsageError
from edge_fer.tensors.graphio import SNPE_OPS, check_snpe_ops
from edge_fer.training.freeze import export_graph_def, frozen_outputs
from edge_fer.training.model import ARCHITECTURES, get_architecture


def _random_weights(arch: str) -> tuple[dict, object, object]:
    """Variables of a freshly initialised training graph, with non-trivial BN statistics."""
    import tensorflow as tf

    from edge_fer.training.train import TrainConfig, build_training_graph

    graph, t = build_training_graph(TrainConfig(arch=arch))
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(t["init"])
        rng = np.random.default_rng(1)
        # One run for all the statistics and one for all the weights: a run per variable costs
        # a new callable each (seconds for the larger architectures).
        statistics = {}
        for var in tf.compat.v1.global_variables():
            if "/bn/" in var.name:
                shape = var.shape.as_list()
                value = rng.uniform(0.5, 1.5, shape) if "variance" in var.name or "gamma" in var.name \
                    else rng.normal(0, 0.2, shape)
                statistics[var] = value.astype(np.float32)
        if statistics:
            sess.run([var.initializer for var in statistics],
                     {var.initializer.inputs[1]: value for var, value in statistics.items()})
        x = rng.random((4, 48, 48, 1), dtype=np.float32)
        expected = sess.run(t["output"], {t["x"]: x})
        weights = sess.run({v.op.name: v for v in tf.compat.v1.global_variables()})
    return weights, x, expected


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_export_matches_training_inference_and_uses_only_snpe_ops(arch):
    weights, x, expected = _random_weights(arch)
    graph_def = export_graph_def(arch, weights, batch=None)
    check_snpe_ops(graph_def)
    ops = {node.op for node in graph_def.node}
    assert ops <= SNPE_OPS
    assert not ops & {"FusedBatchNormV3", "RandomUniform", "Switch", "Merge"}
    got = frozen_outputs(graph_def, x)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)


def test_unknown_architecture_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown architecture 'nope'.*seed003"):
        get_architecture("nope")
