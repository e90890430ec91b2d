"""`edge-fer inspect`: what a model file holds (frozen .pb, .tflite, .onnx)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from edge_fer import reporter
from edge_fer.commands import reports_errors


def _print_report(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{report['path']}[/bold] — {report['format']}, {reporter.mib(report['bytes'])}")
    for key in ("parameters", "flops"):
        if key in report:
            console.print(f"{key}: {report[key]:,}")
    for role in ("inputs", "outputs"):
        table = Table(title=role, title_justify="left")
        columns = list(dict.fromkeys(key for tensor in report[role] for key in tensor))
        for column in columns:
            table.add_column(column)
        for tensor in report[role]:
            table.add_row(*(str(tensor.get(c, "")) for c in columns))
        console.print(table)
    console.print("ops: " + ", ".join(f"{op} {n}" for op, n in report["ops"].items()))
    spec = report.get("spec") or {}
    if "problem" in spec:
        console.print(f"spec: {spec['problem']}", markup=False)
    elif spec:
        output = spec["output_spec"]
        console.print(f"input spec: {spec['input']}", markup=False)
        console.print(f"output spec: {output['name']!r} {len(output['labels'])} labels "
                      f"({', '.join(output['labels'])}), {output['activation']}", markup=False)


def register(app: typer.Typer) -> None:
    @app.command("inspect", epilog="Example: edge-fer inspect model.pb --json")
    @reports_errors
    def inspect(
        model: Path = typer.Argument(..., help="A frozen .pb, a .tflite or an .onnx model."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Inputs, outputs, op histogram, parameter count, FLOPs and size of a model file."""
        from edge_fer.analysis.inspect import inspect_model

        report = inspect_model(model)
        if as_json:
            typer.echo(json.dumps(report, indent=2, default=str))
        else:
            _print_report(report)
