"""`edge-fer classify`: Result folders of any runtime → labels, accuracy, confusion matrix."""

from __future__ import annotations

from pathlib import Path

import typer

from edge_fer import reporter
from edge_fer.commands import reports_errors
from edge_fer.commands.options import choice, output_format

EXAMPLE = """
Example:

  edge-fer classify runs/run/int8 --input-list raws/input_list.txt --plot cm.png

  edge-fer classify runs/run/snpe --input-list raws/input_list.txt --format json --out labels.json
"""
FORMATS = ("table", "csv", "json")
Format = choice("Format", FORMATS)


def register(app: typer.Typer) -> None:
    @app.command("classify", help="Map Result folders (from edge-fer run or snpe-net-run) to "
                 "labels; with known true labels, print accuracy and a confusion matrix.\n"
                 + EXAMPLE)
    @reports_errors
    def classify(
        output_dir: Path = typer.Argument(..., help="Folder holding Result_<i> folders."),
        input_list: Path = typer.Option(None, "--input-list", "-i", help="The list that was run "
                                        "(its manifest.csv names sources and true labels); "
                                        "default: the one recorded by edge-fer run."),
        top_k: int = typer.Option(3, "--top-k", min=1, help="Labels shown per input."),
        fmt: Format = typer.Option(None, "--format", "-f", show_default=False,
                                   help="How to print the labels (default: table)."),
        out: Path = typer.Option(None, "--out", "-o", help="File to write the labels to "
                                 "(in --format) instead of stdout."),
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
            classify_output,
            format_csv,
            format_json,
            format_table,
            metrics_text,
            plot_confusion,
            read_labels_file,
        )
        from edge_fer.atomic import atomic_write_text
        from edge_fer.errors import EdgeFerError, UsageError

        fmt = output_format(as_json, fmt)
        labels = read_labels_file(labels_file) if labels_file else None
        report = classify_output(output_dir, input_list, top_k=top_k, labels=labels,
                                 labels_source=labels_file or "--labels", force=force)
        if fmt == "table":
            text = format_table(report)
            if report.metrics:
                text += "\n" + metrics_text(report.metrics)
        elif fmt == "csv":
            text = format_csv(report, top_k)
        else:
            text = format_json(report)
        if out:
            atomic_write_text(out, text)
            reporter.info(f"wrote {out}")
        else:
            typer.echo(text, nl=False)
        if report.metrics and (fmt == "csv" or out):
            reporter.info(f"accuracy {report.metrics.accuracy:.4f} "
                          f"({report.metrics.correct}/{report.metrics.count})")
        if plot:
            if not report.metrics:
                raise UsageError("--plot needs true labels (a manifest.csv with labels beside "
                                 "the input list)")
            plot_confusion(report.metrics, plot)
            reporter.info(f"wrote {plot}")
        for problem in report.problems:
            reporter.warn(f"result {problem.index}"
                          f"{' (' + problem.source + ')' if problem.source else ''}: "
                          f"{problem.problem}")
        if len(report.problems) == len(report.predictions):
            raise EdgeFerError(f"{output_dir}: no result could be classified")
