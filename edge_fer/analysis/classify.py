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
from edge_fer.labels import LABELS, label_lookup
from edge_fer.reporter import printable
from edge_fer.tensors.rawio import MANIFEST_NAME, ManifestRow, read_input_list, read_manifest
from edge_fer.tensors.results import ResultEntry, read_results
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
    total: int | None = None   # results (or images) in all, scored or not
    unit: str = "results"

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

    def precision(self) -> dict[str, float | None]:
        totals = self.confusion.sum(axis=0)
        return {name: (float(self.confusion[i, i] / totals[i]) if totals[i] else None)
                for i, name in enumerate(self.labels)}

    def accuracy_line(self) -> str:
        """`accuracy 0.9143 over 35 of 70 results (32 correct)`: what it was computed over."""
        of = f" of {self.total}" if self.total is not None else ""
        return (f"accuracy {self.accuracy:.4f} over {self.count}{of} {self.unit} "
                f"({self.correct} correct)")

    def to_dict(self) -> dict:
        def rounded(values: dict) -> dict:
            return {k: (round(v, 6) if v is not None else None) for k, v in values.items()}

        return {"count": self.count, "correct": self.correct, "accuracy": round(self.accuracy, 6),
                "scored": self.count, "total": self.total,
                "recall": rounded(self.recall()), "precision": rounded(self.precision()),
                "labels": list(self.labels), "confusion": self.confusion.tolist()}


@dataclass
class ClassifyReport:
    output_dir: Path
    predictions: list[Prediction]
    metrics: Metrics | None
    warnings: list[str] = field(default_factory=list)  # disagreements that did not stop it
    input_list: Path | None = None

    @property
    def problems(self) -> list[Prediction]:
        return [p for p in self.predictions if p.problem]

    def to_dict(self) -> dict:
        return {"output_dir": str(self.output_dir),
                "classified": len(self.predictions) - len(self.problems),
                "problems": [{"index": p.index, "source": p.source, "problem": p.problem}
                             for p in self.problems],
                "metrics": self.metrics.to_dict() if self.metrics else None,
                "warnings": list(self.warnings),
                "results": [p.to_dict() for p in self.predictions]}


@dataclass
class Sources:
    """What the input list and the manifest beside it say of each line."""

    expected: int | None = None                 # lines of the list (None: no list)
    rows: list[ManifestRow | None] = field(default_factory=list)  # each line's manifest row
    raws: list[str] = field(default_factory=list)
    manifests: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _sources(input_list: Path | None) -> Sources:
    """Expected count, the manifest row of each line's raw (None when the manifest beside the
    list does not name it) and the raw paths, from the input list and its manifest.

    Rows are joined by raw path, not by position: a list that is a subset or a reordering of the
    one raw-inputs wrote still gets each result's own source and label. A raw listed twice in a
    manifest with another source or label is an error (which one is true?); the same row twice,
    and lines of the list no manifest row names, are named warnings."""
    if input_list is None:
        return Sources()
    parsed = read_input_list(input_list)
    raws = parsed.raw_paths("x")
    found = Sources(expected=len(parsed), raws=[str(raw) for raw in raws])
    by_raw: dict[str, tuple[ManifestRow, Path, int]] = {}
    repeated: dict[Path, int] = {}
    # The manifest beside the list, and beside the raws when the list lives elsewhere.
    for folder in dict.fromkeys([Path(input_list).parent, *(raw.parent for raw in raws)]):
        manifest_path = folder / MANIFEST_NAME
        if not manifest_path.is_file():
            continue
        found.manifests.append(manifest_path)
        for number, row in enumerate(read_manifest(manifest_path), start=1):
            key = os.path.abspath(folder / row.raw_path)
            if key not in by_raw:
                by_raw[key] = (row, manifest_path, number)
                continue
            first, first_path, first_number = by_raw[key]
            if (first.source_path, first.label) != (row.source_path, row.label):
                raise EdgeFerError(
                    f"{manifest_path}: row {number} gives raw {row.raw_path} source "
                    f"{printable(row.source_path)!r}, label {row.label!r}, but row {first_number}"
                    f"{'' if first_path == manifest_path else ' of ' + str(first_path)} gave "
                    f"{printable(first.source_path)!r}, label {first.label!r}")
            repeated[manifest_path] = repeated.get(manifest_path, 0) + 1
    for manifest_path, count in repeated.items():
        found.warnings.append(f"{manifest_path}: {count} row{'s' if count > 1 else ''} repeat "
                              f"an earlier row of the same raw (counted once)")
    found.rows = [by_raw[key][0] if key in by_raw else None
                  for key in (os.path.abspath(raw) for raw in raws)]
    unnamed = sum(1 for row in found.rows if row is None)
    if found.manifests and unnamed:
        found.warnings.append(
            f"{unnamed} of {len(raws)} lines of {input_list} have no row in "
            f"{', '.join(str(m) for m in found.manifests)}: no source or true label for them")
    return found


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
            if [n.strip().lower() for n in labels] != \
                    [n.strip().lower() for n in recorded.labels] and \
                    not all(n.startswith("class_") for n in recorded.labels):
                reporter.warn(f"{where}: its labels ({_few(labels)}) replace the model's that "
                              f"{info.get('model', 'run.json')} recorded ({_few(recorded.labels)})")
            recorded = recorded.with_labels(labels)
        return recorded
    return OutputSpec(labels=labels or LABELS, activation="auto")


