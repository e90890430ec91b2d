"""Qualcomm QNN HTP without the SDK: onnxruntime-qnn's quantization config and HTP compiler.

1. `<stem>_qnn.onnx`: the ONNX target's fp32 conversion (fixed batch 1, checked against the TF
   graph) into a scratch folder → `qnn_preprocess_model` → `get_qnn_qdq_config` (uint8
   activations and weights, MinMax) + `quantize` on the shared calibration samples → run on the
   HTP backend with CPU fallback off (an op QNN cannot take fails here, named: exit 1) and compared
   with the TF graph on the first HTP_CHECK_INPUTS check inputs (~100 ms each on the emulator).
2. for each SoC of `--soc`: `<stem>_qnn_<soc>_ctx.onnx` + `<stem>_qnn_<soc>_ctx_<hash>_qnn.bin`, the
   QNN context binary compiled offline for that SoC (`ep.context_enable=1`, provider options
   `soc_model`/`htp_arch` from edge_fer.platform.qnn.SOCS). Before it is declared written, the model must
   say it was compiled for that arch and SoC, reload from the file with plain HTP options and run
   CTX_CHECK_INPUTS check inputs.

On x86_64 the HTP backend is Qualcomm's emulator: it computes what the NPU computes, whatever
`htp_arch` is asked (it runs v79 semantics); its speed says nothing about a device.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import os
from pathlib import Path

import numpy as np

from edge_fer.convert.base import ConvertJob, Step
from edge_fer.errors import EdgeFerError
from edge_fer.files import sha256_file
from edge_fer.finite import require_finite
from edge_fer.platform import qnn

TARGET = "qnn"
SUFFIX = ".onnx"
QDQ_TAG = "_qnn"
HTP_CHECK_INPUTS = 50   # the QDQ model's check on the HTP backend (first 50 check inputs)
CTX_CHECK_INPUTS = 10   # each context model's check after reloading it
QDQ_SETTINGS = "activation_type=QuantType.QUInt8, weight_type=QuantType.QUInt8"
_VERSIONED = ("onnx", "onnxruntime", "onnxruntime-qnn", "tf2onnx", "tensorflow-cpu")


def missing(job: ConvertJob) -> str | None:
    from edge_fer.convert import onnx as onnx_target

    return qnn.unavailable_reason() or onnx_target.missing(job)


def qdq_path(job: ConvertJob) -> Path:
    return job.output(TARGET, SUFFIX, QDQ_TAG)


def context_path(job: ConvertJob, soc: qnn.Soc) -> Path:
    return job.output(TARGET, qnn.CONTEXT_SUFFIX, f"{QDQ_TAG}_{soc.name}")


def _fp32_job(job: ConvertJob) -> ConvertJob:
    """The job as the ONNX target's fp32 step sees it: fixed batch (QNN compiles static shapes)."""
    return dataclasses.replace(job, dynamic_batch=False)


def plan(job: ConvertJob) -> list[Step]:
    from edge_fer.convert import onnx as onnx_target

    socs = qnn.parse_socs(job.htp_socs)  # an unknown SoC is a usage error before anything runs
    fp32_step = onnx_target.plan(_fp32_job(job))[0]
    qdq = qdq_path(job)
    scratch = f"<scratch>/{job.stem}_fp32{SUFFIX}"
    steps = [Step(TARGET, "int8", qdq, [
        *fp32_step.shown_commands(),
        (f"onnxruntime.quantization.execution_providers.qnn.qnn_preprocess_model({scratch!r}, "
        f"<preprocessed>)"),
        (f"config = get_qnn_qdq_config(<fp32 model>, calibration_data_reader=<calibration "
        f"samples>, {QDQ_SETTINGS})"),
        f"onnxruntime.quantization.quantize(<fp32 model>, {str(qdq)!r}, config)",
        ("InferenceSession(<model>, SessionOptions(session.disable_cpu_ep_fallback=1) + "
        "add_provider_for_devices(<QNN EP device>, {'backend_path': libQnnHtp.so}))"),
    ], functools.partial(_quantize, job), "QDQ uint8 for QNN HTP, float32 in/out")]
    for soc in socs:
        ctx = context_path(job, soc)
        steps.append(Step(TARGET, "int8", ctx, [
            (f"SessionOptions: session.disable_cpu_ep_fallback=1, ep.context_enable=1, "
            f"ep.context_embed_mode=0, ep.context_file_path={str(ctx)!r}"),
            (f"InferenceSession({str(qdq)!r}) with QNN EP options {{'backend_path': "
            f"libQnnHtp.so, 'soc_model': '{soc.soc_model}', 'htp_arch': '{soc.htp_arch}'}}"),
        ], functools.partial(_compile, job, soc),
            f"HTP context binary for {soc.name} ({soc.marketing_name}, v{soc.htp_arch})",
            companion_glob=f"{ctx.stem}_*qnn.bin"))
    return steps


