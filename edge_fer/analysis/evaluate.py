"""Score a model file on a labelled data-set split, on any runtime, without writing raws.

This is how the shipped model's PublicTest accuracy (float and int8) is measured: the same
runners as `edge-fer run`, fed the split in memory through the one preprocessing path.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.analysis.classify import Metrics
from edge_fer.errors import UsageError
from edge_fer.labels import LABELS, NUM_CLASSES
from edge_fer.preprocess import to_model_input


def predict_split(runner, images: np.ndarray, batch: int = 64) -> np.ndarray:
    """Probabilities [N, 7] of uint8 [N, 48, 48] faces through a loaded runner."""
    probs = []
    with reporter.make_progress() as bar:
        task = bar.add_task(f"{runner.name} {runner.model_path.name}", total=len(images), status="")
        for start in range(0, len(images), batch):
            chunk = to_model_input(images[start:start + batch])
            probs.append(runner.infer(chunk))
            bar.advance(task, len(chunk))
    return np.concatenate(probs) if probs else np.zeros((0, NUM_CLASSES), np.float32)


def evaluate_model(model: str | Path, data: str, split: str | None = None, runtime: str | None = None,
                   limit: int = 0, batch: int = 64, threads: int | None = None) -> dict:
    """Accuracy, per-class recall and confusion of `model` on one split of `data`."""
    from edge_fer.data import load_dataset
    from edge_fer.runners import runner_for

    dataset = load_dataset(data)
    name = split or dataset.val_split
    if name not in dataset.splits:
        raise UsageError(f"{data}: no split {name!r}; splits: {', '.join(dataset.splits)}")
    images, labels = dataset.splits[name].images, dataset.splits[name].labels
    if limit:
        images, labels = images[:limit], labels[:limit]
    spec = runner_for(model, runtime)
    runner = spec.load(model, threads=threads)
    try:
        started = time.perf_counter()
        probs = predict_split(runner, images, batch)
        seconds = time.perf_counter() - started
    finally:
        runner.close()
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    np.add.at(confusion, (labels, probs.argmax(1)), 1)
    metrics = Metrics(LABELS, confusion)
    return {"model": str(model), "runtime": spec.name, "data": dataset.source, "split": name,
            "images_per_s": round(len(labels) / seconds, 1) if seconds else None,
            **metrics.to_dict(), "metrics": metrics}
