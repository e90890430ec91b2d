"""ONNX from the frozen graph with tf2onnx (opset 17), the graph's input and output names and
layout kept (edge-fer's own: `x`, `output`, NHWC).

The layout is not transposed: the model takes the same tensors (and raw files) as every other
target; the manifest and the model's metadata say so. `--dynamic-batch`
frees the batch dimension (the frozen graph's Reshape to [1, …] is rewritten to [-1, …]) and is
checked by running a batch of 3 against 3 single runs. `--precision int8` also writes a QDQ model
quantized by onnxruntime.quantization from the same calibration samples as the other targets.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from edge_fer.converters.base import ConvertJob, Step
from edge_fer.errors import EdgeFerError
from edge_fer.tensors.graphio import dynamic_batch_graph

TARGET = "onnx"
SUFFIX = ".onnx"
OPSET = 17
# uint8 activations AND uint8 weights (U8U8), per-channel. onnxruntime's default pairing, uint8
# activations × int8 weights (U8S8), runs on x86 CPUs without VNNI (AVX2, AVX-512 without VNNI) with
# VPMADDUBSW, whose 16-bit pair sums saturate: on this AVX2 machine it gave the float model's top-1 on
# only 95.5 % of the round-trip test's 200 inputs (max |Δp| 0.26). onnxruntime's quantization guide
# names two cures: reduce_range (7-bit weights: 99.0 %, |Δp| 0.030) or U8U8 (99.0 %, |Δp| 0.021);
# U8U8 keeps all 8 bits of the weights, so it is the default. Calibration method (MinMax,
# Entropy, Percentile) did not help (95.5, 95.5, 94.5 %).
QDQ_SETTINGS = {"quant_format": "QDQ", "activation_type": "QUInt8", "weight_type": "QUInt8",
                "per_channel": True, "reduce_range": False, "calibrate_method": "MinMax"}
BATCH_CHECK = 3


def missing(job: ConvertJob) -> str | None:
    for module, package in (("tensorflow", "tensorflow-cpu"), ("tf2onnx", "tf2onnx"),
                            ("onnx", "onnx"), ("onnxruntime", "onnxruntime")):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install {package})"
    return None


def renames(job: ConvertJob) -> dict[str, str]:
    """tf2onnx names tensors `name:0`; the ONNX model keeps the graph's own names."""
    return {f"{job.input_name}:0": job.input_name, f"{job.output_name}:0": job.output_name}


def plan(job: ConvertJob) -> list[Step]:
    fp32 = job.output(TARGET, SUFFIX)
    rewrite = [f"graph_def = <{job.input_name} batch and batch-1 Reshape shapes set to -1>"] \
        if job.dynamic_batch else []
    steps = [Step(TARGET, "fp32", fp32, [
        *rewrite,
        (f"model, _ = tf2onnx.convert.from_graph_def(graph_def, name={job.stem!r}, "
         f"input_names=[{job.input_name + ':0'!r}], output_names=[{job.output_name + ':0'!r}], "
         f"opset={OPSET}, tensors_to_rename={renames(job)!r}"
         + ("" if job.dynamic_batch else
            f", shape_override={{{job.input_name + ':0'!r}: {job.input_shape()}}}") + ")"),
        "onnx.checker.check_model(model, full_check=True)",
    ], functools.partial(_convert, job), "dynamic batch" if job.dynamic_batch else "")]
    if job.precision == "int8":
        int8 = job.output(TARGET, SUFFIX, "_int8")
        steps.append(Step(TARGET, "int8", int8, [
            f"onnxruntime.quantization.shape_inference.quant_pre_process({str(fp32)!r}, 'pre.onnx')",
            (f"onnxruntime.quantization.quantize_static('pre.onnx', {str(int8)!r}, "
             f"calibration_data_reader=<calibration samples, see manifest>, {_settings_text()})"),
            "onnx.checker.check_model(model, full_check=True)",
        ], functools.partial(_quantize, job, fp32), "QDQ, float in/out"))
    return steps


