"""On-device benchmarks over adb, and the parsers of what the device tools print.

- SNPE: the DLC, raws, input list and the SDK's Android build (snpe-net-run, `lib/<arch>`, the
  Hexagon skeletons of the device's DSP architecture) go to the device; snpe-net-run runs
  `iterations` times per runtime (cpu, gpu, dsp) with `--perf_profile`; the Result folders and
  `SNPEDiag*.log` come back; the host's snpe-diagview reads each log. Per runtime: mean, min and
  max of the runs' "Total Inference Time" (each snpe-net-run run reports its average over the
  list), in `snpe_device_bench.csv/.json`.
- TFLite: LiteRT's `benchmark_model` (an Android build the user supplies) runs per delegate
  (cpu, gpu, nnapi) for `iterations` runs; mean/min/max from its own statistics, in
  `tflite_device_bench.csv/.json`. For the label check it runs once per input raw with
  `--input_layer_value_files` and `--output_filepath`.

Either way the device's outputs are written as Result folders (results.py) and checked against
the host reference with edge_fer.analysis.compare (what `edge-fer compare REF device_results/` runs).
No adb, no device, no SDK or no benchmark_model: ToolMissingError (exit 3) saying what is missing.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shlex
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edge_fer import reporter
from edge_fer.atomic import atomic_write_text, staged_dir
from edge_fer.errors import EdgeFerError, ToolMissingError, UsageError
from edge_fer.platform.adb import pick_device
from edge_fer.platform.sdk import require_sdk_tool
from edge_fer.platform.tools import run_tool
from edge_fer.tensors.rawio import InputList, read_image_raw, read_input_list, write_input_list
from edge_fer.tensors.results import read_results, write_results

if TYPE_CHECKING:
    from edge_fer.runners.snpe import SnpeAndroidBuild

DEVICE_ROOT = "/data/local/tmp/edge-fer-bench"
PERF_PROFILES = ("high_performance", "burst", "sustained_high_performance", "balanced",
                 "default", "power_saver", "low_power_saver", "high_power_saver",
                 "system_settings")
TFLITE_DELEGATE_FLAGS: dict[str, tuple[str, ...]] = {
    "cpu": (),                              # XNNPACK, applied by default
    "gpu": ("--use_gpu=true",),
    "nnapi": ("--use_nnapi=true",),
}


# =============================================================================================
# Parsers


@dataclass
class DiagStats:
    """What snpe-diagview printed for one SNPEDiag log: each statistic in microseconds."""

    version: str = ""
    values_us: dict[str, float] = field(default_factory=dict)

    @property
    def total_inference_us(self) -> float | None:
        return self.values_us.get("Total Inference Time")

    @property
    def init_us(self) -> float | None:
        return self.values_us.get("Init")


_DIAG_STAT = re.compile(r"^\s*(?P<key>[A-Za-z][A-Za-z0-9 ()/\[\]-]*?)\s*:\s*"
                        r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>us|ms|NONE)?\s*$")
_DIAG_STOP = ("Layer Times", "Per-Layer Execution Times", "Per-Subnet Execution Times")
_UNIT_US = {"us": 1.0, "ms": 1000.0}


def parse_diagview(text: str) -> DiagStats:
    """The text `snpe-diagview --input_log SNPEDiag_0.log` prints.

    Format as read by Qualcomm's own benchmark (SNPE SDK `benchmarks/snpebm/snpebm_parser.py`,
    `DroidTimingLogParser`): one "<statistic>: <N> us" line per figure — "Load", "Deserialize",
    "Create", "Init", "De-Init", "Create Network(s)", "RPC Init Time", ..., then "Total
    Inference Time", "Forward Propagate Time", "RPC Execute Time", "Accelerator Time" — under
    "Dnn Runtime Load/Deserialize/Create/De-Init Statistics:" and "Average SNPE Statistics:"
    (SNPE 2.9) or the indented "SNPE Create Statistics:" / "SNPE Execute Statistics (Averaged):"
    (SNPE 2.37), and "Software library version: ...". Zeros print with no unit or "NONE".
    Per-layer and per-subnet times (which may be in cycles) follow and are not read.
    """
    stats = DiagStats()
    for line in text.splitlines():
        if any(marker in line for marker in _DIAG_STOP):
            break
        if line.strip().startswith("Software library version:"):
            stats.version = line.split(":", 1)[1].strip()
            continue
        match = _DIAG_STAT.match(line)
        if not match:
            continue
        key, value, unit = match["key"].strip(), float(match["value"]), match["unit"]
        if unit in _UNIT_US:
            stats.values_us.setdefault(key, value * _UNIT_US[unit])
        elif value == 0:  # "RPC Init Time: 0 NONE" / "RPC Execute Time: 0 "
            stats.values_us.setdefault(key, 0.0)
    return stats


@dataclass
class BenchmarkModelStats:
    """What LiteRT's benchmark_model printed for one run (times in microseconds, memory MB)."""

    init_us: float
    first_us: float
    warmup_avg_us: float
    avg_us: float
    count: int | None = None
    min_us: float | None = None
    max_us: float | None = None
    std_us: float | None = None
    median_us: float | None = None
    memory_init_mb: float | None = None
    memory_overall_mb: float | None = None
    peak_memory_mb: float | None = None


