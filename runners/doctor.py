"""What is here: the runtimes, Qualcomm's SDK and adb devices, each checked for real.

Every check looks at the thing itself (imports the library, runs a one-op model on the QNN HTP
backend, asks the SDK folder and adb), never at what should be installed, and says for each
missing part how to get it. Nothing optional is required: a check that finds nothing reports it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edge_fer.errors import EdgeFerError
from edge_fer.platform import qnn
from edge_fer.platform.adb import parse_adb_devices
from edge_fer.platform.sdk import ADB_HINT, SDK_HINT, find_adb, find_sdk_tool, sdk_info
from edge_fer.platform.tools import QUERY_TIMEOUT_S, ToolRun, run_tool

OK, MISSING, PROBLEM = "ok", "missing", "problem"
SDK_TOOLS = ("snpe-tensorflow-to-dlc", "snpe-dlc-quantize", "snpe-dlc-info", "snpe-net-run",
             "snpe-diagview")
LITERT_HINT = "pip install ai-edge-litert (an edge-fer dependency: pip install -e .)"
ORT_HINT = "pip install onnxruntime (an edge-fer dependency: pip install -e .)"
DEVICE_HINT = ("connect an Android device with USB debugging on and accept this host's key "
               "('unauthorized' until then)")


@dataclass
class Component:
    """One row of the doctor's table."""

    name: str
    status: str                        # ok | missing | problem
    version: str = ""
    details: list[str] = field(default_factory=list)   # backends, where, devices
    hint: str = ""                     # how to get what is missing
    facts: dict = field(default_factory=dict)          # the same, structured, for --json


def installed(module: str) -> bool:
    """Whether a module can be imported here (tests replace this to simulate absence)."""
    return importlib.util.find_spec(module) is not None


def distribution_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return ""


def check_litert() -> Component:
    if not installed("ai_edge_litert"):
        return Component("LiteRT", MISSING, hint=LITERT_HINT)
    try:
        from ai_edge_litert import interpreter  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - a broken native wheel raises anything
        return Component("LiteRT", PROBLEM, distribution_version("ai-edge-litert"),
                         [f"ai_edge_litert.interpreter does not import: {exc}"], LITERT_HINT)
    return Component("LiteRT", OK, distribution_version("ai-edge-litert"),
                     ["Interpreter (CPU): .tflite fp32, fp16, int8"],
                     facts={"backends": ["Interpreter (CPU)"]})


def check_onnxruntime() -> Component:
    if not installed("onnxruntime"):
        return Component("onnxruntime", MISSING, hint=ORT_HINT)
    import onnxruntime as ort

    providers = list(ort.get_available_providers())
    return Component("onnxruntime", OK, ort.__version__, [f"providers: {', '.join(providers)}"],
                     facts={"providers": providers})


