"""`device-bench tflite`: a .tflite on the device with LiteRT's benchmark_model, per delegate
(see the package docstring for what is pushed, run and read back)."""

from __future__ import annotations

import shlex
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.benchmarks.device import session
from edge_fer.benchmarks.device.logs import parse_benchmark_model
from edge_fer.benchmarks.device.summary import (
    RuntimeSummary,
    summarize_benchmark_model,
    write_summary,
)
from edge_fer.errors import EdgeFerError, ToolMissingError, UsageError
from edge_fer.platform.adb import Device, pick_device
from edge_fer.tensors.rawio import read_image_raw, read_input_list, write_input_list
from edge_fer.tensors.results import write_results

TFLITE_DELEGATE_FLAGS: dict[str, tuple[str, ...]] = {
    "cpu": (),                              # XNNPACK, applied by default
    "gpu": ("--use_gpu=true",),
    "nnapi": ("--use_nnapi=true",),
}


@dataclass(frozen=True)
class TflitePlan:
    """What every delegate's runs share: the device and its pushed files, the settings, the
    model's tensors and the host side of the label check."""

    device: Device
    remote: str
    iterations: int
    warmup: int
    threads: int
    staged: list[str]          # the raws pushed for the label check, by their device names
    input_detail: dict
    output_detail: dict
    reference: Path | None
    check_list: Path | None


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
    reference = session.reference_model(model, reference)
    out_dir.mkdir(parents=True, exist_ok=True)
    remote = f"{session.DEVICE_ROOT}/tflite"
    with tempfile.TemporaryDirectory(prefix="tflite-device-", dir=out_dir) as scratch:
        stage = Path(scratch) / "stage"
        count = min(check_count, len(parsed))
        staged = session.stage_inputs(parsed, stage, remote, input_spec.name, count) if count else []
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
        plan = TflitePlan(device, remote, iterations, warmup, threads, [n for _, n in staged],
                          input_detail, output_detail, reference, check_list)
        summaries = session.each_runtime(device, remote, out_dir, delegates,
                                 lambda local, delegate: _tflite_delegate(local, plan, delegate))
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


def _tflite_delegate(local: Path, plan: TflitePlan, delegate: str) -> RuntimeSummary:
    """benchmark_model's timed runs on one delegate, then (with raws staged) its outputs for
    the label check."""
    from edge_fer.runners.tflite import dequantize

    remote = plan.remote
    flags = TFLITE_DELEGATE_FLAGS[delegate]
    argv = [f"{remote}/benchmark_model", f"--graph={remote}/model.tflite",
            f"--num_runs={plan.iterations}", f"--warmup_runs={plan.warmup}",
            f"--num_threads={plan.threads}", "--report_peak_memory_footprint=true", *flags]
    reporter.info(f"benchmark_model {delegate}: {plan.iterations} runs")
    try:
        done = plan.device.shell(argv, what=f"benchmark_model ({delegate})")
        log = done.stdout + done.stderr
        (local / "benchmark_model.log").write_text(log, encoding="utf-8")
        summary = summarize_benchmark_model(delegate, parse_benchmark_model(log))
        if plan.staged:
            outputs = _tflite_outputs(plan, delegate, flags, local)
    except EdgeFerError as exc:
        raise session.RuntimeFailed(RuntimeSummary("benchmark_model", delegate, status="failed",
                                           reason=str(exc))) from None
    if plan.staged:
        size = int(np.prod(plan.output_detail["shape"]))
        rows = []
        for raw in outputs:
            values = np.frombuffer(raw.read_bytes(), dtype=np.dtype(plan.output_detail["dtype"]))
            rows.append(dequantize(values[:size], plan.output_detail))
        write_results(local / "results", rows)
        session.check_labels(summary, plan.reference, local / "results", plan.check_list)
    return summary


def _tflite_outputs(plan: TflitePlan, delegate: str, flags: tuple[str, ...],
                    local: Path) -> list[Path]:
    """benchmark_model once per staged raw, writing its output tensor (--output_filepath); one
    shell script on the device, its files pulled back as out_<i>.bin."""
    remote, device = plan.remote, plan.device
    name = plan.input_detail["name"].replace(":", "::")  # benchmark_model's escape for ':' in names
    shape = ",".join(str(int(d)) for d in plan.input_detail["shape"])
    remote_out = f"{remote}/outputs_{delegate}"
    lines = [f"mkdir -p {shlex.quote(remote_out)}"]
    for number, raw_name in enumerate(plan.staged):
        log = f"{remote_out}/out_{number:06d}.log"
        argv = [f"{remote}/benchmark_model", f"--graph={remote}/model.tflite", "--num_runs=1",
                "--warmup_runs=0", f"--num_threads={plan.threads}", f"--input_layer={name}",
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
    if len(outputs) != len(plan.staged):
        raise EdgeFerError(f"benchmark_model wrote {len(outputs)} of {len(plan.staged)} output files "
                           f"({delegate})")
    return outputs
