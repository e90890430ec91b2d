"""Shared fixtures: the shared data folder, and one small model trained and frozen per session.

The model is seed003 trained for three short epochs on the built-in synthetic faces: real enough for
conversion and runner round trips (confident, non-trivial predictions), quick enough for CI.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_FER2013 = REPO_ROOT.parent / "shared" / "data" / "fer2013"


def signals_as_from_a_terminal() -> None:
    """A suite started in the background (`nohup make test &`) inherits SIGINT and SIGHUP
    ignored, and so would every command a test starts (edge-fer keeps ignoring what nohup
    ignores), so the signal tests would see their signals lost: tests start from the defaults."""
    import contextlib
    import signal

    with contextlib.suppress(ValueError):  # not the main thread: nothing to do
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is signal.SIG_IGN:
            signal.signal(signal.SIGHUP, signal.SIG_DFL)


signals_as_from_a_terminal()


@pytest.fixture(scope="session", autouse=True)
def tensorflow_before_qnn():
    """TensorFlow loaded (and its regex kernel run once, edge_fer.platform.qnn.guard_tensorflow)
    before any test opens a QNN HTP session: after one, TensorFlow's first regex match segfaults
    the process, so the suite would pass or crash by the order its tests run in."""
    import tensorflow as tf  # noqa: F401

    from edge_fer.platform.qnn import guard_tensorflow

    guard_tensorflow()


@pytest.fixture(scope="session")
def fer2013_dir() -> Path:
    """../shared/data/fer2013 beside the repo (CI has it); skip where it is absent."""
    if not (SHARED_FER2013 / "fer2013.csv.gz").is_file():
        pytest.skip(f"real FER2013 data not found at {SHARED_FER2013} (the shared folder beside the repo)")
    return SHARED_FER2013


def built_once(tmp_path_factory, name: str, build: Callable[[Path], object]) -> Path:
    """A folder built once per test run and shared by every pytest-xdist worker (read-only by
    convention): the first worker to ask builds it under a lock, the others wait for it."""
    import fcntl
    import shutil

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's own temporary folder, the same for every worker
    folder = root / f"shared-{name}"
    with open(root / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".built").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / ".built").touch()
    return folder


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A seed003 run on 4,200 synthetic faces, 3 epochs (about 15 s on 2 cores), trained once per
    test run for all workers (read-only: a test that resumes or changes it works on a copy)."""
    from edge_fer.training.train import TrainConfig, train

    def build(folder: Path) -> None:
        train(TrainConfig(data="synthetic", arch="seed003", epochs=3, synthetic_train=4200,
                          synthetic_val=350, out=str(folder / "seed003")))

    return built_once(tmp_path_factory, "trained_run", build) / "seed003"


# The second trained model of a test run: another architecture (residual, batch norm), trained
# just long enough that its precise batch-norm statistics beat the moving averages by far.
RESXS_CONFIG = {"data": "synthetic", "arch": "resxs", "epochs": 2, "lr": 3e-3,
                "synthetic_train": 448, "synthetic_val": 140, "precision": "fp32"}


@pytest.fixture(scope="session")
def resxs_run(tmp_path_factory) -> SimpleNamespace:
    """A resxs run: `.path`, `.metrics` (what train returned), `.config` (RESXS_CONFIG). Shared:
    a test that resumes or changes it works on a copy."""
    from edge_fer.training.train import TrainConfig, train

    out = tmp_path_factory.mktemp("resxs") / "run"
    metrics = train(TrainConfig(**RESXS_CONFIG, out=str(out)))
    return SimpleNamespace(path=out, metrics=metrics, config=dict(RESXS_CONFIG))


def write_tiny_conv_pb(path: Path, seed: int = 0) -> Path:
    """A tiny untrained CNN frozen graph under the CONVENTIONS names (input x [1,48,48,1], output
    `output` softmax [1,7], `logits` before it; labels.txt beside): two 3×3 convolutions with
    bias and ReLU, max-pooling, global mean, dense. No training: built in well under a second,
    and it takes every converter path (conv, pool, mean, matmul, softmax) a real model takes."""
    import tensorflow as tf

    from edge_fer.labels import LABELS

    rng = np.random.default_rng(seed)

    def const(*shape, scale=0.5):
        return tf.constant(rng.normal(0, scale, shape).astype(np.float32))

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 48, 48, 1], name="x")
        net = tf.nn.relu(tf.nn.conv2d(x, const(3, 3, 1, 8), 1, "SAME") + const(8, scale=0.1))
        net = tf.nn.max_pool2d(net, 2, 2, "VALID")
        net = tf.nn.relu(tf.nn.conv2d(net, const(3, 3, 8, 8, scale=0.2), 2, "SAME")
                         + const(8, scale=0.1))
        net = tf.reduce_mean(net, axis=[1, 2])
        logits = tf.add(tf.linalg.matmul(net, const(8, 7, scale=2.0)), const(7, scale=0.1),
                        name="logits")
        tf.nn.softmax(logits, name="output")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(graph.as_graph_def().SerializeToString())
    (path.parent / "labels.txt").write_text("".join(f"{label}\n" for label in LABELS))
    return path