def bounds_as_clip(model) -> int:
    """Rewrite, in place, each activation bound tf2onnx writes as element-wise ops against a
    one-value constant (Relu → Min, Max → Min, or a lone Min or Max: the shipped edge models'
    clips, edge_fer/training/activation_clip.py) as one Clip; returns how many. Same function, but
    onnxruntime's QDQ quantizer folds a Clip into the op before it, whose output then takes the
    clipped range (as TFLite's converter does with MINIMUM), where it gives Min and Max a rounding
    of their own after the op's unclipped one: tiny's int8 ONNX agreed with float on 95 % of 200
    faces with Min/Max."""
    import onnx
    from onnx import numpy_helper

    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    inferred = onnx.shape_inference.infer_shapes(model).graph
    ranks = {info.name: len(info.type.tensor_type.shape.dim)
             for info in (*inferred.value_info, *inferred.input, *inferred.output)
             if info.type.tensor_type.HasField("shape")}
    readers: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    outputs = {out.name for out in graph.output}
    producer = {out: node for node in graph.node for out in node.output}

    def bound(node) -> tuple[str, float] | None:
        """(the other input, the constant) of a Min/Max against a one-value initializer that does
        not broadcast the other input to more dimensions (a Clip keeps its input's shape)."""
        if node.op_type not in ("Min", "Max") or len(node.input) != 2:
            return None
        for const, other in (node.input, node.input[::-1]):
            init = initializers.get(const)
            if init is not None and int(np.prod(init.dims)) == 1 \
                    and (not init.dims or ranks.get(other, -1) >= len(init.dims)):
                return other, float(numpy_helper.to_array(init).reshape(()))
        return None

    def only_reader(name: str) -> bool:
        return readers.get(name, 0) == 1 and name not in outputs

    reader_of = {name: node for node in graph.node for name in node.input}
    removed, clips, constants, rewritten = set(), {}, [], set()
    for node in list(graph.node):
        found = bound(node)
        if found is None or id(node) in removed:
            continue
        after = reader_of.get(node.output[0])
        if node.op_type == "Max" and only_reader(node.output[0]) and after.op_type == "Min" \
                and bound(after) is not None:
            continue  # the Min it feeds takes it into its Clip
        (source, value), spent = found, [node]
        low, high = (value, None) if node.op_type == "Max" else (None, value)
        before = producer.get(source)
        if high is not None and before is not None and only_reader(source):
            earlier = bound(before)
            if before.op_type == "Relu":
                source, low, spent = before.input[0], 0.0, [before, node]
            elif before.op_type == "Max" and earlier is not None:
                source, low, spent = earlier[0], earlier[1], [before, node]
        names = []
        for side, limit in (("min", low), ("max", high)):
            names.append("" if limit is None else f"{node.output[0]}__clip_{side}")
            if limit is not None:
                constants.append(numpy_helper.from_array(np.array(limit, np.float32), names[-1]))
        removed.update(id(n) for n in spent)
        rewritten.update(name for n in spent for name in n.input if name in initializers)
        clips[id(node)] = onnx.helper.make_node("Clip", [source, *names], list(node.output),
                                                name=f"{node.name}__clip")
    nodes = [clips.get(id(node), node) for node in graph.node
             if id(node) in clips or id(node) not in removed]
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(constants)
    used = {name for node in graph.node for name in node.input}
    for name in rewritten - used:  # the bounds' old broadcast-shaped constants
        graph.initializer.remove(initializers[name])
    return len(clips)


def _finish(model, job: ConvertJob, path: Path) -> None:
    """Record layout and labels in the model's metadata, check it, save it."""
    import onnx

    for key, value in (("layout", job.input_spec.layout.upper()),
                       ("labels", ",".join(job.output_spec.labels)),
                       ("source_sha256", job.model_sha256)):
        entry = next((p for p in model.metadata_props if p.key == key), None) or model.metadata_props.add()
        entry.key, entry.value = key, value
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise EdgeFerError(f"{path.name}: onnx.checker rejects the model "
                           f"({str(exc).strip().splitlines()[0]})") from None
    onnx.save(model, str(path))


def _tool_versions() -> dict:
    import importlib.metadata

    return {package: importlib.metadata.version(package)
            for package in ("tf2onnx", "onnx", "onnxruntime", "tensorflow-cpu")
            if importlib.util.find_spec(package.split("-")[0]) is not None}


