"""`edge-fer models`: the shipped models — size, cost, PublicTest accuracy, latency, recipe."""

from __future__ import annotations

import json

import typer

from edge_fer.commands import reports_errors


def _percent(value: float | None) -> str:
    return f"{100 * value:.2f} %" if value is not None else "—"


def _print_table(rows: list[dict]) -> None:
    from edge_fer import reporter

    lines = []
    for row in rows:
        if not row["shipped"]:
            lines.append([row["name"], "not shipped", *[""] * 6])
            continue
        latency = row["int8_tflite_latency_ms"]
        lines.append([row["name"], f"{row['parameters']:,}" if row["parameters"] else "—",
                      f"{row['mflop_per_face']:.1f}" if row["mflop_per_face"] else "—",
                      reporter.mib(row["bytes"], unit=False), _percent(row["public_test_float"]),
                      _percent(row["public_test_int8"]), _percent(row.get("int8_agreement")),
                      f"{latency:.2f}" if latency else "—"])
    typer.echo("shipped models (use the name wherever a model file is taken):")
    typer.echo(reporter.table_text(["name", "params", "MFLOP\n/face", "MiB", "PublicTest\nfloat",
                                    "PublicTest\nint8", "int8 top-1\n= float", "int8 TFLite\nms"],
                                   lines, shrink=0, right=(1, 2, 3, 4, 5, 6, 7)), nl=False)
    for row in rows:
        typer.echo(reporter.wrapped(f"{row['name']}: {row['summary']}"))
        if row.get("recipe"):
            typer.echo(reporter.wrapped(f"  recipe: {row['recipe']}", indent="    "))


def register(app: typer.Typer) -> None:
    @app.command("models", epilog="Examples:\n\n  edge-fer models\n\n  edge-fer convert best --target tflite --out model/best")
    @reports_errors
    def models(as_json: bool = typer.Option(False, "--json", help="Print the list as JSON.")) -> None:
        """List the shipped models: parameters, MFLOP per face, file size, PublicTest accuracy
        (float and int8), how often int8's top-1 label is float's on PublicTest, int8 TFLite
        latency (batch 1) and the command that rebuilds each."""
        from edge_fer.training.pretrained import describe_shipped

        rows = describe_shipped()
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
        else:
            _print_table(rows)
