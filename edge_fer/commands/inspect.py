"""`edge-fer inspect`: what a model file holds (frozen .pb, .tflite, .onnx, Keras, .dlc)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from edge_fer import reporter
from edge_fer.commands import reports_errors


def _print_report(report: dict) -> None:
    echo = typer.echo
    echo(reporter.left_ellipsis(str(report["path"]), reporter.terminal_width()))
    echo(f"{report['format']}, {reporter.mib(report['bytes'])}")
    for key in ("parameters", "flops"):
        if report.get(key) is not None:
            echo(f"{key}: {report[key]:,}")
    if report.get("not_read"):
        echo(reporter.wrapped(f"not read: {report['not_read']}", indent="  "))
    for role in ("inputs", "outputs"):
        if not report[role]:
            continue
        columns = list(dict.fromkeys(key for tensor in report[role] for key in tensor))
        echo(f"{role}:")
        echo(reporter.table_text(columns, [[str(tensor.get(c, "")) for c in columns]
                                           for tensor in report[role]],
                                 shrink=columns.index("name") if "name" in columns else 0), nl=False)
    if report["ops"]:
        echo(reporter.wrapped("ops: " + ", ".join(f"{op} {n}" for op, n in report["ops"].items()),
                              indent="  "))
    spec = report.get("spec") or {}
    if "problem" in spec:
        echo(reporter.wrapped(f"spec: {spec['problem']}", indent="  "))
    elif spec:
        output = spec["output_spec"]
        echo(reporter.wrapped(f"input spec: {spec['input']}", indent="  "))
        echo(reporter.wrapped(f"colour and normalisation: {spec['normalisation']}", indent="  "))
        echo(reporter.wrapped(f"output spec: {output['name']!r} {len(output['labels'])} labels "
                              f"({', '.join(output['labels'])}), {output['activation']}", indent="  "))


def register(app: typer.Typer) -> None:
    @app.command("inspect", epilog="Example:\n\n  edge-fer inspect model.pb --json")
    @reports_errors
    def inspect(
        model: Path = typer.Argument(..., help="A frozen .pb, .tflite, .onnx, Keras (.keras/.h5) or .dlc model."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Inputs, outputs, op histogram, parameter count, FLOPs and size of a model file."""
        from edge_fer.commands.preflight import require_exists

        require_exists(model, "model file")
        from edge_fer.analysis.inspect import inspect_model

        report = inspect_model(model)
        if as_json:
            typer.echo(json.dumps(report, indent=2, default=str))
        else:
            _print_report(report)
