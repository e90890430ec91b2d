"""Qualcomm SNPE DLC: snpe-tensorflow-to-dlc, then snpe-dlc-quantize for int8, then snpe-dlc-info.

The SDK is found per CONVENTIONS (SNPE_ROOT, QAIRT_SDK_ROOT, PATH). The converter's own `--help`
decides between SNPE 2.x flag names (`--input_network`/`--output_path`) and 1.x ones
(`--graph`/`--dlc`). Every tool's success line is checked as well as its exit code. The op check
of the freezer runs before any SDK tool is called.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from edge_fer.converters.base import ConvertJob, Step, default_io
from edge_fer.converters.calibration import snpe_input_list_path, write_snpe_input_list
from edge_fer.errors import EdgeFerError
from edge_fer.platform.sdk import SDK_HINT, find_sdk_tool, sdk_info
from edge_fer.platform.tools import last_lines, run_tool
from edge_fer.tensors.graphio import check_snpe_ops

TARGET = "dlc"
SUFFIX = ".dlc"
CONVERTER = "snpe-tensorflow-to-dlc"
QUANTIZER = "snpe-dlc-quantize"
INFO = "snpe-dlc-info"
CONVERTED = ("Conversion completed successfully",)
QUANTIZED = ("Writing quantized model", "Saved quantized dlc")
UNRESOLVED = "Some operations in the Tensorflow graph were not resolved to a layer"
INFO_LINES_KEPT = 200


@dataclass(frozen=True)
class FlagStyle:
    sdk: str       # which SDK generation uses these names
    input: str
    output: str


FLAG_STYLES = (FlagStyle("2.x", "--input_network", "--output_path"),
               FlagStyle("1.x", "--graph", "--dlc"))


def tools_needed(job: ConvertJob) -> tuple[str, ...]:
    return (CONVERTER, INFO, QUANTIZER) if job.precision == "int8" else (CONVERTER, INFO)


def missing(job: ConvertJob) -> str | None:
    for tool in tools_needed(job):
        if find_sdk_tool(tool) is None:
            return f"{tool} not found: {SDK_HINT}"
    return None


def _offers(help_text: str, flag: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", help_text) is not None


def flag_style(converter: Path | None) -> FlagStyle:
    """The flag names this converter takes, read from its --help (2.x names when not installed)."""
    if converter is None:
        return FLAG_STYLES[0]
    help_text = run_tool([str(converter), "--help"], merge=True).output
    for style in FLAG_STYLES:
        if _offers(help_text, style.input) and _offers(help_text, style.output):
            return style
    raise EdgeFerError(f"{converter}: --help names neither --input_network/--output_path (SNPE 2.x) "
                       f"nor --graph/--dlc (SNPE 1.x); cannot tell how to call it "
                       f"({last_lines(help_text)})")


def _tool(name: str) -> str:
    found = find_sdk_tool(name)
    return str(found) if found else name


def convert_argv(job: ConvertJob, converter: str, style: FlagStyle, output: Path) -> list[str]:
    dims = ",".join(str(d) for d in job.input_shape())
    return [converter, style.input, str(job.model.resolve()), "--input_dim", job.input_name,
            dims, "--out_node", job.output_name, style.output, str(output.resolve())]


def quantize_argv(job: ConvertJob, quantizer: str, fp32: Path, input_list: Path,
                  output: Path) -> list[str]:
    argv = [quantizer, "--input_dlc", str(fp32.resolve()), "--input_list", str(input_list),
            "--output_dlc", str(output.resolve())]
    if job.htp_socs:
        argv += ["--enable_htp", "--htp_socs", job.htp_socs]
    return argv


def info_argv(info: str, dlc: Path) -> list[str]:
    return [info, "-i", str(dlc.resolve())]


def calibration_folder(job: ConvertJob) -> Path:
    return job.folder(TARGET) / f"{job.stem}_calib"


def plan(job: ConvertJob) -> list[Step]:
    check_snpe_ops(job.graph_def, job.model)  # before any SDK call, including --help
    converter_path = find_sdk_tool(CONVERTER)
    style = flag_style(converter_path)
    converter, info = _tool(CONVERTER), _tool(INFO)
    fp32 = job.output(TARGET, SUFFIX)
    steps = [Step(TARGET, "fp32", fp32,
                  [convert_argv(job, converter, style, fp32), info_argv(info, fp32)],
                  functools.partial(_convert, job, converter, style, info))]
    if job.precision == "int8":
        int8 = job.output(TARGET, SUFFIX, "_int8")
        quantizer = _tool(QUANTIZER)
        input_list = snpe_input_list_path(job.calib, calibration_folder(job)).resolve()
        variant = f"HTP {job.htp_socs}" if job.htp_socs else ""
        steps.append(Step(TARGET, "int8", int8,
                          [quantize_argv(job, quantizer, fp32, input_list, int8),
                           info_argv(info, int8)],
                          functools.partial(_quantize, job, quantizer, info, fp32), variant))
    return steps


def _require_success(run, success: tuple[str, ...], what: str) -> None:
    tool = Path(run.argv[0]).name
    if UNRESOLVED in run.output:
        raise EdgeFerError(f"{tool}: {UNRESOLVED} ({last_lines(run.output)})")
    if run.returncode != 0:
        raise EdgeFerError(f"{tool} failed with exit code {run.returncode} while {what} "
                           f"({last_lines(run.output)})")
    if not any(line in run.output for line in success):
        raise EdgeFerError(f"{tool} exited 0 but never printed {' / '.join(map(repr, success))} "
                           f"while {what}; not trusting its output ({last_lines(run.output)})")


def _dlc_info(info: str, dlc: Path) -> str:
    run = run_tool(info_argv(info, dlc), merge=True)
    if run.returncode != 0:
        raise EdgeFerError(f"{Path(info).name} cannot read {dlc.name} "
                           f"(exit code {run.returncode}: {last_lines(run.output)})")
    lines = run.output.splitlines()
    return "\n".join(lines[:INFO_LINES_KEPT] + (["..."] if len(lines) > INFO_LINES_KEPT else []))


def _sdk_facts(style: FlagStyle | None = None) -> dict:
    info = sdk_info(probe_tool=CONVERTER)
    facts = {"tool_versions": {"snpe": info.version if info else ""},
             "sdk": {"root": str(info.root) if info and info.root else None,
                     "found_through": info.source if info else None}}
    if style is not None:
        facts["sdk"]["flag_style"] = style.sdk
    return facts


def _convert(job: ConvertJob, converter: str, style: FlagStyle, info: str, path: Path) -> dict:
    _require_success(run_tool(convert_argv(job, converter, style, path), merge=True), CONVERTED,
                     f"converting {job.model.name}")
    if not path.is_file():
        raise EdgeFerError(f"{Path(converter).name} reported success but wrote no {path.name}")
    return {**_sdk_facts(style), **default_io(job, ":0"), "dlc_info": _dlc_info(info, path)}


def _quantize(job: ConvertJob, quantizer: str, info: str, fp32: Path, path: Path) -> dict:
    if job.htp_socs:
        help_text = run_tool([quantizer, "--help"], merge=True).output
        if not _offers(help_text, "--enable_htp"):
            raise EdgeFerError(f"{quantizer}: this SDK's quantizer has no --enable_htp, so it "
                               f"cannot prepare for {job.htp_socs}")
    samples = job.calibration()
    input_list = write_snpe_input_list(samples, calibration_folder(job)).resolve()
    # Relative raw paths in a list are taken from the list's folder (CONVENTIONS).
    run = run_tool(quantize_argv(job, quantizer, fp32, input_list, path), cwd=input_list.parent,
                   merge=True)
    _require_success(run, QUANTIZED, f"quantizing {fp32.name}")
    if not path.is_file():
        raise EdgeFerError(f"{Path(quantizer).name} reported success but wrote no {path.name}")
    return {**_sdk_facts(), **default_io(job, ":0"), "quantized_from": fp32.name,
            "calibration": {**samples.describe(), "input_list": str(input_list)},
            "htp_socs": job.htp_socs, "dlc_info": _dlc_info(info, path)}
