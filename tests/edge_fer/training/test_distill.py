"""Distillation: the loss mixes cross-entropy with the teacher's soft targets, and the teacher's
logits are computed once and cached in the run folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edge_fer.errors import UsageError
from edge_fer.training.distill import CACHE_NAME, run_teacher
from edge_fer.training.train import TrainConfig, build_training_graph, train

SMALL = {"data": "synthetic", "synthetic_train": 140, "synthetic_val": 70, "batch_size": 32}


def _losses(config: TrainConfig, teacher: np.ndarray) -> float:
    import tensorflow as tf

    graph, t = build_training_graph(config)
    rng = np.random.default_rng(0)
    x = rng.random((8, 48, 48, 1), dtype=np.float32)
    y = rng.integers(0, 7, 8)
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(t["init"])
        feed = {t["x"]: x, t["labels"]: y}
        if t["teacher_logits"] is not None:
            feed[t["teacher_logits"]] = teacher
        return float(sess.run(t["loss"], feed))


def test_distillation_term_follows_the_teacher_and_alpha_zero_is_plain_cross_entropy():
    agreeing = np.zeros((8, 7), np.float32)
    confident = np.tile(np.array([[9, 0, 0, 0, 0, 0, 0]], np.float32), (8, 1))
    plain = _losses(TrainConfig(arch="tiny", seed=3), agreeing)
    mixed = TrainConfig(arch="tiny", seed=3, teacher="t.pb", distill_alpha=0.7, distill_temperature=2.0)
    assert _losses(mixed, agreeing) != pytest.approx(_losses(mixed, confident), rel=1e-3)
    assert _losses(TrainConfig(arch="tiny", seed=3, teacher="t.pb", distill_alpha=0.0), confident) == \
        pytest.approx(plain, rel=1e-5)


def test_train_with_a_teacher_caches_its_logits_and_records_it(frozen_model, tmp_path):
    teacher = frozen_model  # the session's trained model, frozen (no teacher trained here)
    student = tmp_path / "student"
    config = TrainConfig(arch="tiny", epochs=1, out=str(student), teacher=str(teacher),
                         distill_alpha=0.6, distill_temperature=3.0, **SMALL)
    metrics = train(config)
    cache = np.load(student / CACHE_NAME)
    assert cache["logits"].shape == (140, 7) and np.isfinite(cache["logits"]).all()
    record = metrics["distillation"]
    assert record["alpha"] == 0.6 and record["temperature"] == 3.0 and record["count"] == 140
    assert "--teacher" in metrics["command"] and "--distill-alpha 0.6" in metrics["command"]
    assert json.loads((student / "config.json").read_text())["teacher"] == str(teacher)
    # a resumed run reads the cache instead of running the teacher again
    before = (student / CACHE_NAME).stat().st_mtime_ns
    train(TrainConfig(**{**config.__dict__, "epochs": 2}), resume=True)
    assert (student / CACHE_NAME).stat().st_mtime_ns == before
    # the teacher's cached logits are its own
    from edge_fer.data import load_dataset

    images = load_dataset("synthetic", seed=0, synthetic_size=(140, 70)).train.images[:5]
    np.testing.assert_allclose(run_teacher(teacher, images), cache["logits"][:5], atol=1e-4)


def test_missing_teacher_and_bad_alpha_are_errors(tmp_path):
    from edge_fer.errors import EdgeFerError

    with pytest.raises(EdgeFerError, match="nope.pb: teacher model not found"):
        train(TrainConfig(arch="tiny", epochs=1, out=str(tmp_path / "a"), teacher=str(tmp_path / "nope.pb"), **SMALL))
    with pytest.raises(UsageError, match="--distill-alpha"):
        train(TrainConfig(arch="tiny", epochs=1, out=str(tmp_path / "b"), teacher="x.pb", distill_alpha=1.5, **SMALL))