def _tool_versions() -> dict:
    found = {}
    for package in _VERSIONED:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    found["qnn_sdk"] = qnn.versions().get("qnn_sdk", "")
    return found


def _quantize(job: ConvertJob, path: Path) -> dict:
    import onnx
    from onnxruntime.quantization import QuantType, quantize
    from onnxruntime.quantization.execution_providers.qnn import (
        get_qnn_qdq_config,
        qnn_preprocess_model,
    )

    from edge_fer.analysis.inspect_artifacts import inspect_onnx
    from edge_fer.convert import onnx as onnx_target
    from edge_fer.convert.verify import compare

    fp32 = path.parent / f"{job.stem}_fp32{SUFFIX}"
    fp32_facts = onnx_target.plan(_fp32_job(job))[0].run(fp32)
    preprocessed = path.parent / f"{job.stem}_fp32_qnn_pre{SUFFIX}"
    # onnxruntime 1.32's qnn_preprocess_model fails on a model carrying metadata_props
    # (dict.update over the protobuf entries); our layout/labels metadata goes back on in _finish.
    proto = onnx.load(str(fp32))
    del proto.metadata_props[:]
    source = preprocessed if qnn_preprocess_model(proto, str(preprocessed)) else fp32
    samples = job.calibration()
    try:
        config = get_qnn_qdq_config(str(source), onnx_target._CalibrationReader(samples.images,
                                                                                job.input_name),
                                    activation_type=QuantType.QUInt8,
                                    weight_type=QuantType.QUInt8)
        quantize(str(source), str(path), config)
    except Exception as exc:  # noqa: BLE001 - onnxruntime.quantization raises plain ones
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise EdgeFerError(f"{job.model}: QNN QDQ quantization failed ({first})") from None
    onnx_target._finish(onnx.load(str(path)), job, path)
    try:
        checks = compare(_capped(job, HTP_CHECK_INPUTS), path, "qnn", "int8", qdq_path(job).name)
        if checks is None:  # checks off: it must still load on HTP with fallback off and run
            _run_once(path, job.input_shape())
    except EdgeFerError as exc:  # named after the staging file: say which model and file instead
        why = str(exc).removeprefix(f"{path}: ")
        raise EdgeFerError(f"{job.model} → {qdq_path(job).name}: {why}; not written") from None
    described = inspect_onnx(path)
    return {
        "tool_versions": _tool_versions(),
        "backend": _backend_facts(),
        "quantization_config": {"api": "get_qnn_qdq_config + quantize", "activation_type":
                                 "QUInt8", "weight_type": "QUInt8", "per_channel": False,
                                 "calibrate_method": str(config.calibrate_method.name),
                                 "preprocessed": source == preprocessed},
        "calibration": samples.describe(),
        "fp32_onnx": {"opset": fp32_facts.get("opset"), "checks": fp32_facts.get("checks")},
        "inputs": described["inputs"],
        "outputs": described["outputs"],
        "ops": described["ops"],
        "quantization": described.get("quantization"),
        "checks": checks,
    }


