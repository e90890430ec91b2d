"""One row per runtime (or delegate) of a device-bench run: built from the parsed logs, saved as
`<name>.csv` and `<name>.json`, and shown as a table through the reporter."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.atomic import atomic_write_text
from edge_fer.benchmarks.device.logs import BenchmarkModelStats, DiagStats
from edge_fer.errors import EdgeFerError


@dataclass
class RuntimeSummary:
    """One runtime on the device: its inference time over the iterations, and the label check."""

    tool: str
    runtime: str
    status: str = "measured"      # measured | failed
    iterations: int = 0
    mean_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    init_ms: float | None = None
    agreement: float | None = None  # top-1 agreement with the host reference
    compared: int = 0
    max_abs_dp: float | None = None
    reason: str = ""
    source: str = ""               # what the figures are

    def to_row(self) -> dict:
        row = asdict(self)
        for key in ("mean_ms", "min_ms", "max_ms", "init_ms", "max_abs_dp"):
            if row[key] is not None:
                row[key] = round(row[key], 4)
        return row


def summarize_diag(runtime: str, runs: list[DiagStats]) -> RuntimeSummary:
    """mean/min/max over the runs of each run's averaged Total Inference Time."""
    totals = [run.total_inference_us for run in runs if run.total_inference_us is not None]
    if not totals:
        raise EdgeFerError(f"snpe-diagview showed no 'Total Inference Time' for {runtime} "
                           f"(were the logs written with profiling off?)")
    inits = [run.init_us for run in runs if run.init_us is not None]
    return RuntimeSummary(
        "snpe-net-run", runtime, iterations=len(totals), mean_ms=float(np.mean(totals)) / 1000,
        min_ms=min(totals) / 1000, max_ms=max(totals) / 1000,
        init_ms=float(np.mean(inits)) / 1000 if inits else None,
        source="snpe-diagview Total Inference Time per snpe-net-run run (its average over the "
               "input list); mean/min/max over the runs")


def summarize_benchmark_model(runtime: str, stats: BenchmarkModelStats) -> RuntimeSummary:
    return RuntimeSummary(
        "benchmark_model", runtime, iterations=stats.count or 0, mean_ms=stats.avg_us / 1000,
        min_ms=None if stats.min_us is None else stats.min_us / 1000,
        max_ms=None if stats.max_us is None else stats.max_us / 1000,
        init_ms=stats.init_us / 1000,
        source="benchmark_model: Inference (avg), min and max of its timed runs")


SUMMARY_FIELDS = ("tool", "runtime", "status", "iterations", "mean_ms", "min_ms", "max_ms",
                  "init_ms", "agreement", "compared", "max_abs_dp", "reason", "source")


def write_summary(summaries: list[RuntimeSummary], out_dir: Path, name: str,
                  facts: dict) -> tuple[Path, Path]:
    """`<name>.csv` (one row per runtime) and `<name>.json` (the rows and the run's facts)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, SUMMARY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for summary in summaries:
        writer.writerow(summary.to_row())
    csv_path = atomic_write_text(out_dir / f"{name}.csv", buffer.getvalue())
    json_path = atomic_write_text(out_dir / f"{name}.json", json.dumps(
        {**facts, "runtimes": [s.to_row() for s in summaries]}, indent=2) + "\n")
    return csv_path, json_path


def summary_json(summaries: list[RuntimeSummary]) -> str:
    """`--json`: the rows as the CSV has them."""
    return json.dumps([s.to_row() for s in summaries], indent=2) + "\n"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def summary_text(summaries: list[RuntimeSummary], width: int | None = None) -> str:
    """The rows as a table fitted to the terminal: figures per runtime, then the label check
    (or, for a runtime that failed, why)."""
    rows = []
    for s in summaries:
        if s.status != "measured":
            rows.append([s.runtime, "FAILED", "", "", "", "", s.reason])
            continue
        labels = (f"{s.agreement:.3f} top-1 agreement on {s.compared}" if s.agreement is not None
                  else s.reason or "not checked")
        rows.append([s.runtime, str(s.iterations), _ms(s.mean_ms), _ms(s.min_ms), _ms(s.max_ms),
                     _ms(s.init_ms), labels])
    return reporter.table_text(["runtime", "runs", "mean\nms", "min\nms", "max\nms", "init\nms",
                                "labels vs host"], rows, shrink=0, right=(1, 2, 3, 4, 5),
                               width=width)
