"""Every command's table fits an 80-column terminal and never breaks a path or a file name
mid-word: long cells lose their start (`…/name.pb`), notes wrap at spaces."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from edge_fer.cli import app

DEEP = "a-folder-with-a-rather-long-name/" * 3 + "and-then-some"


def _shown(*args: str) -> list[str]:
    done = CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})
    assert done.exit_code == 0, done.output
    return done.stdout.splitlines()


def _fits(lines: list[str]) -> None:
    assert lines and max(len(line) for line in lines) <= 80, "\n".join(lines)


def test_models_doctor_and_inspect_fit_80_columns(tiny_frozen_model, tmp_path):
    models = _shown("models")
    _fits(models)
    assert any(line.startswith("best ") and "%" in line for line in models)
    doctor = _shown("doctor")
    _fits(doctor)
    assert doctor[1].split() == ["component", "status", "version"]
    deep = tmp_path / DEEP
    deep.mkdir(parents=True)
    model = shutil.copy(tiny_frozen_model, deep / "a_model_with_a_long_file_name.pb")
    inspected = _shown("inspect", str(model))
    _fits(inspected)
    assert any(line.split()[:1] == ["x"] for line in inspected)  # the input tensor's row


def test_convert_fits_80_columns_and_keeps_file_names_whole(tiny_frozen_model, tmp_path):
    model = shutil.copy(tiny_frozen_model, tmp_path / "fer_model_v2.pb")
    lines = _shown("convert", str(model), "--target", "all", "--precision", "fp32",
                   "--verify-count", "2", "-o", str(tmp_path / DEEP))
    table = lines[:lines.index("commands that would run:")] if "commands that would run:" in lines \
        else lines
    _fits(table)
    # a long output folder is cut from its start; the file names stay whole
    assert table[1].startswith("into:  …") and table[1].endswith("and-then-some")
    for name in ("fer_model_v2.onnx", "fer_model_v2.tflite", "fer_model_v2.dlc"):
        assert any(line.split()[0].endswith("/" + name) for line in table), name


def test_inspect_of_a_file_that_is_no_keras_model_is_one_line(tmp_path):
    """inspect reads Keras files as data (edge_fer/artifacts/kerasfile.py); bytes that only
    start like HDF5 are one error line naming the file, exit 1."""
    keras_file = tmp_path / "net.h5"
    keras_file.write_bytes(b"\x89HDF\r\n\x1a\n")
    done = CliRunner().invoke(app, ["inspect", str(keras_file)])
    assert done.exit_code == 1
    assert "net.h5: not a readable Keras model" in done.output
