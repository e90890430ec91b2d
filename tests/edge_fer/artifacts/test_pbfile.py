"""The frozen-graph reader (edge_fer/artifacts/pbfile.py): one description whatever the graph's
names and shapes, and the runner's facts taken from it."""

from __future__ import annotations

import numpy as np

from edge_fer.artifacts.facts import facts_of
from edge_fer.artifacts.formats import describe


def _graph(path, input_shape, two_outputs: bool = False):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        image = tf.compat.v1.placeholder(tf.float32, input_shape, name="image")
        conv = tf.nn.conv2d(image, tf.constant(np.ones([3, 3, 1, 2], np.float32)), 1, "SAME")
        tf.nn.softmax(tf.reduce_mean(conv, [1, 2]), name="probs")
        if two_outputs:
            tf.identity(conv, name="features")
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return path


def test_a_foreign_graph_is_described_and_its_facts_taken(tmp_path):
    described = describe(_graph(tmp_path / "m.pb", [1, 8, 8, 1]))
    assert described.picked == ("image", "probs")
    assert described.flops == 2 * 8 * 8 * 9 * 2 and described.parameters == 18
    facts = facts_of(described)
    assert (facts.input_name, facts.input_shape, facts.output_name, facts.classes,
            facts.softmax) == ("image", [1, 8, 8, 1], "probs", 2, True)


def test_free_spatial_dimensions_leave_flops_uncounted(tmp_path):
    described = describe(_graph(tmp_path / "m.pb", [None, None, None, 1]))
    assert described.flops is None
    assert facts_of(described).input_shape == [None, None, None, 1]


def test_two_candidate_outputs_are_reported_and_the_choice_refused(tmp_path):
    import pytest

    from edge_fer.errors import EdgeFerError

    described = describe(_graph(tmp_path / "m.pb", [1, 8, 8, 1], two_outputs=True))
    assert {t.name for t in described.outputs} == {"probs", "features"}
    assert "cannot tell the output" in described.problem
    with pytest.raises(EdgeFerError, match="name it with --output"):
        facts_of(described)
