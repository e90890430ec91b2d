"""Facts a bench row states beside its timings, read without running the model: the file's
precision and FLOPs (from its manifest, its tensors or its source graph) and the host's CPUs
and load. Also what device-bench and bench/e2e.py read (source_graph, flops_per_image)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from edge_fer import reporter
from edge_fer.errors import EdgeFerError


def precision_of(model: Path, runtime: str) -> str:
    """From the manifest when there is one, else from the file's own tensors (a model from
    elsewhere), else from the file name (edge-fer's naming)."""
    from edge_fer.artifacts.manifest import read_manifest

    manifest = read_manifest(model) or {}
    if manifest.get("precision"):
        return str(manifest["precision"])
    held = file_precision(model)
    if held:
        return held
    stem = model.stem.lower()
    for tag in ("int8", "fp16"):
        if tag in stem:
            return tag
    if runtime == "qnn":
        return "int8"
    return "fp32"


def file_precision(model: Path) -> str | None:
    """What a TFLite or ONNX file computes in, read from its tensors and ops: int8 (quantised
    activations), int8w (int8 weights, float activations: "dynamic range"), fp16 (float16
    weights), fp32; None when the file cannot be read here."""
    from edge_fer.artifacts.formats import describe

    try:
        if model.suffix.lower() == ".tflite":
            dtypes = describe(model, full=False).facts["tensor_dtypes"]
            integer = dtypes.get("int8", 0) + dtypes.get("uint8", 0) + dtypes.get("int16", 0)
            if integer:
                return "int8" if integer >= dtypes.get("float32", 0) else "int8w"
            return "fp16" if dtypes.get("float16") else "fp32"
        if model.suffix.lower() == ".onnx":
            ops = describe(model, full=False).ops
            if "QuantizeLinear" in ops or any(op.startswith("QLinear") for op in ops):
                return "int8"
            return "int8w" if "DynamicQuantizeLinear" in ops else "fp32"
    except (EdgeFerError, KeyError, ImportError):
        return None
    return None


def source_graph(model: Path) -> Path | None:
    """The frozen `.pb` a model came from: itself, or its manifest's source model."""
    from edge_fer.artifacts.manifest import read_manifest

    if model.suffix.lower() == ".pb":
        return model
    source = ((read_manifest(model) or {}).get("source_model") or {}).get("path")
    if source and Path(source).is_file():
        return Path(source)
    return None


def flops_per_image(graph_path: Path) -> int | None:
    """2 × multiply-adds of one image through the frozen graph (edge_fer.artifacts.pbfile)."""
    from edge_fer.artifacts.formats import describe

    try:
        described = describe(graph_path)
    except EdgeFerError as exc:
        reporter.warn(f"FLOPs unknown: {exc}")
        return None
    image = next((t for t in described.inputs
                  if described.picked and t.name == described.picked[0]), None)
    batch = (image.dims() or [None])[0] if image is not None and described.flops else None
    return described.flops // batch if batch and batch > 1 else described.flops


def load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages (none where the system does not tell)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    return [round(v, 2) for v in load if v is not None]


def host_facts() -> dict:
    return {"machine": platform.machine(), "system": platform.system(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "load_average_start": load_average()}
