"""`edge-fer compare`: one input list through several models/runtimes, checked against the first."""

from __future__ import annotations

from pathlib import Path

import typer

from edge_fer.commands import reports_errors
from edge_fer.commands.options import (
    BATCH_LIMIT,
    RowFormat,
    output_format,
    rows_options,
    write_rows,
)

ROWS, FORMAT, OUT = rows_options("input", before="after")

EXAMPLE = """
Example:

  edge-fer compare model.pb model.tflite model_int8.tflite model.onnx -i raws/input_list.txt

  edge-fer compare model.pb runs/run/snpe --input-list raws/input_list.txt --json

  edge-fer compare model.pb model_int8.tflite -i raws/input_list.txt --out inputs.csv
"""


def register(app: typer.Typer) -> None:
    @app.command("compare", help="Run the same inputs through several models or runtimes (or "
                 "read their output folders) and report top-1 agreement and max |Δp| against "
                 "the first, and each one's accuracy where the manifest gives true labels; one "
                 "row per input with --rows, --format csv|json or --out. MODEL@RUNTIME picks a "
                 "runner.\n" + EXAMPLE)
    @reports_errors
    def compare(
        targets: list[str] = typer.Argument(..., help="Model files (MODEL[@RUNTIME]) or folders "
                                            "of Result_<i>; the first is the reference."),
        input_list: Path = typer.Option(..., "--input-list", "-i", help="input_list.txt the "
                                        "targets ran on."),
        batch: int = typer.Option(1, "--batch", min=1, max=BATCH_LIMIT, help="Images per call for model targets."),
        threads: int = typer.Option(None, "--threads", min=1, help="CPU threads per runtime."),
        rows: bool = ROWS,
        fmt: RowFormat = FORMAT,
        out: Path = OUT,
        as_json: bool = typer.Option(False, "--json", help="Print the comparison and rows as "
                                     "JSON (same as --format json)."),
        force: bool = typer.Option(False, "--force", help="Compare output folders although "
                                   "their run.json names another input list."),
    ) -> None:
        from edge_fer.analysis.compare import require_targets
        from edge_fer.commands.preflight import require_exists, require_file

        require_targets(targets)
        require_file(input_list, "input list")
        for target in targets:  # MODEL[@RUNTIME] or a folder of Result_<i>, all before any runs
            require_exists(target.rsplit("@", 1)[0] if not Path(target).exists() else target,
                           "model file or output folder")
        from edge_fer import reporter
        from edge_fer.analysis.compare import (
            compare_report,
            format_json,
            format_rows_csv,
            format_rows_table,
            summary_text,
        )

        chosen = output_format(as_json, fmt, default=None)
        report = compare_report(targets, input_list, batch=batch, threads=threads, force=force)
        for warning in report.warnings:
            reporter.warn(warning)

        def rows_text(kind: str) -> str:
            if kind == "csv":
                return format_rows_csv(report)
            return format_json(report) if kind == "json" else format_rows_table(report)

        if write_rows(chosen, out, rows_text):
            return
        reporter.emit(summary_text(report, short=reporter.QUIET, written=out))
        if rows and not out:
            reporter.emit("\n" + rows_text("table"))
