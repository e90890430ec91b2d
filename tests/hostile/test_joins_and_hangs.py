"""Hostile inputs, families "silent wrong results" (the manifest join) and "hangs and runaway
resources" (FIFOs, a stray Result_3000000): each within its timeout, one error line or a skip
that names the file, the right source and label for every result."""

from __future__ import annotations

import csv
import io
import os
import shutil

import numpy as np
import pytest

from tests.hostile.conftest import assert_error, assert_ok, run_cli


def _manifest(raws_dir):
    with (raws_dir / "manifest.csv").open(newline="") as handle:
        return {row["raw_path"]: row for row in csv.DictReader(handle)}


@pytest.fixture
def subset_list(raws_dir, tmp_path):
    """Every third line of raw-inputs' list, reversed, written in the same folder (the issue's
    subset and reordering of the list raw-inputs wrote)."""
    lines = (raws_dir / "input_list.txt").read_text().splitlines()[::3][::-1]
    path = raws_dir / f"subset_{tmp_path.name}.txt"
    path.write_text("\n".join(lines) + "\n")
    yield path, lines
    path.unlink()


def test_classify_joins_a_subset_reordered_list_by_raw_path(raws_dir, tiny_onnx, tmp_path,
                                                            subset_list):
    listing, lines = subset_list
    out = tmp_path / "out"
    assert_ok(run_cli("run", tiny_onnx, "-i", listing, "-o", out, "-q"))
    result = assert_ok(run_cli("classify", out, "--format", "csv"))
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    manifest = _manifest(raws_dir)
    assert len(rows) == len(lines) == 100
    for row, raw in zip(rows, lines):
        assert (row["source"], row["true_label"]) == (manifest[raw]["source_path"],
                                                      manifest[raw]["label"]), row["index"]


def test_classify_and_compare_refuse_another_list_than_the_run_s(raws_dir, tiny_onnx, tmp_path,
                                                                 subset_list):
    listing, _ = subset_list
    out = tmp_path / "out"
    assert_ok(run_cli("run", tiny_onnx, "-i", listing, "-o", out, "-q"))
    full = raws_dir / "input_list.txt"
    assert_error(run_cli("classify", out, "-i", full), 2, full, "not the input list", "--force")
    assert_error(run_cli("compare", out, out, "-i", full), 2, full, "not the input list")
    assert_ok(run_cli("classify", out, "-i", listing))
    forced = assert_ok(run_cli("classify", out, "-i", full, "--force", "--format", "csv"))
    assert "missing Result folder" in forced.output  # 300 lines, 100 results: said, not hidden


def test_classify_refuses_a_list_rewritten_since_the_run(raws_dir, tiny_onnx, tmp_path,
                                                         subset_list):
    listing, lines = subset_list
    out = tmp_path / "out"
    assert_ok(run_cli("run", tiny_onnx, "-i", listing, "-o", out, "-q"))
    listing.write_text("\n".join(reversed(lines)) + "\n")
    assert_error(run_cli("classify", out), 2, listing, "changed since")


def test_a_stray_result_3000000_is_an_error_not_3_gb(tmp_path):
    for index in (0, 3_000_000):
        (tmp_path / "out" / f"Result_{index}").mkdir(parents=True)
        (tmp_path / "out" / f"Result_{index}" / "output.raw").write_bytes(bytes(28))
    result = run_cli("classify", tmp_path / "out", timeout=30)
    assert_error(result, 1, tmp_path / "out", "Result_3000000", "mostly missing")


@pytest.fixture
def fifo_faces(faces_dir, tmp_path):
    """A few faces and a FIFO named x.jpg among them (nobody ever writes to it)."""
    folder = tmp_path / "faces"
    shutil.copytree(faces_dir / "happy", folder / "happy")
    os.mkfifo(folder / "happy" / "x.jpg")
    return folder


def test_a_fifo_among_the_images_is_skipped_and_named(fifo_faces, tmp_path):
    out = tmp_path / "raws"
    result = assert_ok(run_cli("raw-inputs", fifo_faces, "-o", out, timeout=30))
    assert "skipped 1" in result.output
    skipped = (out / "skipped.csv").read_text()
    assert "x.jpg" in skipped and "FIFO" in skipped