def probe_model() -> bytes:
    """A one-op float model (Relu on 1×8): enough to see a QNN backend take a graph and run."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="probe_relu")],
                              "edge_fer_probe",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def probe_backend(library: Path) -> str | None:
    """Run the probe model on one QNN backend library with CPU fallback off; None when it runs,
    else why not."""
    import numpy as np

    if not library.is_file():
        return f"{library.name} is not shipped in this wheel"
    try:
        session = qnn.open_session(probe_model(), {"backend_path": str(library)}, log_level=4,
                                   label=library.name)
        values = np.linspace(-1, 1, 8, dtype=np.float32).reshape(1, 8)
        result = session.run(["y"], {"x": values})[0]
    except EdgeFerError as exc:
        why = str(exc).split("cannot take the model: ", 1)[-1]
        return ("it did not initialise: it took no node of the probe model"
                if "took none" in why else why)
    except Exception as exc:  # noqa: BLE001 - onnxruntime's run errors
        return qnn._first_line(exc)
    if not np.allclose(result, np.maximum(values, 0), atol=1e-2):
        return f"ran, but computed {result.ravel().tolist()} for Relu"
    return None


def check_onnxruntime_qnn() -> Component:
    name = qnn.PACKAGE
    if not installed("onnxruntime") or not installed("onnxruntime_qnn"):
        return Component(name, MISSING, hint=f"{qnn.INSTALL_HINT} (Qualcomm's licence applies "
                                             f"to its native libraries)")
    try:
        versions = qnn.versions()
        library_dir = qnn.library_dir()
        qnn.qnn_devices()
    except EdgeFerError as exc:
        return Component(name, PROBLEM, distribution_version(name), [str(exc)], qnn.INSTALL_HINT)
    backends, facts = [], {}
    htp_note = "Qualcomm's HTP emulator on this x86_64 host" if qnn.is_emulator() else "HTP (NPU)"
    for backend, library, note in (
            ("htp", "libQnnHtp.so", htp_note),
            ("gpu", "libQnnGpu.so", "Adreno GPU"),
            ("cpu", "libQnnCpu.so", "QNN CPU")):
        problem = probe_backend(library_dir / library)
        facts[backend] = {"library": library, "runs": problem is None, "why_not": problem}
        backends.append(f"{backend}: runs a probe model ({note})" if problem is None
                        else f"{backend}: does not run here ({problem})")
    ir_library = library_dir / "libQnnIr.so"
    facts["ir"] = {"library": ir_library.name, "present": ir_library.is_file(),
                   "note": "DLC dump only (dump_qnn_ir_dlc); not a runtime"}
    if ir_library.is_file():
        backends.append("ir: libQnnIr.so (DLC dump only; the dumping session cannot run)")
    status = OK if facts["htp"]["runs"] else PROBLEM
    return Component(name, status, versions[name],
                     [f"QNN SDK {versions['qnn_sdk']} libraries in {library_dir}", *backends],
                     "" if status == OK else f"the HTP backend does not run: {facts['htp']['why_not']}",
                     {"qnn_sdk": versions["qnn_sdk"], "library_dir": str(library_dir),
                      "backends": facts})


def check_snpe_sdk() -> Component:
    info = sdk_info()
    tools = {tool: find_sdk_tool(tool) for tool in SDK_TOOLS}
    found = {tool: str(path) for tool, path in tools.items() if path}
    if info is None and not found:
        return Component("SNPE SDK", MISSING, hint=SDK_HINT,
                         facts={"env": {var: os.environ.get(var) for var in ("SNPE_ROOT",
                                                                             "QAIRT_SDK_ROOT")}})
    where = f"{info.root} (from {info.source})" if info and info.root else "tools on PATH"
    absent = [tool for tool, path in tools.items() if path is None]
    android = sorted(str(p.parent.name) for p in (info.root / "bin").glob("aarch64-android*/"
                                                                           "snpe-net-run")) \
        if info and info.root else []
    details = [where, f"tools: {', '.join(found) or 'none'}"]
    if absent:
        details.append(f"not found: {', '.join(absent)}")
    details.append(f"Android build: {', '.join(android)}" if android
                   else "no Android build (bin/aarch64-android*/snpe-net-run): host runs only")
    return Component("SNPE SDK", OK if not absent else PROBLEM, info.version if info else "",
                     details, "" if not absent else f"the SDK lacks {', '.join(absent)}: {SDK_HINT}",
                     {"root": str(info.root) if info and info.root else None,
                      "source": info.source if info else "PATH", "tools": found,
                      "missing_tools": absent, "android_builds": android})


def _adb(adb: Path, *args: str) -> ToolRun | None:
    try:
        return run_tool([adb, *args], f"adb {' '.join(args)}", timeout=QUERY_TIMEOUT_S)
    except EdgeFerError:
        return None


def device_soc(adb: Path, serial: str) -> str:
    """The device's SoC from its properties (e.g. 'SM8650'), '' when it does not say."""
    for prop in ("ro.soc.model", "ro.board.platform"):
        done = _adb(adb, "-s", serial, "shell", "getprop", prop)
        if done is not None and done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return ""


def check_adb() -> Component:
    adb = find_adb()
    if adb is None:
        return Component("adb", MISSING, hint=ADB_HINT)
    version_run = _adb(adb, "version")
    match = re.search(r"version\s+(\S+)", version_run.stdout if version_run else "")
    listed = _adb(adb, "devices")
    if listed is None or listed.returncode != 0:
        why = (listed.stderr or listed.stdout).strip() if listed else "did not answer"
        return Component("adb", PROBLEM, match.group(1) if match else "", [f"{adb}",
                         f"adb devices failed: {why}"], ADB_HINT, {"path": str(adb)})
    devices, details = [], [str(adb)]
    for serial, state in parse_adb_devices(listed.stdout):
        soc_name = device_soc(adb, serial) if state == "device" else ""
        soc = qnn.SOC_TABLE.get(soc_name.lower())
        described = f"{serial}: {state}"
        if soc_name:
            described += f", SoC {soc_name}"
            described += (f" ({soc.marketing_name}: --htp-socs {soc.name}, soc_model "
                          f"{soc.soc_model}, v{soc.htp_arch})" if soc else " (not in the SoC table)")
        details.append(described)
        devices.append({"serial": serial, "state": state, "soc": soc_name or None,
                        "htp_soc": soc.describe() if soc else None})
    ready = [d for d in devices if d["state"] == "device"]
    if not devices:
        details.append("no device attached")
    return Component("adb", OK if ready else PROBLEM, match.group(1) if match else "", details,
                     "" if ready else DEVICE_HINT, {"path": str(adb), "devices": devices})


CHECKS = (check_litert, check_onnxruntime, check_onnxruntime_qnn, check_snpe_sdk, check_adb)


def runner_availability() -> dict[str, str | None]:
    """Each runner of the registry: None when it can run here, else why not."""
    from edge_fer.runners import RUNNERS

    return {spec.name: spec.unavailable_reason() for spec in RUNNERS}


def diagnose() -> dict:
    components = [check() for check in CHECKS]
    return {"components": [asdict(c) for c in components], "runners": runner_availability()}
