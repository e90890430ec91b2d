"""`edge-fer bench`: latency, throughput, size and memory of models on every runtime here."""

from __future__ import annotations

from pathlib import Path

import typer

from edge_fer import reporter
from edge_fer.commands import reports_errors

EXAMPLE = """
Example:

  edge-fer bench model/model.pb model/tflite/*.tflite model/onnx/*.onnx --batch 1,32 --threads 1,2 --json bench.json --plot bench.png

  edge-fer bench model/qnn/model_qnn.onnx --runtimes qnn --iterations 50 --json -
"""


def register(app: typer.Typer) -> None:
    @app.command("bench", help="Benchmark models on their runtimes: warm-up, then p50/p90/p99 "
                 "latency, throughput, model size, FLOPs and peak memory per runtime, precision, "
                 "batch and thread count. Each case runs in a fresh process. A table on screen; "
                 "--json for scripts; --plot for a bar chart.\n" + EXAMPLE)
    @reports_errors
    def bench(
        models: list[Path] = typer.Argument(..., help="Model files: .pb (tf), .tflite, .onnx "
                                            "(a QDQ .onnx also runs on qnn, a _ctx.onnx on qnn "
                                            "only)."),
        runtimes: str = typer.Option(None, "--runtimes", "-r", help="Comma-separated runners "
                                     "to use (tf, tflite, onnx, qnn, ...); each model runs on "
                                     "those that take its file type. Default: the file's own "
                                     "runner (+ qnn for QDQ .onnx)."),
        batch: str = typer.Option("1", "--batch", help="Batch sizes, comma-separated (1,32)."),
        threads: str = typer.Option("auto", "--threads", help="CPU thread counts, "
                                    "comma-separated (1,2); auto = the runtime's default."),
        iterations: int = typer.Option(200, "--iterations", "-n", min=1, help="Timed calls "
                                       "per case."),
        warmup: int = typer.Option(10, "--warmup", min=0, help="Untimed calls before timing."),
        max_seconds: float = typer.Option(20.0, "--max-seconds", help="Stop timing a case "
                                          "after this long (at least 5 calls); the calls made "
                                          "are reported."),
        json_path: Path = typer.Option(None, "--json", help="Write the results as JSON to this "
                                       "file ('-': print JSON instead of the table)."),
        plot: Path = typer.Option(None, "--plot", help="Write a bar chart (PNG, or the format "
                                  "of the suffix)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress messages."),
    ) -> None:
        from edge_fer.benchmarks.bench import (
            BenchSettings,
            format_json,
            format_table,
            parse_int_list,
            plot_report,
            run_bench,
            write_json,
        )

        to_stdout = json_path is not None and str(json_path) == "-"
        reporter.set_quiet(quiet or to_stdout)
        chosen = [r.strip() for r in runtimes.split(",") if r.strip()] if runtimes else None
        report = run_bench(
            models, chosen, parse_int_list(batch, "--batch"),
            parse_int_list(threads, "--threads", allow_auto=True),
            BenchSettings(iterations=iterations, warmup=warmup, max_seconds=max_seconds))
        if to_stdout:
            typer.echo(format_json(report), nl=False)
        else:
            typer.echo(format_table(report), nl=False)
            if json_path is not None:
                write_json(report, json_path)
                reporter.info(f"wrote {json_path}")
        if plot is not None and any(row.status == "measured" for row in report.rows):
            plot_report(report, plot)
            reporter.info(f"wrote {plot}")
        if report.exit_code:
            raise typer.Exit(report.exit_code)
