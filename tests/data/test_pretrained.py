"""The shipped model (data/pretrained/): a frozen graph per CONVENTIONS that recognises real faces."""

from __future__ import annotations

import numpy as np

from edge_fer.labels import LABELS
from edge_fer.tensors.graphio import SNPE_OPS, load_graph_def
from edge_fer.training.freeze import frozen_outputs
from edge_fer.training.pretrained import default_model, pretrained_dir, pretrained_metrics


def test_shipped_model_is_small_snpe_convertible_and_documented():
    model = default_model()
    assert model.stat().st_size <= 10_000_000
    graph_def = load_graph_def(model)
    assert {node.op for node in graph_def.node} <= SNPE_OPS
    assert (pretrained_dir() / "labels.txt").read_text().split() == list(LABELS)
    metrics = pretrained_metrics()
    assert metrics["command"].startswith("python scripts/build_pretrained.py --data")
    for precision in ("float", "int8"):
        assert 0.0 < metrics["public_test"][precision]["accuracy"] <= 1.0
        assert metrics["public_test"][precision]["count"] == 3589


def test_shipped_model_recognises_the_real_sample_faces(fer2013_dir):
    from edge_fer.data import load_dataset

    sample = load_dataset(fer2013_dir / "sample")
    images = np.concatenate([split.images for split in sample.splits.values()])
    labels = np.concatenate([split.labels for split in sample.splits.values()])
    probs = frozen_outputs(load_graph_def(default_model()), images[..., None] / np.float32(255))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    # 70 real faces, 10 per class: far above chance (1/7), as a 60 %+ FER2013 model should be
    assert np.mean(probs.argmax(1) == labels) > 0.4
