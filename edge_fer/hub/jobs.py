"""AI Hub jobs as edge-fer uses them: which device, what is compiled for which runtime, inference
jobs fed with our raws, and their outputs and profiles in edge-fer's own shapes.

Everything here talks to a client object with the `qai_hub.Client` methods (get_devices,
upload_model, submit_compile_job, submit_inference_job) and the job objects they return (wait,
get_target_model, download_output_data, download_profile); the tests pass a stand-in with the
same names and signatures.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_fer.errors import EdgeFerError, UsageError

# edge-fer's runtime names → the client's `--target_runtime` compile option.
TARGET_RUNTIMES = {"tflite": "tflite", "qnn": "qnn_context_binary", "onnx": "onnx"}
DEVICE_ATTRIBUTE_PREFIXES = ("chipset:", "os:", "vendor:", "format:", "framework:")
DEFAULT_TIMEOUT_S = 1800
COMPILED_SOURCES = (".onnx",)     # what AI Hub compiles from (of the files edge-fer writes)
DIRECT = {".tflite": "tflite"}    # files a device runs as they are, and on which runtime


@contextlib.contextmanager
def client_chatter_to_stderr():
    """The client prints progress on stdout; edge-fer's stdout holds results (and --json). Used
    once around a whole command, on its main thread (sys.stdout is process-wide, so swapping it
    from the per-device threads would leave it pointing at the wrong stream)."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def default_runtime(model: Path) -> str:
    suffix = model.suffix.lower()
    if suffix in DIRECT:
        return DIRECT[suffix]
    if model.name.lower().endswith("_ctx.onnx"):
        return "qnn"  # what it was compiled for (check_model_for_runtime says what to give instead)
    if suffix in COMPILED_SOURCES:
        return "onnx"
    raise UsageError(f"{model}: AI Hub takes a .tflite file or an .onnx model (not {model.suffix or 'this file'}); "
                     f"make one with: edge-fer convert {model} --target onnx")


def check_model_for_runtime(model: Path, runtime: str) -> bool:
    """True when `model` must be compiled for `runtime` first; a usage error when it cannot be."""
    if runtime not in TARGET_RUNTIMES:
        raise UsageError(f"--runtime must be one of {', '.join(TARGET_RUNTIMES)}, not {runtime!r}")
    name, suffix = model.name.lower(), model.suffix.lower()
    if name.endswith("_ctx.onnx"):
        raise UsageError(f"{model}: a QNN context model is compiled for one SoC here; give AI Hub "
                         f"the QDQ .onnx it was made from (it compiles for the device itself)")
    if DIRECT.get(suffix) == runtime:
        return False
    if suffix in COMPILED_SOURCES:
        return True
    raise UsageError(f"{model}: AI Hub compiles for {runtime} from an .onnx model, not from "
                     f"{suffix or 'this file'}; make one with: edge-fer convert MODEL --target onnx")


def device_for(module, client, text: str):
    """`--device` as the client's Device: a device name ("Samsung Galaxy S24 (Family)") or an
    attribute ("chipset:qualcomm-snapdragon-8gen3"); it must match a device the service has."""
    text = text.strip()
    if not text:
        raise UsageError("--device must name a device or an attribute (edge-fer hub devices lists them)")
    is_attribute = text.startswith(DEVICE_ATTRIBUTE_PREFIXES)
    found = client.get_devices(name="" if is_attribute else text,
                               attributes=[text] if is_attribute else [])
    if not found:
        raise EdgeFerError(f"AI Hub has no device matching {text!r}; list them with: edge-fer hub "
                           f"devices")
    return module.Device(name="", attributes=text) if is_attribute else module.Device(name=text)


def device_label(device) -> str:
    attributes = device.attributes if isinstance(device.attributes, list) else [device.attributes]
    return device.name or ", ".join(a for a in attributes if a)


def device_rows(devices) -> list[dict[str, str]]:
    """One row per device: name, OS, chipset and the runtimes (frameworks) it offers."""
    rows = []
    for device in devices:
        attributes = device.attributes if isinstance(device.attributes, list) else [device.attributes]
        values = {}
        for attribute in attributes:
            key, _, value = str(attribute).partition(":")
            values.setdefault(key, []).append(value)
        rows.append({"name": device.name, "os": device.os,
                     "chipset": ", ".join(values.get("chipset", [])),
                     "runtimes": ", ".join(values.get("framework", []))})
    return rows


def input_specs(spec) -> dict[str, tuple[tuple[int, ...], str]]:
    """The client's input_specs for a model taking `spec` (runners' InputSpec), batch 1."""
    return {spec.name: ((1, *spec.image_shape), spec.dtype)}


