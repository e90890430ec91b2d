"""TFLite from the frozen graph edge-fer checked: tf.compat.v1.lite.TFLiteConverter(graph_def, …).

fp32 as is; fp16 stores float16 weights (float32 in/out); int8 is full-integer post-training
quantization from the calibration samples, written in two flavours: int8 input/output
(`_int8.tflite`, for integer-only accelerators) and float32 input/output
(`_int8_float_io.tflite`, a drop-in for the float model). Tensor names `x`/`output` are kept.
Both come from one calibration: the converter writes the float-I/O model, and the int8-I/O one
is that model with its input QUANTIZE and output DEQUANTIZE removed (LiteRT's
modify_model_io_type, what the converter itself does for other I/O types), so the two compute
the same integers and the calibration's TFLite reference-kernel pass (most of an int8
conversion's time) runs once.

`--dynamic-batch` converts the graph with a free batch (graphio.dynamic_batch_graph, as the onnx
target does): same file names, the input's shape signature is [-1, 48, 48, 1] and the manifest
says `batch: dynamic`, so a runner resizes the input and runs a whole batch in one invoke. It is
checked by running a batch of 3 against 3 single runs.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from edge_fer.converters.base import ConvertJob, Step
from edge_fer.errors import EdgeFerError

TARGET = "tflite"
SUFFIX = ".tflite"
BATCH_CHECK = 3


@dataclass(frozen=True)
class Flavour:
    precision: str
    tag: str               # file-name tag after the model's stem
    variant: str           # what the file is, for the table and the manifest
    settings: tuple[str, ...] = ()   # converter attributes set, as Python statements
    integer_io: bool = False


_INT8_SETTINGS = (
    "converter.optimizations = [tf.lite.Optimize.DEFAULT]",
    "converter.representative_dataset = <calibration samples, see manifest>",
    "converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]",
)
FLAVOURS: dict[str, tuple[Flavour, ...]] = {
    "fp32": (Flavour("fp32", "", ""),),
    "fp16": (Flavour("fp16", "_fp16", "float16 weights, float32 in/out", (
        "converter.optimizations = [tf.lite.Optimize.DEFAULT]",
        "converter.target_spec.supported_types = [tf.float16]")),),
    "int8": (
        Flavour("int8", "_int8", "int8 in/out", _INT8_SETTINGS + (
            "float_io_model = converter.convert()",
            "tensorflow.lite.python.util.modify_model_io_type(float_io_model, tf.int8, tf.int8)"),
            integer_io=True),
        Flavour("int8", "_int8_float_io", "float in/out", _INT8_SETTINGS),
    ),
}


def missing(job: ConvertJob) -> str | None:
    for module, package in (("tensorflow", "tensorflow-cpu"), ("ai_edge_litert", "ai-edge-litert")):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install {package})"
    return None


def api_calls(job: ConvertJob, flavour: Flavour) -> list[str]:
    shape = job.input_shape()
    if job.dynamic_batch:
        return [
            (f"graph_def, _ = edge_fer.tensors.graphio.dynamic_batch_graph(graph_def, "
             f"{shape[0]}, {job.input_name!r})"),
            (f"converter = tf.compat.v1.lite.TFLiteConverter(graph_def, "
             f"[graph[{job.input_name + ':0'!r}]], [graph[{job.output_name + ':0'!r}]])"),
            *flavour.settings,
            *(() if flavour.integer_io else ("converter.convert()",)),
        ]
    return [
        (f"graph = import_graph(graph_def); graph[{job.input_name + ':0'!r}].set_shape({shape})"),
        (f"converter = tf.compat.v1.lite.TFLiteConverter(graph.as_graph_def(), "
         f"[graph[{job.input_name + ':0'!r}]], [graph[{job.output_name + ':0'!r}]])"),
        *flavour.settings,
        *(() if flavour.integer_io else ("converter.convert()",)),
    ]


def plan(job: ConvertJob) -> list[Step]:
    return [Step(TARGET, flavour.precision, job.output(TARGET, SUFFIX, flavour.tag),
                 api_calls(job, flavour), functools.partial(_convert, job, flavour),
                 ", ".join(filter(None, (flavour.variant,
                                         "dynamic batch" if job.dynamic_batch else ""))))
            for flavour in FLAVOURS[job.precision]
            if job.file_tags is None or flavour.tag in job.file_tags]


def converter_for(job: ConvertJob, flavour: Flavour):
    """The LiteRT converter for one flavour, set up (int8: calibrated on job.calibration())."""
    import numpy as np
    import tensorflow as tf

    from edge_fer.tensors.graphio import dynamic_batch_graph, import_graph

    # the graph edge-fer checked and holds, never the file re-read (it may have changed since)
    graph_def = job.graph_def
    if job.dynamic_batch:
        graph_def, _ = dynamic_batch_graph(graph_def, job.input_shape()[0], job.input_name)
    graph = import_graph(graph_def)
    inputs = [graph.get_tensor_by_name(f"{job.input_name}:0")]
    if not job.dynamic_batch:
        inputs[0].set_shape(job.input_shape())
    converter = tf.compat.v1.lite.TFLiteConverter(
        graph.as_graph_def(), inputs, [graph.get_tensor_by_name(f"{job.output_name}:0")])
    if flavour.precision == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif flavour.precision == "int8":
        images = job.calibration().images

        def representative_dataset():
            for image in images:
                yield [np.ascontiguousarray(image[None], dtype=np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter


def converted_bytes(job: ConvertJob, flavour: Flavour) -> bytes:
    """The flavour's TFLite model. int8: the float-I/O model is converted (and calibrated) once
    per job; the int8-I/O flavour is derived from it."""
    if flavour.precision != "int8":
        return converter_for(job, flavour).convert()
    if "tflite_int8" not in job.shared:
        job.shared["tflite_int8"] = converter_for(job, flavour).convert()
    return with_integer_io(job.shared["tflite_int8"]) if flavour.integer_io else job.shared["tflite_int8"]


def with_integer_io(model: bytes) -> bytes:
    """A float-I/O int8 TFLite model with int8 input and output (its QUANTIZE and DEQUANTIZE at
    the ends removed), its input and output tensors keeping the float model's names."""
    import tensorflow as tf
    from tensorflow.lite.python.util import modify_model_io_type
    from tensorflow.lite.tools import flatbuffer_utils

    def ends(flat) -> list:
        graph = flat.subgraphs[0]
        return [graph.tensors[i] for i in (*graph.inputs, *graph.outputs)]

    names = [t.name for t in ends(flatbuffer_utils.convert_bytearray_to_object(bytearray(model)))]
    derived = flatbuffer_utils.convert_bytearray_to_object(
        bytearray(modify_model_io_type(model, tf.int8, tf.int8)))
    for tensor, name in zip(ends(derived), names, strict=True):
        tensor.name = name
    return bytes(flatbuffer_utils.convert_object_to_bytearray(derived))