def _few(labels: tuple[str, ...], shown: int = 4) -> str:
    return ", ".join(printable(n) for n in labels[:shown]) + (", ..." if len(labels) > shown else "")


def classify_output(output_dir: str | Path, input_list: str | Path | None = None, top_k: int = 3,
                    labels: tuple[str, ...] | None = None,
                    labels_source: str | Path = "--labels", force: bool = False) -> ClassifyReport:
    """Label every Result folder; missing, short or NaN ones are kept as problems by index.
    Labels and probabilities-or-logits come from the run's record (output_spec_of). True labels
    match the model's case-insensitively; those that match none are not scored, and a warning
    says how many were."""
    output_dir = Path(output_dir)
    settle(output_dir)  # a swap a killed writer left half done: finished first
    input_list = Path(input_list) if input_list else find_input_list(output_dir)
    if input_list:
        check_recorded_list(output_dir, input_list, force)
    sources = _sources(input_list)
    manifest, raws = sources.rows, sources.raws
    if not output_dir.is_dir():
        raise EdgeFerError(f"{output_dir}: no such output folder")
    given = labels is not None
    output = output_spec_of(output_dir, labels, labels_source)
    labels = output.labels
    lookup = label_lookup(labels, labels_source if given else _labels_origin(output_dir))
    entries = read_results(output_dir, expected=sources.expected, num_classes=len(labels))
    if given and entries and all(e.problem and "bytes, expected" in e.problem for e in entries):
        raise EdgeFerError(f"{labels_source}: {len(labels)} labels, but the results in "
                           f"{output_dir} hold another number of scores ({entries[0].problem})")
    k = max(1, min(top_k, len(labels)))
    top = _top_labels(entries, output, k)
    predictions: list[Prediction] = []
    for entry in entries:
        row = manifest[entry.index] if entry.index < len(manifest) else None
        source = row.source_path if row else (raws[entry.index] if entry.index < len(raws) else "")
        prediction = Prediction(entry.index, source, row.label if row else "")
        if not entry.ok:
            prediction.problem = entry.problem
        elif entry.probs.size != len(labels):
            prediction.problem = f"{entry.probs.size} values for {len(labels)} labels"
        else:
            prediction.top = top[entry.index]
        predictions.append(prediction)
    metrics, warning = score_labels(
        labels, lookup, [p.true_label for p in predictions],
        [labels.index(p.label) if p.label is not None else None for p in predictions])
    warnings = list(sources.warnings) + ([warning] if warning else [])
    return ClassifyReport(output_dir, predictions, metrics, warnings, input_list)