def _check_dynamic_batch(job: ConvertJob, path: Path) -> None:
    """Batch of BATCH_CHECK images must give what BATCH_CHECK single runs give."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    images = np.random.default_rng(0).random((BATCH_CHECK, *job.input_shape()[1:]), np.float32)
    try:
        batched = session.run([job.output_name], {job.input_name: images})[0]
    except Exception as exc:  # noqa: BLE001 - onnxruntime's own exception types
        raise EdgeFerError(f"{job.model}: graph does not run with a dynamic batch "
                           f"({str(exc).splitlines()[0]}); freeze it with a free batch") from None
    single = np.concatenate([session.run([job.output_name], {job.input_name: images[i:i + 1]})[0]
                             for i in range(BATCH_CHECK)])
    if batched.shape != single.shape or np.abs(batched - single).max() > 1e-5:
        raise EdgeFerError(f"{job.model}: a batch of {BATCH_CHECK} does not give what "
                           f"{BATCH_CHECK} single runs give; the graph mixes images across the batch")


def _convert(job: ConvertJob, path: Path) -> dict:
    import logging

    import tensorflow as tf
    import tf2onnx

    from edge_fer.artifacts.onnxfile import describe_onnx
    from edge_fer.converters.verify import compare

    graph_def, rewritten = job.graph_def, []
    if job.dynamic_batch:
        graph_def, rewritten = dynamic_batch_graph(job.graph_def, job.input_shape()[0],
                                                   job.input_name)
    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    tf_logger = tf.get_logger()
    tf_level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)  # tf2onnx calls TF1 APIs that log deprecation notices
    try:
        model, _ = tf2onnx.convert.from_graph_def(
            graph_def, name=job.stem, input_names=[f"{job.input_name}:0"],
            output_names=[f"{job.output_name}:0"], opset=OPSET, tensors_to_rename=renames(job),
            shape_override=None if job.dynamic_batch else
            {f"{job.input_name}:0": job.input_shape()})
    except Exception as exc:  # noqa: BLE001 - tf2onnx raises whatever the failing handler raised
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise EdgeFerError(f"{job.model}: tf2onnx conversion failed ({first})") from None
    finally:
        tf_logger.setLevel(tf_level)
    clips = bounds_as_clip(model)
    _finish(model, job, path)
    if job.dynamic_batch:
        _check_dynamic_batch(job, path)
    described = describe_onnx(path).report()
    return {
        "tool_versions": _tool_versions(),
        "opset": OPSET,
        "batch": {"dynamic": job.dynamic_batch, "rewritten_reshapes": rewritten}
        if job.dynamic_batch else {"dynamic": False, "size": job.input_shape()[0]},
        "bounds_as_clip": clips,
        "inputs": described["inputs"],
        "outputs": described["outputs"],
        "ops": described["ops"],
        "checker": described["checker"],
        "checks": compare(job, path, "onnx", "fp32", job.output(TARGET, SUFFIX).name),
    }


def _settings_text() -> str:
    enums = {"quant_format": "QuantFormat", "activation_type": "QuantType", "weight_type": "QuantType",
             "calibrate_method": "CalibrationMethod"}
    return ", ".join(f"{key}={enums[key] + '.' + value if key in enums else value}"
                     for key, value in QDQ_SETTINGS.items())


class _CalibrationReader:
    """onnxruntime.quantization's CalibrationDataReader over the calibration samples."""

    def __init__(self, images: np.ndarray, input_name: str):
        self._feeds = iter({input_name: image[None].astype(np.float32)} for image in images)

    def get_next(self) -> dict | None:
        return next(self._feeds, None)


def quantize_qdq(prepared: Path, path: Path, images: np.ndarray, input_name: str,
                 settings: dict | None = None) -> None:
    """quantize_static of a pre-processed fp32 model into `path`, calibrated on `images`, with
    `settings` (QDQ_SETTINGS by default; an `extra_options` entry is passed on as it is)."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    settings = settings or QDQ_SETTINGS
    quantize_static(str(prepared), str(path), _CalibrationReader(images, input_name),
                    quant_format=QuantFormat[settings["quant_format"]],
                    activation_type=QuantType[settings["activation_type"]],
                    weight_type=QuantType[settings["weight_type"]],
                    per_channel=settings["per_channel"], reduce_range=settings["reduce_range"],
                    calibrate_method=CalibrationMethod[settings["calibrate_method"]],
                    extra_options=dict(settings.get("extra_options", {})))


def _quantize(job: ConvertJob, fp32: Path, path: Path) -> dict:
    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from edge_fer.artifacts.onnxfile import describe_onnx
    from edge_fer.converters.verify import compare

    if not fp32.is_file():
        raise EdgeFerError(f"{fp32}: float model to quantize is missing")
    samples = job.calibration()
    prepared = path.with_name("pre.onnx")  # in the staging folder, removed with it
    try:
        quant_pre_process(str(fp32), str(prepared))
        quantize_qdq(prepared, path, samples.images, job.input_name)
    except Exception as exc:  # noqa: BLE001 - onnxruntime.quantization raises plain exceptions
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise EdgeFerError(f"{fp32}: ONNX int8 quantization failed ({first})") from None
    _finish(onnx.load(str(path)), job, path)
    described = describe_onnx(path).report()
    return {
        "tool_versions": _tool_versions(),
        "opset": OPSET,
        "quantized_from": fp32.name,
        "calibration": samples.describe(),
        "quantization_settings": QDQ_SETTINGS,
        "inputs": described["inputs"],
        "outputs": described["outputs"],
        "ops": described["ops"],
        "quantization": described.get("quantization"),
        "checker": described["checker"],
        "checks": compare(job, path, "onnx", "int8", job.output(TARGET, SUFFIX, "_int8").name),
    }
