"""`edge-fer device-bench snpe|tflite`: a model on an Android device over adb, per runtime or
delegate, with the device's labels checked against the host (edge_fer.benchmarks.device;
scripts/snpe_device_bench.py and scripts/tflite_device_bench.py call these)."""

from __future__ import annotations

from pathlib import Path

import typer

from edge_fer.commands import reports_errors
from edge_fer.commands.options import (
    PERF_PROFILES,
    SNPE_RUNTIMES,
    TFLITE_DELEGATES,
    choice,
    complete_list,
    finite,
    plain,
)

PerfProfile = choice("PerfProfile", PERF_PROFILES)
COMPLETE_SNPE_RUNTIMES = complete_list(SNPE_RUNTIMES)
COMPLETE_DELEGATES = complete_list(TFLITE_DELEGATES)

EXIT_CODES = ("Exit codes: 0 done and the labels agree; 1 a runtime failed or agreed less than "
              "--min-agreement; 2 usage error; 3 adb, a device or a tool is missing (the message "
              "says which).")
SNPE_HELP = (
    "Benchmark a DLC on an Android device with SNPE's snpe-net-run, per runtime."
    "\n\n"
    "Pushes the DLC, the raws and input list, snpe-net-run and the SDK's libraries for the "
    "device's ABI and Hexagon version over adb; runs snpe-net-run --perf_profile PROFILE "
    "ITERATIONS times per runtime; pulls the Result folders and SNPEDiag logs, reads each "
    "log with the host's snpe-diagview; writes OUT/snpe_device_bench.csv and .json (per "
    "runtime: mean, min, max total inference time) and checks the device's labels against "
    "the host reference. Needs adb with one device (or --device) and SNPE_ROOT (or "
    f"QAIRT_SDK_ROOT). {EXIT_CODES}"
    "\n\n"
    "Example:"
    "\n\n"
    "  edge-fer device-bench snpe model/dlc/model_int8.dlc -i raws/input_list.txt -o device/ -r cpu,gpu,dsp"
    "\n"
)
TFLITE_HELP = (
    "Benchmark a .tflite on an Android device with LiteRT's benchmark_model, per delegate."
    "\n\n"
    "Pushes benchmark_model (an Android build you supply: --benchmark-model), the model and"
    " the first --check-count raws over adb; runs benchmark_model --num_runs ITERATIONS for"
    " each delegate (cpu = XNNPACK, gpu, nnapi); then once per raw, pulling the outputs; "
    "writes OUT/tflite_device_bench.csv and .json (per delegate: mean, min, max inference "
    f"time) and checks the device's labels against the host reference. {EXIT_CODES}"
    "\n\n"
    "Example:"
    "\n\n"
    "  edge-fer device-bench tflite model_int8.tflite -i raws/input_list.txt --benchmark-model android_aarch64_benchmark_model -o device/"
    "\n"
)