def _top_labels(entries: list[ResultEntry], output: OutputSpec, k: int
                ) -> dict[int, list[tuple[str, float]]]:
    """The k most probable labels of each entry with one score per label, by entry index: one
    softmax and one sort for all rows, except where the scores' kind is guessed per row ("auto")."""
    rows = [entry for entry in entries if entry.ok and entry.probs.size == len(output.labels)]
    if not rows:
        return {}
    scores = np.stack([entry.probs for entry in rows])
    probs = output.probabilities(scores) if output.activation != "auto" else \
        np.concatenate([output.probabilities(row[None]) for row in scores])
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    chosen = np.take_along_axis(probs, order, axis=1).tolist()
    labels = output.labels
    return {entry.index: [(labels[i], p) for i, p in zip(positions, values)]
            for entry, positions, values in zip(rows, order.tolist(), chosen)}


def score_labels(labels: tuple[str, ...], lookup: dict[str, int], truths: list[str],
                 predicted: list[int | None], unit: str = "results",
                 ) -> tuple[Metrics | None, str | None]:
    """Metrics of predicted positions (None: no prediction) against true label names ('':
    unknown), matched case-insensitively through `lookup` (labels.label_lookup); a true label
    that matches none of `labels` is not scored, and the warning returned says which and how
    many were scored."""
    true_ids, pred_ids = [], []
    unmatched: dict[str, int] = {}
    for truth, guess in zip(truths, predicted):
        if not truth:
            continue
        position = lookup.get(truth.strip().lower())
        if position is None:
            unmatched[truth] = unmatched.get(truth, 0) + 1
        elif guess is not None:
            true_ids.append(position)
            pred_ids.append(guess)
    warning = None
    if unmatched:
        named = ", ".join(f"{printable(name)!r} ×{count}" for name, count in
                          sorted(unmatched.items(), key=lambda item: -item[1])[:5])
        warning = (f"{sum(unmatched.values())} true labels match none of the model's labels "
                   f"({named}{', ...' if len(unmatched) > 5 else ''}): not scored; "
                   f"{len(true_ids)} of {len(truths)} {unit} scored")
    if not true_ids:
        return None, warning
    confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(confusion, (np.array(true_ids), np.array(pred_ids)), 1)
    return Metrics(tuple(labels), confusion, total=len(truths), unit=unit), warning


def _labels_origin(output_dir: Path) -> str:
    from edge_fer.runners.base import RUN_INFO_NAME

    recorded = output_dir / RUN_INFO_NAME
    return f"{recorded} (the model's labels)" if recorded.is_file() else "the FER2013 labels"


def format_table(report: ClassifyReport, width: int | None = None) -> str:
    """A table that fits `width` (default: the terminal's): index, source (shortened from its
    start), top-k, true label (✓/✗); a problem takes the prediction's place."""
    rows = []
    for p in report.predictions:
        if p.problem:
            top = f"PROBLEM: {p.problem}"
        else:
            top = "  ".join(f"{name} {prob:.3f}" for name, prob in p.top)
        truth = printable(p.true_label)
        if truth and p.label:
            truth += " ✓" if p.true_label.strip().lower() == p.label.strip().lower() else " ✗"
        rows.append([str(p.index), printable(p.source), top, truth])
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


SHOWN_CLASSES = 12      # per-class rows in a summary (by support); the rest are counted
MATRIX_CLASSES = 10     # a confusion matrix wider than this stays in --format json / --plot
SHOWN_PROBLEMS = 5      # problem results named one by one in a summary