@pytest.fixture(scope="session")
def tiny_frozen_model(tmp_path_factory) -> Path:
    """write_tiny_conv_pb once per session: for tests of the command line and its output rather
    than of model quality (no training to wait for)."""
    return write_tiny_conv_pb(tmp_path_factory.mktemp("tiny") / "model.pb")


@pytest.fixture(scope="session")
def frozen_model(trained_run, tmp_path_factory) -> Path:
    """The trained run frozen to model.pb (input x [1,48,48,1], output `output`), labels.txt beside it."""
    from edge_fer.training.freeze import freeze_run

    out = tmp_path_factory.mktemp("frozen") / "model.pb"  # this worker's: files are added beside it
    freeze_run(trained_run, out)
    return out


@pytest.fixture(scope="session")
def synthetic_inputs() -> np.ndarray:
    """200 synthetic faces as model input: float32 [200, 48, 48, 1] in [0, 1] (a seed unseen in training)."""
    from edge_fer.data.synthetic import generate
    from edge_fer.preprocess import to_model_input

    images, _ = generate(200, seed=12345)
    return to_model_input(images)


@pytest.fixture(scope="session")
def reference_probs(frozen_model, synthetic_inputs) -> np.ndarray:
    """The frozen graph's own softmax on synthetic_inputs: the TF reference every runtime is compared with."""
    from edge_fer.tensors.graphio import load_graph_def
    from edge_fer.training.freeze import frozen_outputs

    return frozen_outputs(load_graph_def(frozen_model), synthetic_inputs)


FAKE_ADB = '''#!{python}
"""adb with one device (FAKE123, unless FAKE_NO_DEVICE) whose /data/local/tmp is
$FAKE_DEVICE_ROOT: devices, get-state, push, pull, shell (sh with the paths mapped); every call
is appended to $FAKE_ADB_LOG."""
import os, shutil, subprocess, sys
from pathlib import Path
root = os.environ["FAKE_DEVICE_ROOT"]
local = lambda p: p.replace("/data/local/tmp", root)
args = sys.argv[1:]
with open(os.environ["FAKE_ADB_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
present = not os.environ.get("FAKE_NO_DEVICE")
if args[0] == "devices":
    print("List of devices attached" + ("\\nFAKE123\\tdevice" if present else "")); sys.exit(0)
serial, command, rest = args[1], args[2], args[3:]
if serial != "FAKE123" or not present:
    print(f"error: device '{{serial}}' not found", file=sys.stderr); sys.exit(1)
if command == "get-state":
    print("device"); sys.exit(0)
def copy(src, dst):
    s, d = Path(src.removesuffix("/.")), Path(dst)
    if src.endswith("/."):
        shutil.copytree(s, d, dirs_exist_ok=True)
    else:
        d.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(s, d / s.name if d.is_dir() else d)
if command == "push":
    copy(rest[0], local(rest[1]))
    if rest[0].endswith(".sh"):  # a script run on the device names device paths
        pushed = Path(local(rest[1]))
        pushed.write_text(local(pushed.read_text()))
    sys.exit(0)
if command == "pull":
    copy(local(rest[0]), rest[1]); sys.exit(0)
if command == "shell":
    sys.exit(subprocess.run(["sh", "-c", local(" ".join(rest))]).returncode)
sys.exit("fake adb: unknown command " + command)
'''

# The device's own getprop, run by the stand-in's shell: an arm64 Snapdragon 8 Gen 3.
FAKE_GETPROP = '''#!/bin/sh
case "$1" in
  ro.product.cpu.abi) echo arm64-v8a ;;
  ro.soc.model) echo SM8650 ;;
esac
'''


@pytest.fixture
def fake_adb(tmp_path, monkeypatch) -> Path:
    """adb (one device, FAKE123) and the device's getprop on PATH; returns the folder standing in
    for the device's /data/local/tmp. adb's calls are logged to tmp_path/adb.log."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for name, text in (("adb", FAKE_ADB.format(python=sys.executable)), ("getprop", FAKE_GETPROP)):
        (tools / name).write_text(text)
        (tools / name).chmod(0o755)
    (tmp_path / "device").mkdir()
    monkeypatch.setenv("FAKE_DEVICE_ROOT", str(tmp_path / "device"))
    monkeypatch.setenv("FAKE_ADB_LOG", str(tmp_path / "adb.log"))
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "device"
