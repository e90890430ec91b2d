"""`bench --plot`: the measured cases as two bar charts, for a page or a slide."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge_fer.atomic import save_figure
from edge_fer.benchmarks.report import MEASURED, BenchReport
from edge_fer.benchmarks.table import display_names
from edge_fer.errors import EdgeFerError


def plot_report(report: BenchReport, path: str | Path) -> Path:
    """Two bar charts (per-image p50 latency, images/s; log scale) of the measured cases, PNG
    or any format matplotlib takes from the suffix, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    rows = [row for row in report.rows if row.status == MEASURED]
    if not rows:
        raise EdgeFerError(f"{path}: no measured case to plot")
    names = display_names([r.model for r in rows])
    labels = [f"{names[r.model]} · {r.runtime} · b{r.batch} · t{r.threads or 'all'}" for r in rows]
    runtimes = sorted({r.runtime for r in rows})
    palette = plt.get_cmap("tab10")
    colours = [palette(runtimes.index(r.runtime) % 10) for r in rows]
    height = max(3.0, 0.42 * len(rows) + 1.8)  # room for one 8-point label per bar
    figure, (left, right) = plt.subplots(1, 2, figsize=(14, height), dpi=110, sharey=True)
    positions = np.arange(len(rows))
    for axes, values, title in (
            (left, [r.per_image_p50_ms for r in rows], "p50 latency per image (ms, log)"),
            (right, [r.images_per_s for r in rows], "throughput: batch / mean latency (images/s, log)")):
        axes.barh(positions, values, color=colours)
        axes.set_xscale("log")
        axes.set_title(title, fontsize=10)
        axes.grid(axis="x", which="both", alpha=0.3)
        for y, value in zip(positions, values):
            axes.text(value, y, f" {value:,.0f}" if value >= 100 else f" {value:.3g}",
                      va="center", fontsize=7)
    left.set_yticks(positions, labels, fontsize=8)
    host = report.host
    figure.suptitle(f"edge-fer bench on {host.get('cpu_count')} CPUs ({host.get('machine')}), "
                    f"load {host.get('load_average_start')}", fontsize=10)
    left.set_ylim(len(rows) - 0.5, -0.5)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.5 / height))  # room for the title
    return save_figure(figure, path)
