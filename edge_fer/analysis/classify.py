"""Result folders → labels, joined to the manifest; accuracy and a confusion matrix when the true
labels are known. Reads every runtime's layout through results.py, so one classify serves all."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.atomic import save_figure, settle
from edge_fer.errors import EdgeFerError, UsageError
from edge_fer.labels import LABELS
from edge_fer.tensors.rawio import MANIFEST_NAME, ManifestRow, read_input_list, read_manifest
from edge_fer.tensors.results import read_results
from edge_fer.tensors.spec import OutputSpec, read_labels_file  # noqa: F401 - (labels reader)


@dataclass
class Prediction:
    """One input: where it came from, its top-k (label, probability), or why there are none."""

    index: int
    source: str
    true_label: str
    top: list[tuple[str, float]] = field(default_factory=list)
    problem: str | None = None

    @property
    def label(self) -> str | None:
        return self.top[0][0] if self.top else None

    def to_dict(self) -> dict:
        return {"index": self.index, "source": self.source, "label": self.label,
                "top": [{"label": name, "p": round(p, 6)} for name, p in self.top],
                "true_label": self.true_label or None, "problem": self.problem}


@dataclass
class Metrics:
    """Scores over the inputs that have both a prediction and a known true label."""

    labels: tuple[str, ...]
    confusion: np.ndarray  # int [C, C], rows true, columns predicted

    @property
    def count(self) -> int:
        return int(self.confusion.sum())

    @property
    def correct(self) -> int:
        return int(np.trace(self.confusion))

    @property
    def accuracy(self) -> float:
        return self.correct / self.count if self.count else float("nan")

    def recall(self) -> dict[str, float | None]:
        totals = self.confusion.sum(axis=1)
        return {name: (float(self.confusion[i, i] / totals[i]) if totals[i] else None)
                for i, name in enumerate(self.labels)}

    def to_dict(self) -> dict:
        return {"count": self.count, "correct": self.correct, "accuracy": round(self.accuracy, 6),
                "recall": {k: (round(v, 6) if v is not None else None)
                           for k, v in self.recall().items()},
                "labels": list(self.labels), "confusion": self.confusion.tolist()}


@dataclass
class ClassifyReport:
    output_dir: Path
    predictions: list[Prediction]
    metrics: Metrics | None

    @property
    def problems(self) -> list[Prediction]:
        return [p for p in self.predictions if p.problem]

    def to_dict(self) -> dict:
        return {"output_dir": str(self.output_dir),
                "classified": len(self.predictions) - len(self.problems),
                "problems": [{"index": p.index, "source": p.source, "problem": p.problem}
                             for p in self.problems],
                "metrics": self.metrics.to_dict() if self.metrics else None,
                "results": [p.to_dict() for p in self.predictions]}


def _sources(input_list: Path | None) -> tuple[int | None, list[ManifestRow | None], list[str]]:
    """Expected count, the manifest row of each line's raw (None when the manifest beside the
    list does not name it) and the raw paths, from the input list and its manifest.

    Rows are joined by raw path, not by position: a list that is a subset or a reordering of the
    one raw-inputs wrote still gets each result's own source and label."""
    if input_list is None:
        return None, [], []
    parsed = read_input_list(input_list)
    raws = parsed.raw_paths("x")
    by_raw: dict[str, ManifestRow] = {}
    # The manifest beside the list, and beside the raws when the list lives elsewhere.
    for folder in dict.fromkeys([Path(input_list).parent, *(raw.parent for raw in raws)]):
        manifest_path = folder / MANIFEST_NAME
        if manifest_path.is_file():
            for row in read_manifest(manifest_path):
                by_raw.setdefault(os.path.abspath(folder / row.raw_path), row)
    rows = [by_raw.get(os.path.abspath(raw)) for raw in raws]
    return len(parsed), rows, [str(raw) for raw in raws]


