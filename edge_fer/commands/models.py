"""`edge-fer models`: the shipped models — size, cost, PublicTest accuracy, latency, recipe."""

from __future__ import annotations

import json

import typer

from edge_fer.commands import reports_errors


def _percent(value: float | None) -> str:
    return f"{100 * value:.2f} %" if value is not None else "—"


def _print_table(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="shipped models (use the name wherever a model file is taken)", title_justify="left")
    for column in ("name", "parameters", "MFLOP/face", "size MiB", "PublicTest float", "PublicTest int8",
                   "int8 TFLite ms"):
        table.add_column(column, justify="left" if column == "name" else "right")
    for row in rows:
        if not row["shipped"]:
            table.add_row(row["name"], "not shipped in this installation", *[""] * 5)
            continue
        latency = row["int8_tflite_latency_ms"]
        table.add_row(row["name"], f"{row['parameters']:,}" if row["parameters"] else "—",
                      f"{row['mflop_per_face']:.1f}" if row["mflop_per_face"] else "—",
                      f"{row['bytes'] / 2**20:.2f}", _percent(row["public_test_float"]),
                      _percent(row["public_test_int8"]), f"{latency:.2f}" if latency else "—")
    console = Console(width=max(120, Console().width))
    console.print(table)
    for row in rows:
        console.print(f"[bold]{row['name']}[/bold]: {row['summary']}")
        if row.get("recipe"):
            console.print(f"  recipe: {row['recipe']}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command("models", epilog="Example: edge-fer models; edge-fer convert fast --target tflite")
    @reports_errors
    def models(as_json: bool = typer.Option(False, "--json", help="Print the list as JSON.")) -> None:
        """List the shipped models: parameters, MFLOP per face, file size, PublicTest accuracy
        (float and int8), int8 TFLite latency (batch 1) and the command that rebuilds each."""
        from edge_fer.training.pretrained import describe_shipped

        rows = describe_shipped()
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
        else:
            _print_table(rows)