def test_a_fifo_in_an_input_list_is_one_error(raws_dir, tiny_onnx, tmp_path):
    os.mkfifo(tmp_path / "x.raw")
    listing = tmp_path / "list.txt"
    first = (raws_dir / "input_list.txt").read_text().splitlines()[0]
    listing.write_text(f"{raws_dir / first}\nx.raw\n")
    result = run_cli("run", tiny_onnx, "-i", listing, "-o", tmp_path / "out", timeout=30)
    assert_error(result, 1, tmp_path / "x.raw", "FIFO")
    assert not (tmp_path / "out").exists()


# Every file a command reads, named by a FIFO (nobody ever writes to it): one error naming it,
# exit 1, within the timeout — not a read blocked forever. `{fifo}` is the FIFO, `{model}` the tiny
# ONNX model, `{pb}` a frozen graph, `{list}` a real input list, `{run}` a real run's output
# folder; `{tmp}/raws.txt` lists a real raw and the FIFO.
FIFO_CASES = {
    "run -i": (["run", "{model}", "-i", "{fifo}", "-o", "{tmp}/out"], "fifo.txt", "an input list"),
    "run model": (["run", "{fifo}", "-i", "{list}", "-o", "{tmp}/out"], "fifo.onnx", "a model file"),
    "classify --labels": (["classify", "{run}", "--labels", "{fifo}"], "labels.txt",
                          "a labels file"),
    "classify -i": (["classify", "{run}", "-i", "{fifo}", "--force"], "fifo.txt", "an input list"),
    "convert model": (["convert", "{fifo}", "-t", "tflite", "-o", "{tmp}/out"], "fifo.pb",
                      "a frozen TensorFlow graph"),
    "convert --calib": (["convert", "{pb}", "-t", "tflite", "-p", "int8", "--calib", "{fifo}",
                         "-o", "{tmp}/out"], "calib.txt", "an input list"),
    "a calibration raw": (["convert", "{pb}", "-t", "tflite", "-p", "int8", "--calib",
                           "{tmp}/raws.txt", "-o", "{tmp}/out"], "x.raw", "a calibration raw"),
    "train --data": (["train", "--data", "{fifo}", "--epochs", "1", "--out", "{tmp}/run"],
                     "fer.csv", "a FER2013 CSV"),
    "evaluate --data": (["evaluate", "{model}", "--data", "{fifo}"], "fer.csv", "a FER2013 CSV"),
    "raw-inputs --csv": (["raw-inputs", "--csv", "{fifo}", "-o", "{tmp}/raws"], "fer.csv",
                         "a FER2013 CSV"),
    "raw-inputs --model": (["raw-inputs", "{tmp}", "--model", "{fifo}", "-o", "{tmp}/raws"],
                           "fifo.onnx", "a model file"),
    "inspect": (["inspect", "{fifo}"], "fifo.onnx", "a model file"),
    "bench": (["bench", "{fifo}"], "fifo.onnx", "a model file"),
}


@pytest.fixture(scope="module")
def run_output(raws_dir, tiny_onnx, tmp_path_factory):
    out = tmp_path_factory.mktemp("fifo_run") / "out"
    assert_ok(run_cli("run", tiny_onnx, "-i", raws_dir / "input_list.txt", "-o", out, "-q"))
    return out


@pytest.fixture(scope="module")
def dense_pb(tmp_path_factory):
    from tests.hostile.test_bad_inputs import write_dense_pb

    return write_dense_pb(tmp_path_factory.mktemp("pb") / "m.pb",
                          np.random.default_rng(0).normal(0, .05, (2304, 7)))


@pytest.mark.parametrize("case", FIFO_CASES)
def test_a_fifo_named_as_any_input_file_is_one_error(case, raws_dir, tiny_onnx, run_output,
                                                    dense_pb, tmp_path):
    args, name, what = FIFO_CASES[case]
    fifo = tmp_path / name
    os.mkfifo(fifo)
    first = min(raws_dir.glob("*.raw"))
    (tmp_path / "raws.txt").write_text(f"{first}\n{fifo}\n")
    values = {"fifo": fifo, "model": tiny_onnx, "list": raws_dir / "input_list.txt",
              "run": run_output, "tmp": tmp_path, "pb": dense_pb}
    result = run_cli(*[arg.format(**values) for arg in args], timeout=60)
    assert_error(result, 1, fifo, f"is a FIFO (named pipe), not {what}")
