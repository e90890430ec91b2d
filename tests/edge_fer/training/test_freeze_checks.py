"""freeze reads a checkpoint only when it is whole and finite: a NaN weight or a truncated file
is one error naming the checkpoint (and the variable)."""

from __future__ import annotations

import numpy as np
import pytest

from edge_fer.errors import EdgeFerError
from edge_fer.finite import NonFiniteError
from edge_fer.training.freeze import checkpoint_values


def _save(tmp_path, value: np.ndarray):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.Variable(value, name="dense/kernel")
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return tmp_path / "model.ckpt", saver.save(sess, str(tmp_path / "model.ckpt"))


def test_a_nan_weight_is_named(tmp_path):
    value = np.ones((4, 3), np.float32)
    value[1, 2] = np.nan
    prefix, _ = _save(tmp_path, value)
    with pytest.raises(NonFiniteError, match=r"model.ckpt: checkpoint variable dense/kernel: "
                                             r"1 of 12 values are NaN"):
        checkpoint_values(prefix)


def test_a_truncated_checkpoint_is_one_error(tmp_path):
    prefix, _ = _save(tmp_path, np.ones((64, 64), np.float32))
    data = next(tmp_path.glob("model.ckpt.data-*"))
    data.write_bytes(data.read_bytes()[:100])
    with pytest.raises(EdgeFerError, match=r"model.ckpt: cannot read the checkpoint, truncated or corrupt"):
        checkpoint_values(prefix)
