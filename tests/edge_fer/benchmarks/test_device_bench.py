"""Device benchmarks: the parsers on the formats snpe-diagview and benchmark_model print, the
summaries, and the whole adb flow against stand-ins for adb, snpe-net-run, snpe-diagview and
benchmark_model (a device whose /data/local/tmp is a temporary folder)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from edge_fer.benchmarks.device.logs import DiagStats, parse_benchmark_model, parse_diagview
from edge_fer.benchmarks.device.snpe import snpe_device_bench
from edge_fer.benchmarks.device.summary import (
    summarize_benchmark_model,
    summarize_diag,
    write_summary,
)
from edge_fer.benchmarks.device.tflite import tflite_device_bench
from edge_fer.errors import EdgeFerError, ToolMissingError

# snpe-diagview --input_log SNPEDiag_0.log, SNPE 2.9 (CPU runtime; layer lines shortened).
DIAGVIEW_2_9 = """\
Interpreting file serialized with Flatbuffer
CREATE NETWORK: 25547
Log File Created: Thu May 25 10:39:50 2023
Time Scale: 1e-06
Epoch Timestamp: 1684982390553962 Steady Clock Timestamp: 133813288514
Software library version: 2.9.0.4462

Dnn Runtime Load/Deserialize/Create/De-Init Statistics:
--------------------------------------------------
Load: 149 us
Deserialize: 15997 us
Create: 28905 us

Init: 48856 us
De-Init: 6699 us

Create Network(s): 25547 us
RPC Init Time: 0 NONE
Snpe Accelerator Init Time: 0 NONE
Accelerator Init Time: 0 NONE

Average SNPE Statistics:
------------------------------
Total Inference Time: 26458 us
Forward Propagate Time: 26448 us
RPC Execute Time: 0 us
Snpe Accelerator Time: 0 us
Accelerator Time: 0 us
Misc Accelerator Time: 0 us

Layer Times: 
---------------
0: 1419 us : CPU
100: 21 us : CPU
"""

# SNPE 2.37, DSP runtime: indented sections, zeros without a unit, per-subnet times in cycles.
DIAGVIEW_2_37 = """\
Log File Created: Sun Oct  5 19:40:11 2025
Time Scale: 1e-06
Epoch Timestamp: 1759693211491502 Steady Clock Timestamp: 9473925087
Software library version: 2.37.0.250724175447_124859
------------------------------------------------------------

SNPE Create Statistics:
----------------------------------------
  Load: 1813 us
  Deserialize: 919 us
  Create: 154620 us

  Init: 158658 us
  De-Init: 6636 us

  Create Network(s): 152110 us
  RPC Init Time: 1158 us
  Snpe Accelerator Init Time: 1090 us
  Accelerator Init Time: 1009 us

SNPE Execute Statistics (Averaged):
----------------------------------------
  Total Inference Time: 1328 us
  Forward Propagate Time: 1315 us
  RPC Execute Time: 290 us
  Snpe Accelerator Time: 250 us
  Num times yield occurred: 0
  Accelerator Time: 59 us

  Per-Subnet Execution Times: 
  ------------------------------
    Subnet 0 (DSP) : 13545 cycles

  Per-Layer Execution Times: 
  ------------------------------
    0: Input OpId_2 (cycles) : 2142 cycles : DSP
    7: Output OpId_3 (cycles) : 6038 cycles : DSP
"""

# benchmark_model on a desktop/adb shell: warm-up statistics, then the timed runs (p5/median/p95
# in newer builds), the summary line with exponent numbers, memory footprint and peak.
BENCHMARK_MODEL_LOG = """\
INFO: STARTING!
INFO: Log parameter values verbosely: [0]
INFO: Num runs: [50]
INFO: Graph: [/data/local/tmp/model.tflite]
INFO: Loaded model /data/local/tmp/model.tflite
INFO: Created TensorFlow Lite XNNPACK delegate for CPU.
INFO: The input model file size (MB): 16.9008
INFO: Initialized session in 17.187ms.
INFO: Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
INFO: count=1 curr=3512391

