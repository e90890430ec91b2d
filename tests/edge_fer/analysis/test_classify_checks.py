"""classify never picks silently (issue 23) and prints a summary that fits a screen (issue 25):
true labels match case-insensitively, unmatched ones are a warning that says how many were
scored, duplicate/missing manifest rows and duplicate label names are errors or named warnings,
the accuracy says over how many results it was computed, and rows come only when asked for."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from edge_fer.analysis.classify import classify_output
from edge_fer.cli import app
from edge_fer.errors import EdgeFerError
from edge_fer.labels import LABELS
from edge_fer.tensors.rawio import ManifestRow, write_input_list, write_manifest, write_raw
from edge_fer.tensors.results import write_results


def make(tmp_path, labels: list[str], predicted: list[int], rows=None, sources=None):
    """Raws, an input list, a manifest (rows: which lines get one; default all) and results."""
    folder = tmp_path / "raws"
    paths = [write_raw(folder / f"{i:06d}.raw", np.zeros(4, np.float32))
             for i in range(len(labels))]
    write_input_list(folder / "input_list.txt", paths)
    keep = range(len(labels)) if rows is None else rows
    write_manifest(folder / "manifest.csv", [
        ManifestRow(i, paths[i].name, (sources or {}).get(i, f"img{i}.png"), labels[i])
        for i in keep])
    probs = np.full((len(predicted), 7), 0.02, np.float32)
    probs[np.arange(len(predicted)), predicted] = 0.88
    write_results(tmp_path / "out", probs)
    return folder / "input_list.txt", tmp_path / "out"


def invoke(*args, env=None):
    done = CliRunner().invoke(app, [str(a) for a in args], env=env)
    return done


def test_true_labels_match_the_models_case_insensitively(tmp_path):
    listing, out = make(tmp_path, ["Happy", "SAD", "happy "], [3, 4, 3])
    report = classify_output(out, listing)
    assert report.metrics.count == 3 and report.metrics.correct == 3 and not report.warnings
    done = invoke("classify", out, "-i", listing, "--rows")
    assert done.output.count("✓") == 3 and "✗" not in done.output


def test_labels_that_match_none_are_a_named_warning_with_the_scored_count(tmp_path):
    listing, out = make(tmp_path, ["happy", "joy", "joy", "sad"], [3, 3, 3, 4])
    report = classify_output(out, listing)
    assert report.metrics.count == 2 and report.metrics.total == 4
    assert any("2 true labels match none" in w and "'joy' ×2" in w and "2 of 4 results scored"
               in w for w in report.warnings)
    done = invoke("classify", out, "-i", listing)
    assert done.exit_code == 0
    assert "warning:" in done.output and "accuracy 1.0000 over 2 of 4 results" in done.output


def test_no_label_matching_means_no_accuracy_and_a_warning(tmp_path):
    listing, out = make(tmp_path, ["Joy", "Grief"], [3, 4])
    done = invoke("classify", out, "-i", listing)
    assert done.exit_code == 0
    assert "0 of 2 results scored" in done.output and "accuracy 0" not in done.output
    assert "no true label matches one of the model's labels" in done.output


def test_conflicting_duplicate_manifest_rows_are_an_error(tmp_path):
    listing, out = make(tmp_path, ["happy", "sad"], [3, 4])
    manifest = listing.parent / "manifest.csv"
    manifest.write_text(manifest.read_text() + "2,000000.raw,img0.png,sad\n")
    with pytest.raises(EdgeFerError, match=r"row 3 gives raw 000000.raw .*label 'sad', but "
                                           r"row 1 gave .*label 'happy'"):
        classify_output(out, listing)
    done = invoke("classify", out, "-i", listing)
    assert done.exit_code == 1 and "manifest.csv" in done.output


def test_repeated_identical_manifest_rows_are_counted_once_and_named(tmp_path):
    listing, out = make(tmp_path, ["happy", "sad"], [3, 4])
    manifest = listing.parent / "manifest.csv"
    manifest.write_text(manifest.read_text() + "0,000000.raw,img0.png,happy\n")
    report = classify_output(out, listing)
    assert report.metrics.count == 2
    assert any("1 row repeat" in w for w in report.warnings)


def test_missing_manifest_rows_are_a_warning_and_the_accuracy_says_over_how_many(tmp_path):
    labels = ["happy"] * 70
    listing, out = make(tmp_path, labels, [3] * 70, rows=range(35))
    report = classify_output(out, listing)
    assert any("35 of 70 lines" in w and "no row in" in w for w in report.warnings)
    assert report.metrics.accuracy_line() == "accuracy 1.0000 over 35 of 70 results (35 correct)"
    done = invoke("classify", out, "-i", listing, "--json")
    data = json.loads(done.stdout)
    assert data["metrics"]["scored"] == 35 and data["metrics"]["total"] == 70
    assert any("no row in" in w for w in data["warnings"])


def test_duplicate_label_names_are_an_error(tmp_path):
    listing, out = make(tmp_path, ["happy", "sad"], [3, 4])
    labels = tmp_path / "labels.txt"
    labels.write_text("angry\ndisgust\nfear\nhappy\nsad\nHappy\nneutral\n")
    done = invoke("classify", out, "-i", listing, "--labels", labels)
    assert done.exit_code == 1
    assert "label 'Happy' (position 5) is label 'happy' (position 3) again" in done.output


def test_a_summary_of_thousands_fits_80_by_40_and_q_shortens_it(tmp_path):
    rng = np.random.default_rng(0)
    truth = [LABELS[i] for i in rng.integers(0, 7, 3000)]
    sources = {i: "photos/" + "/".join(["a_long_folder_name"] * 6) + f"/{i}.png"
               for i in range(3000)}
    listing, out = make(tmp_path, truth, list(rng.integers(0, 7, 3000)), sources=sources)
    done = invoke("classify", out, "-i", listing, env={"COLUMNS": "80"})
    lines = done.stdout.splitlines()
    assert done.exit_code == 0 and len(lines) <= 40, done.stdout
    assert max(len(line) for line in lines) <= 80, done.stdout
    assert "over 3000 of 3000 results" in done.stdout and "precision" in done.stdout
    short = invoke("classify", out, "-i", listing, "-q").stdout.splitlines()
    assert len(short) == 2 and short[1].startswith("accuracy ")
    rows = invoke("classify", out, "-i", listing, "--format", "csv").stdout.splitlines()
    assert len(rows) == 3001


def test_many_classes_keep_the_summary_on_a_screen(tmp_path):
    labels = tmp_path / "labels.txt"
    names = [f"class_{i}" for i in range(7)]
    labels.write_text("\n".join(names) + "\n")
    listing, out = make(tmp_path, names * 3, [0, 1, 2, 3, 4, 5, 6] * 3)
    done = invoke("classify", out, "-i", listing, "--labels", labels)
    assert done.exit_code == 0 and "accuracy 1.0000 over 21 of 21" in done.output


def test_out_writes_the_rows_atomically_by_suffix_and_the_summary_prints(tmp_path):
    listing, out = make(tmp_path, ["happy", "sad"], [3, 4])
    done = invoke("classify", out, "-i", listing, "--out", tmp_path / "rows.json")
    assert done.exit_code == 0
    assert json.loads((tmp_path / "rows.json").read_text())["results"][1]["label"] == "sad"
    assert " ".join(done.stdout.split()).count(f"rows written to {tmp_path / 'rows.json'}") == 1
    assert "accuracy 1.0000 over 2 of 2" in done.stdout
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rows")]


def test_control_characters_in_names_are_escaped(tmp_path):
    evil = "img\x1b]0;owned\x07\x1b[31m\nred.png"
    listing, out = make(tmp_path, ["happy\x1b[2J", "sad"], [3, 4], sources={0: evil})
    for args in ([], ["--rows"]):
        done = invoke("classify", out, "-i", listing, *args)
        assert "\x1b" not in done.output and "\x07" not in done.output
    assert "\\x1b" in invoke("classify", out, "-i", listing, "--rows").output


def test_json_to_a_closed_stdout_is_not_exit_0(tmp_path):
    listing, out = make(tmp_path, ["happy", "sad"], [3, 4])
    code = ("import sys; from edge_fer.cli import main; "
            f"sys.argv = ['edge-fer', 'classify', {str(out)!r}, '-i', {str(listing)!r}, '--json']; "
            "main()")
    done = subprocess.run(["bash", "-c", '"$0" -c "$1" >&-', sys.executable, code],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1 and "standard output is closed" in done.stderr


@pytest.mark.parametrize("columns", ["0", "abc", "5"])
def test_a_nonsense_or_tiny_terminal_width_drops_no_row(tmp_path, columns):
    listing, out = make(tmp_path, ["happy", "sad", "fear"], [3, 4, 2])
    done = invoke("classify", out, "-i", listing, "--rows", env={"COLUMNS": columns})
    assert done.exit_code == 0
    assert all(f"img{i}.png" in done.stdout for i in range(3)), done.stdout
    assert "accuracy 1.0000 over 3 of 3 results" in done.stdout


def test_labels_given_over_the_recorded_ones_are_a_named_warning(tmp_path):
    listing, out = make(tmp_path, ["happy", "sad"], [3, 4])
    (out / "run.json").write_text(json.dumps({"model": "m.onnx", "output_spec": {
        "name": "output", "labels": list(LABELS), "activation": "probabilities"}}))
    same = tmp_path / "same.txt"
    same.write_text("\n".join(name.title() for name in LABELS) + "\n")
    assert "warning" not in invoke("classify", out, "-i", listing, "--labels", same).output
    other = tmp_path / "other.txt"
    other.write_text("\n".join(f"mood{i}" for i in range(7)) + "\n")
    done = invoke("classify", out, "-i", listing, "--labels", other)
    assert done.exit_code == 0
    assert "its labels (mood0, mood1, mood2, mood3, ...) replace the model's that m.onnx " \
           "recorded (angry, disgust, fear, happy, ...)" in done.output
