"""evaluate and compare: a summary by default that says over how many images an accuracy was
computed, rows only when asked for (--rows, --format csv|json, --out), true labels matched
case-insensitively and labels that match none named in a warning (issues 23 and 25)."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from typer.testing import CliRunner

from edge_fer.cli import app
from tests.hostile.conftest import write_face_pngs, write_tiny_onnx


def cli(*args, env=None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tiny ONNX model, 14 labelled faces, their raws and the model's results on them."""
    root = tmp_path_factory.mktemp("summaries")
    model = write_tiny_onnx(root / "tiny.onnx")
    faces = root / "faces"
    write_face_pngs(faces, 14)
    raws = root / "raws"
    assert cli("raw-inputs", faces, "-o", raws, "-q").exit_code == 0
    assert cli("run", model, "-i", raws / "input_list.txt", "-o", root / "out", "-q"
               ).exit_code == 0
    return root, model, faces, raws


def test_evaluate_prints_a_summary_and_rows_only_when_asked(setup, tmp_path):
    _, model, faces, _ = setup
    done = cli("evaluate", model, "--data", faces, "--split", "train", env={"COLUMNS": "80"})
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert len(lines) <= 40 and max(len(line) for line in lines) <= 80
    assert "accuracy" in done.stdout and " over 7 of 7 images " in done.stdout
    assert "precision" in done.stdout and "confusion matrix" in done.stdout
    assert "train[0]" not in done.stdout
    short = cli("evaluate", model, "--data", faces, "--split", "train", "-q").stdout
    assert short.splitlines()[-1].startswith("accuracy ") and "precision" not in short
    rows = cli("evaluate", model, "--data", faces, "--split", "train", "--rows").stdout
    assert "train[0]" in rows and "over 7 of 7 images" in rows
    table = list(csv.DictReader(io.StringIO(
        cli("evaluate", model, "--data", faces, "--split", "train", "--format", "csv").stdout)))
    assert len(table) == 7 and set(table[0]) == {"index", "source", "label", "p", "true_label"}
    report = json.loads(cli("evaluate", model, "--data", faces, "--split", "train",
                            "--json").stdout)
    assert report["scored"] == report["total"] == 7 and len(report["rows"]) == 7
    done = cli("evaluate", model, "--data", faces, "--split", "train", "--out",
               tmp_path / "rows.csv")
    assert done.exit_code == 0 and "rows written to" in done.stdout
    assert (tmp_path / "rows.csv").read_text().startswith("index,source,label,p,true_label")


@pytest.mark.parametrize("labels, code, needles", [
    ("Angry Disgust Fear Happy Sad Surprise Neutral", 0, ["over 7 of 7 images"]),
    ("Angry Disgust Fear Happy Sad Surprise Contempt", 0,
     ["1 images are of classes the model's labels lack (neutral)", "6 of 7 images scored",
      "over 6 of 7 images"]),
    ("angry disgust fear happy sad HAPPY neutral", 1,
     ["label 'HAPPY' (position 5) is label 'happy'"]),
    ("a b c d e f g", 2, ["name none of the classes"]),
])
def test_evaluate_matches_labels_case_insensitively_and_names_the_ones_it_lacks(
        setup, tmp_path, labels, code, needles):
    _, model, faces, _ = setup
    (tmp_path / "labels.txt").write_text("\n".join(labels.split()) + "\n")
    done = cli("evaluate", model, "--data", faces, "--split", "train", "--labels",
               tmp_path / "labels.txt")
    assert done.exit_code == code, done.output
    for needle in needles:
        assert needle in done.output


def test_compare_summary_has_each_targets_accuracy_and_rows_on_request(setup, tmp_path):
    root, model, _, raws = setup
    listing = raws / "input_list.txt"
    done = cli("compare", model, root / "out", "-i", listing, env={"COLUMNS": "80"})
    assert done.exit_code == 0, done.output
    assert "reference" in done.stdout and "1.0000 (14/14)" in done.stdout
    assert done.stdout.count("over 14 of 14 results") == 2
    assert "00000.png" not in done.stdout
    rows = cli("compare", model, root / "out", "-i", listing, "--rows").stdout
    assert "00000.png" in rows and "targets 0=" in rows
    table = list(csv.DictReader(io.StringIO(
        cli("compare", model, root / "out", "-i", listing, "--format", "csv").stdout)))
    assert len(table) == 14 and all(r["agree"] == "1" and r["label_0"] == r["label_1"]
                                    for r in table)
    report = json.loads(cli("compare", model, root / "out", "-i", listing, "--json").stdout)
    assert report["targets"][1]["accuracy"]["total"] == 14 and len(report["inputs"]) == 14
    done = cli("compare", model, root / "out", "-i", listing, "--out", tmp_path / "in.json")
    assert done.exit_code == 0 and "rows written to" in done.stdout
    assert len(json.loads((tmp_path / "in.json").read_text())["inputs"]) == 14


def test_compare_names_true_labels_a_target_cannot_match(setup, tmp_path):
    _, model, _, raws = setup
    folder = tmp_path / "raws"
    shutil.copytree(raws, folder)
    manifest = folder / "manifest.csv"
    manifest.write_text(manifest.read_text().replace(",happy\n", ",Joy\n"))
    done = cli("compare", model, model, "-i", folder / "input_list.txt")
    assert done.exit_code == 0, done.output
    assert "true labels match none of the model's labels ('Joy' ×2)" in done.output
    assert "over 12 of 14 results" in done.stdout


def test_control_characters_in_a_source_name_are_escaped(tmp_path):
    faces = tmp_path / "faces"
    write_face_pngs(faces, 7)
    evil = next(faces.rglob("*.png"))
    evil.rename(evil.with_name("a\x1b[2Jb.png"))
    model = write_tiny_onnx(tmp_path / "tiny.onnx")
    assert cli("raw-inputs", faces, "-o", tmp_path / "raws", "-q").exit_code == 0
    listing = tmp_path / "raws" / "input_list.txt"
    assert cli("run", model, "-i", listing, "-o", tmp_path / "out", "-q").exit_code == 0
    for args in (["classify", tmp_path / "out", "--rows"],
                 ["compare", model, tmp_path / "out", "-i", listing, "--rows"]):
        done = cli(*args)
        assert done.exit_code == 0 and "\x1b" not in done.output and "\\x1b" in done.output
