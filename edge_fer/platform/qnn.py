"""onnxruntime-qnn plumbing shared by the `qnn` convert target, the `qnn` runner and `doctor`.

onnxruntime-qnn is an ONNX Runtime plugin execution provider (CONVENTIONS: Qualcomm runtimes):
registered once per process, its device taken from `get_ep_devices()`, and every session made
with CPU fallback disabled (ONNX Runtime's own and its Python wrapper's), so that nothing silently
runs on the CPU EP instead. On x86_64 its HTP backend is Qualcomm's emulator of the Hexagon NPU:
what it computes is what the NPU computes; how long it takes says nothing about a device.
"""

from __future__ import annotations

import importlib.util
import platform
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from edge_fer.errors import EdgeFerError, ToolMissingError, UsageError

PACKAGE = "onnxruntime-qnn"
INSTALL_HINT = "pip install 'edge-fer[qnn]'"
FALLBACK_OFF = {"session.disable_cpu_ep_fallback": "1"}
CONTEXT_SUFFIX = "_ctx.onnx"
_QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear"})
_NO_FALLBACK = "assigned to the default CPU EP"


@dataclass(frozen=True)
class Soc:
    """One Snapdragon SoC as QNN's HTP compiler names it."""

    name: str             # what --htp-socs takes, e.g. "sm8650"
    marketing_name: str
    soc_model: int        # QNN provider option `soc_model`
    htp_arch: int         # provider option `htp_arch`: Hexagon arch version, 75 = v75
    source: str           # where soc_model/htp_arch and the name come from (keys below)

    def provider_options(self) -> dict[str, str]:
        return {"soc_model": str(self.soc_model), "htp_arch": str(self.htp_arch)}

    def describe(self) -> dict:
        return {"name": self.name, "marketing_name": self.marketing_name,
                "soc_model": self.soc_model, "htp_arch": f"v{self.htp_arch}",
                "source": self.source}


# Sources (Qualcomm-authored SoC tables in open-source QNN integrations; where both list a SoC
# they agree):
#   ET   pytorch/executorch backends/qualcomm/serialization/qc_schema.py
#        (QcomChipset = soc_model, _soc_info_table = HtpArch), Qualcomm Innovation Center
#   LRT  google-ai-edge/LiteRT litert/vendors/qualcomm/core/schema/soc_table.h/.cc
#        (SnapdragonModel = soc_model, kSocInfos = DspArch), Qualcomm Innovation Center
#   AIHM quic/ai-hub-models qai_hub_models/scorecard/website/devices_and_chipsets.yaml
#        (marketing_name of each chipset alias, e.g. sm8650 → Snapdragon 8 Gen 3 Mobile)
#   GGML ggml-qnn/ggml-hexagon sources (qcom_chipset_soc_model comments): the two names AIHM
#        lacks. GGML also lists SM8850 as 73 and SM8350 appears as 35 in mllm; both disagree with
#        ET and LRT, which we follow.
SOCS: tuple[Soc, ...] = (
    Soc("sm8350", "Snapdragon 888", 30, 68, "ET, LRT; name AIHM"),
    Soc("sm8450", "Snapdragon 8 Gen 1", 36, 69, "ET, LRT; name AIHM"),
    Soc("sm8475", "Snapdragon 8+ Gen 1", 42, 69, "ET, LRT; name GGML"),
    Soc("sm8550", "Snapdragon 8 Gen 2", 43, 73, "ET, LRT; name AIHM"),
    Soc("sm8650", "Snapdragon 8 Gen 3", 57, 75, "ET, LRT; name AIHM"),
    Soc("sm8750", "Snapdragon 8 Elite", 69, 79, "ET, LRT; name AIHM"),
    Soc("sm8850", "Snapdragon 8 Elite Gen 5", 87, 81, "ET, LRT; name GGML"),
    Soc("sc8380xp", "Snapdragon X Elite", 60, 73, "LRT; name AIHM"),
    Soc("sa8295p", "SA8295P (automotive)", 39, 68, "ET, LRT; name AIHM"),
    Soc("sa8255p", "SA8255P (automotive)", 52, 73, "ET, LRT; name AIHM"),
)
SOC_TABLE: dict[str, Soc] = {soc.name: soc for soc in SOCS}


