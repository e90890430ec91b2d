"""The hostile-input suite's shared helpers: run a command the way a user does, then check what it
said and what it left on disk.

Every case runs `edge-fer` in a subprocess with a timeout (a hang fails the case, it does not stall
the suite) — or, where what is checked is not the process itself (no hang, kill, signal, file
descriptor or native output at stake), in this process with `invoke_cli`, which spares a Python
and often a TensorFlow start-up — and asserts, through these helpers: the exit code, one `error:` line naming the file and
the problem, no traceback, and the state on disk (the old output byte-identical, or the new one
complete, and no hidden staging left behind).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from edge_fer.cli import main; main()"]
TIMEOUT_S = 60.0


@dataclass
class CliResult:
    args: list[str]
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return f"edge-fer {' '.join(self.args)} → exit {self.code}\n{self.output}"


def cli_env(**extra: str) -> dict[str, str]:
    """The environment a user's shell gives: no colour, a wide console (one message, one line)."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "400", "TERM": "dumb", **extra}
    env.pop("EDGE_FER_DEBUG", None)
    return env


def run_cli(*args: str | Path, cwd: Path | None = None, timeout: float = TIMEOUT_S,
            env: dict[str, str] | None = None, stdin: str | None = None) -> CliResult:
    """`edge-fer <args>` in a subprocess; a run longer than `timeout` fails the test as a hang."""
    argv = [str(a) for a in args]
    try:
        done = subprocess.run(CLI + argv, check=False, cwd=cwd, env=env or cli_env(), input=stdin,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"edge-fer {' '.join(argv)} hung: no exit within {timeout:.0f} s "
                    f"(stderr so far: {exc.stderr!r})")
    return CliResult(argv, done.returncode, done.stdout, done.stderr)


def invoke_cli(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
               timeout: float | None = None) -> CliResult:
    """`edge-fer <args>` run in this process (click's test runner, the user's environment of
    cli_env); the same CliResult as run_cli, an unexpected exception's traceback in its stderr
    (so assert_ok and assert_error fail on it). `timeout` is run_cli's and ignored: in process,
    a hang is the test runner's to catch, so a case about hangs uses run_cli."""
    import contextlib
    import traceback

    from typer.testing import CliRunner

    from edge_fer.cli import app

    argv = [str(a) for a in args]
    changed = {key: value for key, value in (env or cli_env()).items() if os.environ.get(key) != value}
    environment = dict(os.environ)  # what the command sets (--debug: EDGE_FER_DEBUG) ends with it
    try:
        with contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext():
            done = CliRunner().invoke(app, argv, env=changed)
    finally:
        os.environ.clear()
        os.environ.update(environment)
    stderr = done.stderr
    if done.exception is not None and not isinstance(done.exception, SystemExit):
        stderr += "".join(traceback.format_exception(done.exception))
    return CliResult(argv, done.exit_code, done.stdout, stderr)


def start_cli(*args: str | Path, cwd: Path | None = None,
              env: dict[str, str] | None = None) -> subprocess.Popen:
    """`edge-fer <args>` started in the background (for kill -9 and concurrency cases); in its
    own process group so `kill_now` takes its worker processes too."""
    return subprocess.Popen(CLI + [str(a) for a in args], cwd=cwd, env=env or cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT_S,
               process: subprocess.Popen | None = None) -> bool:
    """Poll `condition` every few ms; False when `process` ends first or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if process is not None and process.poll() is not None:
            return condition()
        time.sleep(0.005)
    return False


def kill_now(process: subprocess.Popen) -> None:
    """kill -9 the command and everything it started (its process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.communicate(timeout=TIMEOUT_S)


def finish(process: subprocess.Popen, timeout: float = TIMEOUT_S) -> CliResult:
    """Wait for a background command; a hang kills it and fails the test."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_now(process)
        pytest.fail(f"{process.args} hung: no exit within {timeout:.0f} s")
    return CliResult([str(a) for a in process.args[len(CLI):]], process.returncode, stdout, stderr)


def assert_no_traceback(result: CliResult) -> None:
    assert "Traceback" not in result.output, str(result)


def assert_ok(result: CliResult) -> CliResult:
    assert result.code == 0, str(result)
    assert_no_traceback(result)
    return result


def assert_error(result: CliResult, code: int, *needles: str | Path) -> str:
    """Exit `code`, no traceback, and exactly one `error:` line holding every needle (the file, the
    problem); returns that line."""
    assert result.code == code, str(result)
    assert_no_traceback(result)
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, f"expected one error line:\n{result}"
    for needle in needles:
        assert str(needle) in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under root (hidden ones too) → sha256 of a file, 'dir' or a symlink's target:
    compare two snapshots to prove an output byte-identical."""
    root = Path(root)
    if not root.exists():
        return {}
    state = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            key = path.relative_to(root).as_posix()
            if path.is_symlink():
                state[key] = "-> " + os.readlink(path)
            elif path.is_dir():
                state[key] = "dir"
            else:
                state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def staging_leftovers(folder: Path) -> list[str]:
    """Hidden temporary entries (`.<name>.*`) a command left in folder: there must be none."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")
                  and (p.name.endswith((".tmp", ".old", ".new", ".lock")) or ".edge-fer" in p.name))


def assert_no_leftovers(*folders: Path) -> None:
    for folder in folders:
        assert staging_leftovers(folder) == [], f"{folder} holds staging leftovers"


# ---- shared inputs ---------------------------------------------------------------------------


def write_face_pngs(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """`count` tiny 48x48 grayscale PNGs (random pixels) under folder/<emotion>/: quick inputs."""
    import cv2

    from edge_fer.labels import LABELS

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        label = LABELS[i % len(LABELS)]
        path = folder / label / f"{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, png = cv2.imencode(".png", rng.integers(0, 256, (48, 48), dtype=np.uint8))
        assert ok
        path.write_bytes(png.tobytes())
        paths.append(path)
    return paths


def write_tiny_onnx(path: Path, seed: int = 0) -> Path:
    """A dense softmax classifier x [N,48,48,1] → output [N,7] as ONNX: a real model that the onnx
    runner loads in milliseconds (no training needed)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    weights = numpy_helper.from_array(rng.normal(0, 0.05, (48 * 48, 7)).astype(np.float32), "w")
    shape = numpy_helper.from_array(np.array([-1, 48 * 48], np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["flat"]),
         helper.make_node("MatMul", ["flat", "w"], ["logits"]),
         helper.make_node("Softmax", ["logits"], ["output"], axis=1)],
        "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 48, 48, 1])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 7])],
        initializer=[weights, shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def faces_dir(tmp_path_factory) -> Path:
    """300 tiny labelled PNGs (read-only by convention: copy before changing)."""
    folder = tmp_path_factory.mktemp("faces") / "faces"
    write_face_pngs(folder, 300)
    return folder


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory) -> Path:
    return write_tiny_onnx(tmp_path_factory.mktemp("model") / "tiny.onnx")


@pytest.fixture(scope="session")
def raws_dir(tmp_path_factory, faces_dir) -> Path:
    """raw-inputs of faces_dir: 300 raws, input_list.txt, manifest.csv (read-only by convention)."""
    out = tmp_path_factory.mktemp("raws") / "raws"
    assert_ok(run_cli("raw-inputs", faces_dir, "-o", out, "--quiet"))
    return out
