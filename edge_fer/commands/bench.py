"""`edge-fer bench`: latency, throughput, size and memory of models on every runtime here."""

from __future__ import annotations

from pathlib import Path

import typer

from edge_fer import reporter
from edge_fer.commands import reports_errors
from edge_fer.commands.options import RUNTIMES, complete_list, finite

COMPLETE_RUNTIMES = complete_list(RUNTIMES)
EXAMPLE = """
Example:

  edge-fer bench model/model.pb model/tflite/*.tflite model/onnx/*.onnx --batch 1,32 --threads 1,2 --out bench.json --plot bench.png

  edge-fer bench model/qnn/model_qnn.onnx --runtime qnn --iterations 50 --json    (qnn extra)

--runtime: each model runs on those of the runtimes given that take its file type; default: the
file's own runner, and qnn too for a QDQ .onnx when the qnn extra is installed. qnn latency on
x86_64 is Qualcomm's HTP emulator's, not a device's.
"""


def register(app: typer.Typer) -> None:
    @app.command("bench", help="Benchmark models on their runtimes: warm-up, then p50/p90/p99 "
                 "latency, throughput, model size, FLOPs and peak memory per runtime, precision, "
                 "batch and thread count. Each case runs in a fresh process. A table on screen "
                 "(p50/p99/std per call, the first call, ms/img = p50 / batch, img/s = batch / "
                 "mean latency); --json for scripts; --plot for a bar chart.\n" + EXAMPLE)
    @reports_errors
    def bench(
        models: list[Path] = typer.Argument(..., help="Model files: .pb (tf), .tflite, .onnx "
                                            "(a QDQ .onnx also runs on qnn, a _ctx.onnx on qnn "
                                            "only)."),
        runtimes: list[str] = typer.Option(None, "--runtime", "--runtimes", "-r",
                                           autocompletion=COMPLETE_RUNTIMES, help="Runners "
                                           "(tf, tflite, onnx, qnn, snpe; repeat it or give a "
                                           "list; see below)."),
        batch: str = typer.Option("1", "--batch", help="Images per call: batch sizes, "
                                  "comma-separated (1,32), one case each."),
        threads: str = typer.Option("auto", "--threads", help="CPU thread counts, "
                                    "comma-separated (1,2); auto = every core."),
        iterations: int = typer.Option(200, "--iterations", "-n", min=1, help="Timed calls "
                                       "per case."),
        warmup: int = typer.Option(10, "--warmup", min=0, help="Untimed calls before timing."),
        max_seconds: float = typer.Option(20.0, "--max-seconds", callback=finite(0, low_open=True), help="Stop timing a case "
                                          "after this long (at least 5 calls); the calls made "
                                          "are reported."),
        as_json: bool = typer.Option(False, "--json", help="Print the results as JSON (fields "
                                     "described in the JSON itself) instead of the table."),
        out: Path = typer.Option(None, "--out", "-o", help="File to also write the results to, "
                                 "as JSON."),
        plot: Path = typer.Option(None, "--plot", help="Write a bar chart (PNG, or the format "
                                  "of the suffix)."),
    ) -> None:
        from edge_fer.benchmarks.bench import run_bench
        from edge_fer.benchmarks.cases import parse_int_list
        from edge_fer.benchmarks.plot import plot_report
        from edge_fer.benchmarks.report import BenchSettings, format_json, write_json
        from edge_fer.benchmarks.table import table_text
        from edge_fer.errors import UsageError

        if out is not None and str(out) == "-":
            raise UsageError("--out takes a file; --json prints the JSON on stdout")
        chosen = [name for value in runtimes or () for name in value.replace(",", " ").split()]
        report = run_bench(
            models, chosen or None, parse_int_list(batch, "--batch"),
            parse_int_list(threads, "--threads", allow_auto=True),
            BenchSettings(iterations=iterations, warmup=warmup, max_seconds=max_seconds))
        reporter.emit(format_json(report) if as_json else table_text(report))
        if out is not None:
            write_json(report, out)
            reporter.info(f"wrote {out}")
        if plot is not None and any(row.status == "measured" for row in report.rows):
            plot_report(report, plot)
            reporter.info(f"wrote {plot}")
        if report.exit_code:
            raise typer.Exit(report.exit_code)
