"""Hostile inputs, by family (issue 13: tracebacks, silent wrong results, messages and exit codes).

Every case runs `edge-fer` in a subprocess with a timeout and asserts the exit code, one `error:`
line naming the file and the problem, no traceback, and what is left on disk.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tests.hostile.conftest import (
    CLI,
    CliResult,
    assert_error,
    assert_no_leftovers,
    assert_ok,
    cli_env,
    invoke_cli,
    snapshot,
    write_face_pngs,
)

# ---- helpers ---------------------------------------------------------------------------------


def small_list(raws_dir: Path, folder: Path, count: int = 3, extra: list[str] = ()) -> Path:
    """An input list in `folder` naming the first `count` raws of raws_dir (absolute) + extra lines."""
    raws = sorted(raws_dir.glob("*.raw"))[:count]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "list.txt"
    path.write_text("".join(f"{raw}\n" for raw in raws) + "".join(f"{line}\n" for line in extra))
    return path


def write_dense_pb(path: Path, weights: np.ndarray) -> Path:
    """A frozen graph x [1,48,48,1] → output softmax [1,7] through one dense layer of `weights`."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 48, 48, 1], name="x")
        flat = tf.reshape(x, [1, 48 * 48])
        logits = tf.linalg.matmul(flat, tf.constant(weights.astype(np.float32)), name="logits")
        tf.nn.softmax(logits, name="output")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return path


