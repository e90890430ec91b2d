"""Runner fixtures: the shared frozen model converted to TFLite (fp32, int8) and ONNX, and the
raws of the 70 real sample faces (or of synthetic faces where the shared folder is absent).

The conversions call the converters' own APIs directly so the runners are tested on their own;
`edge-fer convert` is tested in tests/convert.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

SAMPLE_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fer2013" / "sample"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    if not SAMPLE_DIR.is_dir():
        pytest.skip(f"the 70 real sample faces are not at {SAMPLE_DIR}")
    return SAMPLE_DIR


@pytest.fixture(scope="session")
def tflite_models(frozen_model, synthetic_inputs) -> dict[str, Path]:
    """{'fp32': model.tflite, 'int8': model_int8.tflite (int8 input and output)}."""
    import tensorflow as tf

    def converter():
        return tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(
            str(frozen_model), ["x"], ["output"])

    fp32 = frozen_model.with_suffix(".tflite")
    fp32.write_bytes(converter().convert())
    int8 = frozen_model.with_name("model_int8.tflite")
    quantizing = converter()
    quantizing.optimizations = [tf.lite.Optimize.DEFAULT]
    quantizing.representative_dataset = lambda: ([x[None]] for x in synthetic_inputs[:50])
    quantizing.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    quantizing.inference_input_type = tf.int8
    quantizing.inference_output_type = tf.int8
    int8.write_bytes(quantizing.convert())
    return {"fp32": fp32, "int8": int8}


@pytest.fixture(scope="session")
def onnx_model(frozen_model) -> Path:
    import tf2onnx

    from edge_fer.tensors.graphio import load_graph_def

    model, _ = tf2onnx.convert.from_graph_def(load_graph_def(frozen_model),
                                              input_names=["x:0"], output_names=["output:0"],
                                              opset=17)
    path = frozen_model.with_suffix(".onnx")
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture(scope="session")
def input_list(tmp_path_factory, synthetic_inputs) -> Path:
    """An input list of 24 synthetic faces (float32 raws) with a manifest."""
    from edge_fer.tensors.raw_inputs import write_raw_set

    out = tmp_path_factory.mktemp("raws")
    items = ((f"synthetic_{i}", f"face_{i}", "", image[..., 0])
             for i, image in enumerate(synthetic_inputs[:24]))
    return write_raw_set(out, items).input_list


STAND_IN = '''#!{python}
"""Stand-in for snpe-net-run: records its arguments, reads the input list like the real tool
(raw paths relative to its working folder), and writes Result_<i>/output:0.raw as SNPE does."""
import json, os, sys
from pathlib import Path
import numpy as np
args = sys.argv[1:]
device = os.environ.get("FAKE_DEVICE_ROOT")  # set by the fake adb: /data/local/tmp lives there
local = (lambda p: p.replace("/data/local/tmp", device, 1)) if device else (lambda p: p)
record = {{"argv": args, "cwd": os.getcwd(), "LD_LIBRARY_PATH": os.environ.get("LD_LIBRARY_PATH"),
          "ADSP_LIBRARY_PATH": os.environ.get("ADSP_LIBRARY_PATH")}}
Path(os.environ["SNPE_STAND_IN_LOG"]).write_text(json.dumps(record))
if os.environ.get("SNPE_STAND_IN_FAIL"):
    print("error_code=201; error_message=Casting of tensor failed.", file=sys.stderr)
    sys.exit(1)
value = lambda flag: args[args.index(flag) + 1]
out = Path(local(value("--output_dir")))
out.mkdir(parents=True, exist_ok=True)
print("-" * 79)
print("Model String: N/A")
print("SNPE v2.99.0.stand-in")
print("-" * 79)
index = 0
for line in Path(local(value("--input_list"))).read_text().splitlines():
    line = line.strip()
    if not line or line[0] in "#%":
        continue
    print("Processing DNN input(s):")
    print(line)
    pixels = np.fromfile(local(line), dtype="<f4")
    logits = np.array([pixels[k::7].mean() * (k + 1) for k in range(7)], dtype=np.float32)
    probs = np.exp(logits - logits.max()); probs /= probs.sum()
    (out / f"Result_{{index}}").mkdir(exist_ok=True)
    (out / f"Result_{{index}}" / "output:0.raw").write_bytes(probs.astype("<f4").tobytes())
    index += 1
(out / "SNPEDiag_0.log").write_bytes(b"diag")
'''


def _stand_in_probs(raw: Path) -> np.ndarray:
    """What the stand-in computes for one raw (to check that its results were adopted)."""
    pixels = np.fromfile(raw, dtype="<f4")
    logits = np.array([pixels[k::7].mean() * (k + 1) for k in range(7)], dtype=np.float32)
    probs = np.exp(logits - logits.max())
    return (probs / probs.sum()).astype(np.float32)


@pytest.fixture
def stand_in_probs():
    return _stand_in_probs


@pytest.fixture
def snpe_sdk(tmp_path, monkeypatch) -> Path:
    """A fake SDK folder (SNPE_ROOT) whose bin/ holds the stand-in; returns the
    file where the stand-in records its arguments."""
    bin_dir = tmp_path / "sdk" / "bin"
    bin_dir.mkdir(parents=True)
    tool = bin_dir / "snpe-net-run"
    tool.write_text(STAND_IN.format(python=sys.executable))
    tool.chmod(0o755)
    log = tmp_path / "stand_in.json"
    monkeypatch.setenv("SNPE_ROOT", str(tmp_path / "sdk"))
    monkeypatch.delenv("QAIRT_SDK_ROOT", raising=False)
    monkeypatch.setenv("SNPE_STAND_IN_LOG", str(log))
    return log


@pytest.fixture
def fake_device(tmp_path, fake_adb, snpe_sdk) -> Path:
    """adb on PATH with device FAKE123, and the fake SDK's Android build; returns adb's call log."""
    sdk = tmp_path / "sdk"
    android_bin = sdk / "bin" / "aarch64-android"
    android_bin.mkdir(parents=True)
    shutil.copy(sdk / "bin" / "snpe-net-run", android_bin / "snpe-net-run")
    (sdk / "lib" / "aarch64-android").mkdir(parents=True)
    (sdk / "lib" / "aarch64-android" / "libSNPE.so").write_bytes(b"lib")
    (sdk / "lib" / "hexagon-v73" / "unsigned").mkdir(parents=True)
    (sdk / "lib" / "hexagon-v73" / "unsigned" / "libSnpeHtpV73Skel.so").write_bytes(b"skel")
    return tmp_path / "adb.log"
