"""Frozen TensorFlow graphs (`.pb`) through tf.compat.v1.Session: the reference every other
runtime is compared with."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from edge_fer.runners.base import Runner
from edge_fer.tensors.graphio import graph_io_names, import_graph, load_graph_def


def unavailable_reason() -> str | None:
    if importlib.util.find_spec("tensorflow") is None:
        return "TensorFlow is not installed (pip install tensorflow-cpu)"
    return None


class TfRunner(Runner):
    name = "tf"

    def __init__(self, model_path: Path, threads: int | None = None) -> None:
        import tensorflow as tf

        self.model_path = model_path
        graph_def = load_graph_def(model_path, required=())
        input_name, output_name = graph_io_names(graph_def, model_path)
        graph = import_graph(graph_def)
        self._input = graph.get_tensor_by_name(f"{input_name}:0")
        self._output = graph.get_tensor_by_name(f"{output_name}:0")
        batch_dim = self._input.shape[0] if self._input.shape.rank else None
        self.max_batch = int(batch_dim) if batch_dim is not None else None  # frozen pbs: 1
        config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=threads or 0,
                                          inter_op_parallelism_threads=1 if threads else 0)
        self._session = tf.compat.v1.Session(graph=graph, config=config)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run(self._output, feed_dict={self._input: batch})

    def close(self) -> None:
        self._session.close()


RUNNER = TfRunner