INFO: Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
INFO: count=50 first=2990275 curr=2913402 min=2727568 max=3189954 avg=2.95034e+06 std=109798 p5=2741000 median=2951000 p95=3150000

INFO: Inference timings in us: Init: 17187, First inference: 3512391, Warmup (avg): 3.51239e+06, Inference (avg): 2.95034e+06
INFO: Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the actual memory footprint of the model at runtime. Take the information at your discretion.
INFO: Memory footprint delta from the start of the tool (MB): init=4.21094 overall=46.0859
INFO: Overall peak memory footprint (MB) via periodic monitoring: 52.3477
"""

# The same summary as the Android benchmark app logs it (logcat prefix), older build.
BENCHMARK_LOGCAT = """\
07-08 15:34:26.201 I/tflite  ( 5395): count=10 first=2653894 curr=2709263 min=2640862 max=3025403 avg=2.71985e+06 std=105101
07-08 15:34:26.202 I/tflite  ( 5395): Inference timings in us: Init: 458883, First inference: 2732148, Warmup (avg): 2.73215e+06, Inference (avg): 2.71985e+06
07-08 15:34:26.202 I/tflite  ( 5395): Memory footprint delta from the start of the tool (MB): init=286.73 overall=337
"""

GPU_DELEGATE_FAILURE = """\
INFO: Created TensorFlow Lite delegate for GPU.
ERROR: Following operations are not supported by GPU delegate:
ERROR: Failed to apply GPU delegate.
Benchmarking failed.
"""


def test_diagview_2_9_averages_and_create_statistics():
    stats = parse_diagview(DIAGVIEW_2_9)
    assert stats.version == "2.9.0.4462"
    assert stats.total_inference_us == 26458 and stats.init_us == 48856
    assert stats.values_us["Forward Propagate Time"] == 26448
    assert stats.values_us["RPC Init Time"] == 0 and stats.values_us["Load"] == 149
    assert not any(key[0].isdigit() for key in stats.values_us)  # no layer lines


def test_diagview_2_37_indented_sections_and_no_cycles():
    stats = parse_diagview(DIAGVIEW_2_37)
    assert stats.version.startswith("2.37.0")
    assert stats.total_inference_us == 1328 and stats.init_us == 158658
    assert stats.values_us["Accelerator Time"] == 59
    assert "Num times yield occurred" in stats.values_us  # a count, zero: harmless
    assert not [key for key in stats.values_us if "Subnet" in key or "OpId" in key]


def test_diagview_without_execute_statistics_is_reported():
    runs = [parse_diagview(DIAGVIEW_2_9.split("Average SNPE Statistics")[0])]
    with pytest.raises(EdgeFerError, match="no 'Total Inference Time'"):
        summarize_diag("dsp", runs)


def test_benchmark_model_timed_statistics_not_warmup():
    stats = parse_benchmark_model(BENCHMARK_MODEL_LOG)
    assert (stats.init_us, stats.first_us) == (17187, 3512391)
    assert stats.avg_us == pytest.approx(2.95034e6) and stats.warmup_avg_us == pytest.approx(3.51239e6)
    assert (stats.count, stats.min_us, stats.max_us) == (50, 2727568, 3189954)
    assert stats.median_us == 2951000 and stats.std_us == 109798
    assert (stats.memory_init_mb, stats.memory_overall_mb, stats.peak_memory_mb) == \
        (4.21094, 46.0859, 52.3477)
    summary = summarize_benchmark_model("cpu", stats)
    assert (summary.iterations, summary.mean_ms, summary.min_ms, summary.max_ms) == \
        (50, pytest.approx(2950.34), pytest.approx(2727.568), pytest.approx(3189.954))


def test_benchmark_model_logcat_lines():
    stats = parse_benchmark_model(BENCHMARK_LOGCAT)
    assert (stats.count, stats.min_us, stats.avg_us) == (10, 2640862, pytest.approx(2.71985e6))
    assert stats.memory_overall_mb == 337 and stats.peak_memory_mb is None and stats.median_us is None


def test_benchmark_model_failure_names_the_error():
    with pytest.raises(EdgeFerError, match="Failed to apply GPU delegate|Benchmarking failed"):
        parse_benchmark_model(GPU_DELEGATE_FAILURE)


def test_summary_csv_and_json(tmp_path):
    runs = [DiagStats(values_us={"Total Inference Time": t, "Init": 1000.0})
            for t in (1200.0, 1000.0, 1400.0)]
    summary = summarize_diag("dsp", runs)
    assert (summary.iterations, summary.mean_ms, summary.min_ms, summary.max_ms) == (3, 1.2, 1.0, 1.4)
    csv_path, json_path = write_summary([summary], tmp_path, "bench", {"device": "X"})
    (row,) = csv.DictReader(csv_path.open())
    assert (row["runtime"], float(row["mean_ms"]), float(row["max_ms"])) == ("dsp", 1.2, 1.4)
    data = json.loads(json_path.read_text())
    assert data["device"] == "X" and data["runtimes"][0]["min_ms"] == 1.0


# ---------------------------------------------------------------------------------------------
# The adb flow, against stand-ins


def stand_in_probs(pixels: np.ndarray) -> np.ndarray:
    """What the stand-in tools 'infer' from an input's pixels."""
    logits = np.array([pixels[k::7].mean() * (k + 1) for k in range(7)], dtype=np.float32)
    probs = np.exp(logits - logits.max())
    return (probs / probs.sum()).astype(np.float32)


