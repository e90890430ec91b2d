"""The same inputs through several models or runtimes: does each agree with the first?

A target is a model file (run through its runner into a temporary folder; `model.onnx@qnn` names
the runner) or a folder of Result_<i> folders already written by any runtime.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.analysis.classify import Metrics, Sources, fit_path
from edge_fer.atomic import settle
from edge_fer.errors import EdgeFerError, UsageError
from edge_fer.reporter import printable
from edge_fer.tensors.rawio import read_input_list
from edge_fer.tensors.results import ResultEntry, read_results, stack_probs
from edge_fer.tensors.spec import OutputSpec


@dataclass
class CompareTarget:
    name: str                  # as given on the command line
    kind: str                  # runner name, or "results" for an output folder
    entries: list[ResultEntry]
    output: OutputSpec = field(default_factory=lambda: OutputSpec(activation="auto"))

    @property
    def probs(self) -> np.ndarray:
        return self.output.probabilities(stack_probs(self.entries))

    @property
    def ok(self) -> np.ndarray:
        return np.array([e.ok for e in self.entries], dtype=bool)


@dataclass
class CompareRow:
    name: str
    kind: str
    results: int        # usable results
    compared: int       # inputs usable in both this target and the reference
    agreement: float    # share of compared inputs with the reference's top-1
    max_abs_dp: float   # largest |p - p_ref| over compared inputs and classes
    mean_abs_dp: float
    disagreements: list[int]  # input indices whose top-1 differs

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "results": self.results,
                "compared": self.compared, "top1_agreement": _round(self.agreement),
                "max_abs_dp": _round(self.max_abs_dp), "mean_abs_dp": _round(self.mean_abs_dp),
                "disagreements": self.disagreements}


def _round(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 8)


def require_targets(targets: list[str]) -> None:
    """A usage error before anything is read: compare needs something to compare."""
    if len(targets) < 2:
        raise UsageError("compare needs two or more models or output folders")


def split_target(target: str) -> tuple[Path, str | None]:
    """`path@runtime` → (path, runtime); a plain path → (path, None)."""
    path, sep, runtime = target.rpartition("@")
    if sep and path and not Path(target).exists():
        return Path(path), runtime
    return Path(target), None


def load_target(target: str, input_list: Path, batch: int = 1,
                threads: int | None = None, force: bool = False) -> CompareTarget:
    """Read an output folder (run on this very list), or run a model over the list into a
    temporary folder."""
    from edge_fer.analysis.classify import check_recorded_list, output_spec_of
    from edge_fer.runners import runner_for
    from edge_fer.runners.base import flags_for_raws

    path, runtime = split_target(target)
    settle(path)  # an output folder or a model's folder in the middle of a swap: finished first
    listing = read_input_list(input_list)
    expected = len(listing)
    if path.is_dir():
        if runtime:
            raise UsageError(f"{target}: @runtime applies to model files, not output folders")
        check_recorded_list(path, input_list, force)
        output = output_spec_of(path)
        return CompareTarget(target, "results", read_results(path, expected=expected,
                                                             num_classes=output.classes), output)
    if not path.exists():
        raise EdgeFerError(f"{path}: no such model file or output folder")
    spec = runner_for(path, runtime)
    runner = spec.load(path, threads=threads, input_flags=flags_for_raws(listing, path, {}))
    reporter.info(f"running {path.name} on {spec.name}")
    try:
        with tempfile.TemporaryDirectory(prefix="edge-fer-compare-") as scratch:
            runner.run_list(listing, Path(scratch), batch=batch)
            entries = read_results(scratch, expected=expected,
                                   num_classes=runner.output_spec.classes)
    finally:
        runner.close()
    for entry in entries:  # the folder is gone; keep where it came from
        entry.path = path
    return CompareTarget(target, spec.name, entries, runner.output_spec)


def compare_targets(targets: list[CompareTarget]) -> list[CompareRow]:
    """One row per target against the first (the first's own row is its self-comparison)."""
    reference = targets[0]
    ref_probs, ref_ok = reference.probs, reference.ok
    rows = []
    for target in targets:
        if len(target.entries) != len(reference.entries):
            raise EdgeFerError(f"{target.name}: {len(target.entries)} results, the reference "
                               f"{reference.name} has {len(reference.entries)}")
        if target.output.classes != reference.output.classes:
            raise EdgeFerError(f"{target.name}: {target.output.classes} classes, the reference "
                               f"{reference.name} has {reference.output.classes}")
        both = target.ok & ref_ok
        probs = target.probs
        if both.any():
            diff = np.abs(probs[both] - ref_probs[both])
            same = probs[both].argmax(axis=1) == ref_probs[both].argmax(axis=1)
            agreement, max_dp, mean_dp = float(same.mean()), float(diff.max()), float(diff.mean())
            disagreements = [int(i) for i in np.flatnonzero(both)[~same]]
        else:
            agreement = max_dp = mean_dp = float("nan")
            disagreements = []
        rows.append(CompareRow(target.name, target.kind, int(target.ok.sum()), int(both.sum()),
                               agreement, max_dp, mean_dp, disagreements))
    return rows


@dataclass
class CompareReport:
    """The comparison, each target's loaded results, what the manifest says of each input, and
    each target's accuracy where true labels are known."""

    rows: list[CompareRow]
    targets: list[CompareTarget]
    sources: Sources
    accuracy: list[Metrics | None]
    warnings: list[str] = field(default_factory=list)

    def input_rows(self) -> list[dict]:
        """One per input: its source, true label, and each target's top-1 label ('' when none)."""
        found = []
        for index in range(len(self.targets[0].entries)):
            row = self.sources.rows[index] if index < len(self.sources.rows) else None
            labels = [_top1(target, index) for target in self.targets]
            found.append({"index": index,
                          "source": row.source_path if row else (
                              self.sources.raws[index] if index < len(self.sources.raws) else ""),
                          "true_label": row.label if row else "", "labels": labels,
                          "agree": len({label for label in labels if label}) <= 1})
        return found

    def to_dict(self, with_rows: bool = True) -> dict:
        targets = []
        for row, metrics in zip(self.rows, self.accuracy):
            targets.append({**row.to_dict(),
                            "accuracy": metrics.to_dict() if metrics is not None else None})
        data = {"reference": self.rows[0].name, "targets": targets,
                "warnings": list(self.warnings)}
        if with_rows:
            data["inputs"] = self.input_rows()
        return data


def _top1(target: CompareTarget, index: int) -> str:
    entry = target.entries[index]
    if not entry.ok:
        return ""
    return target.output.labels[int(np.argmax(entry.probs))] \
        if entry.probs.size == target.output.classes else ""


def compare_report(targets: list[str], input_list: str | Path, batch: int = 1,
                   threads: int | None = None, force: bool = False) -> CompareReport:
    """Load every target (running models over the list), compare each with the first, and
    score each against the manifest's true labels (matched case-insensitively; those that
    match none of a target's labels are a warning saying how many were scored)."""
    from edge_fer.analysis.classify import _sources, score_labels
    from edge_fer.labels import label_lookup

    require_targets(targets)
    sources = _sources(Path(input_list))
    loaded = [load_target(target, Path(input_list), batch, threads, force) for target in targets]
    rows = compare_targets(loaded)
    truths = [row.label if row else "" for row in sources.rows]
    warnings = list(sources.warnings)
    accuracy: list[Metrics | None] = []
    for target in loaded:
        labels = target.output.labels
        lookup = label_lookup(labels, target.name)
        predicted = [labels.index(label) if label else None
                     for label in (_top1(target, i) for i in range(len(target.entries)))]
        metrics, warning = score_labels(labels, lookup, truths[:len(predicted)], predicted)
        accuracy.append(metrics)
        if warning:
            warnings.append(f"{target.name}: {warning}")
    return CompareReport(rows, loaded, sources, accuracy, warnings)


def compare(targets: list[str], input_list: str | Path, batch: int = 1,
            threads: int | None = None, force: bool = False) -> list[CompareRow]:
    return compare_report(targets, input_list, batch, threads, force).rows


def format_table(rows: list[CompareRow], width: int | None = None) -> str:
    """A table that fits `width` (default: the terminal's); targets shortened from the start."""
    header = ["target", "runtime", "results", "top-1 agree", "max |Δp|", "mean |Δp|"]
    lines = []
    for i, row in enumerate(rows):
        agree = "reference" if i == 0 else (
            f"{row.agreement:.4f} ({row.compared - len(row.disagreements)}/{row.compared})"
            if row.compared else "-")
        lines.append([row.name, row.kind, str(row.results), agree,
                      "-" if i == 0 or not row.compared else f"{row.max_abs_dp:.2e}",
                      "-" if i == 0 or not row.compared else f"{row.mean_abs_dp:.2e}"])
    return reporter.table_text(header, lines, shrink=0, right=(2, 4, 5), width=width)


def format_json(report: CompareReport, with_rows: bool = True) -> str:
    return json.dumps(report.to_dict(with_rows), indent=2) + "\n"


def summary_text(report: CompareReport, width: int | None = None, short: bool = False,
                 written: Path | None = None) -> str:
    """The agreement table, then each target's accuracy over the inputs with a known true label
    (when the manifest has them), and where the rows went."""
    text = format_table(report.rows, width)
    scored = [(row.name, m) for row, m in zip(report.rows, report.accuracy) if m is not None]
    if scored:
        text += "" if short else "\n"
        for name, metrics in scored:
            text += fit_path("", name, f": {metrics.accuracy_line()}", width) + "\n"
    if written is not None:
        text += fit_path("rows written to ", written, "", width) + "\n"
    return text


def format_rows_csv(report: CompareReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["index", "source", "true_label", *(f"label_{i}" for i in
                                                        range(len(report.targets))), "agree"])
    for row in report.input_rows():
        writer.writerow([row["index"], row["source"], row["true_label"], *row["labels"],
                         int(row["agree"])])
    return buffer.getvalue()


def format_rows_table(report: CompareReport, width: int | None = None) -> str:
    """One line per input: source, true label, each target's top-1 (≠ where they differ); the
    targets are numbered in the header line above it."""
    names = "  ".join(f"{i}={printable(t.name)}" for i, t in enumerate(report.targets))
    cells = [[str(r["index"]), printable(r["source"]), printable(r["true_label"]),
              "  ".join(printable(label) or "-" for label in r["labels"]),
              "" if r["agree"] else "≠"] for r in report.input_rows()]
    return ("targets " + names + "\n" + reporter.table_text(
        ["index", "source", "true", "top-1 of each target", ""], cells, shrink=1, right=(0,),
        stack=3, width=width))