def _compile(job: ConvertJob, soc: qnn.Soc, path: Path) -> dict:
    qdq = qdq_path(job)
    if not qdq.is_file():
        raise EdgeFerError(f"{qdq}: QDQ model to compile is missing")
    config = {"ep.context_enable": "1", "ep.context_embed_mode": "0",
              "ep.context_file_path": str(path)}
    session = qnn.open_session(qdq, soc.provider_options(), config=config,
                               label=f"{qdq} (compiling for {soc.name})")
    del session
    if not path.is_file():
        raise EdgeFerError(f"{qdq}: QNN wrote no context model for {soc.name}")
    info = qnn.context_info(path)
    binary = Path(info.get("binary", ""))
    if info["embed_mode"] != 0 or not binary.is_file() or binary.parent != path.parent:
        raise EdgeFerError(f"{path.name}: context binary {info['ep_cache_context']!r} not written "
                           f"beside it")
    compiled_for = (info.get("htp_arch"), info.get("soc_model"))
    if compiled_for != (soc.htp_arch, soc.soc_model):
        raise EdgeFerError(f"{path.name}: compiled for htp_arch/soc_model {compiled_for}, asked "
                           f"({soc.htp_arch}, {soc.soc_model}) for {soc.name}")
    binary = _tag_binary(path, binary)
    checks = _check_context(job, path)  # reloaded from the file: it finds the renamed binary
    facts = {
        "tool_versions": _tool_versions(),
        "backend": _backend_facts(),
        "soc": soc.describe(),
        "compiled_from": {"path": qdq.name, "sha256": sha256_file(qdq)},
        "context_binary": {"file": binary.name, "bytes": binary.stat().st_size,
                           "sha256": sha256_file(binary)},
        "ep_context": {key: info[key] for key in ("ep_sdk_version", "embed_mode",
                                                  "ep_compatibility_info")},
        "inputs": [{"name": job.input_name, "shape": job.input_shape(), "dtype": "float32"}],
        "outputs": [{"name": job.output_name, "shape": [job.input_shape()[0], job.classes],
                     "dtype": "float32"}],
        "checks": checks,
        "companions": [binary.name],  # produce() publishes it before the _ctx.onnx naming it
    }
    return facts


def binary_name(context: Path, digest: str) -> str:
    """`model_qnn_sm8650_ctx_<8 hex of its sha256>_qnn.bin`: a new binary never takes the name
    the old context model reads, so replacing the pair is one rename (the _ctx.onnx) and a reader
    sees the old pair or the new one, never a context model with another one's binary."""
    return f"{context.stem}_{digest[:8]}_qnn.bin"


def _tag_binary(context: Path, binary: Path) -> Path:
    """Rename the binary QNN wrote to its `binary_name` and point the context model at it."""
    import onnx

    tagged = binary.with_name(binary_name(context, sha256_file(binary)))
    os.replace(binary, tagged)
    proto = onnx.load(str(context), load_external_data=False)
    for node in proto.graph.node:
        if node.op_type == "EPContext":
            for attribute in node.attribute:
                if attribute.name == "ep_cache_context":
                    attribute.s = tagged.name.encode()
    onnx.save(proto, str(context))
    if Path(qnn.context_info(context).get("binary", "")) != tagged:
        raise EdgeFerError(f"{context.name}: could not point it at its binary {tagged.name}")
    return tagged


def _capped(job: ConvertJob, count: int) -> ConvertJob:
    """The job with at most `count` check inputs (each costs ~100 ms on the HTP emulator)."""
    from edge_fer.convert.verify import Checks

    checks = job.checks()
    if checks is None or len(checks.reference) <= count:
        return job
    samples = dataclasses.replace(checks.samples, images=checks.samples.images[:count])
    capped = dataclasses.replace(job)
    capped._checks = Checks(samples, checks.reference[:count])
    return capped


def _check_context(job: ConvertJob, path: Path) -> dict:
    """Reload the context model from its file (plain HTP options, no SoC given) and run it."""
    from edge_fer.runners import load_runner

    checks = job.checks()
    runner = load_runner(path, "qnn")
    try:
        if checks is None:
            probs = runner.infer(np.zeros((1, *job.input_shape()[1:]), np.float32))
            return {"runtime": "qnn", "inputs": 1, "reloaded": True, "note": "checks off "
                    "(--verify-count 0): one inference on zeros"}
        count = min(CTX_CHECK_INPUTS, len(checks.reference))
        probs = job.output_spec.probabilities(runner.infer(checks.samples.images[:count]))
    finally:
        runner.close()
    require_finite(probs, str(path), "reloaded context model's output on the check inputs")
    reference = checks.reference[:count]
    return {"runtime": "qnn", "inputs": count, "reloaded": True,
            "max_abs_dp": float(np.abs(probs - reference).max()),
            "top1_agreement": float(np.mean(probs.argmax(1) == reference.argmax(1))),
            "reference": "frozen TF graph (tf.compat.v1.Session)",
            "samples": checks.samples.describe()}


def _run_once(path: Path, shape: list[int]) -> None:
    from edge_fer.runners import load_runner

    runner = load_runner(path, "qnn")
    try:
        runner.infer(np.zeros((1, *shape[1:]), np.float32))
    finally:
        runner.close()


def _backend_facts() -> dict:
    return {"name": "QNN HTP (libQnnHtp.so via onnxruntime-qnn)",
            "emulator": qnn.is_emulator(),
            "session_config": dict(qnn.FALLBACK_OFF)}
