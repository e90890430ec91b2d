"""`edge-fer run`: an input list through a model on one runtime → Result_<i>/output.raw folders."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from edge_fer.commands import reports_errors
from edge_fer.commands.options import (
    BATCH_LIMIT,
    COLOR_OPTION,
    MEAN_OPTION,
    RAW_DTYPES,
    RUNTIMES,
    SNPE_RUNTIMES,
    STD_OPTION,
    Color,
    choice,
    input_flags,
    plain,
)

Runtime = choice("Runtime", RUNTIMES)
RawDtype = choice("RawDtype", RAW_DTYPES)
SnpeRuntime = choice("SnpeRuntime", SNPE_RUNTIMES)

EXAMPLE = """
Example:

  edge-fer run model.tflite --input-list raws/input_list.txt --out runs/run/int8 --batch 16

  edge-fer run model.dlc -i raws/input_list.txt --snpe-runtime dsp --device "$(adb get-serialno)"    (SNPE SDK and a phone over adb)

  edge-fer run qnn/model_qnn_sm8650_ctx.onnx --input-list raws/input_list.txt --profile    (the qnn extra)

  edge-fer run --input-list raws/input_list.txt    (the shipped model)

Runtimes: .pb runs on tf, .tflite on tflite, .onnx on onnx, .dlc on snpe, _ctx.onnx on qnn (the
longest suffix that matches); a QDQ .onnx runs on qnn with --runtime qnn. A shipped model's
name (edge-fer models) stands for its .pb.
"""


def register(app: typer.Typer) -> None:
    @app.command("run", help="Run a model over an input list and write Result_<i>/output.raw "
                 "folders (the snpe-net-run layout) for every runtime.\n" + EXAMPLE)
    @reports_errors
    def run(
        model: Path = typer.Argument(None, help="A model file (.pb, .tflite, .onnx, "
                                     ".dlc, _ctx.onnx) or a shipped model's name (default: "
                                     "best)."),
        input_list: Path = typer.Option(..., "--input-list", "-i", help="input_list.txt from "
                                        "raw-inputs (SNPE format)."),
        output_dir: Path = typer.Option(None, "--out", "-o", show_default=False,
                                        help="Folder for the Result_<i> folders (default: a "
                                        "new runs/run/exp<N>)."),
        runtime: Runtime = typer.Option(None, "--runtime", "-r", help="tf, tflite, onnx, snpe or qnn "
                                    "(default: by the file's suffix; see below)."),
        batch: int = typer.Option(1, "--batch", min=1, max=BATCH_LIMIT,
                                  help="Images per inference call."),
        threads: int = typer.Option(None, "--threads", min=1, help="CPU threads for the runtime."),
        input_dtype: RawDtype = typer.Option(None, "--input-dtype", show_default=False,
                                             help="How the raws are stored: float32 or uint8 "
                                             "(default: what raw-inputs recorded; float32)."),
        snpe_runtime: SnpeRuntime = typer.Option(None, "--snpe-runtime", help="snpe only: cpu, gpu, dsp "
                                         "or aip (snpe-net-run --use_gpu/--use_dsp/--use_aip)."),
        device: str = typer.Option(None, "--device", help="snpe only: adb serial of the device "
                                   "to run on."),
        profile: bool = typer.Option(False, "--profile", help="qnn only: keep QNN's profiling "
                                     "CSV (qnn_profile.csv) in the output folder and report the "
                                     "execute time per inference."),
        color: Color = COLOR_OPTION,
        mean: str = MEAN_OPTION,
        std: str = STD_OPTION,
        as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
    ) -> None:
        from edge_fer.commands.preflight import require_output_folder
        from edge_fer.outputs import output_dir as default_output
        from edge_fer.runners import runner_for
        from edge_fer.runners.base import flags_for_raws
        from edge_fer.tensors.rawio import read_input_list
        from edge_fer.training.pretrained import model_or_default

        require_output_folder(output_dir)
        model = model_or_default(model)
        runtime, input_dtype, snpe_runtime = plain(runtime), plain(input_dtype), plain(snpe_runtime)
        spec = runner_for(model, runtime)
        parsed = read_input_list(input_list)
        flags = flags_for_raws(parsed, model, input_flags(color, mean, std))
        output_dir = default_output(output_dir, "run")
        runner = spec.load(model, threads=threads, snpe_runtime=snpe_runtime, device=device,
                            profile=profile or None, input_flags=flags)
        try:
            timings = runner.run_list(parsed, output_dir, batch=batch, input_dtype=input_dtype)
        finally:
            runner.close()
        summary = {"model": str(model), "runtime": spec.name, "inputs": len(parsed),
                   "output_dir": str(output_dir), "batch": batch, **timings.summary()}
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
            return
        per_image = f"{summary['mean_ms']:.3f} ms per image" if summary["mean_ms"] else ""
        if spec.name == "qnn" and per_image:
            from edge_fer.platform.qnn import is_emulator

            per_image += " on Qualcomm's HTP emulator, not a device" if is_emulator() else ""
        typer.echo(f"{spec.name}: {len(parsed)} inputs → {output_dir}/Result_0..{len(parsed) - 1}"
                   f" in {timings.total_s:.2f} s (load {timings.load_s:.2f} s; {per_image}"
                   f"{', ' + timings.note if timings.note else ''})")
