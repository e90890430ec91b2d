"""Family: ONNX files that point outside themselves, or are no ONNX at all (docs/trust.md).

External data must lie inside the model's folder: an absolute location, a `..` in it, or a
symlink leading out of the folder is refused in one line before ONNX or ONNX Runtime opens it;
a missing or too short data file is one clear line; an empty or non-ONNX `.onnx` says so.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.hostile.conftest import assert_error, assert_ok, invoke_cli, write_tiny_onnx


def _with_external_data(folder: Path, location: str) -> Path:
    """tiny.onnx whose weights `w` live in `location` (written beside it as w.bin first)."""
    import onnx
    from onnx.external_data_helper import convert_model_to_external_data

    model_path = write_tiny_onnx(folder / "tiny.onnx")
    model = onnx.load(str(model_path))
    convert_model_to_external_data(model, all_tensors_to_one_file=True, location="w.bin",
                                   size_threshold=1024)
    onnx.save(model, str(model_path))
    model = onnx.load(str(model_path), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    model_path.write_bytes(model.SerializeToString())
    return model_path


def _run(model: Path, raws_dir: Path, out: Path):
    return invoke_cli("run", model, "-i", raws_dir / "input_list.txt", "-o", out)


def test_external_data_inside_the_folder_runs(tmp_path, raws_dir):
    model = _with_external_data(tmp_path / "m", "w.bin")
    assert_ok(_run(model, raws_dir, tmp_path / "out"))


@pytest.mark.parametrize(("location", "problem"), [
    ("../outside.bin", "climbs out with '..'"),
    ("sub/../../outside.bin", "climbs out with '..'"),
    ("{outside}", "an absolute path"),
    ("link.bin", "outside the model's folder"),
    ("gone.bin", "missing"),
])
def test_external_data_outside_the_folder_or_missing_is_refused(location, problem, tmp_path,
                                                                 raws_dir):
    folder = tmp_path / "m"
    outside = tmp_path / "outside.bin"
    model = _with_external_data(folder, location.format(outside=outside))
    outside.write_bytes((folder / "w.bin").read_bytes())
    os.symlink(outside, folder / "link.bin")
    for command in (("run", model, "-i", raws_dir / "input_list.txt", "-o", tmp_path / "out"),
                    ("inspect", model), ("bench", model, "-n", "1", "--warmup", "0")):
        assert_error(invoke_cli(*command), 1, model, "'w'", problem)
    assert not (tmp_path / "out").exists()


def test_external_data_too_short_for_its_tensor_is_one_line(tmp_path, raws_dir):
    model = _with_external_data(tmp_path / "m", "w.bin")
    data = tmp_path / "m" / "w.bin"
    data.write_bytes(data.read_bytes()[:100])
    assert_error(_run(model, raws_dir, tmp_path / "out"), 1, model, "w.bin", "holds 100 bytes")


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "empty file, not an ONNX model"),
    (b"hello, I am not a model\n", "not an ONNX model"),
    (b"\x08\x07", "not an ONNX model"),  # parses as a ModelProto with only ir_version
])
def test_an_empty_or_foreign_onnx_file_says_so(content, problem, tmp_path, raws_dir):
    model = tmp_path / "model.onnx"
    model.write_bytes(content)
    line = assert_error(_run(model, raws_dir, tmp_path / "out"), 1, model, problem)
    assert "expected one input" not in line