def _batch_facts(job: ConvertJob, path: Path) -> dict:
    """With --dynamic-batch, run BATCH_CHECK images in one invoke and one by one: the results
    must agree (a graph that pins the batch past the input, or mixes images, fails here)."""
    if not job.dynamic_batch:
        return {"dynamic": False, "size": job.input_shape()[0]}
    import numpy as np

    from edge_fer.runners.tflite import TfliteRunner
    from edge_fer.tensors.graphio import dynamic_batch_graph

    runner = TfliteRunner(path)
    images = np.random.default_rng(0).random((BATCH_CHECK, *job.input_shape()[1:]), np.float32)
    batched = runner.predict(images)
    if runner.max_batch == 1:
        raise EdgeFerError(f"{job.model}: TFLite model does not run with a dynamic batch; "
                           f"freeze it with a free batch")
    single = np.concatenate([TfliteRunner(path).predict(image[None]) for image in images])
    if np.abs(batched - single).max() > 1e-5:
        raise EdgeFerError(f"{job.model}: a batch of {BATCH_CHECK} does not give what "
                           f"{BATCH_CHECK} single runs give; the graph mixes images across the batch")
    _, rewritten = dynamic_batch_graph(job.graph_def, job.input_shape()[0], job.input_name)
    return {"dynamic": True, "rewritten_reshapes": rewritten}


def _convert(job: ConvertJob, flavour: Flavour, path: Path) -> dict:
    import importlib.metadata

    import tensorflow as tf

    from edge_fer.artifacts.tflitefile import describe_tflite
    from edge_fer.converters.verify import compare

    try:
        path.write_bytes(converted_bytes(job, flavour))
    except Exception as exc:  # noqa: BLE001 - the converter raises ConverterError, ValueError, RuntimeError...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise EdgeFerError(f"{job.model}: TFLite {flavour.precision} conversion failed ({first})") from None
    described = describe_tflite(path).report()
    facts = {
        "tool_versions": {"tensorflow": tf.__version__,
                          "ai-edge-litert": importlib.metadata.version("ai-edge-litert")},
        "inputs": described["inputs"],
        "outputs": described["outputs"],
        "ops": described["ops"],
        "batch": _batch_facts(job, path),
    }
    if flavour.precision == "int8":
        facts["calibration"] = job.calibration().describe()
    facts["checks"] = compare(job, path, "tflite", flavour.precision,
                              job.output(TARGET, SUFFIX, flavour.tag).name)
    return facts
