"""`edge-fer convert`: a frozen `.pb`, Keras file or SavedModel → SNPE DLC, TFLite, ONNX and QNN
files, each with a manifest holding the model's input and output specification."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from edge_fer import reporter
from edge_fer.commands import reports_errors
from edge_fer.commands.options import Color, choice, parsed_by, plain
from edge_fer.converters import ALL, PRECISIONS, TARGETS


def _dims(text: str) -> list[int]:
    from edge_fer.converters.source import parse_dims

    return parse_dims(text)


Target = choice("Target", [t.name for t in TARGETS] + [ALL])
Precision = choice("Precision", PRECISIONS)

EXAMPLE = """
Examples:

  edge-fer convert model.pb --target dlc --precision int8 --calib raws/input_list.txt --soc sm8650    (SNPE SDK)

  edge-fer convert model.pb --target qnn --soc sm8650    (the qnn extra)

  edge-fer convert model.pb --target all --out exported/

  edge-fer convert model.pb --target tflite --precision int8 --calib synthetic

  edge-fer convert --target qnn --soc sm8650    (the shipped model, into ./qnn/)

  edge-fer convert other.pb --input input_1 --input-shape 1,64,64,1 --output Identity --mean 0.5 --std 0.5 --target tflite

  edge-fer convert mini_xception.keras --target tflite --labels labels8.txt

  edge-fer convert model.pb --target qnn --precision fp16 --soc sm8650    (qnn extra; or w8a16: 16-bit activations)

Files, one folder per target under --out (default: beside the model), for model.pb: dlc/model.dlc, dlc/model_int8.dlc; tflite/model.tflite, tflite/model_fp16.tflite, tflite/model_int8.tflite (int8 in/out), tflite/model_int8_float_io.tflite (float in/out); onnx/model.onnx, onnx/model_int8.onnx (QDQ); qnn/model_qnn.onnx (QDQ for QNN; w8a16: model_qnn_w8a16.onnx; fp16: model_qnn_fp16.onnx), qnn/model_qnn_sm8650_ctx.onnx (+ _qnn.bin) per SoC (model_qnn_w8a16_sm8650_ctx.onnx, ...). int8 DLC and ONNX also write the fp32 file they quantize. Each file <name>.<ext> gets a manifest <name>.json beside it (source sha256, exact command, tensors, calibration, check against the TF graph), and each folder a labels.txt.

--calib takes an SNPE input list (*.txt naming float32 raws of the model's input, 48x48x1 for edge-fer's own; all are used) or a data-set spec as for edge-fer train --data; default: the built-in synthetic faces.

