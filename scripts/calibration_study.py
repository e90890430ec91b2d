#!/usr/bin/env python3
"""Int8 calibration study: how often int8 TFLite / ONNX give the float graph's top-1 label.

    nice -n 5 python scripts/calibration_study.py --data ../shared/data/fer2013/fer2013.csv.gz \\
        --json docs/calibration.json --markdown docs/calibration_table.md

For one model (default: the shipped `best`), every variant is calibrated on `Training` faces (the
same ones convert picks for `--calib-count N`, plus their mirror images with `+mirror`) and scored
on the `PublicTest` faces: top-1 agreement with the float graph, accuracy, max |Δp|. Variants
(VARIANTS): TFLite per-channel (convert's default) or per-tensor weights, int8 or float in/out;
ONNX QDQ (onnxruntime.quantization.quantize_static) with each calibration method, per-channel on or
off, symmetric activations; calibration on 200 or 1,000 faces. `--layers N` adds the N layers
that lose most in the default TFLite int8 model (tf.lite.experimental.QuantizationDebugger:
RMSE of the int8 tensor against float, in units of its quantization scale). Selection of a
default from it uses PublicTest only.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TRAIN, TEST = "Training", "PublicTest"


@dataclass(frozen=True)
class Variant:
    name: str
    target: str                      # tflite | onnx
    count: int = 200                 # Training faces calibrated on
    mirror: bool = False             # their mirror images added (2 × count samples)
    options: dict = field(default_factory=dict, hash=False)


def _onnx(name: str, count: int = 200, mirror: bool = False, **changes) -> Variant:
    return Variant(name, "onnx", count, mirror, changes)


def _tflite(name: str, count: int = 200, mirror: bool = False, per_channel: bool = True,
            io: str = "int8") -> Variant:
    return Variant(name, "tflite", count, mirror, {"per_channel": per_channel, "io": io})


VARIANTS = (
    _tflite("tflite per-channel (default)"),
    _tflite("tflite per-channel float in/out", io="float"),
    _tflite("tflite per-tensor", per_channel=False),
    _tflite("tflite per-channel 1000", count=1000),
    _tflite("tflite per-channel 200+mirror", mirror=True),
    _onnx("onnx MinMax per-channel (default)"),
    _onnx("onnx Entropy", calibrate_method="Entropy"),
    _onnx("onnx Percentile", calibrate_method="Percentile"),
    _onnx("onnx Distribution", calibrate_method="Distribution"),
    _onnx("onnx per-tensor", per_channel=False),
    _onnx("onnx symmetric activations", extra_options={"ActivationSymmetric": True}),
    _onnx("onnx MinMax 1000", count=1000),
    _onnx("onnx MinMax 200+mirror", mirror=True),
)


def calibration_images(data: str, count: int, mirror: bool) -> np.ndarray:
    """The model inputs convert calibrates on for --calib DATA --calib-count COUNT, and with
    `mirror` their mirror images after them."""
    from edge_fer.converters.calibration import load_calibration

    images = load_calibration(data, count).images
    return np.concatenate([images, images[:, :, ::-1]]) if mirror else images


def _job(model: Path, out: Path, data: str, images: np.ndarray):
    from edge_fer.converters.base import ConvertJob
    from edge_fer.converters.calibration import SampleSet
    from edge_fer.tensors.graphio import load_graph_def

    job = ConvertJob(model=model, graph_def=load_graph_def(model), out_dir=out, precision="int8",
                     calib=data, calib_count=len(images), verify_count=0)
    job._calibration = SampleSet(images, "data-set", data, split=TRAIN)
    return job


def build_tflite(variant: Variant, model: Path, out: Path, data: str, images: np.ndarray) -> Path:
    from edge_fer.converters import tflite

    job = _job(model, out, data, images)
    flavour = next(f for f in tflite.FLAVOURS["int8"] if f.integer_io == (variant.options["io"] == "int8"))
    converter = tflite.converter_for(job, flavour)
    if not variant.options["per_channel"]:
        converter._experimental_disable_per_channel = True
    path = out / "model.tflite"
    model = converter.convert()
    path.write_bytes(tflite.with_integer_io(model) if flavour.integer_io else model)
    return path


def build_onnx(variant: Variant, prepared: Path, out: Path, images: np.ndarray) -> Path:
    from edge_fer.converters.onnx import QDQ_SETTINGS, quantize_qdq

    path = out / "model_int8.onnx"
    quantize_qdq(prepared, path, images, "x", QDQ_SETTINGS | variant.options)
    return path


def onnx_prepared(model: Path, out: Path, data: str) -> Path:
    """The fp32 ONNX model of `model` (convert's own conversion), pre-processed for quantization."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from edge_fer.converters import onnx

    job = _job(model, out, data, np.zeros((0, 48, 48, 1), np.float32))
    fp32 = out / "model.onnx"
    onnx._convert(job, fp32)
    prepared = out / "pre.onnx"
    quant_pre_process(str(fp32), str(prepared))
    return prepared


def probabilities(path: Path, runtime: str, faces: np.ndarray, threads: int) -> np.ndarray:
    from edge_fer.analysis.evaluate import predict_split
    from edge_fer.runners import load_runner

    runner = load_runner(path, runtime, threads=threads)
    try:
        return predict_split(runner, faces)
    finally:
        runner.close()


def score(probs: np.ndarray, reference: np.ndarray, labels: np.ndarray) -> dict:
    return {"agreement": float(np.mean(probs.argmax(1) == reference.argmax(1))),
            "accuracy": float(np.mean(probs.argmax(1) == labels)),
            "max_abs_dp": float(np.abs(probs - reference).max())}


def layer_losses(model: Path, data: str, images: np.ndarray, faces: np.ndarray, top: int) -> list[dict]:
    """The `top` tensors of the default int8 TFLite model with the largest RMSE against float in
    units of their scale (QuantizationDebugger's layer statistics, on `faces`)."""
    import csv
    import io

    import tensorflow as tf

    from edge_fer.converters import tflite
    from edge_fer.preprocess import to_model_input

    with tempfile.TemporaryDirectory(prefix="calib-layers-") as scratch:
        job = _job(model, Path(scratch), data, images)
        flavour = next(f for f in tflite.FLAVOURS["int8"] if not f.integer_io)
        converter = tflite.converter_for(job, flavour)
        inputs = to_model_input(faces)

        def debug_dataset():
            for image in inputs:
                yield [image[None]]

        debugger = tf.lite.experimental.QuantizationDebugger(converter=converter,
                                                             debug_dataset=debug_dataset)
        debugger.run()
        dump = io.StringIO()
        debugger.layer_statistics_dump(dump)
    rows = []
    for row in csv.DictReader(io.StringIO(dump.getvalue())):
        scale = float(row["scale"])
        mse = float(row["mean_squared_error"])
        rows.append({"layer": row["tensor_name"], "op": row["op_name"],
                     "rmse_over_scale": math.sqrt(mse) / scale if scale else float("nan"),
                     "mean_error": float(row["mean_error"]),
                     "max_abs_error": float(row["max_abs_error"]), "scale": scale})
    rows.sort(key=lambda r: -r["rmse_over_scale"] if math.isfinite(r["rmse_over_scale"]) else 0)
    return rows[:top]


def markdown(results: list[dict], layers: list[dict], faces: int) -> str:
    lines = [f"| variant | calibration faces | top-1 agreement ({faces} {TEST}) | accuracy | max abs dp |",
             "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['variant']} | {r['calibration_samples']} | {100 * r['agreement']:.2f} % "
                     f"| {100 * r['accuracy']:.2f} % | {r['max_abs_dp']:.3f} |")
    if layers:
        lines += ["", "| layer (TFLite int8, float in/out) | op | RMSE / scale | max abs error |",
                  "|---|---|---|---|"]
        lines += [f"| {r['layer']} | {r['op']} | {r['rmse_over_scale']:.3f} | {r['max_abs_error']:.4f} |"
                  for r in layers]
    return "\n".join(lines) + "\n"


def write_outputs(args, argv, model: Path, reference: np.ndarray, labels: np.ndarray,
                  results: list[dict], layers: list[dict]) -> str:
    """The markdown table; with --json / --markdown, the results written there too."""
    table = markdown(results, layers, len(labels))
    summary = {"model": str(model), "data": args.data, "test_split": TEST, "faces": len(labels),
               "float_accuracy": float(np.mean(reference.argmax(1) == labels)),
               "calibration_split": TRAIN, "results": results, "layers": layers,
               "command": "python scripts/calibration_study.py " + " ".join(argv or sys.argv[1:])}
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(table)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="best", help="shipped model name or frozen graph (.pb)")
    parser.add_argument("--data", required=True, help="FER2013 CSV (.csv or .csv.gz)")
    parser.add_argument("--variants", help="comma-separated variant names or numbers, run in that order (default all)")
    parser.add_argument("--faces", type=int, default=0, help=f"first N {TEST} faces (default all)")
    parser.add_argument("--count-scale", type=float, default=1.0,
                        help="multiply every calibration count (for quick runs)")
    parser.add_argument("--layers", type=int, default=5, help="layers that lose most (0: skip)")
    parser.add_argument("--layer-faces", type=int, default=100,
                        help=f"{TEST} faces the layer statistics run on")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="write the results as JSON here")
    parser.add_argument("--markdown", help="write the table as markdown here")
    args = parser.parse_args(argv)

    from edge_fer.data import load_dataset
    from edge_fer.preprocess import to_model_input
    from edge_fer.tensors.graphio import load_graph_def
    from edge_fer.training.freeze import frozen_outputs
    from edge_fer.training.pretrained import model_or_default

    model = Path(model_or_default(args.model))
    chosen = list(VARIANTS)
    if args.variants:
        wanted = [w.strip() for w in args.variants.split(",")]
        chosen = [v for w in wanted for i, v in enumerate(VARIANTS) if w in (str(i), v.name)]
    test = load_dataset(args.data).splits[TEST]
    faces, labels = test.images, test.labels
    if args.faces:
        faces, labels = faces[:args.faces], labels[:args.faces]
    started = time.perf_counter()
    reference = frozen_outputs(load_graph_def(model), to_model_input(faces))
    print(f"float graph on {len(faces)} {TEST} faces: accuracy "
          f"{100 * np.mean(reference.argmax(1) == labels):.2f} % ({time.perf_counter() - started:.0f} s)",
          file=sys.stderr)
    results = []
    with tempfile.TemporaryDirectory(prefix="calib-study-") as scratch:
        scratch = Path(scratch)
        prepared = onnx_prepared(model, scratch, args.data) if any(v.target == "onnx" for v in chosen) \
            else None
        for variant in chosen:
            started = time.perf_counter()
            images = calibration_images(args.data, max(1, round(variant.count * args.count_scale)),
                                        variant.mirror)
            out = scratch / f"v{len(results)}"
            out.mkdir()
            path = build_tflite(variant, model, out, args.data, images) if variant.target == "tflite" \
                else build_onnx(variant, prepared, out, images)
            probs = probabilities(path, variant.target, faces, args.threads)
            row = {"variant": variant.name, "target": variant.target,
                   "calibration_samples": len(images), "mirror": variant.mirror,
                   "options": variant.options, **score(probs, reference, labels),
                   "seconds": round(time.perf_counter() - started, 1)}
            results.append(row)
            write_outputs(args, argv, model, reference, labels, results, [])  # kept if stopped
            print(f"{row['variant']:40s} {100 * row['agreement']:6.2f} % agree  "
                  f"{100 * row['accuracy']:6.2f} % acc  {row['seconds']:6.1f} s", file=sys.stderr)
    layers = layer_losses(model, args.data, calibration_images(
        args.data, max(1, round(200 * args.count_scale)), False),
        test.images[:args.layer_faces], args.layers) if args.layers else []
    print(write_outputs(args, argv, model, reference, labels, results, layers), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
