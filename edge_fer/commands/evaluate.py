"""`edge-fer evaluate`: a model's accuracy on a labelled data set (FER2013 CSV, folders, synthetic)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from edge_fer.commands import reports_errors
from edge_fer.commands.options import (
    BATCH_LIMIT,
    COLOR_OPTION,
    MEAN_OPTION,
    RUNTIMES,
    STD_OPTION,
    Color,
    RowFormat,
    choice,
    input_flags,
    output_format,
    plain,
    rows_options,
    write_rows,
)

Runtime = choice("Runtime", RUNTIMES)
ROWS, FORMAT, OUT = rows_options("image")
SHOWN_PROBLEMS = 20  # bad rows listed one by one; the count says how many in all


def register(app: typer.Typer) -> None:
    @app.command("evaluate", epilog="Examples:\n\n"
                 "  edge-fer evaluate model_int8.tflite --data fer2013.csv --split PublicTest\n\n"
                 "  edge-fer evaluate --data fer2013.csv    (the shipped model)\n\n"
                 "  edge-fer evaluate m.tflite --data faces/ --out rows.csv    (a row per image)")
    @reports_errors
    def evaluate(
        context: typer.Context,
        model: Path = typer.Argument(None, help="A .pb, .tflite, .onnx (or .dlc with the SDK) "
                                     "model, or a shipped model's name (edge-fer models). Default: the shipped "
                                     "FER2013 model `best`."),
        data: str = typer.Option("synthetic", help="'synthetic', a FER2013 CSV or an image folder."),
        split: str = typer.Option(None, help="Split to score (default: the data set's validation split)."),
        runtime: Runtime = typer.Option(None, "--runtime", "-r", help="Runner to use (default: from the model file)."),
        limit: int = typer.Option(0, min=0, help="Score only the first N images (0: all)."),
        batch: int = typer.Option(64, min=1, max=BATCH_LIMIT, help="Images per inference call."),
        threads: int = typer.Option(None, min=1, help="CPU threads for the runtime (default: all cores)."),
        labels_file: Path = typer.Option(None, "--labels", help="The model's labels, one per line "
                                         "(default: labels.txt beside it, its manifest, or "
                                         "FER2013's)."),
        color: Color = COLOR_OPTION,
        mean: str = MEAN_OPTION,
        std: str = STD_OPTION,
        rows: bool = ROWS,
        fmt: RowFormat = FORMAT,
        out: Path = OUT,
        as_json: bool = typer.Option(False, "--json", help="Print the scores and rows as JSON "
                                     "(same as --format json)."),
    ) -> None:
        """Accuracy, per-class recall and confusion matrix of a model on a data-set split."""
        from edge_fer.commands import preflight

        preflight.require_model(model)
        preflight.require_data(data)
        preflight.require_file(labels_file, "labels file")
        from edge_fer import reporter
        from edge_fer.analysis.classify import fit_path, metrics_text
        from edge_fer.analysis.evaluate import evaluate_model, rows_csv, rows_table
        from edge_fer.data import SYNTHETIC
        from edge_fer.training.pretrained import model_or_default

        shipped = model is None
        model = model_or_default(model)
        if data == SYNTHETIC and shipped:
            reporter.warn("the shipped model is trained on FER2013 photos; the built-in synthetic "
                          "faces are drawings, so its accuracy on them says little: pass --data "
                          "fer2013.csv.gz (or a folder of your photos)")
        elif data == SYNTHETIC and context.get_parameter_source("data").name == "DEFAULT":
            reporter.info("scoring on the built-in synthetic faces (the default --data); pass "
                          "--data for FER2013 or an image folder")
        chosen = output_format(as_json, fmt, default=None)
        report = evaluate_model(model, data, split, plain(runtime), limit, batch, threads,
                                labels_file=labels_file, input_flags=input_flags(color, mean, std))
        metrics = report.pop("metrics")
        for problem in report["skipped_rows"][:SHOWN_PROBLEMS]:  # on stderr, --json or not
            reporter.warn(f"skipped {problem}")
        if report["skipped"]:
            reporter.warn(f"skipped {report['skipped']} bad rows/files in {report['data']} "
                          f"(not scored){'; the first ' + str(SHOWN_PROBLEMS) + ' are listed' if report['skipped'] > SHOWN_PROBLEMS else ''}")
        for warning in report["warnings"]:
            reporter.warn(warning)

        def rows_text(kind: str) -> str:
            if kind == "csv":
                return rows_csv(report["rows"])
            return json.dumps(report, indent=2) + "\n" if kind == "json" else \
                rows_table(report["rows"])

        if write_rows(chosen, out, rows_text):
            return
        written = fit_path("rows written to ", out, "") if out else ""
        if rows and not out:
            reporter.emit(rows_text("table"))
        head = (f"{report['model']} on {report['runtime']}, scored on {report['images']} "
                f"images of {report['data']} (split {report['split']}), "
                f"{report['images_per_s']} images/s")
        text = "" if rows and not out else reporter.wrapped(head) + "\n"
        if not (rows and not out) and not reporter.QUIET:
            text += "\n"
        text += metrics_text(metrics, short=reporter.QUIET or (rows and not out))
        reporter.emit(text + (written + "\n" if written else ""))
