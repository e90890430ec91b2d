"""classify: any runtime's Result layout → labels joined to the manifest, scores when labels are
known, problems reported by index."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from edge_fer.analysis.classify import classify_output
from edge_fer.cli import app
from edge_fer.labels import LABELS
from edge_fer.tensors.rawio import ManifestRow, write_input_list, write_manifest, write_raw
from edge_fer.tensors.results import write_results

TRUE = ["happy", "sad", "happy", "angry", "neutral", "surprise"]
PREDICTED = [3, 4, 4, 0, 6, 5]  # one happy face taken for sad


@pytest.fixture
def raws(tmp_path):
    """An input list of six raws with a manifest naming their source images and labels."""
    folder = tmp_path / "raws"
    paths = [write_raw(folder / f"{i:06d}_face{i}.raw", np.zeros(2304, np.float32))
             for i in range(len(TRUE))]
    write_input_list(folder / "input_list.txt", paths)
    write_manifest(folder / "manifest.csv", [ManifestRow(i, p.name, f"imgs/{TRUE[i]}/face{i}.jpg",
                                                         TRUE[i]) for i, p in enumerate(paths)])
    return folder / "input_list.txt"


def confident(classes: list[int]) -> np.ndarray:
    probs = np.full((len(classes), 7), 0.02, np.float32)
    probs[np.arange(len(classes)), classes] = 0.88
    return probs


def snpe_layout(folder, probs, name="output:0.raw"):
    """Result_<i>/<name> exactly as snpe-net-run writes it, by hand."""
    for i, row in enumerate(probs):
        target = folder / f"Result_{i}" / name
        target.parent.mkdir(parents=True)
        target.write_bytes(row.astype("<f4").tobytes())
    (folder / "SNPEDiag_0.log").write_bytes(b"log")


def test_done_when_snpe_net_run_layout_reads_like_ours(raws, tmp_path):
    ours, snpe = tmp_path / "ours", tmp_path / "snpe"
    write_results(ours, confident(PREDICTED))
    snpe_layout(snpe, confident(PREDICTED))
    a = classify_output(ours, raws)
    b = classify_output(snpe, raws)
    assert [p.label for p in a.predictions] == [p.label for p in b.predictions] == \
        [LABELS[c] for c in PREDICTED]
    assert b.predictions[1].source == "imgs/sad/face1.jpg"
    assert b.metrics.correct == 5 and b.metrics.count == 6
    assert b.metrics.recall()["happy"] == 0.5 and b.metrics.recall()["fear"] is None
    assert b.metrics.confusion[LABELS.index("happy"), LABELS.index("sad")] == 1


@pytest.mark.parametrize("name", ["output_0.raw", "Softmax/output:0.raw", "probs.raw"])
def test_other_namings_and_a_single_raw_need_no_name(raws, tmp_path, name):
    snpe_layout(tmp_path / "out", confident(PREDICTED), name)
    assert [p.label for p in classify_output(tmp_path / "out", raws).predictions] == \
        [LABELS[c] for c in PREDICTED]


def test_missing_short_and_nan_results_are_reported_and_the_rest_classified(raws, tmp_path):
    out = tmp_path / "out"
    snpe_layout(out, confident(PREDICTED))
    (out / "Result_1" / "output:0.raw").unlink()
    (out / "Result_2" / "output:0.raw").write_bytes(b"\0" * 8)
    (out / "Result_4" / "output:0.raw").write_bytes(np.full(7, np.nan, "<f4").tobytes())
    done = CliRunner().invoke(app, ["classify", str(out), "--input-list", str(raws), "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output[done.output.index("{"):done.output.rindex("}") + 1])
    assert report["classified"] == 3
    assert [p["index"] for p in report["problems"]] == [1, 2, 4]
    assert report["problems"][0]["source"] == "imgs/sad/face1.jpg"
    assert report["metrics"]["count"] == 3 and report["metrics"]["accuracy"] == 1.0


def test_table_with_accuracy_confusion_matrix_and_plot(raws, tmp_path):
    write_results(tmp_path / "out", confident(PREDICTED))
    done = CliRunner().invoke(app, ["classify", str(tmp_path / "out"), "-i", str(raws),
                                    "--top-k", "2", "--plot", str(tmp_path / "cm.png")])
    assert done.exit_code == 0, done.output
    assert "accuracy 0.8333 over 6 of 6 results (5 correct)" in done.output
    assert "confusion matrix (rows true, columns predicted)" in done.output
    assert re.search(r"happy +1\.0000 +0\.5000 +2 +1", done.output)  # precision, recall
    assert f"confusion matrix picture {tmp_path / 'cm.png'}" in " ".join(done.output.split())
    assert "face2.jpg" not in done.output  # a summary: no rows unless asked
    assert (tmp_path / "cm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    done = CliRunner().invoke(app, ["classify", str(tmp_path / "out"), "-i", str(raws),
                                    "--top-k", "2", "--rows"])
    assert re.search(r"imgs/happy/face2\.jpg +sad 0\.880  angry 0\.020 +happy ✗", done.output)
    assert "accuracy 0.8333 over 6 of 6 results" in done.output


def test_table_fits_80_columns_and_long_sources_lose_their_start(tmp_path):
    folder = tmp_path / "raws"
    deep = "photos/" + "/".join(["a_rather_long_folder_name"] * 4)
    paths = [write_raw(folder / f"{i:06d}.raw", np.zeros(2304, np.float32)) for i in range(6)]
    write_input_list(folder / "input_list.txt", paths)
    write_manifest(folder / "manifest.csv", [ManifestRow(i, p.name, f"{deep}/{TRUE[i]}/face{i}.jpg",
                                                         TRUE[i]) for i, p in enumerate(paths)])
    write_results(tmp_path / "out", confident(PREDICTED))
    done = CliRunner().invoke(app, ["classify", str(tmp_path / "out"), "-i",
                                    str(folder / "input_list.txt"), "--rows"],
                              env={"COLUMNS": "80"})
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, done.stdout
    assert any(re.search(r"…\S*/happy/face2\.jpg +sad 0\.880", line) for line in lines), done.stdout


def test_csv_to_a_file_and_the_input_list_found_from_run_json(raws, tmp_path):
    import csv

    write_results(tmp_path / "out", confident(PREDICTED))
    (tmp_path / "out" / "run.json").write_text(json.dumps({"input_list": str(raws)}))
    done = CliRunner().invoke(app, ["classify", str(tmp_path / "out"), "--format", "csv",
                                    "--out", str(tmp_path / "labels.csv")])
    assert done.exit_code == 0, done.output
    with (tmp_path / "labels.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["label"] for r in rows] == [LABELS[c] for c in PREDICTED]
    assert rows[0]["source"] == "imgs/happy/face0.jpg" and rows[0]["true_label"] == "happy"
    assert float(rows[0]["p"]) == pytest.approx(0.88)


def test_without_labels_no_scores_and_plot_is_refused(tmp_path):
    write_results(tmp_path / "out", confident(PREDICTED))
    report = classify_output(tmp_path / "out")
    assert report.metrics is None and len(report.predictions) == 6
    done = CliRunner().invoke(app, ["classify", str(tmp_path / "out"), "--plot",
                                    str(tmp_path / "cm.png")])
    assert done.exit_code == 2 and not (tmp_path / "cm.png").exists()


def test_nothing_classifiable_is_exit_1(tmp_path):
    (tmp_path / "out" / "Result_0").mkdir(parents=True)
    done = CliRunner().invoke(app, ["classify", str(tmp_path / "out")])
    assert done.exit_code == 1 and "no result could be classified" in done.output
