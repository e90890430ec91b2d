"""Conversion targets: one table, one module per target.

A target module (`convert/<name>.py`) has `missing(job)` (why it cannot run here, or None) and
`plan(job)` (the files it writes, as `base.Step`s); `base.produce` writes each one. Adding a
target means adding its module and a row in TARGETS — validation, `--help`, `all` and the result
table all come from the table.

Files, for model `<stem>.pb`, in one folder per target under --out (default: beside the model):
  dlc/     fp32 `<stem>.dlc`           int8 `<stem>_int8.dlc` (and the fp32 DLC it quantizes,
                                       with the calibration raws in `<stem>_calib/`)
  tflite/  fp32 `<stem>.tflite`        fp16 `<stem>_fp16.tflite`
           int8 `<stem>_int8.tflite` (int8 in/out) and `<stem>_int8_float_io.tflite`
  onnx/    fp32 `<stem>.onnx`          int8 `<stem>_int8.onnx` (QDQ; and the fp32 it quantizes)
  qnn/     int8 `<stem>_qnn.onnx` (QDQ for QNN), w8a16 `<stem>_qnn_w8a16.onnx` (uint16
           activations), fp16 `<stem>_qnn_fp16.onnx` (the float model HTP runs in fp16; needs
           --soc) and, per SoC, `<stem>_qnn[_<precision>]_<soc>_ctx.onnx` +
           `<stem>_qnn[_<precision>]_<soc>_ctx_<hash>_qnn.bin` (a new name per binary: one rename
           replaces the pair)
each file `<name>.<ext>` with its manifest `<name>.json` beside it (CONVENTIONS: Artifacts; e.g.
`tflite/<stem>_int8.json`) and a `labels.txt` in each target's folder. The folder is chosen in
one place, `ConvertJob.folder`. A Keras file or SavedModel folder is first frozen into
`frozen/<stem>.pb` (convert/source.py), which every target converts. Each manifest also holds the
model's `input_spec` and `output_spec` (tensor names, size, layout, colour, mean/std, labels),
which run, raw-inputs and classify read for that file.

Without a precision each target converts at its `default_precision` (fp32; int8 for qnn, which
offers nothing else); `all` converts at ALL_DEFAULT_PRECISION.

Wing 7 of the layout (see edge_fer/__init__.py): imports every wing below it; it checks each
file it writes by running it (runners) and inspecting it (analysis).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from edge_fer import reporter
from edge_fer.converters.base import ConvertJob, manifest_path
from edge_fer.errors import EdgeFerError, ToolMissingError, UsageError
from edge_fer.reporter import native_stdout_to_stderr

ALL = "all"
PRECISIONS = ("fp32", "fp16", "int8", "w8a16")
# precisions that compile for SoCs (--soc): int8 DLC and QNN context binaries
SOC_PRECISIONS = ("int8", "w8a16", "fp16")
CALIBRATED = ("int8", "w8a16")     # precisions that read --calib


@dataclass(frozen=True)
class Target:
    name: str
    module: str                   # edge_fer.converters.<module>
    suffix: str
    precisions: tuple[str, ...]
    options: tuple[str, ...]      # target-only options it takes (ConvertRequest field names)
    summary: str
    default_precision: str = "fp32"   # when --precision is not given

    def _module(self):
        return importlib.import_module(f"edge_fer.converters.{self.module}")

    def missing(self, job: ConvertJob) -> str | None:
        return self._module().missing(job)

    def plan(self, job: ConvertJob):
        return self._module().plan(job)

    def extra_missing(self) -> str | None:
        """The optional extra this target needs when it is not installed: one line saying how
        to install it (no model needs loading to know)."""
        reason = getattr(self._module(), "extra_missing", None)
        return reason() if reason else None

    def needs_soc(self, precision: str) -> str | None:
        """Why this target cannot convert at `precision` without --soc, or None."""
        reason = getattr(self._module(), "needs_soc_reason", None)
        return reason(precision) if reason else None


TARGETS: tuple[Target, ...] = (
    Target("dlc", "dlc", ".dlc", ("fp32", "int8"), ("htp_socs",),
           "Qualcomm SNPE DLC: snpe-tensorflow-to-dlc (+ snpe-dlc-quantize); needs the SDK"),
    Target("tflite", "tflite", ".tflite", ("fp32", "fp16", "int8"), ("dynamic_batch",),
           "TFLite via TFLiteConverter.from_frozen_graph; int8 with int8 and float I/O"),
    Target("onnx", "onnx", ".onnx", ("fp32", "int8"), ("dynamic_batch",),
           "ONNX opset 17 via tf2onnx, NHWC; int8 = QDQ via onnxruntime.quantization"),
    Target("qnn", "qnn", ".onnx", ("int8", "w8a16", "fp16"), ("htp_socs",),
           "QNN HTP via onnxruntime-qnn: QDQ for QNN (w8a16: 16-bit activations; fp16: the float "
           "model in HTP's fp16 mode, needs --soc), checked on the HTP backend, and a compiled "
           "context model per --soc SoC; needs the qnn extra", default_precision="int8"),
)
REGISTRY: dict[str, Target] = {target.name: target for target in TARGETS}
OPTION_FLAGS = {"htp_socs": "--soc", "dynamic_batch": "--dynamic-batch"}
# `--target all` without --precision: one precision for the whole run, the float one every
# target but qnn starts from (qnn is then listed as skipped, saying what it offers).
ALL_DEFAULT_PRECISION = "fp32"


@dataclass
class ConvertRequest:
    model: Path
    target: str
    precision: str | None = None   # None: the target's default_precision (ALL_DEFAULT_PRECISION)
    calib: str | None = None
    calib_count: int = 100
    verify_count: int = 200
    out_dir: Path | None = None
    dry_run: bool = False
    dynamic_batch: bool = False
    htp_socs: str | None = None
    input_name: str | None = None     # --input: the graph's image placeholder
    output_name: str | None = None    # --output: its class-score node
    input_shape: str | None = None    # --input-shape N,H,W,C (completes the placeholder's)
    unsafe_keras: bool = False        # --unsafe-keras: let Keras run code stored in the file
    labels: Path | None = None        # --labels: the model's labels file
    color: str | None = None          # --color, --mean, --std: what a graph cannot say
    mean: str | None = None
    std: str | None = None
    # only the files whose stem tag is listed (tflite int8: "_int8" without "_int8_float_io");
    # None: every file the target makes at that precision
    file_tags: tuple[str, ...] | None = None


@dataclass
class Result:
    """One row of the result table: a file written, planned, or a target skipped or failed."""

    target: str
    precision: str
    status: str                    # converted | planned | skipped | failed
    variant: str = ""
    path: Path | None = None
    size: int | None = None
    seconds: float | None = None
    commands: list[str] = field(default_factory=list)
    reason: str = ""
    checks: dict | None = None
    tool_missing: bool = False     # skipped because a tool or library is absent here

    def as_dict(self) -> dict:
        return {"target": self.target, "precision": self.precision, "status": self.status,
                "variant": self.variant, "path": str(self.path) if self.path else None,
                "manifest": str(manifest_path(self.path))
                if self.path and self.status == "converted" else None,
                "bytes": self.size, "seconds": None if self.seconds is None else round(self.seconds, 3),
                "commands": self.commands, "reason": self.reason or None, "checks": self.checks}


@dataclass
class ConvertReport:
    model: Path
    precision: str
    dry_run: bool
    results: list[Result]
    missing_tool: str | None = None   # nothing converted, for lack of a tool (exit 3)
    out_dir: Path | None = None       # the parent of the per-target folders
    input_spec: object = None         # the model's InputSpec / OutputSpec, as every manifest has
    output_spec: object = None

    def as_dict(self) -> dict:
        return {"model": str(self.model), "precision": self.precision, "dry_run": self.dry_run,
                "out_dir": str(self.out_dir) if self.out_dir else None,
                "input_spec": self.input_spec.to_dict() if self.input_spec else None,
                "output_spec": self.output_spec.to_dict() if self.output_spec else None,
                "results": [r.as_dict() for r in self.results]}


def get_target(name: str) -> Target:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown target {name!r}; choose one of "
                         f"{', '.join([*REGISTRY, ALL])}") from None


def _validate(request: ConvertRequest) -> tuple[list[Target], str]:
    """The targets to run and the precision, both checked (usage errors, exit 2)."""
    targets = list(TARGETS) if request.target == ALL else [get_target(request.target)]
    precision = request.precision or (ALL_DEFAULT_PRECISION if request.target == ALL
                                      else targets[0].default_precision)
    if precision not in PRECISIONS:
        raise UsageError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    given = [option for option in OPTION_FLAGS if getattr(request, option)]
    for option in given:
        if not any(option in target.options for target in targets):
            raise UsageError(f"{OPTION_FLAGS[option]} does not apply to the {request.target} target")
    if request.target != ALL and precision not in targets[0].precisions:
        raise UsageError(f"the {request.target} target offers {', '.join(targets[0].precisions)}, "
                         f"not {precision}")
    if request.htp_socs and precision not in SOC_PRECISIONS:
        raise UsageError(f"--soc applies to --precision {', '.join(SOC_PRECISIONS)}")
    if request.target != ALL and not request.htp_socs and targets[0].needs_soc(precision):
        raise UsageError(targets[0].needs_soc(precision))
    if request.calib_count < 1:
        raise UsageError(f"--calib-count must be at least 1, not {request.calib_count}")
    if request.verify_count < 0:
        raise UsageError(f"--verify-count must be 0 (off) or more, not {request.verify_count}")
    if request.calib is not None and precision not in CALIBRATED:
        reporter.warn(f"--calib is used by --precision {' and '.join(CALIBRATED)} only; ignored for {precision}")
    return targets, precision


def convert_model(request: ConvertRequest) -> ConvertReport:
    """Convert (or, with dry_run, plan) one frozen graph to the requested target(s).

    One target: its errors propagate (exit 1), and a missing tool is reported in
    `missing_tool` (exit 3) after the commands that would have run. `all`: every target whose
    tools are present is converted; the others are listed as skipped, failures as failed.
    """
    targets, precision = _validate(request)
    extra = targets[0].extra_missing() if request.target != ALL and not request.dry_run else None
    if extra:  # before the model loads: one line, nothing to plan without the library
        raise ToolMissingError(f"--target {request.target} {extra}")
    from edge_fer.converters.source import load_source

    out_dir = Path(request.out_dir) if request.out_dir else Path(request.model).parent
    source = load_source(Path(request.model), out_dir, request.input_name, request.output_name,
                         request.input_shape, request.unsafe_keras, request.labels,
                         color=request.color, mean=request.mean, std=request.std)
    job = ConvertJob(model=source.model, graph_def=source.graph_def, out_dir=out_dir,
                     precision=precision, calib=request.calib,
                     calib_count=request.calib_count, verify_count=request.verify_count,
                     dynamic_batch=request.dynamic_batch, htp_socs=request.htp_socs,
                     input_name=source.input_name, output_name=source.output_name,
                     input_dims=source.input_dims, input_spec=source.input_spec,
                     output_spec=source.output_spec, original=source.original,
                     file_tags=request.file_tags)
    if request.calib is not None and precision in CALIBRATED:
        job.calibration()  # a bad list or data set fails before anything is converted
    report = ConvertReport(job.source, precision, request.dry_run, [], out_dir=job.out_dir,
                           input_spec=job.input_spec, output_spec=job.output_spec)
    if source.frozen_here:
        report.results.append(_frozen_row(source, job, request.dry_run))
    single = request.target != ALL
    with native_stdout_to_stderr():  # native libraries loaded by plan()/missing() print too
        for target in targets:
            extra = None if request.dry_run or single else target.extra_missing()
            if extra:
                report.results.append(Result(target.name, precision, "skipped", reason=extra,
                                             tool_missing=True))
                continue
            if precision not in target.precisions:
                report.results.append(Result(target.name, precision, "skipped", reason=(
                    f"{target.name} offers {', '.join(target.precisions)}, not {precision}")))
                continue
            if not job.htp_socs and target.needs_soc(precision):
                report.results.append(Result(target.name, precision, "skipped",
                                             reason=target.needs_soc(precision)))
                continue
            try:
                report.results.extend(_run_target(target, job, request.dry_run))
            except EdgeFerError as exc:
                if single:
                    raise
                report.results.append(Result(target.name, precision, "failed",
                                             reason=str(exc)))
                reporter.warn(f"{target.name}: {exc}")
    report.output_spec = job.output_spec  # a logits/probabilities `auto` is decided by the checks
    if not request.dry_run and not any(r.status == "converted" and r.target != "frozen"
                                       for r in report.results):
        report.missing_tool = next((r.reason for r in report.results if r.tool_missing), None)
    return report


def _frozen_row(source, job: ConvertJob, dry_run: bool) -> Result:
    """A Keras file or SavedModel is frozen first into frozen/<stem>.pb, which every target
    converts (and which snpe-tensorflow-to-dlc is given)."""
    from edge_fer.converters.source import write_frozen
    from edge_fer.files import sha256_path

    commands = [source.frozen_facts["api"]]
    if dry_run:
        return Result("frozen", "fp32", "planned", path=job.model, commands=commands)
    write_frozen(source, sha256_path(job.source))
    return Result("frozen", "fp32", "converted", path=job.model, size=job.model.stat().st_size,
                  commands=commands)


def _run_target(target: Target, job: ConvertJob, dry_run: bool) -> list[Result]:
    """Plan the target (its checks run here, before any tool); convert unless it cannot run
    here or this is a dry run, in which case list what would run."""
    from edge_fer.converters.base import produce

    steps = target.plan(job)
    why_not = target.missing(job)
    if why_not or dry_run:
        return [Result(target.name, step.precision, "planned" if dry_run else "skipped",
                       step.variant, step.output, commands=step.shown_commands(),
                       reason=why_not or "", tool_missing=bool(why_not))
                for step in steps]
    rows = []
    for step in steps:
        artifact = produce(job, step)
        rows.append(Result(target.name, artifact.precision, "converted", artifact.variant,
                           artifact.path, artifact.size, artifact.seconds, artifact.commands,
                           checks=artifact.checks))
    return rows