Exit codes: 0 done, 1 bad input or conversion error, 2 usage error, 3 SDK/tool missing (the commands that would run are printed).
"""


def _checks_text(checks: dict | None) -> str:
    if not checks:
        return ""
    text = (f"max|Δp| {checks['max_abs_dp']:.1e}, top-1 {checks['top1_agreement']:.1%} "
            f"(n={checks['inputs']})")
    if checks["top1_agreement"] < 1.0 and checks.get("top1_agreement_decisive") is not None:
        text += (f"; {checks['top1_agreement_decisive']:.1%} where top-2 trails by ≥1/256 "
                 f"(n={checks['decisive_inputs']})")
    return text


def _shown_path(path: Path | None, out_dir: Path | None) -> str:
    """`tflite/model.tflite`: the file within the output folder (whose name is the title's)."""
    if path is None:
        return ""
    if out_dir is not None and path.is_relative_to(out_dir):
        return str(path.relative_to(out_dir))
    return str(path)


def _short(reason: str) -> str:
    """The head of a reason ('snpe-dlc-quantize not found'); the whole one is printed below."""
    return reason.split(": ", 1)[0]


def _print_table(report) -> None:
    echo = typer.echo
    width = reporter.terminal_width()
    echo(f"model: {reporter.left_ellipsis(str(report.model), width - 7)}")
    echo(f"into:  {reporter.left_ellipsis(str(report.out_dir or '.'), width - 7)}")
    echo(f"precision {report.precision}" + (" (dry run: nothing written)" if report.dry_run else ""))
    lines = []
    for row in report.results:
        seconds = f"{row.seconds:.1f}" if row.seconds is not None else ""
        note = _checks_text(row.checks) if row.status == "converted" else _short(row.reason)
        note = "; ".join(part for part in (row.variant, note) if part)
        lines.append([_shown_path(row.path, report.out_dir) or f"{row.target}/", row.precision,
                      row.status,
                      reporter.mib(row.size, unit=False),
                      seconds, note])
    echo(reporter.table_text(["file", "precision", "status", "MiB", "s",
                              "what / vs TF graph / why"], lines, shrink=0, right=(3, 4)), nl=False)
    if report.input_spec is not None:
        echo(reporter.wrapped(f"input {report.input_spec.describe()}; output "
                              f"{report.output_spec.name!r}: {report.output_spec.classes} labels, "
                              f"{report.output_spec.activation}", indent="  "))
    for reason in dict.fromkeys(row.reason for row in report.results if row.reason):
        kind = "skipped" if _short(reason).endswith(("not found", "not installed")) \
            or reason.startswith("needs the") else "why"
        names = ", ".join(dict.fromkeys(r.target for r in report.results if r.reason == reason))
        echo(reporter.wrapped(f"{kind} ({names}): {reason}", indent="  "))
    listed = [row for row in report.results if row.status in ("planned", "skipped") and row.commands]
    if listed:
        echo("commands that would run:" if not report.dry_run else "commands:")
        for row in listed:
            echo(f"  {row.path}:")
            for command in row.commands:
                echo(f"    {command}")


def register(app: typer.Typer) -> None:
    from edge_fer.converters import ALL_DEFAULT_PRECISION

    own_defaults = ", ".join(f"{t.name}: {t.default_precision}" for t in TARGETS
                             if t.default_precision != ALL_DEFAULT_PRECISION)

    from edge_fer.platform.qnn import SOCS

    targets_text = "\n\n".join(f"{t.name} ({', '.join(t.precisions)}): {t.summary}." for t in TARGETS)

    @app.command("convert", help="Convert a frozen graph to SNPE DLC, TFLite, ONNX and QNN "
                 "HTP models, each written atomically with a .json manifest and labels.txt.\n"
                 + EXAMPLE, epilog="Targets (precisions):\n\n" + targets_text
                 + "\n\nall: every target this install has the tools for.\n\n"
                 f"--precision default: {ALL_DEFAULT_PRECISION}; a single --target "
                 f"{own_defaults}. --target all converts at one precision.\n\n"
                 "--soc: int8 (qnn: also w8a16, fp16) for these Snapdragon SoCs' HTP; qnn "
                 "compiles a context model per SoC, dlc runs snpe-dlc-quantize --enable_htp "
                 "--htp_socs. SoCs: " + ", ".join(f"{soc.name} ({soc.marketing_name})"
                                                  for soc in SOCS) + ".")
    @reports_errors
    def convert(
        model: Path = typer.Argument(None, help="A frozen .pb, a Keras file, a SavedModel "
                                     "folder or a shipped model's name (default: best)."),
        target: Target = typer.Option(..., "--target", "-t", help="What to convert to (see "
                                      "Targets below)."),
        precision: Precision = typer.Option(None, "--precision", "-p",
                                            help="fp32, fp16, int8 or w8a16, as the target "
                                            "offers (see below)."),
        calib: str = typer.Option(None, "--calib", help="int8 calibration: SNPE input list "
                                  "(.txt) or data-set spec; default: built-in synthetic faces."),
        calib_count: int = typer.Option(100, "--calib-count", min=1, help="Calibration images taken "
                                        "from a data set (an input list is used whole)."),
        out: Path = typer.Option(None, "--out", "-o", help="Folder for the output; each target writes "
                                 "into its own subfolder (dlc/, tflite/, onnx/, qnn/). Default: "
                                 "the model's folder."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the files and exact "
                                     "commands; convert and write nothing."),
        dynamic_batch: bool = typer.Option(False, "--dynamic-batch", help="onnx, tflite: free batch "
                                           "dimension (default: the graph's fixed batch)."),
        socs: list[str] = typer.Option(None, "--soc", "--htp-socs", metavar="<soc>",
                                       help="Compile for these Snapdragon SoCs, e.g. sm8650 "
                                       "(repeat it or give a list; see below)."),
        verify_count: int = typer.Option(200, "--verify-count", min=0, help="Check each TFLite/ONNX "
                                         "file against the TF graph on this many inputs "
                                         "(0: no check)."),
        input_name: str = typer.Option(None, "--input", help="A frozen graph's image placeholder "
                                       "(default: x, else its only placeholder)."),
        input_shape: str = typer.Option(None, "--input-shape", callback=parsed_by(_dims),
                                        help="Its dimensions N,H,W,C (or "
                                        "N,C,H,W), e.g. 1,64,64,1: completes what the graph "
                                        "leaves free; a free batch is 1."),
        output_name: str = typer.Option(None, "--output", help="A frozen graph's class-score node "
                                        "(default: output, else its only unconsumed node)."),
        labels_file: Path = typer.Option(None, "--labels", help="The model's labels, one per "
                                         "line in output order, any count (default: labels.txt "
                                         "beside the model, else FER2013's seven)."),
        color: Color = typer.Option(None, "--color", show_default=False, help="The input's channel "
                                  "order (default: gray for 1 channel, rgb for 3)."),
        mean: str = typer.Option(None, "--mean", help="A or A,B,C: the model takes "
                                 "(pixel/255 - mean) / std (default 0); calibration and check "
                                 "inputs are made so, and the manifest keeps it."),
        std: str = typer.Option(None, "--std", help="A or A,B,C (default 1)."),
        unsafe_keras: bool = typer.Option(False, "--unsafe-keras", help="Let Keras run Python "
                                          "code stored in a .keras/.h5 file (Lambda layers). "
                                          "Only for files you trust; off: such files are refused."),
        as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    ) -> None:
        from edge_fer.commands import preflight

        preflight.require_model(model)
        preflight.require_calib(calib)
        preflight.require_file(labels_file, "labels file")
        preflight.require_output_folder(out)
        from edge_fer.converters import ConvertRequest, convert_model
        from edge_fer.errors import EdgeFerError, ToolMissingError
        from edge_fer.training.pretrained import model_or_default, names_shipped_model

        if names_shipped_model(model) and out is None:  # not beside it: that is the installed package
            from edge_fer.outputs import new_output_dir

            out = new_output_dir("convert", str(model or "best"))
        model = model_or_default(model, note=f", output in {out}")
        htp_socs = ",".join(name for value in socs or () for name in value.replace(",", " ").split())
        report = convert_model(ConvertRequest(
            model=model, target=plain(target), precision=plain(precision), calib=calib,
            calib_count=calib_count, verify_count=verify_count, out_dir=out, dry_run=dry_run,
            dynamic_batch=dynamic_batch, htp_socs=htp_socs or None, input_name=input_name,
            output_name=output_name, input_shape=input_shape, unsafe_keras=unsafe_keras,
            labels=labels_file, color=plain(color), mean=mean, std=std))
        if as_json:
            typer.echo(json.dumps(report.as_dict(), indent=2))
        else:
            _print_table(report)
        failed = [row for row in report.results if row.status == "failed"]
        if failed:
            raise EdgeFerError(f"{len(failed)} target(s) failed: "
                               + "; ".join(f"{row.target}: {row.reason}" for row in failed))
        if report.missing_tool:
            raise ToolMissingError(report.missing_tool)