def write_onnx_with_input(path: Path, shape: list, weights: np.ndarray | None = None) -> Path:
    """A softmax classifier over an input of `shape` (first dim free): for shape mismatches."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    size = int(np.prod(shape[1:]))
    w = weights if weights is not None else np.full((size, 7), 0.01, np.float32)
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["flat"]),
         helper.make_node("MatMul", ["flat", "w"], ["logits"]),
         helper.make_node("Softmax", ["logits"], ["output"], axis=1)],
        "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *shape[1:]])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 7])],
        initializer=[numpy_helper.from_array(w.astype(np.float32), "w"),
                     numpy_helper.from_array(np.array([-1, size], np.int64), "shape")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def unprivileged_runner():
    """How to run a command without root's override of file permissions, or why it cannot be."""
    if os.geteuid() != 0:
        return []  # permissions already apply to this user
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and setpriv is not installed: root reads unreadable files")
    return [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def run_unprivileged(prefix: list[str], *args, cwd: Path) -> CliResult:
    import subprocess

    env = cli_env(HOME=str(cwd), MPLCONFIGDIR=str(cwd / ".mpl"))
    done = subprocess.run(prefix + CLI + [str(a) for a in args], cwd=cwd, env=env, check=False,
                          capture_output=True, text=True, timeout=60)
    return CliResult([str(a) for a in args], done.returncode, done.stdout, done.stderr)


@pytest.fixture
def open_dir():
    """A folder everyone may enter (pytest's tmp_path is root's alone), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="edge-fer-hostile-"))
    folder.chmod(0o777)
    yield folder
    for path in folder.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(folder, ignore_errors=True)


# ---- family: option values (exit 2, naming the value, before any work or SDK check) ----------


@pytest.mark.parametrize(("args", "value"), [
    (["run", "m.dlc", "-i", "l.txt", "-o", "out", "--snpe-runtime", "npu"], "npu"),
    (["run", "m.onnx", "-i", "l.txt", "-o", "out", "--input-dtype", "float64"], "float64"),
    (["train", "--lr", "-1", "--out", "out"], "-1"),
    (["train", "--lr", "nan", "--out", "out"], "nan"),
    (["bench", "m.onnx", "--max-seconds", "nan"], "nan"),
    (["raw-inputs", "faces", "-o", "out", "--workers", "-3"], "-3"),
    (["convert", "m.pb", "--target", "tflite", "--precision", "int4", "-o", "out"], "int4"),
    (["raw-inputs", "faces", "-o", "out", "--color", "cmyk"], "cmyk"),
    (["raw-inputs", "faces", "-o", "out", "--layout", "chwn"], "chwn"),
])
def test_bad_option_values_are_usage_errors_naming_the_value(tmp_path, args, value):
    result = invoke_cli(*args, cwd=tmp_path)
    line = assert_error(result, 2, value, args[0])
    assert "--help" in line
    assert snapshot(tmp_path) == {}  # nothing made, nothing looked for


def test_help_lists_the_choices():
    result = assert_ok(invoke_cli("run", "--help", env=cli_env(COLUMNS="200")))
    assert "cpu" in result.stdout and "aip" in result.stdout and "uint8" in result.stdout
    result = assert_ok(invoke_cli("raw-inputs", "--help", env=cli_env(COLUMNS="200")))
    assert "gray|rgb|bgr" in result.stdout and "nhwc|nchw" in result.stdout


# ---- family: the operating system says no (one line, exit 1) ---------------------------------


def test_a_folder_where_a_file_is_wanted(tmp_path, tiny_onnx, raws_dir):
    result = invoke_cli("run", tiny_onnx, "-i", raws_dir, "-o", tmp_path / "out")
    assert_error(result, 1, str(raws_dir), "is a folder, not an input list")
    assert not (tmp_path / "out").exists()


def test_an_output_path_that_is_a_file(tmp_path, tiny_onnx, raws_dir):
    blocker = tmp_path / "out"
    blocker.write_text("notes")
    result = invoke_cli("run", tiny_onnx, "-i", small_list(raws_dir, tmp_path), "-o", blocker / "run")
    assert_error(result, 1, str(blocker))
    assert blocker.read_text() == "notes"


def test_a_nul_byte_in_a_path_of_the_input_list(tmp_path, tiny_onnx, raws_dir):
    listing = small_list(raws_dir, tmp_path, extra=["raws/a\0b.raw"])
    result = invoke_cli("run", tiny_onnx, "-i", listing, "-o", tmp_path / "out")
    assert_error(result, 1, f"{listing}:4", "NUL byte")
    assert not (tmp_path / "out").exists()


def test_an_unreadable_input_list(open_dir, tiny_onnx, raws_dir):
    prefix = unprivileged_runner()
    model = Path(shutil.copy(tiny_onnx, open_dir / "m.onnx"))
    listing = small_list(raws_dir, open_dir / "lists")
    shutil.copytree(raws_dir, open_dir / "raws")
    listing.write_text("".join(f"{open_dir / 'raws' / p.name}\n"
                               for p in sorted(raws_dir.glob("*.raw"))[:3]))
    listing.chmod(0o000)
    result = run_unprivileged(prefix, "run", model, "-i", listing, "-o", open_dir / "out",
                              cwd=open_dir)
    # A path option typer checks itself (readable=True) is a usage error; either way one line.
    line = assert_error(result, result.code if result.code in (1, 2) else 1, str(listing))
    assert "permission denied" in line or "not readable" in line
    assert not (open_dir / "out").exists()


def test_an_unwritable_output_folder(open_dir, tiny_onnx, raws_dir):
    prefix = unprivileged_runner()
    model = Path(shutil.copy(tiny_onnx, open_dir / "m.onnx"))
    shutil.copytree(raws_dir, open_dir / "raws")
    (open_dir / "locked").mkdir(mode=0o555)
    result = run_unprivileged(prefix, "run", model, "-i", open_dir / "raws" / "input_list.txt",
                              "-o", open_dir / "locked" / "out", cwd=open_dir)
    assert_error(result, 1, str(open_dir / "locked"), "permission denied")
    assert list((open_dir / "locked").iterdir()) == []


def test_a_subfolder_raw_inputs_cannot_list_is_reported_not_left_out(open_dir):
    prefix = unprivileged_runner()
    write_face_pngs(open_dir / "faces", 14)
    hidden = open_dir / "faces" / "happy"
    hidden.chmod(0o311)  # enterable, not listable: its images cannot be found
    result = assert_ok(run_unprivileged(prefix, "raw-inputs", "faces", "-o", "raws", cwd=open_dir))
    assert "skipped faces/happy: cannot list folder (permission denied)" in result.stderr
    skipped = (open_dir / "raws" / "skipped.csv").read_text()
    assert "faces/happy,cannot list folder (permission denied)" in skipped
    assert len(list((open_dir / "raws").glob("*.raw"))) == 12


def test_a_subfolder_evaluate_cannot_list_is_reported_and_counted_as_skipped(open_dir,
                                                                             tiny_onnx):
    """train and evaluate read image folders through the same loader (data/folders.py)."""
    import json

    prefix = unprivileged_runner()
    write_face_pngs(open_dir / "faces", 14)
    shutil.copy(tiny_onnx, open_dir / "tiny.onnx")
    (open_dir / "faces" / "happy").chmod(0o311)  # enterable, not listable
    result = assert_ok(run_unprivileged(prefix, "evaluate", "tiny.onnx", "--data", "faces",
                                        "--split", "train", "--json", cwd=open_dir))
    assert "faces/happy: cannot list folder (permission denied)" in result.stderr
    report = json.loads(result.stdout)
    assert report["skipped"] == 1 and report["count"] > 0


# ---- family: non-finite numbers stop where they appear ----------------------------------------


def test_run_refuses_a_nan_raw_naming_it_and_its_line(tmp_path, tiny_onnx, raws_dir):
    bad = tmp_path / "nan.raw"
    np.full(2304, np.nan, np.float32).tofile(bad)
    listing = small_list(raws_dir, tmp_path, extra=[str(bad)])
    result = invoke_cli("run", tiny_onnx, "-i", listing, "-o", tmp_path / "out")
    assert_error(result, 1, str(bad), f"{listing}:4", "2,304 of 2,304 values are NaN")
    assert not (tmp_path / "out").exists()
    assert_no_leftovers(tmp_path)


def test_run_refuses_to_write_nan_outputs(tmp_path, raws_dir):
    weights = np.full((2304, 7), 0.01, np.float32)
    weights[5, 3] = np.nan
    model = write_onnx_with_input(tmp_path / "nan.onnx", [1, 48, 48, 1], weights)
    listing = small_list(raws_dir, tmp_path)
    result = invoke_cli("run", model, "-i", listing, "-o", tmp_path / "out")
    assert_error(result, 1, "onnx output of nan.onnx", f"{listing}:1", "nothing written")
    assert not (tmp_path / "out").exists()


def test_an_all_nan_float_image_is_skipped_not_made_black(tmp_path, faces_dir):
    import cv2

    folder = tmp_path / "faces"
    shutil.copytree(faces_dir / "happy", folder / "happy")
    cv2.imwrite(str(folder / "happy" / "nan.tiff"), np.full((48, 48), np.nan, np.float32))
    result = assert_ok(invoke_cli("raw-inputs", folder, "-o", tmp_path / "raws"))
    assert "nan.tiff: float image: 2,304 of 2,304 values are NaN" in result.stderr
    manifest = (tmp_path / "raws" / "manifest.csv").read_text()
    assert "nan.tiff" not in manifest
    assert "nan.tiff" in (tmp_path / "raws" / "skipped.csv").read_text()


def test_convert_refuses_a_nan_graph(tmp_path):
    weights = np.zeros((2304, 7), np.float32)
    weights[0, 0] = np.nan
    model = write_dense_pb(tmp_path / "nan.pb", weights)
    result = invoke_cli("convert", model, "--target", "tflite", "--precision", "fp32",
                     "--verify-count", "8", "-o", tmp_path / "out", timeout=180)
    assert_error(result, 1, "nan.pb", "values are NaN")
    assert not list((tmp_path / "out").rglob("*.tflite"))


def test_convert_rejects_a_nan_calibration_raw_naming_it(tmp_path, raws_dir):
    model = write_dense_pb(tmp_path / "m.pb", np.random.default_rng(0).normal(0, .05, (2304, 7)))
    bad = tmp_path / "nan.raw"
    data = np.zeros(2304, np.float32)
    data[100] = np.nan
    data.tofile(bad)
    listing = small_list(raws_dir, tmp_path, extra=[str(bad)])
    result = invoke_cli("convert", model, "--target", "tflite", "--precision", "int8", "--calib",
                     listing, "-o", tmp_path / "out", timeout=180)
    assert_error(result, 1, str(bad), "calibration raw", f"{listing}:4", "1 of 2,304 values are NaN")
    assert not list((tmp_path / "out").rglob("*.tflite"))


def test_training_stops_on_a_non_finite_loss(tmp_path):
    result = invoke_cli("train", "--lr", "1e9", "--epochs", "1", "--synthetic-train", "140",
                     "--synthetic-val", "14", "--batch-size", "32", "--out", tmp_path / "run",
                     "-q", timeout=240)
    assert_error(result, 1, str(tmp_path / "run"), "training loss became nan", "--lr")
    assert not (tmp_path / "run" / "best").exists() and not (tmp_path / "run" / "last").exists()


# ---- family: input lists outside the SNPE grammar (exit 1, naming the line) --------------------


@pytest.mark.parametrize(("content", "line", "problem"), [
    (b"\xef\xbb\xbf{raw}\n", 1, "byte-order mark"),
    (b"{raw} {raw}\n", 1, "2 paths without input names"),
    (b"{raw}\nmy face.raw\n", 2, "2 paths without input names"),
    (b"{raw}\n{raw}\xff\n", 2, "not UTF-8 text"),
])
def test_input_lists_outside_the_grammar(tmp_path, tiny_onnx, raws_dir, content, line, problem):
    raw = str(min(raws_dir.glob("*.raw"))).encode()
    listing = tmp_path / "list.txt"
    listing.write_bytes(content.replace(b"{raw}", raw))
    result = invoke_cli("run", tiny_onnx, "-i", listing, "-o", tmp_path / "out")
    assert_error(result, 1, f"{listing}:{line}", problem)
    assert not (tmp_path / "out").exists()


# ---- family: messages that are exact; nothing left out silently -------------------------------


def test_a_raw_of_9215_bytes_is_reported_as_9215(tmp_path, tiny_onnx, raws_dir):
    short = tmp_path / "short.raw"
    short.write_bytes(b"\0" * 9215)
    listing = small_list(raws_dir, tmp_path, extra=[str(short)])
    result = invoke_cli("run", tiny_onnx, "-i", listing, "-o", tmp_path / "out")
    assert_error(result, 1, str(short), "9,215 bytes", "9,216 bytes each")


def test_a_model_whose_input_is_not_what_the_raws_hold(tmp_path, raws_dir):
    model = write_onnx_with_input(tmp_path / "rgb.onnx", [1, 32, 32, 3])
    result = invoke_cli("run", model, "-i", small_list(raws_dir, tmp_path), "-o", tmp_path / "out")
    # checked before anything runs (runners/base.py check_input_list): what the raw holds and
    # what the model takes, both named
    assert_error(result, 1, "rgb.onnx", "000000_00000.raw", "9,216 bytes", "[1,32,32,3]")
    assert not (tmp_path / "out").exists()


def test_gif_files_are_read(tmp_path):
    from PIL import Image

    folder = tmp_path / "faces" / "sad"
    folder.mkdir(parents=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (60, 50), np.uint8)).save(
        folder / "a.gif")
    result = assert_ok(invoke_cli("raw-inputs", tmp_path / "faces", "-o", tmp_path / "raws"))
    assert "wrote 1 raws" in result.stdout and "non-image" not in result.stdout
    assert "a.gif,sad" in (tmp_path / "raws" / "manifest.csv").read_text()


def test_evaluate_reports_skipped_rows(tmp_path, tiny_onnx):
    rows = ["emotion,pixels,Usage"]
    pixels = " ".join(["128"] * 2304)
    rows += [f"{i % 7},{pixels},PublicTest" for i in range(5)]
    rows += ["3,12 34,PublicTest", f"9,{pixels},PublicTest"]
    (tmp_path / "f.csv").write_text("\n".join(rows) + "\n")
    result = assert_ok(invoke_cli("evaluate", tiny_onnx, "--data", tmp_path / "f.csv", "--split",
                               "PublicTest", "--json"))
    assert "skipped 2 bad rows/files" in result.stderr and "f.csv:7" in result.stderr
    import json

    report = json.loads(result.stdout)
    assert report["skipped"] == 2 and report["count"] == 5


def test_a_malformed_manifest_names_its_line(tmp_path, tiny_onnx, raws_dir):
    raws = tmp_path / "raws"
    shutil.copytree(raws_dir, raws)
    assert_ok(invoke_cli("run", tiny_onnx, "-i", raws / "input_list.txt", "-o", tmp_path / "out", "-q"))
    lines = (raws / "manifest.csv").read_text().splitlines()
    lines[3] = "three," + lines[3].split(",", 1)[1]
    (raws / "manifest.csv").write_text("\n".join(lines) + "\n")
    assert_error(invoke_cli("classify", tmp_path / "out"), 1, "manifest.csv:4", "malformed")


# ---- family: tracebacks only when asked ------------------------------------------------------


@pytest.mark.parametrize("how", ["flag-after", "flag-first", "env"])
def test_debug_shows_the_traceback(tmp_path, tiny_onnx, how):
    args = ["run", tiny_onnx, "-i", tmp_path / "missing.txt", "-o", tmp_path / "out"]
    env = cli_env()
    if how == "flag-after":
        args.append("--debug")
    elif how == "flag-first":
        args.insert(0, "--debug")
    else:
        env["EDGE_FER_DEBUG"] = "1"
    result = invoke_cli(*args, env=env)
    assert result.code == 1 and "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "missing.txt" in result.stderr


def test_without_debug_no_traceback(tmp_path, tiny_onnx):
    assert_error(invoke_cli("run", tiny_onnx, "-i", tmp_path / "missing.txt", "-o", tmp_path / "o"),
                 1, "missing.txt", "no such file or folder")
