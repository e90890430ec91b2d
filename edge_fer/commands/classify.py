"""`edge-fer classify`: Result folders of any runtime → labels, accuracy, confusion matrix."""

from __future__ import annotations

from pathlib import Path

import typer

from edge_fer import reporter
from edge_fer.commands import reports_errors
from edge_fer.commands.options import RowFormat, output_format, rows_options, write_rows
from edge_fer.reporter import printable

EXAMPLE = """
Example:

  edge-fer classify runs/run/int8 --input-list raws/input_list.txt --plot cm.png

  edge-fer classify runs/run/int8 --rows           # one row per result, as a table

  edge-fer classify runs/run/snpe --input-list raws/input_list.txt --out labels.csv
"""
ROWS, FORMAT, OUT = rows_options("result")


def register(app: typer.Typer) -> None:
    @app.command("classify", help="Map Result folders (from edge-fer run or snpe-net-run) to "
                 "labels and print a summary: counts, accuracy over the results with known "
                 "true labels, per-class precision/recall and the confusion matrix; one row per "
                 "result with --rows, --format csv|json or --out.\n" + EXAMPLE)
    @reports_errors
    def classify(
        output_dir: Path = typer.Argument(..., help="Folder holding Result_<i> folders."),
        input_list: Path = typer.Option(None, "--input-list", "-i", help="The list that was run "
                                        "(its manifest.csv names sources and true labels); "
                                        "default: the one recorded by edge-fer run."),
        top_k: int = typer.Option(3, "--top-k", min=1, help="Labels shown per input."),
        rows: bool = ROWS,
        fmt: RowFormat = FORMAT,
        out: Path = OUT,
        labels_file: Path = typer.Option(None, "--labels", help="labels.txt in the model's "
                                         "output order (default: the model's, recorded by "
                                         "edge-fer run; else the FER2013 order)."),
        plot: Path = typer.Option(None, "--plot", help="Save the confusion matrix as a picture "
                                  "(e.g. cm.png)."),
        as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
        force: bool = typer.Option(False, "--force", help="Use --input-list although run.json "
                                   "names another list (or the list changed since the run)."),
    ) -> None:
        from edge_fer.analysis.classify import (
            SHOWN_PROBLEMS,
            classify_output,
            format_csv,
            format_json,
            format_table,
            plot_confusion,
            read_labels_file,
            summary_text,
        )
        from edge_fer.errors import EdgeFerError, UsageError

        chosen = output_format(as_json, fmt, default=None)
        labels = read_labels_file(labels_file) if labels_file else None
        report = classify_output(output_dir, input_list, top_k=top_k, labels=labels,
                                 labels_source=labels_file or "--labels", force=force)
        for warning in report.warnings:
            reporter.warn(warning)
        for problem in report.problems[:SHOWN_PROBLEMS]:
            reporter.warn(f"result {problem.index}"
                          f"{' (' + printable(problem.source) + ')' if problem.source else ''}: "
                          f"{problem.problem}")
        if len(report.problems) > SHOWN_PROBLEMS:
            reporter.warn(f"… and {len(report.problems) - SHOWN_PROBLEMS} more problem results "
                          f"(all in --format csv or json)")
        if len(report.problems) == len(report.predictions):
            raise EdgeFerError(f"{output_dir}: no result could be classified")

        def rows_text(kind: str) -> str:
            if kind == "csv":
                return format_csv(report, top_k)
            return format_json(report) if kind == "json" else format_table(report)

        printed = write_rows(chosen, out, rows_text)
        written = [("rows written to", out)] if out else []
        if plot:
            if not report.metrics:
                raise UsageError("--plot needs true labels (a manifest.csv with labels beside "
                                 "the input list)")
            plot_confusion(report.metrics, plot)
            written.append(("confusion matrix picture", plot))
        if printed:
            if report.metrics:
                reporter.info(report.metrics.accuracy_line())
        elif rows and not out:
            reporter.emit(rows_text("table"))
            if report.metrics:
                reporter.emit(report.metrics.accuracy_line() + "\n")
        else:
            reporter.emit(summary_text(report, short=reporter.QUIET, written=written))
