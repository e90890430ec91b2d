"""Qualcomm QNN HTP without the SDK: onnxruntime-qnn's quantization config and HTP compiler.

Three precisions (QNN_PRECISIONS), the usual ways to trade size for fidelity on HTP:
- int8 (default): `<stem>_qnn.onnx`, QDQ with uint8 activations and weights;
- w8a16: `<stem>_qnn_w8a16.onnx`, QDQ with uint16 activations and uint8 weights (activations
  lose 256× less; weights stay as small);
- fp16: `<stem>_qnn_fp16.onnx`, the float model, which HTP runs in fp16 when asked
  (`enable_htp_fp16_precision=1`, which QNN takes only together with `soc_model`: --soc is
  required, the first SoC's options check it, and each context binary is compiled in fp16).

1. the model: the ONNX target's fp32 conversion (fixed batch 1, checked against the TF graph) into
   a scratch folder → for the QDQ precisions `qnn_preprocess_model` → `get_qnn_qdq_config`
   (MinMax, the precision's activation and weight types) + `quantize` on the shared calibration
   samples → run on the HTP backend with CPU fallback off (an op QNN cannot take fails here,
   named: exit 1) and compared with the TF graph on the first HTP_CHECK_INPUTS check inputs
   (~100 ms each on the emulator).
2. for each SoC of `--soc`: `<stem>_qnn[_<precision>]_<soc>_ctx.onnx` +
   `<stem>_qnn[_<precision>]_<soc>_ctx_<hash>_qnn.bin`, the
   QNN context binary compiled offline for that SoC (`ep.context_enable=1`, provider options
   `soc_model`/`htp_arch` from edge_fer.platform.qnn.SOCS, plus the precision's own). Before it is
   declared written, the model must say it was compiled for that arch and SoC, reload from the
   file with plain HTP options and run CTX_CHECK_INPUTS check inputs.

On x86_64 the HTP backend is Qualcomm's emulator: it computes what the NPU computes, whatever
`htp_arch` is asked (it runs v79 semantics); its speed says nothing about a device.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_fer.converters.base import ConvertJob, Step
from edge_fer.errors import EdgeFerError, UsageError
from edge_fer.files import sha256_file
from edge_fer.finite import require_finite
from edge_fer.platform import qnn

TARGET = "qnn"
SUFFIX = ".onnx"
QDQ_TAG = "_qnn"
HTP_CHECK_INPUTS = 50   # the QDQ model's check on the HTP backend (first 50 check inputs)
CTX_CHECK_INPUTS = 10   # each context model's check after reloading it
FP16_OPTIONS = {"enable_htp_fp16_precision": "1"}   # with soc_model, else QNN refuses the session


@dataclass(frozen=True)
class QnnPrecision:
    """One precision of the qnn target: its file tag, QDQ types (None: the float model) and the
    QNN provider options it runs and compiles with (besides the SoC's)."""

    name: str
    tag: str                          # <stem><tag>.onnx
    activation_type: str | None       # onnxruntime.quantization.QuantType name
    weight_type: str | None
    provider_options: dict = field(default_factory=dict)
    needs_soc: bool = False           # its provider options need soc_model (--soc)
    variant: str = ""

    @property
    def quantized(self) -> bool:
        return self.activation_type is not None

    def settings_text(self) -> str:
        return f"activation_type=QuantType.{self.activation_type}, weight_type=QuantType.{self.weight_type}"


QNN_PRECISIONS: dict[str, QnnPrecision] = {p.name: p for p in (
    QnnPrecision("int8", QDQ_TAG, "QUInt8", "QUInt8", variant="QDQ uint8 for QNN HTP, float32 in/out"),
    QnnPrecision("w8a16", f"{QDQ_TAG}_w8a16", "QUInt16", "QUInt8",
                 variant="QDQ uint16 activations, uint8 weights, float32 in/out"),
    QnnPrecision("fp16", f"{QDQ_TAG}_fp16", None, None, FP16_OPTIONS, needs_soc=True,
                 variant="float model, run in fp16 on HTP (enable_htp_fp16_precision + soc_model)"),
)}
_VERSIONED = ("onnx", "onnxruntime", "onnxruntime-qnn", "tf2onnx", "tensorflow-cpu")


def extra_missing() -> str | None:
    """`needs the qnn extra: pip install 'edge-fer[qnn]' …` when onnxruntime-qnn is absent."""
    if qnn.unavailable_reason() is None:
        return None
    return f"needs the qnn extra: {qnn.INSTALL_HINT} ({qnn.PACKAGE}; Qualcomm's licence applies)"


def missing(job: ConvertJob) -> str | None:
    from edge_fer.converters import onnx as onnx_target

    return qnn.unavailable_reason() or onnx_target.missing(job)


def setting(job: ConvertJob) -> QnnPrecision:
    return QNN_PRECISIONS[job.precision]


def qdq_path(job: ConvertJob) -> Path:
    """The model QNN compiles from: `<stem>_qnn.onnx` (int8), `<stem>_qnn_w8a16.onnx`, ..."""
    return job.output(TARGET, SUFFIX, setting(job).tag)


def context_path(job: ConvertJob, soc: qnn.Soc) -> Path:
    return job.output(TARGET, qnn.CONTEXT_SUFFIX, f"{setting(job).tag}_{soc.name}")


def needs_soc_reason(precision: str) -> str | None:
    """Why `precision` cannot be converted without --soc, or None."""
    chosen = QNN_PRECISIONS.get(precision)
    if chosen is None or not chosen.needs_soc:
        return None
    return (f"qnn {precision} needs --soc: QNN takes {', '.join(chosen.provider_options)} only "
            f"together with soc_model")


def _session_options(job: ConvertJob, soc: qnn.Soc | None) -> dict[str, str]:
    """QNN provider options the precision runs with (on `soc`'s, when it needs a SoC)."""
    chosen = setting(job)
    return {**(soc.provider_options() if soc is not None else {}), **chosen.provider_options}


def _fp32_job(job: ConvertJob) -> ConvertJob:
    """The job as the ONNX target's fp32 step sees it: fixed batch (QNN compiles static shapes)."""
    return dataclasses.replace(job, dynamic_batch=False)


def plan(job: ConvertJob) -> list[Step]:
    from edge_fer.converters import onnx as onnx_target

    socs = qnn.parse_socs(job.htp_socs)  # an unknown SoC is a usage error before anything runs
    chosen = setting(job)
    if chosen.needs_soc and not socs:
        raise UsageError(needs_soc_reason(job.precision))
    fp32_step = onnx_target.plan(_fp32_job(job))[0]
    qdq = qdq_path(job)
    scratch = f"<scratch>/{job.stem}_fp32{SUFFIX}"
    check_options = {"backend_path": "libQnnHtp.so", **_session_options(job, socs[0] if socs else None)}
    made = [
        (f"onnxruntime.quantization.execution_providers.qnn.qnn_preprocess_model({scratch!r}, "
         f"<preprocessed>)"),
        (f"config = get_qnn_qdq_config(<fp32 model>, calibration_data_reader=<calibration "
         f"samples>, {chosen.settings_text()})"),
        f"onnxruntime.quantization.quantize(<fp32 model>, {str(qdq)!r}, config)",
    ] if chosen.quantized else [f"copy {scratch!r} → {str(qdq)!r}"]
    steps = [Step(TARGET, job.precision, qdq, [
        *fp32_step.shown_commands(), *made,
        (f"InferenceSession(<model>, SessionOptions(session.disable_cpu_ep_fallback=1) + "
         f"add_provider_for_devices(<QNN EP device>, {check_options!r}))"),
    ], functools.partial(_quantize, job), chosen.variant)]
    for soc in socs:
        ctx = context_path(job, soc)
        options = {"backend_path": "libQnnHtp.so", **_session_options(job, soc)}
        steps.append(Step(TARGET, job.precision, ctx, [
            (f"SessionOptions: session.disable_cpu_ep_fallback=1, ep.context_enable=1, "
            f"ep.context_embed_mode=0, ep.context_file_path={str(ctx)!r}"),
            f"InferenceSession({str(qdq)!r}) with QNN EP options {options!r}",
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
    """The model QNN compiles from, at the job's precision, checked on the HTP backend."""
    import shutil

    import onnx

    from edge_fer.artifacts.onnxfile import describe_onnx
    from edge_fer.converters import onnx as onnx_target

    chosen = setting(job)
    fp32 = path.parent / f"{job.stem}_fp32{SUFFIX}"
    fp32_facts = onnx_target.plan(_fp32_job(job))[0].run(fp32)
    facts = {}
    if chosen.quantized:
        facts = _quantize_qdq(job, chosen, fp32, path)
        onnx_target._finish(onnx.load(str(path)), job, path)
    else:  # the float model itself: HTP's fp16 mode is a provider option, not a file format
        shutil.copyfile(fp32, path)
    socs = qnn.parse_socs(job.htp_socs)
    options = _session_options(job, socs[0] if socs else None)
    try:
        checks = _check_htp(job, path, options)
    except EdgeFerError as exc:  # named after the staging file: say which model and file instead
        why = str(exc).removeprefix(f"{path}: ")
        raise EdgeFerError(f"{job.model} → {qdq_path(job).name}: {why}; not written") from None
    described = describe_onnx(path).report()
    return {
        "tool_versions": _tool_versions(),
        "backend": _backend_facts(),
        **facts,
        "htp_options": {**options, **({"checked_on": socs[0].name} if socs and chosen.needs_soc else {})},
        "fp32_onnx": {"opset": fp32_facts.get("opset"), "checks": fp32_facts.get("checks")},
        "inputs": described["inputs"],
        "outputs": described["outputs"],
        "ops": described["ops"],
        "quantization": described.get("quantization"),
        "checks": checks,
    }


def _quantize_qdq(job: ConvertJob, chosen: QnnPrecision, fp32: Path, path: Path) -> dict:
    """QDQ model at `path` by QNN's own quantization config; its facts for the manifest."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize
    from onnxruntime.quantization.execution_providers.qnn import (
        get_qnn_qdq_config,
        qnn_preprocess_model,
    )

    from edge_fer.converters import onnx as onnx_target

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
                                    activation_type=QuantType[chosen.activation_type],
                                    weight_type=QuantType[chosen.weight_type])
        quantize(str(source), str(path), config)
    except Exception as exc:  # noqa: BLE001 - onnxruntime.quantization raises plain ones
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise EdgeFerError(f"{job.model}: QNN QDQ quantization failed ({first})") from None
    return {"quantization_config": {"api": "get_qnn_qdq_config + quantize",
                                    "activation_type": chosen.activation_type,
                                    "weight_type": chosen.weight_type, "per_channel": False,
                                    "calibrate_method": str(config.calibrate_method.name),
                                    "preprocessed": source == preprocessed},
            "calibration": samples.describe()}


def _check_htp(job: ConvertJob, path: Path, options: dict[str, str]) -> dict | None:
    """Run the model on the HTP backend with the precision's options (CPU fallback off) and
    compare it with the TF graph on the first HTP_CHECK_INPUTS check inputs; with checks off it
    must still load and run once."""
    from edge_fer.converters.verify import compare_outputs

    capped = _capped(job, HTP_CHECK_INPUTS)
    checks = capped.checks()
    images = checks.samples.images if checks is not None else np.zeros((1, *job.input_shape()[1:]), np.float32)
    session = qnn.open_session(path, options)
    try:
        probs = np.concatenate([session.run(None, {job.input_name: image[None]})[0] for image in images])
    except Exception as exc:  # noqa: BLE001 - onnxruntime's EPFail/Fail
        raise EdgeFerError(f"{path}: QNN HTP failed to run it ({qnn._first_line(exc)})") from None
    finally:
        del session
    if checks is None:
        return None
    return compare_outputs(checks, job.output_spec.probabilities(probs), "qnn", job.precision,
                           qdq_path(job).name, job.output_spec.activation)


def _compile(job: ConvertJob, soc: qnn.Soc, path: Path) -> dict:
    qdq = qdq_path(job)
    if not qdq.is_file():
        raise EdgeFerError(f"{qdq}: QDQ model to compile is missing")
    config = {"ep.context_enable": "1", "ep.context_embed_mode": "0",
              "ep.context_file_path": str(path)}
    session = qnn.open_session(qdq, _session_options(job, soc), config=config,
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
    from edge_fer.converters.verify import Checks

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