def metrics_text(metrics: Metrics, width: int | None = None, short: bool = False) -> str:
    """The accuracy line (over how many), then per-class precision and recall and the
    confusion matrix (rows true, columns predicted), fitted to `width` and about 25 lines
    (the classes with the most true images when there are many); `short`: the line alone."""
    lines = [metrics.accuracy_line()]
    if short:
        return lines[0] + "\n"
    names = [printable(name) for name in metrics.labels]
    true_counts = metrics.confusion.sum(axis=1)
    predicted_counts = metrics.confusion.sum(axis=0)
    order = sorted(range(len(names)), key=lambda i: (-int(true_counts[i]), i))
    shown = sorted(order[:SHOWN_CLASSES])
    precision, recall = list(metrics.precision().values()), list(metrics.recall().values())

    def score(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    rows = [[names[i], score(precision[i]), score(recall[i]), str(int(true_counts[i])),
             str(int(predicted_counts[i]))] for i in shown]
    lines += ["", reporter.table_text(["class", "precision", "recall", "true", "predicted"], rows,
                                      shrink=0, right=(1, 2, 3, 4), width=width).rstrip("\n")]
    if len(names) > len(shown):
        lines.append(f"… {len(names) - len(shown)} more classes (all in --format json)")
    if len(names) <= MATRIX_CLASSES:
        matrix = [[names[i], *(str(int(v)) for v in metrics.confusion[i])]
                  for i in range(len(names))]
        lines += ["", "confusion matrix (rows true, columns predicted):",
                  reporter.table_text(["", *(name[:5] for name in names)], matrix, shrink=0,
                                      right=tuple(range(1, len(names) + 1)),
                                      width=width).rstrip("\n")]
    else:
        lines += ["", (f"confusion matrix: {len(names)} classes, too wide to print (in "
                  f"--format json, or --plot FILE)")]
    return "\n".join(lines) + "\n"


def summary_text(report: ClassifyReport, width: int | None = None, short: bool = False,
                 written: list[tuple[str, Path]] | tuple = ()) -> str:
    """What classify prints by default: counts, where the results came from, the accuracy over
    how many, per-class scores and the confusion matrix, and where files went."""
    width = width or reporter.terminal_width()
    total = len(report.predictions)
    problems = len(report.problems)
    lines = [fit_path(f"{total - problems} of {total} results classified in ", report.output_dir,
                      f" ({problems} problem{'s' if problems > 1 else ''}, listed on stderr)"
                      if problems else "", width)]
    if report.input_list and not short:
        lines.append(fit_path("input list ", report.input_list, "", width))
    text = "\n".join(lines) + "\n"
    if report.metrics:
        text += ("" if short else "\n") + metrics_text(report.metrics, width, short)
    else:
        counts: dict[str, int] = {}
        for p in report.predictions:
            if p.label:
                counts[p.label] = counts.get(p.label, 0) + 1
        top = sorted(counts.items(), key=lambda item: -item[1])
        text += ("predicted: " + ", ".join(f"{printable(name)} {count}" for name, count in top[:8])
                 + (f", … {len(top) - 8} more" if len(top) > 8 else "") + "\n")
        if not short and any(p.true_label for p in report.predictions):
            text += "no accuracy: no true label matches one of the model's labels\n"
        elif not short:
            text += ("no accuracy: no true labels (a manifest.csv with labels beside the input "
                     "list gives them)\n")
    for what, path in written:  # whole, to be copied: on a line of its own when long
        shown = printable(str(path))
        text += (f"{what} {shown}" if len(what) + 1 + len(shown) <= width else
                 f"{what}\n  {shown}") + "\n"
    return text


def fit_path(before: str, path: str | Path, after: str, width: int | None = None) -> str:
    """`before + path + after` in `width` columns: the path (escaped) loses its start first."""
    width = width or reporter.terminal_width()
    room = max(12, width - len(before) - len(after))
    return before + reporter.left_ellipsis(printable(str(path)), room) + after


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
