"""`edge-fer freeze`: a training run → inference-only frozen `.pb`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from edge_fer import reporter
from edge_fer.commands import reports_errors
from edge_fer.commands.options import CHECKPOINTS, choice, plain

Checkpoint = choice("Checkpoint", CHECKPOINTS)


def register(app: typer.Typer) -> None:
    @app.command("freeze", epilog="Examples:\n\n"
                 "  edge-fer freeze runs/train/fer --out model/model.pb\n\n"
                 "  edge-fer freeze runs/train/a runs/train/b --out model/ensemble.pb    "
                 "(an ensemble)")
    @reports_errors
    def freeze(
        run: list[Path] = typer.Argument(..., help="Run folder written by edge-fer train; several runs "
                                         "are frozen into one ensemble graph averaging their softmaxes."),
        out: Path = typer.Option(None, "--out", "-o", show_default=False, help="File for the frozen "
                                 "graph, labels.txt beside it (default: runs/freeze/exp<N>/model.pb)."),
        checkpoint: Checkpoint = typer.Option("best", help="Which checkpoint of the run."),
        input_batch: int = typer.Option(1, "--input-batch", min=0, help="Fixed batch dimension of the graph's input x (0: dynamic)."),
        tta_flip: bool = typer.Option(False, help="Average the softmax of x and its mirror image inside the graph."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Fold batch norm, drop dropout and training ops, check the ops SNPE takes, verify against the checkpoint(s)."""
        from edge_fer.training.freeze import freeze_run

        checkpoint = plain(checkpoint)
        if out is None:
            from edge_fer.outputs import new_output_dir

            out = new_output_dir("freeze") / "model.pb"
        summary = freeze_run(run, out, checkpoint, input_batch or None, tta_flip=tta_flip)
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
            return
        ops = ", ".join(f"{op} {n}" for op, n in sorted(summary["ops"].items()))
        typer.echo(f"froze {summary['arch']} from {summary['checkpoint']} → {out} "
                   f"({reporter.mib(summary['bytes'])}, max |Δp| vs checkpoint "
                   f"{summary['max_abs_diff_vs_checkpoint']:.1e})\nops: {ops}")
