"""Score a model file on a labelled data-set split, on any runtime, without writing raws.

This is how the shipped model's PublicTest accuracy (float and int8) is measured: the same
runners as `edge-fer run`, fed the split in memory through the one preprocessing path.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.analysis.classify import Metrics
from edge_fer.errors import UsageError
from edge_fer.labels import LABELS, label_lookup
from edge_fer.reporter import printable
from edge_fer.tensors.spec import model_inputs


def predict_split(runner, images: np.ndarray, batch: int = 64) -> np.ndarray:
    """Probabilities [N, C] of uint8 [N, 48, 48] faces through a loaded runner: as training fed
    them for edge-fer's own input, else through preprocess with the model's input spec."""
    probs = []
    with reporter.make_progress() as bar:
        task = bar.add_task(f"{runner.name} {runner.model_path.name}", total=len(images), status="")
        for start in range(0, len(images), batch):
            chunk = model_inputs(images[start:start + batch], runner.input_spec)
            probs.append(runner.output_spec.probabilities(runner.infer(chunk)))
            bar.advance(task, len(chunk))
    return np.concatenate(probs) if probs else \
        np.zeros((0, runner.output_spec.classes), np.float32)


def evaluate_model(model: str | Path, data: str, split: str | None = None, runtime: str | None = None,
                   limit: int = 0, batch: int = 64, threads: int | None = None,
                   labels_file: str | Path | None = None, input_flags: dict | None = None) -> dict:
    """Accuracy, per-class recall and confusion of `model` on one split of `data` (`input_flags`:
    what the user says of the model's input, e.g. mean/std of a model without a manifest)."""
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
    runner = spec.load(model, threads=threads, labels_file=labels_file, input_flags=input_flags)
    try:
        started = time.perf_counter()
        probs = predict_split(runner, images, batch)
        seconds = time.perf_counter() - started
    finally:
        runner.close()
    model_labels = runner.output_spec.labels
    lookup = label_lookup(model_labels, labels_file or model)
    positions = np.array([lookup.get(name, -1) for name in LABELS], np.int64)
    truth = positions[labels] if len(labels) else np.zeros(0, np.int64)
    scored = truth >= 0
    warnings = []
    if not scored.all():
        lacking = [LABELS[i] for i in np.unique(labels[~scored])]
        if not scored.any():
            raise UsageError(f"{labels_file or model}: its labels ({', '.join(model_labels[:8])}"
                             f"{', ...' if len(model_labels) > 8 else ''}) name none of the "
                             f"classes of {dataset.source} ({', '.join(lacking)})")
        warnings.append(f"{int((~scored).sum())} images are of classes the model's labels lack "
                        f"({', '.join(lacking)}): not scored; {int(scored.sum())} of "
                        f"{len(labels)} images scored")
    predicted = probs.argmax(1) if len(probs) else np.zeros(0, np.int64)
    confusion = np.zeros((len(model_labels), len(model_labels)), np.int64)
    np.add.at(confusion, (truth[scored], predicted[scored]), 1)
    metrics = Metrics(tuple(model_labels), confusion, total=len(labels), unit="images")
    lines = dataset.splits[name].lines
    where = Path(str(dataset.source)).name
    rows = [{"index": i,
             "source": f"{where}:{int(lines[i])}" if lines is not None else f"{name}[{i}]",
             "true_label": LABELS[int(labels[i])],
             "label": model_labels[int(predicted[i])], "p": round(float(probs[i, predicted[i]]), 6)}
            for i in range(len(labels))]
    return {"model": str(model), "runtime": spec.name, "data": dataset.source, "split": name,
            "images": len(labels),
            "images_per_s": round(len(labels) / seconds, 1) if seconds else None,
            "skipped": len(dataset.problems), "skipped_rows": list(dataset.problems),
            "warnings": warnings, **metrics.to_dict(), "metrics": metrics, "rows": rows}


ROW_FIELDS = ("index", "source", "label", "p", "true_label")


def rows_csv(rows: list[dict]) -> str:
    """One line per image: index, where it came from, predicted label and its probability, truth."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ROW_FIELDS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def rows_table(rows: list[dict], width: int | None = None) -> str:
    cells = [[str(r["index"]), printable(r["source"]), f"{r['label']} {r['p']:.3f}",
              r["true_label"] + (" ✓" if r["label"].lower() == r["true_label"] else " ✗")]
             for r in rows]
    return reporter.table_text(["index", "source", "prediction (p)", "true"], cells, shrink=1,
                               right=(0,), width=width)