PROBS_CODE = '''
def probs_of(pixels):
    logits = np.array([pixels[k::7].mean() * (k + 1) for k in range(7)], dtype=np.float32)
    probs = np.exp(logits - logits.max()); return (probs / probs.sum()).astype(np.float32)
'''

FAKE_NET_RUN = '''#!{python}
"""snpe-net-run: Result_<i>/output:0.raw per input, SNPEDiag_0.log recording the runtime."""
import os, sys
from pathlib import Path
import numpy as np
{probs}
args = sys.argv[1:]
value = lambda flag: args[args.index(flag) + 1]
assert value("--perf_profile") == "high_performance"
root = os.environ["FAKE_DEVICE_ROOT"]
local = lambda p: p.replace("/data/local/tmp", root)
if "--use_gpu" in args and os.environ.get("FAKE_NO_GPU"):
    print("error_code=201; error_message=GPU runtime not available", file=sys.stderr); sys.exit(1)
out = Path(value("--output_dir")); out.mkdir(parents=True)
for index, line in enumerate(Path(value("--input_list")).read_text().split()):
    print("Processing DNN input(s):"); print(line)
    (out / f"Result_{{index}}").mkdir()
    probs = probs_of(np.fromfile(local(line), dtype="<f4"))
    (out / f"Result_{{index}}" / "output:0.raw").write_bytes(probs.tobytes())
runtime = "dsp" if "--use_dsp" in args else "gpu" if "--use_gpu" in args else "cpu"
(out / "SNPEDiag_0.log").write_text(runtime)
'''

FAKE_DIAGVIEW = '''#!{python}
"""snpe-diagview: prints SNPE 2.37's layout with a time per runtime."""
import sys
from pathlib import Path
runtime = Path(sys.argv[sys.argv.index("--input_log") + 1]).read_text()
total = {{"cpu": 5000, "gpu": 900, "dsp": 300}}[runtime]
print(\'\'\'{text}\'\'\'.replace("1328 us", f"{{total}} us"))
'''