def _names(values: list[str] | None, allowed: tuple[str, ...], option: str,
           default: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """`-r cpu,gpu -r dsp` → ('cpu', 'gpu', 'dsp'); a name not in `allowed` is a usage error."""
    from edge_fer.errors import UsageError

    chosen = tuple(name for value in values or () for name in value.replace(",", " ").split())
    unknown = [name for name in chosen if name not in allowed]
    if unknown:
        raise UsageError(f"{option} {','.join(unknown)}: not one of {', '.join(allowed)}")
    return chosen or default or allowed


def _finish(summaries, out: Path, name: str, min_agreement: float, as_json: bool) -> None:
    from edge_fer import reporter
    from edge_fer.benchmarks.device.summary import summary_json, summary_text
    from edge_fer.errors import EdgeFerError

    reporter.emit(summary_json(summaries) if as_json else summary_text(summaries))
    reporter.info(f"summary: {out / (name + '.csv')}, {out / (name + '.json')}")
    failed = [s.runtime for s in summaries if s.status != "measured"
              or (s.agreement is not None and s.agreement < min_agreement)]
    if failed:
        raise EdgeFerError(f"{out}: {', '.join(failed)} failed or agreed with the host less than "
                           f"--min-agreement {min_agreement:g}")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Benchmark a model on an Android device over adb: `snpe` (a DLC "
                        "with snpe-net-run) or `tflite` (LiteRT's benchmark_model).",
                        no_args_is_help=True)
    app.add_typer(group, name="device-bench")

    @group.command("snpe", help=SNPE_HELP + "\n\n--perf-profile: "
                   + ", ".join(p.value for p in PerfProfile) + ".",
                   short_help="Benchmark a DLC on a device with snpe-net-run.")
    @reports_errors
    def snpe(
        dlc: Path = typer.Argument(..., help="The DLC to run (edge-fer convert --target dlc)."),
        input_list: Path = typer.Option(..., "--input-list", "-i", help="input_list.txt from "
                                        "raw-inputs."),
        out: Path = typer.Option(None, "--out", "-o", show_default=False, help="Folder (default: "
                                 "new runs/device-bench/snpe<N>) for "
                                 "the Result folders, logs and the summary CSV/JSON."),
        runtimes: list[str] = typer.Option(None, "--runtime", "--runtimes", "-r",
                                           autocompletion=COMPLETE_SNPE_RUNTIMES,
                                           help="cpu, gpu, dsp (HTP), aip: repeat it or "
                                           "give a list (default: cpu,gpu,dsp)."),
        iterations: int = typer.Option(10, "--iterations", "-n", min=1, help="snpe-net-run "
                                       "runs per runtime."),
        perf_profile: PerfProfile = typer.Option("high_performance", "--perf-profile",
                                                 metavar="<profile>",
                                                 help="snpe-net-run --perf_profile (see below)."),
        device: str = typer.Option(None, "--device", help="adb serial (default: the only "
                                   "device)."),
        reference: Path = typer.Option(None, "--reference", help="Host model for the label "
                                       "check (default: the DLC's source .pb)."),
        min_agreement: float = typer.Option(0.95, "--min-agreement", callback=finite(0.0, 1.0),
                                            help="Top-1 agreement with the host required per "
                                            "runtime."),
        as_json: bool = typer.Option(False, "--json", help="Print the per-runtime rows as "
                                     "JSON."),
    ) -> None:
        from edge_fer.benchmarks.device.snpe import snpe_device_bench
        from edge_fer.outputs import output_dir

        out = output_dir(out, "device-bench", "snpe")

        summaries = snpe_device_bench(dlc, input_list, out, _names(runtimes, SNPE_RUNTIMES, "--runtime",
                                                                    ("cpu", "gpu", "dsp")),
                                      iterations, plain(perf_profile), device, reference)
        _finish(summaries, out, "snpe_device_bench", min_agreement, as_json)

    @group.command("tflite", help=TFLITE_HELP,
                   short_help="Benchmark a .tflite on a device with benchmark_model.")
    @reports_errors
    def tflite(
        model: Path = typer.Argument(..., help="The .tflite to run."),
        input_list: Path = typer.Option(..., "--input-list", "-i", help="input_list.txt from "
                                        "raw-inputs."),
        out: Path = typer.Option(None, "--out", "-o", show_default=False, help="Folder (default: "
                                 "new runs/device-bench/tflite<N>) for "
                                 "the outputs and the summary CSV/JSON."),
        benchmark_model: Path = typer.Option(None, "--benchmark-model",
                                             envvar="TFLITE_BENCHMARK_MODEL",
                                             help="LiteRT's benchmark_model built for the "
                                             "device (default: $TFLITE_BENCHMARK_MODEL)."),
        delegates: list[str] = typer.Option(None, "--delegates", "--delegate",
                                            autocompletion=COMPLETE_DELEGATES,
                                            help="cpu (XNNPACK), gpu, nnapi; repeat it or give "
                                            "a comma-separated list. Default: all three."),
        iterations: int = typer.Option(50, "--iterations", "-n", min=1, help="Timed runs per "
                                       "delegate."),
        warmup: int = typer.Option(5, "--warmup", min=0, help="Untimed runs first."),
        threads: int = typer.Option(4, "--threads", min=1, help="CPU threads (cpu delegate)."),
        check_count: int = typer.Option(20, "--check-count", min=0, help="Raws run one by one "
                                        "for the label check (0: none)."),
        device: str = typer.Option(None, "--device", help="adb serial (default: the only "
                                   "device)."),
        reference: Path = typer.Option(None, "--reference", help="Host model for the label "
                                       "check (default: the model's source .pb)."),
        min_agreement: float = typer.Option(0.95, "--min-agreement", callback=finite(0.0, 1.0),
                                            help="Top-1 agreement with the host required per "
                                            "delegate."),
        as_json: bool = typer.Option(False, "--json", help="Print the per-delegate rows as "
                                     "JSON."),
    ) -> None:
        from edge_fer.benchmarks.device.tflite import tflite_device_bench
        from edge_fer.outputs import output_dir

        out = output_dir(out, "device-bench", "tflite")

        summaries = tflite_device_bench(model, input_list, out, benchmark_model,
                                        _names(delegates, TFLITE_DELEGATES, "--delegates"), iterations, warmup,
                                        threads, check_count, device, reference)
        _finish(summaries, out, "tflite_device_bench", min_agreement, as_json)
