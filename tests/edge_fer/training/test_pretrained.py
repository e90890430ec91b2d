"""MODEL is optional in convert, run and evaluate: the shipped model is used and said so on stderr;
without one, default_model()'s error is what the user sees (exit 1). The shipped folder is a tmp
folder here, holding the session's frozen model or nothing."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from edge_fer.cli import app
from edge_fer.tensors.rawio import write_input_list, write_raw
from edge_fer.training import pretrained


def _invoke(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


@pytest.fixture
def shipped(frozen_model, tmp_path, monkeypatch):
    """A shipped folder holding the session's frozen model as model.pb."""
    root = tmp_path / "pretrained"
    folder = root / "best"
    folder.mkdir(parents=True)
    shutil.copy(frozen_model, folder / pretrained.MODEL_NAME)
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", root)
    monkeypatch.setattr(pretrained, "pretrained_dir", lambda name="best": root / name)
    return folder / pretrained.MODEL_NAME


@pytest.fixture
def none_shipped(tmp_path, monkeypatch):
    folder = tmp_path / "empty"
    folder.mkdir()
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", folder)
    monkeypatch.setattr(pretrained, "pretrained_dir", lambda name="best": folder / name)
    return folder / "best" / pretrained.MODEL_NAME


@pytest.fixture
def input_list(tmp_path, synthetic_inputs):
    raws = [write_raw(tmp_path / "raws" / f"{i}.raw", image)
            for i, image in enumerate(synthetic_inputs[:3])]
    return write_input_list(tmp_path / "raws" / "input_list.txt", raws)


@pytest.fixture
def faces(tmp_path):
    from edge_fer.data.synthetic import render_png_folder

    render_png_folder(tmp_path / "faces", 2, seed=7)
    return tmp_path / "faces"


def _info_lines(done, shipped_model) -> list[str]:
    """The info lines naming the shipped model (rich wraps them at 80 columns under CliRunner,
    so they are compared without line breaks and spaces)."""
    flat = "".join(done.stderr.split())
    said = "".join(f"no model named: using the shipped model {shipped_model}".split())
    return [said] * flat.count(said)


def test_convert_without_model_converts_the_shipped_one_into_a_new_runs_folder(
        shipped, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    done = _invoke("convert", "--target", "onnx", "--verify-count", "0")
    assert done.exit_code == 0, done.output
    assert len(_info_lines(done, shipped)) == 1
    written = work / "runs" / "convert" / "best"  # the output convention: runs/<command>/<name>
    manifest = json.loads((written / "onnx" / "model.json").read_text())
    assert manifest["source_model"]["path"] == str(shipped.resolve())
    assert (written / "onnx" / "model.onnx").is_file()
    assert sorted(p.name for p in shipped.parent.iterdir()) == ["model.pb"]  # nothing beside it


def test_run_without_model_runs_the_shipped_one_on_tf(shipped, input_list, tmp_path,
                                                      reference_probs):
    from edge_fer.tensors.results import read_results, stack_probs

    out = tmp_path / "out"
    done = _invoke("run", "-i", input_list, "-o", out)
    assert done.exit_code == 0, done.output
    assert len(_info_lines(done, shipped)) == 1
    assert done.stdout.startswith("tf: 3 inputs")
    probs = stack_probs(read_results(out))
    assert (probs.argmax(1) == reference_probs[:3].argmax(1)).all()


def test_evaluate_without_model_scores_the_shipped_one(shipped, faces):
    done = _invoke("evaluate", "--data", faces, "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["model"] == str(shipped) and report["runtime"] == "tf"
    assert _info_lines(done, shipped) == []  # --json is quiet: the report names the model
    done = _invoke("evaluate", "--data", faces)
    assert done.exit_code == 0, done.output
    assert len(_info_lines(done, shipped)) == 1


def test_evaluate_says_what_it_scores_and_warns_on_synthetic_faces_for_the_fer2013_model(shipped):
    done = _invoke("evaluate", "--data", "synthetic", "--limit", "7")
    assert done.exit_code == 0, done.output
    assert "trained on FER2013" in done.output and "--data fer2013.csv.gz" in done.output
    assert "scored on 7 images of synthetic" in done.output


@pytest.mark.parametrize("args", [["convert", "--target", "tflite"],
                                  ["run", "-i", "input_list.txt"],
                                  ["evaluate", "--data", "synthetic"]])
def test_without_model_and_nothing_shipped_it_is_default_models_error(none_shipped, tmp_path,
                                                                       monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    done = _invoke(*args)
    assert done.exit_code == 1
    lines = [line for line in done.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), done.output
    assert str(none_shipped) in lines[0] and "no shipped model" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]  # nothing written


def test_a_shipped_models_name_stands_for_its_file_and_a_file_of_that_name_wins(shipped, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert pretrained.model_or_default("best") == shipped
    (tmp_path / "best").write_bytes(b"")  # a file called best in the current folder is that file
    assert pretrained.model_or_default("best") == pretrained.Path("best")
    assert pretrained.model_or_default("other.pb") == pretrained.Path("other.pb")


def test_a_registered_model_that_is_not_shipped_is_a_one_line_error(shipped, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = _invoke("evaluate", "tiny", "--data", "synthetic")
    assert done.exit_code == 1
    assert "no shipped model 'tiny' in this installation" in done.output


def test_run_takes_a_shipped_model_by_name(shipped, input_list, tmp_path):
    done = _invoke("run", "best", "-i", input_list, "-o", tmp_path / "out")
    assert done.exit_code == 0, done.output
    assert "usingtheshippedmodel" in "".join(done.stderr.split())
