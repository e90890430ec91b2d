"""`edge-fer compare`: one input list through several models/runtimes, checked against the first."""

from __future__ import annotations

from pathlib import Path

import typer

from edge_fer.commands import reports_errors

EXAMPLE = """
Example:

  edge-fer compare model.pb model.tflite model_int8.tflite model.onnx -i raws/input_list.txt

  edge-fer compare model.pb runs/run/snpe --input-list raws/input_list.txt --json
"""


def register(app: typer.Typer) -> None:
    @app.command("compare", help="Run the same inputs through several models or runtimes (or "
                 "read their output folders) and report top-1 agreement and max |Δp| against "
                 "the first. MODEL@RUNTIME picks a runner.\n" + EXAMPLE)
    @reports_errors
    def compare(
        targets: list[str] = typer.Argument(..., help="Model files (MODEL[@RUNTIME]) or folders "
                                            "of Result_<i>; the first is the reference."),
        input_list: Path = typer.Option(..., "--input-list", "-i", help="input_list.txt the "
                                        "targets ran on."),
        batch: int = typer.Option(1, "--batch", min=1, help="Images per call for model targets."),
        threads: int = typer.Option(None, "--threads", min=1, help="CPU threads per runtime."),
        as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
        force: bool = typer.Option(False, "--force", help="Compare output folders although "
                                   "their run.json names another input list."),
    ) -> None:
        from edge_fer.commands.preflight import require_exists, require_file

        require_file(input_list, "input list")
        for target in targets:  # MODEL[@RUNTIME] or a folder of Result_<i>, all before any runs
            require_exists(target.rsplit("@", 1)[0] if not Path(target).exists() else target,
                           "model file or output folder")
        from edge_fer.analysis.compare import compare as run_compare
        from edge_fer.analysis.compare import format_json, format_table

        rows = run_compare(targets, input_list, batch=batch, threads=threads, force=force)
        typer.echo(format_json(rows) if as_json else format_table(rows), nl=False)