def get_soc(name: str) -> Soc:
    key = name.strip().lower()
    soc = SOC_TABLE.get(key) or SOC_TABLE.get(f"{key}p")  # sa8295 → sa8295p
    if soc is None:
        known = ", ".join(f"{s.name} ({s.marketing_name})" for s in SOCS)
        raise UsageError(f"unknown SoC {name!r}; known: {known}")
    return soc


def parse_socs(text: str | None) -> list[Soc]:
    """'sm8650,sm8550' (commas or spaces) → the SoCs, in order, each once."""
    names = [part for part in (text or "").replace(",", " ").split() if part]
    socs = [get_soc(name) for name in names]
    return list(dict.fromkeys(socs))


def unavailable_reason() -> str | None:
    """What is missing for the QNN HTP backend here (and how to get it), or None."""
    if importlib.util.find_spec("onnxruntime") is None:
        return f"onnxruntime is not installed ({INSTALL_HINT})"
    if importlib.util.find_spec("onnxruntime_qnn") is None:
        return f"{PACKAGE} is not installed ({INSTALL_HINT}; Qualcomm's licence applies)"
    return None


def _modules():
    reason = unavailable_reason()
    if reason:
        raise ToolMissingError(reason)
    import onnxruntime
    import onnxruntime_qnn

    return onnxruntime, onnxruntime_qnn


def versions() -> dict[str, str]:
    """onnxruntime, onnxruntime-qnn and the QNN SDK version its libraries come from."""
    ort, _ = _modules()
    from onnxruntime_qnn import build_and_package_info as info

    return {"onnxruntime": ort.__version__, PACKAGE: info.__version__,
            "qnn_sdk": getattr(info, "qnn_version", "")}


def is_emulator() -> bool:
    """On x86_64 the HTP backend is Qualcomm's emulator, not an NPU."""
    return platform.machine().lower() in ("x86_64", "amd64")


def library_dir() -> Path:
    _, qnn = _modules()
    return Path(qnn.get_library_path()).parent


def htp_backend_path() -> str:
    _, qnn = _modules()
    return qnn.get_qnn_htp_path()


_register_lock = threading.Lock()


def qnn_devices() -> list:
    """The QNN EP's OrtEpDevices, registering its library first if nobody has in this process
    (ONNX Runtime refuses a second registration under the same name)."""
    ort, qnn = _modules()
    name = qnn.get_ep_name()
    with _register_lock:
        devices = [d for d in ort.get_ep_devices() if d.ep_name == name]
        if not devices:
            try:
                ort.register_execution_provider_library(name, qnn.get_library_path())
            except Exception as exc:  # noqa: BLE001 - onnxruntime raises plain Fail
                if "already registered" not in str(exc):
                    raise ToolMissingError(f"{PACKAGE}: cannot register {qnn.get_library_path()} "
                                           f"({_first_line(exc)}); reinstall it "
                                           f"({INSTALL_HINT})") from None
            devices = [d for d in ort.get_ep_devices() if d.ep_name == name]
    if not devices:
        raise ToolMissingError(f"{PACKAGE} registered but offers no device on this machine")
    return devices


def guard_tensorflow() -> None:
    """Once the QNN HTP backend has run in a process, TensorFlow's regex kernel crashes that
    process (a segfault in StaticRegexFullMatch, which every SavedModel or Keras export runs)
    unless it ran once before: run it now where TensorFlow is loaded already (the Python API,
    tests). A command that opens QNN sessions and then exports a model imports TensorFlow first."""
    import sys

    tf = sys.modules.get("tensorflow")
    if tf is not None and not getattr(guard_tensorflow, "done", False):
        tf.strings.regex_full_match(tf.constant(["qnn"]), "q.*")
        guard_tensorflow.done = True


