"""Convert fixtures: the shared frozen model through `edge-fer convert` once (shared by every
round-trip test), the real runtimes to run the files with, and a recording stand-in for the SNPE
SDK tools (the SDK is Qualcomm's and absent here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edge_fer.cli import app


def _invoke(*args):
    return CliRunner().invoke(app, ["convert", *map(str, args)])


@pytest.fixture(scope="session")
def convert_cli():
    """convert_cli(*args) → click Result of `edge-fer convert *args`."""
    return _invoke


@pytest.fixture(scope="session")
def exported(frozen_model, tmp_path_factory) -> dict:
    """The frozen model converted with no SDK present, all with one --out (each target in its own
    subfolder): `--target all` (fp32: tflite and onnx converted, dlc skipped), tflite int8 (two
    flavours), onnx int8 (with its fp32) and tflite fp16.
    Returns {"out": folder, "reports": {name: --json report}, "files": {...}}."""
    out = tmp_path_factory.mktemp("exported")
    runs = {"all": ["--target", "all"],
            "tflite-int8": ["--target", "tflite", "--precision", "int8"],
            "onnx-int8": ["--target", "onnx", "--precision", "int8"],
            "tflite-fp16": ["--target", "tflite", "--precision", "fp16"]}
    reports = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SNPE_ROOT", raising=False)
        patch.delenv("QAIRT_SDK_ROOT", raising=False)
        for name, args in runs.items():
            done = _invoke(frozen_model, *args, "--out", out, "--json")
            assert done.exit_code == 0, done.output
            reports[name] = json.loads(done.stdout)  # native libraries kept off stdout
    files = {"tflite-fp32": out / "tflite" / "model.tflite",
             "tflite-fp16": out / "tflite" / "model_fp16.tflite",
             "tflite-int8": out / "tflite" / "model_int8.tflite",
             "tflite-int8-float-io": out / "tflite" / "model_int8_float_io.tflite",
             "onnx-fp32": out / "onnx" / "model.onnx", "onnx-int8": out / "onnx" / "model_int8.onnx"}
    return {"out": out, "reports": reports, "files": files}


def _run_tflite(path: Path, images: np.ndarray) -> np.ndarray:
    """LiteRT's Interpreter, one image per invoke, quantizing int8 inputs and outputs itself."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    source, sink = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    rows = []
    for image in images:
        value = image[None]
        if source["dtype"] != np.float32:
            scale, zero = source["quantization"]
            value = np.clip(np.round(value / scale + zero), -128, 127).astype(source["dtype"])
        interpreter.set_tensor(source["index"], value)
        interpreter.invoke()
        result = interpreter.get_tensor(sink["index"])
        if sink["dtype"] != np.float32:
            scale, zero = sink["quantization"]
            result = (result.astype(np.float32) - zero) * scale
        rows.append(result[0])
    return np.stack(rows).astype(np.float32)


def _run_onnx(path: Path, images: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(["output"], {"x": image[None]})[0] for image in images])


@pytest.fixture(scope="session")
def run_artifact():
    """run_artifact(path, images) → probabilities, with the file's own runtime library."""
    def run(path: Path, images: np.ndarray) -> np.ndarray:
        return (_run_tflite if path.suffix == ".tflite" else _run_onnx)(path, images)
    return run


STAND_IN = '''#!{python}
"""Recording stand-in for the SNPE SDK tools (snpe-tensorflow-to-dlc, snpe-dlc-quantize,
snpe-dlc-info): appends its name, arguments and working folder to $SNPE_STAND_IN_LOG, answers
--help in the flag style of $SNPE_STAND_IN_STYLE (2.x or 1.x), prints the success line the real
tool prints, and leaves a placeholder file where it was told to write (it converts nothing)."""
import json, os, sys
from pathlib import Path
tool, args = Path(sys.argv[0]).name, sys.argv[1:]
with open(os.environ["SNPE_STAND_IN_LOG"], "a") as log:
    log.write(json.dumps({{"tool": tool, "argv": args, "cwd": os.getcwd()}}) + "\\n")
style = os.environ.get("SNPE_STAND_IN_STYLE", "2.x")
mode = os.environ.get("SNPE_STAND_IN_MODE", "")
value = lambda flag: args[args.index(flag) + 1]
if "--version" in args:
    print(tool + " 0.0.0.stand-in")
    sys.exit(0)
if tool == "snpe-tensorflow-to-dlc":
    if "--help" in args:
        if style == "2.x":
            print("usage: snpe-tensorflow-to-dlc -d INPUT_NAME INPUT_DIM --out_node OUT_NAMES")
            print("  --input_network INPUT_NETWORK, -i INPUT_NETWORK")
            print("  --output_path OUTPUT_PATH, -o OUTPUT_PATH")
        else:
            print("usage: snpe-tensorflow-to-dlc [-h] --graph GRAPH -i INPUT_NAME INPUT_DIM")
            print("  --out_node OUT_NODE [--dlc DLC] [--allow_unconsumed_nodes]")
        sys.exit(0)
    if mode == "unresolved":
        print("ERROR - Some operations in the Tensorflow graph were not resolved to a layer", file=sys.stderr)
        sys.exit(1)
    out = value("--output_path" if style == "2.x" else "--dlc")
    Path(out).write_bytes(b"placeholder written by the SNPE stand-in")
    if mode != "silent":
        print("INFO - INFO_CONVERSION_SUCCESS: Conversion completed successfully", file=sys.stderr)
elif tool == "snpe-dlc-quantize":
    if "--help" in args:
        print("Command Line Options:\\n  [ --input_dlc=<val> ]\\n  [ --input_list=<val> ]")
        print("  [ --output_dlc=<val> ]")
        if mode != "no-htp":
            print("  [ --enable_htp ]\\n  [ --htp_socs=<val> ]")
        sys.exit(0)
    Path(value("--output_dlc")).write_bytes(b"placeholder written by the SNPE stand-in")
    print("[INFO] Writing quantized model to: " + value("--output_dlc"))
elif tool == "snpe-dlc-info":
    print("DLC info for: " + value("-i"))
    print("Model Version: N/A")
'''


@pytest.fixture
def snpe_sdk(tmp_path, monkeypatch) -> dict:
    """A fake SDK folder (SNPE_ROOT) whose bin/ holds the recording stand-ins.
    Returns {"root": folder, "calls": () → recorded calls (list of dicts)}."""
    root = tmp_path / "sdk"
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    (root / "sdk.yaml").write_text("version: 0.0.0.stand-in\n")
    for tool in ("snpe-tensorflow-to-dlc", "snpe-dlc-quantize", "snpe-dlc-info"):
        path = bin_dir / tool
        path.write_text(STAND_IN.format(python=sys.executable))
        path.chmod(0o755)
    log = tmp_path / "stand_in.jsonl"
    log.write_text("")
    monkeypatch.setenv("SNPE_ROOT", str(root))
    monkeypatch.delenv("QAIRT_SDK_ROOT", raising=False)
    monkeypatch.setenv("SNPE_STAND_IN_LOG", str(log))

    def calls() -> list[dict]:
        return [json.loads(line) for line in log.read_text().splitlines()]

    return {"root": root, "bin": bin_dir, "calls": calls}


@pytest.fixture
def no_sdk(tmp_path, monkeypatch) -> None:
    """No SNPE_ROOT/QAIRT_SDK_ROOT and a PATH holding no SDK tool."""
    monkeypatch.delenv("SNPE_ROOT", raising=False)
    monkeypatch.delenv("QAIRT_SDK_ROOT", raising=False)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
