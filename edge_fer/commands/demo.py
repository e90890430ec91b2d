"""`edge-fer demo`: the main job end to end on the built-in data (what `make demo` runs)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from edge_fer.commands import reports_errors


def register(app: typer.Typer) -> None:
    @app.command("demo", epilog="Example:\n\n  edge-fer demo --out runs/demo/quick --epochs 1 --faces-per-class 4")
    @reports_errors
    def demo(
        out: Path = typer.Option(None, "--out", "-o", show_default=False, help="Folder for the run, "
                                 "model, faces, raws and outputs (default: new runs/demo/exp<N>)."),
        epochs: int = typer.Option(3, min=1, help="Training epochs on the synthetic faces."),
        faces_per_class: int = typer.Option(30, min=1, help="Test faces rendered per emotion."),
        seed: int = typer.Option(0),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Train → freeze → convert → raw-inputs → run on every runtime → classify, with one summary table.

        Exits 1 when a conversion or a run failed (targets skipped for a missing tool or SDK
        are not failures)."""
        from edge_fer.commands.preflight import require_output_folder

        require_output_folder(out)
        from edge_fer.outputs import output_dir

        out = output_dir(out, "demo")
        from edge_fer.demo import failures, format_summary, run_demo
        from edge_fer.errors import EdgeFerError

        summary = run_demo(out, epochs=epochs, faces_per_class=faces_per_class, seed=seed)
        typer.echo(json.dumps(summary, indent=2, default=str) if as_json else format_summary(summary))
        failed = failures(summary)
        if failed:  # the table is printed first; the exit status says the demo did not pass
            raise EdgeFerError(f"{len(failed)} step(s) failed: " + "; ".join(failed))