def open_session(model: str | Path | bytes, provider_options: dict[str, str] | None = None,
                 config: dict[str, str] | None = None, threads: int | None = None,
                 log_level: int = 3, label: str | None = None):
    """An InferenceSession on the QNN HTP backend with CPU fallback off.

    `provider_options` go to the QNN EP (soc_model, profiling_level, ...); `config` are session
    config entries (ep.context_enable, ...). Native libraries' stdout goes to stderr meanwhile.
    A model the backend cannot take fully is an EdgeFerError naming the ops left over.
    """
    ort, _ = _modules()
    from edge_fer.reporter import native_stdout_to_stderr

    guard_tensorflow()
    label = label or str(model if not isinstance(model, bytes) else "model")
    provider_options = {"backend_path": htp_backend_path(), **(provider_options or {})}
    options = ort.SessionOptions()
    options.log_severity_level = log_level
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    for key, value in {**FALLBACK_OFF, **(config or {})}.items():
        options.add_session_config_entry(key, value)
    with native_stdout_to_stderr():
        options.add_provider_for_devices(qnn_devices(), provider_options)
        source = model if isinstance(model, bytes) else str(model)
        try:
            session = ort.InferenceSession(source, sess_options=options, enable_fallback=0)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises Fail/InvalidArgument/...
            message = _first_line(exc)
            if _NO_FALLBACK in message:
                message = _left_for_cpu(source, provider_options)
            raise EdgeFerError(f"{label}: QNN HTP cannot take the model: {message}") from None
    session.disable_fallback()
    return session


def _left_for_cpu(source, provider_options: dict[str, str]) -> str:
    """Which nodes the QNN EP would leave to the CPU EP: a second session with fallback allowed
    that only records where each node goes (it runs nothing)."""
    ort, _ = _modules()
    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.add_session_config_entry("session.record_ep_graph_assignment_info", "1")
    diagnostic = {key: value for key, value in provider_options.items()
                  if not key.startswith("profiling")}
    options.add_provider_for_devices(qnn_devices(), diagnostic)
    try:
        session = ort.InferenceSession(source, sess_options=options, enable_fallback=0)
        assigned = [(group.ep_name, node.name, node.op_type)
                    for group in session.get_provider_graph_assignment_info()
                    for node in group.get_nodes()]
    except Exception as exc:  # noqa: BLE001
        return f"CPU fallback is disabled and the model needs it ({_first_line(exc)})"
    on_cpu = [(name, op) for ep, name, op in assigned if ep != "QNNExecutionProvider"]
    if assigned and len(on_cpu) == len(assigned):
        return ("the QNN backend took none of its nodes (it did not initialise here, or takes "
                "none of these ops); CPU fallback is disabled")
    named = [(name, op) for name, op in on_cpu if op not in _QDQ_OPS] or on_cpu
    ops = sorted({op for _, op in named})
    nodes = ", ".join(name if name == op else f"{name} ({op})" for name, op in named[:6])
    more = f" and {len(named) - 6} more" if len(named) > 6 else ""
    return (f"unsupported op{'s' if len(ops) > 1 else ''} {', '.join(ops)} "
            f"(node{'s' if len(named) > 1 else ''} {nodes}{more}); CPU fallback is disabled")


def context_info(model: str | Path) -> dict:
    """What a `_ctx.onnx` says about itself: its binary file, the QNN SDK that compiled it, and the
    htp_arch/soc_model it was compiled for (from `ep_compatibility_info.QNNExecutionProvider`,
    e.g. "v2:6:2.51.0:5.51.0:75:57:0:0" = arch 75, soc_model 57)."""
    import onnx

    from edge_fer.artifacts.onnxfile import read_onnx

    proto = read_onnx(model)
    nodes = [n for n in proto.graph.node if n.op_type == "EPContext"]
    if not nodes:
        raise EdgeFerError(f"{model}: holds no EPContext node (not a QNN context model)")
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in nodes[0].attribute}
    decode = lambda v: v.decode() if isinstance(v, bytes) else v
    info = {"ep_cache_context": decode(attributes.get("ep_cache_context", "")),
            "embed_mode": int(attributes.get("embed_mode", 1)),
            "ep_sdk_version": decode(attributes.get("ep_sdk_version", "")),
            "source": decode(attributes.get("source", ""))}
    metadata = {p.key: p.value for p in proto.metadata_props}
    compatibility = metadata.get("ep_compatibility_info.QNNExecutionProvider", "")
    info["ep_compatibility_info"] = compatibility
    fields = compatibility.split(":")
    if len(fields) >= 6 and fields[4].isdigit() and fields[5].isdigit():
        info["htp_arch"], info["soc_model"] = int(fields[4]), int(fields[5])
    if info["embed_mode"] == 0 and info["ep_cache_context"]:
        info["binary"] = str(Path(model).parent / info["ep_cache_context"])
    return info


def is_context_model(path: str | Path) -> bool:
    return str(path).lower().endswith(CONTEXT_SUFFIX)


def _first_line(exc: BaseException) -> str:
    text = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", str(exc).strip())
    return (text.splitlines() or [type(exc).__name__])[0]