def wait_for(job, what: str, timeout: float):
    """Wait for a job; a failed or timed-out job is one error naming it and its page."""
    try:
        status = job.wait(timeout=int(timeout))
    except TimeoutError:
        raise EdgeFerError(f"AI Hub {what} job {job.job_id} did not finish within {timeout:g} s "
                           f"(it goes on: {job.url})") from None
    if not status.success:
        message = " ".join(str(status.message or status.code).split())
        raise EdgeFerError(f"AI Hub {what} job {job.job_id} failed: {message} ({job.url})")
    return status


@dataclass
class DeviceModel:
    """What runs on the hosted device: the uploaded or compiled model and how it came to be."""
    source: Path
    runtime: str
    device: str
    model: object
    compile_record: dict = field(default_factory=dict)


def prepare(client, module, source: Path, runtime: str, device, spec, timeout: float,
            compile_options: str = "") -> DeviceModel:
    """Upload `source`, compiled for `runtime` on `device` when it is not that runtime's file."""
    label = device_label(device)
    if not check_model_for_runtime(source, runtime):
        return DeviceModel(source, runtime, label, client.upload_model(str(source)))
    options = " ".join([f"--target_runtime {TARGET_RUNTIMES[runtime]}", compile_options]).strip()
    job = client.submit_compile_job(model=str(source), device=device, name=f"edge-fer {source.stem}",
                                    input_specs=input_specs(spec), options=options)
    wait_for(job, "compile", timeout)
    target = job.get_target_model()
    if target is None:
        raise EdgeFerError(f"AI Hub compile job {job.job_id} succeeded but gave no model ({job.url})")
    record = {"job_id": job.job_id, "url": job.url, "options": options,
              "input_specs": {k: [list(v[0]), v[1]] for k, v in input_specs(spec).items()},
              "call": f"submit_compile_job(model={str(source)!r}, device=Device({label!r}), "
                      f"input_specs={input_specs(spec)!r}, options={options!r})"}
    return DeviceModel(source, runtime, label, target, record)


def infer(client, target: DeviceModel, device, spec, images: np.ndarray, timeout: float,
          profile: bool = False):
    """One inference job over `images` [k, *spec.image_shape] (already in the model's input
    type); returns (outputs [k, C] as the device gave them, the job)."""
    inputs = {spec.name: [images[i:i + 1] for i in range(len(images))]}
    job = client.submit_inference_job(model=target.model, device=device, inputs=inputs,
                                      name=f"edge-fer {target.source.stem}", profile=profile)
    wait_for(job, "inference", timeout)
    outputs = job.download_output_data()
    return outputs_array(outputs, len(images), job), job


def outputs_array(outputs, count: int, job) -> np.ndarray:
    """The one output tensor of the job's DatasetEntries ({name: [array per input]}) as [k, C]."""
    if not outputs:
        raise EdgeFerError(f"AI Hub inference job {job.job_id} returned no outputs ({job.url})")
    if len(outputs) != 1:
        raise EdgeFerError(f"AI Hub inference job {job.job_id} returned {len(outputs)} output "
                           f"tensors ({', '.join(outputs)}); edge-fer reads models with one output")
    arrays, = outputs.values()
    if len(arrays) != count:
        raise EdgeFerError(f"AI Hub inference job {job.job_id} returned {len(arrays)} results for "
                           f"{count} inputs ({job.url})")
    return np.concatenate([np.asarray(a).reshape(1, -1) for a in arrays])


def profile_summary(profile: dict) -> dict:
    """The client's profile dict → latency (ms), peak memory (MiB), compute units and the ten
    slowest layers, the figures bench reports for host runtimes."""
    summary = profile.get("execution_summary") or {}
    times_us = [t for t in summary.get("all_inference_times") or [] if isinstance(t, (int, float))]
    estimate = summary.get("estimated_inference_time")
    if not times_us and isinstance(estimate, (int, float)):
        times_us = [estimate]
    if not times_us:
        raise EdgeFerError("AI Hub returned a profile without inference times")
    layers = profile.get("execution_detail") or []
    units = Counter(str(layer.get("compute_unit", "?")) for layer in layers)
    timed = sorted((layer for layer in layers if isinstance(layer.get("execution_time"), (int, float))),
                   key=lambda layer: layer["execution_time"], reverse=True)
    peak = summary.get("estimated_inference_peak_memory")
    ms = [t / 1000.0 for t in times_us]
    return {
        "calls": len(ms), "mean_ms": statistics.fmean(ms), "p50_ms": statistics.median(ms),
        "min_ms": min(ms), "max_ms": max(ms),
        "std_ms": statistics.stdev(ms) if len(ms) > 1 else None,
        "first_load_ms": _ms(summary.get("first_load_time")),
        "peak_memory_mib": peak / 2**20 if isinstance(peak, (int, float)) else None,
        "compute_units": dict(units),
        "top_layers": [{"name": layer.get("name"), "type": layer.get("type"),
                        "compute_unit": layer.get("compute_unit"),
                        "ms": layer["execution_time"] / 1000.0} for layer in timed[:10]],
    }


def _ms(value) -> float | None:
    return value / 1000.0 if isinstance(value, (int, float)) else None