def find_input_list(output_dir: Path) -> Path | None:
    """The input list a runner recorded in output_dir/run.json (absent for snpe-net-run's own)."""
    from edge_fer.runners.base import read_run_info

    info = read_run_info(output_dir)
    if info and info.get("input_list"):
        settle(info["input_list"])
    if info and info.get("input_list") and Path(info["input_list"]).is_file():
        return Path(info["input_list"])
    return None


def check_recorded_list(output_dir: Path, input_list: Path, force: bool = False) -> None:
    """Refuse (unless forced) an input list other than the one run.json says was run: result i
    belongs to line i of the list that produced it, not of another one."""
    from edge_fer.runners.base import input_list_digest, read_run_info

    info = read_run_info(output_dir) or {}
    recorded = info.get("input_list")
    if force or not recorded:
        return
    given = Path(input_list).resolve()
    if given != Path(recorded):
        raise UsageError(f"{input_list}: not the input list {output_dir} was run on "
                         f"({recorded}); pass --force to use it anyway")
    digest = info.get("input_list_sha256")
    if digest and given.is_file() and input_list_digest(given) != digest:
        raise UsageError(f"{input_list}: changed since {output_dir} was run on it; "
                         f"pass --force to use it anyway")


def output_spec_of(output_dir: Path, labels: tuple[str, ...] | None = None,
                   where: str | Path = "--labels") -> OutputSpec:
    """The model's output spec a runner recorded in run.json (labels, probabilities or logits);
    given `labels` replace its labels but must be as many (one-line error otherwise). Without a
    record (snpe-net-run's own folders): the given labels or FER2013's, softmax where the scores
    are not probabilities."""
    from edge_fer.runners.base import read_run_info

    info = read_run_info(output_dir) or {}
    if info.get("output_spec"):
        recorded = OutputSpec.from_dict(info["output_spec"])
        if labels is not None:
            if len(labels) != recorded.classes:
                raise EdgeFerError(f"{where}: {len(labels)} labels, but {info.get('model', 'the model')} "
                                   f"gives {recorded.classes} scores")
            recorded = recorded.with_labels(labels)
        return recorded
    return OutputSpec(labels=labels or LABELS, activation="auto")


def classify_output(output_dir: str | Path, input_list: str | Path | None = None, top_k: int = 3,
                    labels: tuple[str, ...] | None = None,
                    labels_source: str | Path = "--labels", force: bool = False) -> ClassifyReport:
    """Label every Result folder; missing, short or NaN ones are kept as problems by index.
    Labels and probabilities-or-logits come from the run's record (output_spec_of)."""
    output_dir = Path(output_dir)
    settle(output_dir)  # a swap a killed writer left half done: finished first
    input_list = Path(input_list) if input_list else find_input_list(output_dir)
    if input_list:
        check_recorded_list(output_dir, input_list, force)
    expected, manifest, raws = _sources(input_list)
    if not output_dir.is_dir():
        raise EdgeFerError(f"{output_dir}: no such output folder")
    given = labels is not None
    output = output_spec_of(output_dir, labels, labels_source)
    labels = output.labels
    entries = read_results(output_dir, expected=expected, num_classes=len(labels))
    if given and entries and all(e.problem and "bytes, expected" in e.problem for e in entries):
        raise EdgeFerError(f"{labels_source}: {len(labels)} labels, but the results in "
                           f"{output_dir} hold another number of scores ({entries[0].problem})")
    k = max(1, min(top_k, len(labels)))
    predictions: list[Prediction] = []
    true_ids, pred_ids = [], []
    for entry in entries:
        row = manifest[entry.index] if entry.index < len(manifest) else None
        source = row.source_path if row else (raws[entry.index] if entry.index < len(raws) else "")
        truth = row.label if row else ""
        prediction = Prediction(entry.index, source, truth)
        if not entry.ok:
            prediction.problem = entry.problem
        elif entry.probs.size != len(labels):
            prediction.problem = f"{entry.probs.size} values for {len(labels)} labels"
        else:
            probs = output.probabilities(entry.probs[None])[0]
            order = np.argsort(-probs, kind="stable")[:k]
            prediction.top = [(labels[i], float(probs[i])) for i in order]
            if truth and truth.lower() in labels:
                true_ids.append(labels.index(truth.lower()))
                pred_ids.append(int(order[0]))
        predictions.append(prediction)
    metrics = None
    if true_ids:
        confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
        np.add.at(confusion, (np.array(true_ids), np.array(pred_ids)), 1)
        metrics = Metrics(tuple(labels), confusion)
    return ClassifyReport(output_dir, predictions, metrics)