FAKE_BENCHMARK_MODEL = '''#!{python}
"""benchmark_model: the recorded log (per delegate times); with --output_filepath, the output
tensor of --input_layer_value_files."""
import sys
from pathlib import Path
import numpy as np
{probs}
flags = dict(a.lstrip("-").split("=", 1) for a in sys.argv[1:])
if flags.get("use_gpu") == "true":
    print(\'\'\'{failure}\'\'\', file=sys.stderr); sys.exit(1)
if "output_filepath" in flags:
    name, path = flags["input_layer_value_files"].split(":", 1)
    assert name == flags["input_layer"] and flags["input_layer_shape"] == "1,48,48,1"
    Path(flags["output_filepath"]).write_bytes(probs_of(np.fromfile(path, dtype="<f4")).tobytes())
assert flags["num_runs"] and flags["num_threads"] == "2"
print(\'\'\'{log}\'\'\', file=sys.stderr)
'''


def _script(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def device(fake_adb) -> Path:
    """The fake device (tests/conftest.py): its /data/local/tmp under tmp_path/device."""
    return fake_adb


@pytest.fixture
def raws(tmp_path, synthetic_inputs):
    """An input list of 6 synthetic faces, and a reference output folder holding what the
    stand-ins compute for them (the host 'model')."""
    from edge_fer.tensors.raw_inputs import write_raw_set
    from edge_fer.tensors.results import write_results

    items = ((f"face_{i}", f"face_{i}", "", image[..., 0])
             for i, image in enumerate(synthetic_inputs[:6]))
    written = write_raw_set(tmp_path / "raws", items)
    reference = tmp_path / "reference"
    write_results(reference, [stand_in_probs(image.reshape(-1)) for image in synthetic_inputs[:6]])
    return written.input_list, reference


@pytest.fixture
def snpe_sdk(tmp_path, monkeypatch) -> Path:
    sdk = tmp_path / "sdk"
    probs = PROBS_CODE
    for arch in ("aarch64-android", "x86_64-linux-clang"):  # the SDK is found by its host build
        _script(sdk / "bin" / arch / "snpe-net-run",
                FAKE_NET_RUN.format(python=sys.executable, probs=probs))
    _script(sdk / "bin" / "x86_64-linux-clang" / "snpe-diagview",
            FAKE_DIAGVIEW.format(python=sys.executable, text=DIAGVIEW_2_37))
    (sdk / "lib" / "aarch64-android").mkdir(parents=True)
    (sdk / "lib" / "aarch64-android" / "libSNPE.so").write_bytes(b"lib")
    for version in (73, 75):
        skel = sdk / "lib" / f"hexagon-v{version}" / "unsigned" / f"libSnpeHtpV{version}Skel.so"
        skel.parent.mkdir(parents=True)
        skel.write_bytes(b"skel")
    monkeypatch.setenv("SNPE_ROOT", str(sdk))
    monkeypatch.delenv("QAIRT_SDK_ROOT", raising=False)
    return sdk


def test_snpe_flow_summarises_each_runtime_and_checks_labels(device, snpe_sdk, raws, tmp_path,
                                                             monkeypatch):
    input_list, reference = raws
    monkeypatch.setenv("FAKE_NO_GPU", "1")
    out = tmp_path / "out"
    dlc = tmp_path / "model.dlc"
    dlc.write_bytes(b"dlc")
    summaries = snpe_device_bench(dlc, input_list, out, ("cpu", "gpu", "dsp"), iterations=2,
                                  reference=reference)
    by_runtime = {s.runtime: s for s in summaries}
    assert by_runtime["cpu"].mean_ms == 5.0 and by_runtime["dsp"].max_ms == 0.3
    assert by_runtime["dsp"].iterations == 2 and by_runtime["dsp"].init_ms == pytest.approx(158.658)
    assert (by_runtime["dsp"].agreement, by_runtime["dsp"].compared) == (1.0, 6)
    assert by_runtime["gpu"].status == "failed" and "GPU runtime not available" in by_runtime["gpu"].reason
    rows = list(csv.DictReader((out / "snpe_device_bench.csv").open()))
    assert [r["runtime"] for r in rows] == ["cpu", "gpu", "dsp"]
    facts = json.loads((out / "snpe_device_bench.json").read_text())
    assert facts["dsp"].startswith("sm8650") and "hexagon-v75" in facts["dsp"]
    assert (out / "dsp" / "device" / "run_1" / "SNPEDiag_0.log").is_file()
    assert (out / "dsp" / "results" / "Result_5" / "output.raw").is_file()
    assert not [p for p in device.rglob("*") if p.is_file()]  # the device is cleaned up
    # A later run that fails on the device keeps the old results and the user's files beside them.
    (out / "dsp" / "notes.txt").write_text("mine")
    old = sorted(p.relative_to(out).as_posix() for p in (out / "dsp").rglob("*"))
    import edge_fer.runners.snpe as snpe_runner

    check = snpe_runner._check_net_run_output
    monkeypatch.setattr(snpe_runner, "_check_net_run_output", _failing_net_run)
    (summary,) = snpe_device_bench(dlc, input_list, out, ("dsp",), iterations=1, reference=reference)
    assert summary.status == "failed"
    assert sorted(p.relative_to(out).as_posix() for p in (out / "dsp").rglob("*")) == old
    monkeypatch.setattr(snpe_runner, "_check_net_run_output", check)
    (summary,) = snpe_device_bench(dlc, input_list, out, ("dsp",), iterations=1, reference=reference)
    assert summary.status == "measured" and (out / "dsp" / "notes.txt").read_text() == "mine"
    assert not (out / "dsp" / "device" / "run_1").exists()  # the new folder, whole


def _failing_net_run(done, count):
    raise EdgeFerError("snpe-net-run: the device went away")


def test_snpe_flow_reports_disagreeing_labels(device, snpe_sdk, raws, tmp_path):
    from edge_fer.tensors.results import write_results

    input_list, _ = raws
    wrong = tmp_path / "wrong"
    write_results(wrong, np.eye(7, dtype=np.float32)[[0, 1, 2, 3, 4, 5]])
    dlc = tmp_path / "model.dlc"
    dlc.write_bytes(b"dlc")
    (summary,) = snpe_device_bench(dlc, input_list, tmp_path / "out", ("cpu",), iterations=1,
                                   reference=wrong)
    assert summary.agreement is not None and summary.agreement < 1.0


@pytest.fixture
def float_tflite(frozen_model, tmp_path_factory) -> Path:
    """The session model as float32 TFLite (float in/out), via the converter."""
    from edge_fer.converters import ConvertRequest, convert_model

    report = convert_model(ConvertRequest(model=frozen_model, target="tflite", precision="fp32",
                                          out_dir=tmp_path_factory.mktemp("tflite"),
                                          verify_count=0))
    return next(r.path for r in report.results if r.status == "converted")


def test_tflite_flow_summarises_delegates_and_checks_labels(device, raws, float_tflite, tmp_path):
    input_list, reference = raws
    tool = _script(tmp_path / "android" / "benchmark_model", FAKE_BENCHMARK_MODEL.format(
        python=sys.executable, probs=PROBS_CODE, log=BENCHMARK_MODEL_LOG,
        failure=GPU_DELEGATE_FAILURE))
    out = tmp_path / "out"
    summaries = tflite_device_bench(float_tflite, input_list, out, tool, ("cpu", "gpu"),
                                    iterations=50, threads=2, check_count=4, reference=reference)
    cpu, gpu = summaries
    assert cpu.status == "measured", cpu.reason
    assert (cpu.iterations, cpu.mean_ms, cpu.min_ms) == (50, pytest.approx(2950.34), pytest.approx(2727.568))
    assert (cpu.agreement, cpu.compared) == (1.0, 4)
    assert gpu.status == "failed" and "GPU delegate" in gpu.reason
    assert json.loads((out / "tflite_device_bench.json").read_text())["label_check_inputs"] == 4
    assert len(list((out / "cpu" / "outputs").glob("out_*.bin"))) == 4


def test_no_adb_or_no_device_is_exit_3(tmp_path, monkeypatch, raws, device):
    input_list, _ = raws
    dlc = tmp_path / "model.dlc"
    dlc.write_bytes(b"dlc")
    monkeypatch.setenv("FAKE_NO_DEVICE", "1")
    with pytest.raises(ToolMissingError, match="no device attached"):
        snpe_device_bench(dlc, input_list, tmp_path / "out")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ToolMissingError, match="adb not found") as raised:
        snpe_device_bench(dlc, input_list, tmp_path / "out")
    assert raised.value.exit_code == 3