_NUMBER = r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_TIMINGS = re.compile(rf"Inference timings in us: Init: (?P<init>{_NUMBER}), First inference: "
                      rf"(?P<first>{_NUMBER}), Warmup \(avg\): (?P<warmup>{_NUMBER}), "
                      rf"Inference \(avg\): (?P<avg>{_NUMBER})")
_COUNT = re.compile(rf"\bcount=(?P<count>\d+)(?P<rest>(?:\s+\w+={_NUMBER})*)")
_PAIR = re.compile(rf"(\w+)=({_NUMBER})")
_FOOTPRINT = re.compile(rf"Memory footprint delta from the start of the tool \(MB\): "
                        rf"init=(?P<init>{_NUMBER}) overall=(?P<overall>{_NUMBER})")
_PEAK = re.compile(rf"Overall peak memory footprint \(MB\) via periodic monitoring: "
                   rf"(?P<peak>{_NUMBER})")


def parse_benchmark_model(text: str) -> BenchmarkModelStats:
    """The log of LiteRT's `benchmark_model` (stdout and stderr; "INFO: " or logcat prefixes
    are fine).

    Formats: "Inference timings in us: Init: 5685, First inference: 18535, Warmup (avg):
    14462.3, Inference (avg): 14575.2" as documented in TensorFlow Lite's
    `tensorflow/lite/tools/benchmark/README.md` and the LiteRT performance-measurement guide
    (`g3doc/performance/measurement.md`); before it, one statistics line per phase from
    `benchmark_model.cc` — "count=50 first=... curr=... min=... max=... avg=... std=..."
    (newer builds add "p5=... median=... p95=..."), warm-up first, timed runs last; after it
    "Memory footprint delta from the start of the tool (MB): init=... overall=..." and, with
    --report_peak_memory_footprint, "Overall peak memory footprint (MB) via periodic
    monitoring: ...". Numbers may be in exponent form (2.95034e+06).
    """
    timings = None
    last_count = None
    for line in text.splitlines():
        found = _TIMINGS.search(line)
        if found:
            timings = found
            break
        counted = _COUNT.search(line)
        if counted:
            last_count = counted
    if timings is None:
        errors = [line.strip() for line in text.splitlines()
                  if "ERROR" in line or "failed" in line.lower()]
        reason = errors[-1] if errors else (text.strip().splitlines() or ["no output"])[-1]
        raise EdgeFerError(f"benchmark_model printed no 'Inference timings' line: {reason}")
    stats = BenchmarkModelStats(float(timings["init"]), float(timings["first"]),
                                float(timings["warmup"]), float(timings["avg"]))
    if last_count is not None:
        pairs = {key: float(value) for key, value in _PAIR.findall(last_count["rest"])}
        stats.count = int(last_count["count"])
        stats.min_us, stats.max_us = pairs.get("min"), pairs.get("max")
        stats.std_us, stats.median_us = pairs.get("std"), pairs.get("median")
    footprint = _FOOTPRINT.search(text)
    if footprint:
        stats.memory_init_mb = float(footprint["init"])
        stats.memory_overall_mb = float(footprint["overall"])
    peak = _PEAK.search(text)
    if peak:
        stats.peak_memory_mb = float(peak["peak"])
    return stats


# =============================================================================================
# Summaries


