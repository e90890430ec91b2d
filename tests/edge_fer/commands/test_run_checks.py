"""run refuses raws that were not made for the model (issue 23): the spec raw-inputs recorded
(input_spec.json), the raws' storage dtype and exact size, input names and output headers of the
list; raw-inputs refuses a --mean/--std that would write NaN or sign-flipped raws."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from edge_fer.cli import app
from tests.hostile.conftest import write_face_pngs, write_tiny_onnx


def cli(*args) -> tuple[int, str]:
    done = CliRunner().invoke(app, [str(a) for a in args])
    return done.exit_code, done.output


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A dynamic-batch ONNX model (mean 0, std 1), six faces, and raws of them made plainly."""
    root = tmp_path_factory.mktemp("runchecks")
    model = write_tiny_onnx(root / "m" / "tiny.onnx")
    faces = root / "faces"
    write_face_pngs(faces, 6)
    raws = root / "raws"
    assert cli("raw-inputs", faces, "-o", raws, "-q")[0] == 0
    return model, faces, raws


def copy_raws(made, tmp_path, name="raws"):
    target = tmp_path / name
    shutil.copytree(made[2], target)
    return target


def one_error_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: ") and "Traceback" not in output
    return lines[0]


def test_the_matching_raws_run(made, tmp_path):
    model, _, raws = made
    code, output = cli("run", model, "-i", raws / "input_list.txt", "-o", tmp_path / "out")
    assert code == 0, output
    assert len(list((tmp_path / "out").glob("Result_*"))) == 6


def test_raws_normalised_otherwise_are_refused_naming_both_values(made, tmp_path):
    model, faces, _ = made
    raws = tmp_path / "raws05"
    assert cli("raw-inputs", faces, "-o", raws, "--mean", "0.5", "--std", "0.5", "-q")[0] == 0
    code, output = cli("run", model, "-i", raws / "input_list.txt", "-o", tmp_path / "out")
    line = one_error_line(output)
    assert code == 1 and "input_spec.json" in line
    assert "mean 0.5, std 0.5" in line and "mean 0, std 1" in line
    assert not (tmp_path / "out").exists()
    # said of the model on the command line, they agree and run
    code, output = cli("run", model, "-i", raws / "input_list.txt", "-o", tmp_path / "out",
                       "--mean", "0.5", "--std", "0.5")
    assert code == 0, output


def test_raws_made_for_this_model_carry_what_raw_inputs_was_told(made, tmp_path):
    model, faces, _ = made
    raws = tmp_path / "raws_for_model"
    assert cli("raw-inputs", faces, "-o", raws, "--model", model, "--mean", "0.5", "--std",
               "0.5", "-q")[0] == 0
    assert cli("run", model, "-i", raws / "input_list.txt", "-o", tmp_path / "out")[0] == 0
    code, output = cli("run", model, "-i", raws / "input_list.txt", "-o", tmp_path / "o2",
                       "--mean", "0.2")
    assert code == 1 and "mean 0.5" in one_error_line(output) and "mean 0.2" in output


@pytest.mark.parametrize("stored", ["<f8", "<f2", "u1"])
def test_raws_of_another_dtype_are_refused_not_read_as_several_images(made, tmp_path, stored):
    model = made[0]
    raws = copy_raws(made, tmp_path)
    for raw in raws.glob("*.raw"):
        np.fromfile(raw, "<f4").astype(stored).tofile(raw)
    for spec_kept in (True, False):  # with and without raw-inputs' record
        if not spec_kept:
            (raws / "input_spec.json").unlink()
        code, output = cli("run", model, "-i", raws / "input_list.txt", "-o", tmp_path / "out")
        line = one_error_line(output)
        assert code == 1 and "bytes is not one float32 48x48x1 image" in line
        assert not (tmp_path / "out").exists()


def test_input_dtype_against_the_recorded_one(made, tmp_path):
    model, faces, raws = made
    code, output = cli("run", model, "-i", raws / "input_list.txt", "-o", tmp_path / "out",
                       "--input-dtype", "uint8")
    assert code == 2 and "the raws are float32" in one_error_line(output)
    raws8 = tmp_path / "raws8"
    assert cli("raw-inputs", faces, "-o", raws8, "--dtype", "uint8", "-q")[0] == 0
    assert json.loads((raws8 / "input_spec.json").read_text())["raw_dtype"] == "uint8"
    # no --input-dtype: taken from the record, and the uint8 raws run
    code, output = cli("run", model, "-i", raws8 / "input_list.txt", "-o", tmp_path / "out8")
    assert code == 0, output


@pytest.mark.parametrize("line, needle", [
    ("y:={raw}", "input 'y' is not an input of tiny.onnx (its input: 'x')"),
    ("x:={raw} y:={raw}", "input 'y' is not an input"),
])
def test_input_names_the_model_lacks_are_errors(made, tmp_path, line, needle):
    raws = copy_raws(made, tmp_path)
    names = (raws / "input_list.txt").read_text().split()
    (raws / "input_list.txt").write_text("".join(line.format(raw=n) + "\n" for n in names))
    code, output = cli("run", made[0], "-i", raws / "input_list.txt", "-o", tmp_path / "out")
    assert code == 1 and needle in one_error_line(output) and "input_list.txt:1" in output
    # the model's own name, with TensorFlow's :0 or without, is its input
    (raws / "input_list.txt").write_text("".join(f"x:0:={n}\n" for n in names))
    assert cli("run", made[0], "-i", raws / "input_list.txt", "-o", tmp_path / "out")[0] == 0


@pytest.mark.parametrize("header, ok", [("%logits", False), ("#fc/BiasAdd output", False),
                                        ("%output:0", True), ("#output", True)])
def test_output_headers_are_honoured_or_refused(made, tmp_path, header, ok):
    raws = copy_raws(made, tmp_path)
    listing = raws / "input_list.txt"
    listing.write_text(header + "\n" + listing.read_text())
    code, output = cli("run", made[0], "-i", listing, "-o", tmp_path / "out")
    if ok:
        assert code == 0, output
    else:
        line = one_error_line(output)
        assert code == 1 and "header asks for output" in line and "'output'" in line


@pytest.mark.parametrize("flags", [["--std", "-1"], ["--std", "0"], ["--mean", "nan"],
                                   ["--std", "inf"], ["--mean", "0,nan,0", "--color", "rgb"],
                                   ["--std", "0.5,-0.5,1", "--color", "rgb"]])
def test_raw_inputs_refuses_bad_mean_and_std_before_writing(made, tmp_path, flags):
    out = tmp_path / "raws"
    code, output = cli("raw-inputs", made[1], "-o", out, *flags)
    assert code == 2 and "finite number" in output and flags[0] in output
    assert not out.exists()