def format_table(report: ClassifyReport, width: int | None = None) -> str:
    """A table that fits `width` (default: the terminal's): index, source (shortened from its
    start), top-k, true label (✓/✗); a problem takes the prediction's place."""
    rows = []
    for p in report.predictions:
        if p.problem:
            top = f"PROBLEM: {p.problem}"
        else:
            top = "  ".join(f"{name} {prob:.3f}" for name, prob in p.top)
        truth = p.true_label
        if truth and p.label:
            truth += " ✓" if truth == p.label else " ✗"
        rows.append([str(p.index), p.source, top, truth])
    return reporter.table_text(["index", "source", "prediction (p)", "true"], rows, shrink=1,
                               right=(0,), stack=2, width=width)


def format_csv(report: ClassifyReport, top_k: int = 3) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["index", "source", "label", "p"]
    for rank in range(2, top_k + 1):
        header += [f"label_{rank}", f"p_{rank}"]
    writer.writerow(header + ["true_label", "problem"])
    for p in report.predictions:
        cells = [p.index, p.source]
        for rank in range(top_k):
            cells += [p.top[rank][0], f"{p.top[rank][1]:.6f}"] if rank < len(p.top) else ["", ""]
        writer.writerow(cells + [p.true_label, p.problem or ""])
    return buffer.getvalue()


def format_json(report: ClassifyReport) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def metrics_text(metrics: Metrics) -> str:
    """Accuracy, per-class recall and the confusion matrix (rows true, columns predicted)."""
    lines = [f"accuracy {metrics.accuracy:.4f} ({metrics.correct}/{metrics.count})", "",
             "recall per class:"]
    totals = metrics.confusion.sum(axis=1)
    for i, (name, recall) in enumerate(metrics.recall().items()):
        shown = f"{recall:.4f}" if recall is not None else "     -"
        lines.append(f"  {name:<9} {shown} ({int(metrics.confusion[i, i])}/{int(totals[i])})")
    short = [name[:5] for name in metrics.labels]
    lines += ["", "confusion matrix (rows true, columns predicted):",
              " " * 10 + "".join(f"{s:>7}" for s in short)]
    for name, row in zip(metrics.labels, metrics.confusion):
        lines.append(f"  {name:<8}" + "".join(f"{int(v):>7}" for v in row))
    return "\n".join(lines) + "\n"


def plot_confusion(metrics: Metrics, path: str | Path, title: str = "") -> Path:
    """The confusion matrix as a picture (format from the file's suffix), written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    counts = metrics.confusion
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape, float), where=totals > 0)
    figure, axes = plt.subplots(figsize=(6.4, 5.6), dpi=120)
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for (row, col), value in np.ndenumerate(counts):
        axes.text(col, row, str(value), ha="center", va="center", fontsize=8,
                  color="white" if shares[row, col] > 0.5 else "black")
    axes.set_xticks(range(len(metrics.labels)), metrics.labels, rotation=45, ha="right")
    axes.set_yticks(range(len(metrics.labels)), metrics.labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title or f"accuracy {metrics.accuracy:.3f} ({metrics.correct}/{metrics.count})")
    figure.colorbar(image, ax=axes, label="share of the true class")
    figure.tight_layout()
    return save_figure(figure, path)