FAKE_BENCHMARK_MODEL_ANY = '''#!{python}
"""benchmark_model for any model: logs its flags; with --output_filepath, {classes} scores."""
import json, os, sys
from pathlib import Path
import numpy as np
flags = dict(a.lstrip("-").split("=", 1) for a in sys.argv[1:])
with open(os.environ["FAKE_BM_LOG"], "a") as log:
    log.write(json.dumps(flags) + "\\n")
if "output_filepath" in flags:
    name, path = flags["input_layer_value_files"].rsplit(":", 1)  # "name::0:path"
    pixels = np.fromfile(path, dtype="<f4")
    assert pixels.size == 64 * 64
    scores = np.full({classes}, 1.0 / {classes}, np.float32)
    scores[int(pixels.sum()) % {classes}] += 0.5
    Path(flags["output_filepath"]).write_bytes((scores / scores.sum()).tobytes())
print(\'\'\'{log}\'\'\', file=sys.stderr)
'''


def test_tflite_flow_takes_a_foreign_models_input_name_shape_and_classes(device, tmp_path,
                                                                          monkeypatch):
    """A 64×64 gray model with its own input name and eight classes: the device's command line
    names that input and shape, the raws are read as 64×64 images, the results hold 8 scores."""
    import keras
    import tensorflow as tf

    from edge_fer.tensors.raw_inputs import write_raw_set
    from edge_fer.tensors.spec import InputSpec

    inputs = keras.Input((64, 64, 1), name="pixels")
    model = keras.Model(inputs, keras.layers.Dense(8, activation="softmax")(
        keras.layers.GlobalAveragePooling2D()(inputs)))
    path = tmp_path / "foreign.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    rng = np.random.default_rng(0)
    spec = InputSpec(height=64, width=64)
    items = ((f"face_{i}", f"face_{i}", "", rng.integers(0, 256, (64, 64), dtype=np.uint8))
             for i in range(3))
    written = write_raw_set(tmp_path / "raws", items, spec=spec)
    tool = _script(tmp_path / "android" / "benchmark_model", FAKE_BENCHMARK_MODEL_ANY.format(
        python=sys.executable, classes=8, log=BENCHMARK_MODEL_LOG))
    monkeypatch.setenv("FAKE_BM_LOG", str(tmp_path / "bm.log"))
    out = tmp_path / "out"
    (summary,) = tflite_device_bench(path, written.input_list, out, tool, ("cpu",),
                                     iterations=5, threads=2, check_count=3)
    assert summary.status == "measured", summary.reason
    calls = [json.loads(line) for line in (tmp_path / "bm.log").read_text().splitlines()]
    checks = [c for c in calls if "output_filepath" in c]
    assert len(checks) == 3
    from edge_fer.artifacts.facts import file_facts

    name = file_facts(path).input_name
    assert {c["input_layer"] for c in checks} == {name.replace(":", "::")}
    assert {c["input_layer_shape"] for c in checks} == {"1,64,64,1"}
    result = np.fromfile(out / "cpu" / "results" / "Result_0" / "output.raw", dtype="<f4")
    assert result.shape == (8,)