@dataclass
class RuntimeSummary:
    """One runtime on the device: its inference time over the iterations, and the label check."""

    tool: str
    runtime: str
    status: str = "measured"      # measured | failed
    iterations: int = 0
    mean_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    init_ms: float | None = None
    agreement: float | None = None  # top-1 agreement with the host reference
    compared: int = 0
    max_abs_dp: float | None = None
    reason: str = ""
    source: str = ""               # what the figures are

    def to_row(self) -> dict:
        row = asdict(self)
        for key in ("mean_ms", "min_ms", "max_ms", "init_ms", "max_abs_dp"):
            if row[key] is not None:
                row[key] = round(row[key], 4)
        return row


def summarize_diag(runtime: str, runs: list[DiagStats]) -> RuntimeSummary:
    """mean/min/max over the runs of each run's averaged Total Inference Time."""
    totals = [run.total_inference_us for run in runs if run.total_inference_us is not None]
    if not totals:
        raise EdgeFerError(f"snpe-diagview showed no 'Total Inference Time' for {runtime} "
                           f"(were the logs written with profiling off?)")
    inits = [run.init_us for run in runs if run.init_us is not None]
    return RuntimeSummary(
        "snpe-net-run", runtime, iterations=len(totals), mean_ms=float(np.mean(totals)) / 1000,
        min_ms=min(totals) / 1000, max_ms=max(totals) / 1000,
        init_ms=float(np.mean(inits)) / 1000 if inits else None,
        source="snpe-diagview Total Inference Time per snpe-net-run run (its average over the "
               "input list); mean/min/max over the runs")


def summarize_benchmark_model(runtime: str, stats: BenchmarkModelStats) -> RuntimeSummary:
    return RuntimeSummary(
        "benchmark_model", runtime, iterations=stats.count or 0, mean_ms=stats.avg_us / 1000,
        min_ms=None if stats.min_us is None else stats.min_us / 1000,
        max_ms=None if stats.max_us is None else stats.max_us / 1000,
        init_ms=stats.init_us / 1000,
        source="benchmark_model: Inference (avg), min and max of its timed runs")


SUMMARY_FIELDS = ("tool", "runtime", "status", "iterations", "mean_ms", "min_ms", "max_ms",
                  "init_ms", "agreement", "compared", "max_abs_dp", "reason", "source")


def write_summary(summaries: list[RuntimeSummary], out_dir: Path, name: str,
                  facts: dict) -> tuple[Path, Path]:
    """`<name>.csv` (one row per runtime) and `<name>.json` (the rows and the run's facts)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, SUMMARY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for summary in summaries:
        writer.writerow(summary.to_row())
    csv_path = atomic_write_text(out_dir / f"{name}.csv", buffer.getvalue())
    json_path = atomic_write_text(out_dir / f"{name}.json", json.dumps(
        {**facts, "runtimes": [s.to_row() for s in summaries]}, indent=2) + "\n")
    return csv_path, json_path


def format_summary(summaries: list[RuntimeSummary]) -> str:
    header = (f"{'runtime':8} {'runs':>5} {'mean ms':>9} {'min ms':>9} {'max ms':>9} "
              f"{'init ms':>9}  labels vs host")
    lines = [header]

    def ms(value):
        return "-" if value is None else f"{value:.3f}"

    for s in summaries:
        if s.status != "measured":
            lines.append(f"{s.runtime:8} FAILED: {s.reason}")
            continue
        labels = (f"{s.agreement:.3f} top-1 agreement on {s.compared}" if s.agreement is not None
                  else s.reason or "not checked")
        lines.append(f"{s.runtime:8} {s.iterations:>5} {ms(s.mean_ms):>9} {ms(s.min_ms):>9} "
                     f"{ms(s.max_ms):>9} {ms(s.init_ms):>9}  {labels}")
    return "\n".join(lines) + "\n"


# =============================================================================================
# The device


def reference_model(model: Path, reference: Path | None) -> Path | None:
    """The host reference for the label check: --reference, else the model's source `.pb`."""
    from edge_fer.benchmarks.facts import source_graph

    if reference is not None:  # a model file, or a folder of Result_<i> (as edge-fer compare)
        if not Path(reference).exists():
            raise EdgeFerError(f"{reference}: no such reference model or output folder")
        return Path(reference)
    return source_graph(model)


def check_labels(summary: RuntimeSummary, reference: Path | None, results: Path,
                 input_list: Path) -> None:
    """Top-1 agreement of the device's Result folders with the reference run on the host."""
    from edge_fer.analysis.compare import compare

    if reference is None:
        summary.reason = "no host reference (pass --reference MODEL, e.g. the source .pb)"
        return
    rows = compare([str(reference), str(results)], input_list)
    summary.agreement, summary.compared = rows[1].agreement, rows[1].compared
    summary.max_abs_dp = rows[1].max_abs_dp
    reporter.info(f"labels: {summary.runtime} agrees with {reference.name} on "
                  f"{summary.compared - len(rows[1].disagreements)}/{summary.compared} inputs "
                  f"(edge-fer compare {reference} {results} -i {input_list})")


def _stage_inputs(input_list: InputList, stage: Path, remote: str, input_name: str,
                  count: int | None = None) -> list[tuple[Path, str]]:
    """Copy the list's raws (of the model's input `input_name`) to stage/raws and write
    stage/input_list.txt with device paths; (source raw, staged name) per line."""
    (stage / "raws").mkdir(parents=True, exist_ok=True)
    lines, staged = [], []
    for number, raw in enumerate(input_list.raw_paths(input_name)[:count]):
        name = f"{number:06d}_{raw.name}"
        shutil.copyfile(raw, stage / "raws" / name)
        lines.append(f"{remote}/raws/{name}")
        staged.append((raw, name))
    (stage / "input_list.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return staged


# =============================================================================================
# SNPE


def snpe_device_bench(dlc: Path, input_list: Path, out_dir: Path,
                      runtimes: tuple[str, ...] = ("cpu", "gpu", "dsp"), iterations: int = 10,
                      perf_profile: str = "high_performance", serial: str | None = None,
                      reference: Path | None = None) -> list[RuntimeSummary]:
    """Run the DLC on the device per runtime; summaries written to out_dir (see module doc)."""
    from edge_fer.runners.model_io import model_spec
    from edge_fer.runners.snpe import RUNTIME_FLAGS, push_snpe_runtime, snpe_android_build

    dlc, input_list, out_dir = Path(dlc), Path(input_list), Path(out_dir)
    if not dlc.is_file():
        raise EdgeFerError(f"{dlc}: no such DLC")
    unknown = [r for r in runtimes if r not in RUNTIME_FLAGS]
    if unknown or perf_profile not in PERF_PROFILES or iterations < 1:
        raise UsageError(f"runtimes are {', '.join(RUNTIME_FLAGS)}; --perf-profile one of "
                         f"{', '.join(PERF_PROFILES)}; --iterations ≥ 1")
    parsed = read_input_list(input_list)
    input_spec, output_spec = model_spec(dlc)  # the DLC's manifest, else edge-fer's own model
    device = pick_device(serial)
    build = snpe_android_build(device)
    diagview = require_sdk_tool("snpe-diagview")
    reference = reference_model(dlc, reference)
    out_dir.mkdir(parents=True, exist_ok=True)
    remote, remote_sdk = f"{DEVICE_ROOT}/snpe", f"{DEVICE_ROOT}/snpe/sdk"
    reporter.info(f"{device.serial}: {build.arch}; DSP skeletons {build.dsp_note}")
    summaries = []
    with tempfile.TemporaryDirectory(prefix="snpe-device-", dir=out_dir) as scratch:
        stage = Path(scratch) / "stage"
        _stage_inputs(parsed, stage, remote, input_spec.name.split(":")[0])
        shutil.copyfile(dlc, stage / "model.dlc")
        device.shell(["rm", "-rf", remote], what="clearing the device folder")
        env = push_snpe_runtime(device, build.net_run, build.lib_dir, build.dsp_dirs, remote_sdk,
                                f"{remote_sdk}/dsp")
        device.push(stage, remote)
        try:
            for runtime in runtimes:
                summaries.append(_snpe_runtime(device, build, diagview, runtime, iterations,
                                               perf_profile, env, remote, parsed, out_dir,
                                               reference, input_list, output_spec.classes))
        finally:
            device.remove_quietly(remote)
    write_summary(summaries, out_dir, "snpe_device_bench", {
        "device": device.serial, "dlc": str(dlc), "input_list": str(input_list),
        "inputs": len(parsed), "perf_profile": perf_profile, "iterations": iterations,
        "sdk_arch": build.arch, "dsp": build.dsp_note,
        "reference": str(reference) if reference else None})
    return summaries


class _RuntimeFailed(Exception):
    def __init__(self, summary: RuntimeSummary) -> None:
        super().__init__(summary.reason)
        self.summary = summary


# What device-bench writes in OUT/<runtime>/: replaced whole when a new run succeeds; anything
# else there (the user's notes) is carried over untouched.
_RUNTIME_OUTPUTS = ("device", "results", "outputs", "benchmark_model.log")


def _is_runtime_output(path: Path) -> bool:
    return path.name in _RUNTIME_OUTPUTS or (path.name.startswith("label_check_")
                                             and path.suffix == ".sh")


@contextlib.contextmanager
def _runtime_folder(folder: Path) -> Iterator[Path]:
    """A staging folder that becomes OUT/<runtime>/ only when the block ends without raising
    _RuntimeFailed (the old result folder stays until then)."""
    with staged_dir(folder, _is_runtime_output) as stage:
        yield stage


def _snpe_runtime(device, build: SnpeAndroidBuild, diagview: Path, runtime: str,
                  iterations: int, perf_profile: str, env: dict, remote: str,
                  parsed: InputList, out_dir: Path, reference: Path | None,
                  input_list: Path, classes: int) -> RuntimeSummary:
    try:
        with _runtime_folder(out_dir / runtime) as local:
            return _snpe_runtime_into(local, device, diagview, runtime, iterations,
                                      perf_profile, env, remote, parsed, reference, input_list,
                                      classes)
    except _RuntimeFailed as failed:
        return failed.summary


def _snpe_runtime_into(local: Path, device, diagview: Path, runtime: str, iterations: int,
                       perf_profile: str, env: dict, remote: str, parsed: InputList,
                       reference: Path | None, input_list: Path, classes: int) -> RuntimeSummary:
    from edge_fer.runners.snpe import NET_RUN, RUNTIME_FLAGS, _check_net_run_output

    remote_out = f"{remote}/output/{runtime}"
    try:
        for number in range(iterations):
            argv = [f"{remote}/sdk/bin/{NET_RUN}", "--container", f"{remote}/model.dlc",
                    "--input_list", f"{remote}/input_list.txt",
                    "--output_dir", f"{remote_out}/run_{number}",
                    "--perf_profile", perf_profile, *RUNTIME_FLAGS[runtime]]
            reporter.info(f"{NET_RUN} {runtime} run {number + 1}/{iterations}")
            done = device.shell(argv, env=env, cwd=remote, what=f"{NET_RUN} ({runtime})")
            _check_net_run_output(done, len(parsed))
        (local / "device").mkdir(parents=True)
        device.pull(remote_out, local / "device")
    except EdgeFerError as exc:
        raise _RuntimeFailed(RuntimeSummary(NET_RUN, runtime, status="failed",
                                            reason=str(exc))) from None
    runs = []
    for number in range(iterations):
        run_dir = local / "device" / f"run_{number}"
        logs = sorted(run_dir.glob("SNPEDiag*.log"))
        if not logs:
            raise _RuntimeFailed(RuntimeSummary(
                NET_RUN, runtime, status="failed",
                reason=f"{run_dir.relative_to(local.parent)}: snpe-net-run left no "
                       f"SNPEDiag*.log"))
        text = _diagview_text(diagview, logs[0])
        (run_dir / "diagview.txt").write_text(text, encoding="utf-8")
        runs.append(parse_diagview(text))
    summary = summarize_diag(runtime, runs)
    results = local / "results"
    entries = read_results(local / "device" / "run_0", expected=len(parsed))
    missing = [e.index for e in entries if not e.ok]
    if missing:
        summary.reason = f"device results unusable for inputs {missing[:10]}: {entries[missing[0]].problem}"
    write_results(results, [e.probs if e.ok else np.full(classes, np.nan, np.float32) for e in entries])
    check_labels(summary, reference, results, input_list)
    return summary


def _diagview_text(diagview: Path, log: Path) -> str:
    return run_tool([diagview, "--input_log", log], f"snpe-diagview on {log}", timeout=600,
                    check=True).stdout


# =============================================================================================
# TFLite


def tflite_device_bench(model: Path, input_list: Path, out_dir: Path, benchmark_model: Path,
                        delegates: tuple[str, ...] = ("cpu", "gpu", "nnapi"),
                        iterations: int = 50, warmup: int = 5, threads: int = 4,
                        check_count: int = 20, serial: str | None = None,
                        reference: Path | None = None) -> list[RuntimeSummary]:
    """benchmark_model per delegate on the device; summaries written to out_dir."""
    model, input_list, out_dir = Path(model), Path(input_list), Path(out_dir)
    if not model.is_file():
        raise EdgeFerError(f"{model}: no such TFLite model")
    unknown = [d for d in delegates if d not in TFLITE_DELEGATE_FLAGS]
    if unknown or iterations < 1 or warmup < 0 or threads < 1 or check_count < 0:
        raise UsageError(f"delegates are {', '.join(TFLITE_DELEGATE_FLAGS)}; --iterations ≥ 1, "
                         f"--warmup ≥ 0, --threads ≥ 1, --check-count ≥ 0")
    parsed = read_input_list(input_list)
    device = pick_device(serial)
    input_detail, output_detail, input_spec = _tflite_io(model)
    if benchmark_model is None or not Path(benchmark_model).is_file():
        raise ToolMissingError(
            f"benchmark_model for the device not found{f' at {benchmark_model}' if benchmark_model else ''}: "
            f"pass --benchmark-model PATH to LiteRT's Android build (the prebuilt "
            f"android_aarch64_benchmark_model, or bazel build -c opt --config=android_arm64 "
            f"tensorflow/lite/tools/benchmark:benchmark_model)")
    reference = reference_model(model, reference)
    out_dir.mkdir(parents=True, exist_ok=True)
    remote = f"{DEVICE_ROOT}/tflite"
    summaries = []
    with tempfile.TemporaryDirectory(prefix="tflite-device-", dir=out_dir) as scratch:
        stage = Path(scratch) / "stage"
        count = min(check_count, len(parsed))
        staged = _stage_inputs(parsed, stage, remote, input_spec.name, count) if count else []
        _quantize_staged(stage / "raws", input_detail, input_spec)
        shutil.copyfile(model, stage / "model.tflite")
        shutil.copyfile(benchmark_model, stage / "benchmark_model")
        device.shell(["rm", "-rf", remote], what="clearing the device folder")
        device.shell(["mkdir", "-p", remote], what="creating the device folder")
        device.push(stage, remote)
        device.shell(["chmod", "755", f"{remote}/benchmark_model"], what="chmod benchmark_model")
        check_list = None
        if staged:
            check_list = write_input_list(out_dir / "label_check_input_list.txt",
                                          [raw for raw, _ in staged], relative=False)
        try:
            for delegate in delegates:
                summaries.append(_tflite_delegate(device, delegate, remote, iterations, warmup,
                                                  threads, [n for _, n in staged], input_detail,
                                                  output_detail, out_dir, reference, check_list))
        finally:
            device.remove_quietly(remote)
    write_summary(summaries, out_dir, "tflite_device_bench", {
        "device": device.serial, "model": str(model), "input_list": str(input_list),
        "iterations": iterations, "warmup": warmup, "threads": threads,
        "label_check_inputs": min(check_count, len(parsed)),
        "reference": str(reference) if reference else None})
    return summaries


def _tflite_io(model: Path) -> tuple[dict, dict, object]:
    """The model's input and output tensors (name, shape, dtype, quantization) as LiteRT gives
    them, and its input spec — read once by the runners' model reader, whatever the model's
    names, size and class count — to quantize the raws and read the device's output file."""
    from edge_fer.artifacts.facts import file_facts
    from edge_fer.runners import REGISTRY
    from edge_fer.runners.model_io import spec_from_facts

    reason = REGISTRY["tflite"].unavailable_reason()
    if reason:
        raise ToolMissingError(reason)
    facts = file_facts(model)
    input_spec, output_spec = spec_from_facts(model, facts)
    shape = [1 if d is None else d for d in facts.input_shape]
    input_detail = {"name": facts.input_name, "shape": shape, "dtype": facts.input_dtype,
                    "quantization": (facts.scale or 0.0, facts.zero_point or 0)}
    output_detail = {"name": facts.output_name, "shape": [shape[0], output_spec.classes],
                     "dtype": facts.output_dtype,
                     "quantization": (facts.output_scale or 0.0, facts.output_zero_point or 0)}
    return input_detail, output_detail, input_spec


def _quantize_staged(folder: Path, detail: dict, spec) -> None:
    """Float raws (made for the model's input spec) → the input tensor's own type (int8 models
    take int8 bytes)."""
    from edge_fer.runners.tflite import quantize

    if np.dtype(detail["dtype"]) == np.float32:
        return
    for raw in sorted(folder.glob("*.raw")):
        images = read_image_raw(raw, spec=spec)
        raw.write_bytes(np.ascontiguousarray(quantize(images, detail)).tobytes())


def _tflite_delegate(device, delegate: str, remote: str, iterations: int, warmup: int,
                     threads: int, staged: list[str], input_detail: dict, output_detail: dict,
                     out_dir: Path, reference: Path | None,
                     check_list: Path | None) -> RuntimeSummary:
    try:
        with _runtime_folder(out_dir / delegate) as local:
            return _tflite_delegate_into(local, device, delegate, remote, iterations, warmup,
                                         threads, staged, input_detail, output_detail,
                                         reference, check_list)
    except _RuntimeFailed as failed:
        return failed.summary


def _tflite_delegate_into(local: Path, device, delegate: str, remote: str, iterations: int,
                          warmup: int, threads: int, staged: list[str], input_detail: dict,
                          output_detail: dict, reference: Path | None,
                          check_list: Path | None) -> RuntimeSummary:
    from edge_fer.runners.tflite import dequantize

    flags = TFLITE_DELEGATE_FLAGS[delegate]
    argv = [f"{remote}/benchmark_model", f"--graph={remote}/model.tflite",
            f"--num_runs={iterations}", f"--warmup_runs={warmup}", f"--num_threads={threads}",
            "--report_peak_memory_footprint=true", *flags]
    reporter.info(f"benchmark_model {delegate}: {iterations} runs")
    try:
        done = device.shell(argv, what=f"benchmark_model ({delegate})")
        log = done.stdout + done.stderr
        (local / "benchmark_model.log").write_text(log, encoding="utf-8")
        summary = summarize_benchmark_model(delegate, parse_benchmark_model(log))
        if staged:
            outputs = _tflite_outputs(device, delegate, remote, staged, input_detail, flags,
                                      threads, local)
    except EdgeFerError as exc:
        raise _RuntimeFailed(RuntimeSummary("benchmark_model", delegate, status="failed",
                                            reason=str(exc))) from None
    if staged:
        size = int(np.prod(output_detail["shape"]))
        rows = []
        for raw in outputs:
            values = np.frombuffer(raw.read_bytes(), dtype=np.dtype(output_detail["dtype"]))
            rows.append(dequantize(values[:size], output_detail))
        write_results(local / "results", rows)
        check_labels(summary, reference, local / "results", check_list)
    return summary


def _tflite_outputs(device, delegate: str, remote: str, staged: list[str], input_detail: dict,
                    flags: tuple[str, ...], threads: int, local: Path) -> list[Path]:
    """benchmark_model once per staged raw, writing its output tensor (--output_filepath); one
    shell script on the device, its files pulled back as out_<i>.bin."""
    name = input_detail["name"].replace(":", "::")  # benchmark_model's escape for ':' in names
    shape = ",".join(str(int(d)) for d in input_detail["shape"])
    remote_out = f"{remote}/outputs_{delegate}"
    lines = [f"mkdir -p {shlex.quote(remote_out)}"]
    for number, raw_name in enumerate(staged):
        log = f"{remote_out}/out_{number:06d}.log"
        argv = [f"{remote}/benchmark_model", f"--graph={remote}/model.tflite", "--num_runs=1",
                "--warmup_runs=0", f"--num_threads={threads}", f"--input_layer={name}",
                f"--input_layer_shape={shape}",
                f"--input_layer_value_files={name}:{remote}/raws/{raw_name}",
                f"--output_filepath={remote_out}/out_{number:06d}.bin", *flags]
        lines.append(f"{shlex.join(argv)} > {shlex.quote(log)} 2>&1 || "
                     f"{{ tail -n 3 {shlex.quote(log)}; exit 1; }}")
    script = local / f"label_check_{delegate}.sh"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    device.push(script, f"{remote}/{script.name}")
    device.shell(["sh", f"{remote}/{script.name}"], what=f"benchmark_model label check ({delegate})")
    (local / "outputs").mkdir()
    device.pull(remote_out, local / "outputs")
    outputs = sorted((local / "outputs").glob("out_*.bin"))
    if len(outputs) != len(staged):
        raise EdgeFerError(f"benchmark_model wrote {len(outputs)} of {len(staged)} output files "
                           f"({delegate})")
    return outputs
