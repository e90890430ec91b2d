"""compare: output folders and models against the first, top-1 agreement and max |Δp|."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from edge_fer.analysis.compare import compare, split_target
from edge_fer.cli import app
from edge_fer.tensors.rawio import write_input_list, write_raw
from edge_fer.tensors.results import write_results


@pytest.fixture
def inputs(tmp_path, synthetic_inputs):
    paths = [write_raw(tmp_path / "raws" / f"{i:06d}.raw", image)
             for i, image in enumerate(synthetic_inputs[:10])]
    return write_input_list(tmp_path / "raws" / "input_list.txt", paths)


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def test_output_folders_agreement_and_largest_difference(inputs, tmp_path):
    reference = softmax(np.random.default_rng(0).normal(size=(10, 7)) * 3)
    nudged = reference.copy()
    nudged[:, 0] += 0.001
    flipped = reference.copy()
    flipped[4] = np.roll(flipped[4], 1)
    for name, probs in (("a", reference), ("b", nudged), ("c", flipped)):
        write_results(tmp_path / name, probs)
    rows = compare([str(tmp_path / n) for n in "abc"], inputs)
    assert rows[0].agreement == 1.0 and rows[0].max_abs_dp == 0.0
    assert rows[1].agreement == 1.0 and rows[1].max_abs_dp == pytest.approx(0.001, abs=1e-6)
    assert rows[2].agreement == 0.9 and rows[2].disagreements == [4]
    assert rows[2].max_abs_dp == pytest.approx(np.abs(flipped[4] - reference[4]).max())


def test_table_fits_80_columns_with_long_folder_names(inputs, tmp_path):
    reference = softmax(np.random.default_rng(0).normal(size=(10, 7)) * 3)
    folders = [tmp_path / ("results_of_a_model_with_a_long_descriptive_name_" + n) for n in "ab"]
    for folder in folders:
        write_results(folder, reference)
    done = CliRunner().invoke(app, ["compare", *map(str, folders), "-i", str(inputs)],
                              env={"COLUMNS": "80"})
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, done.stdout
    words = done.stdout.split()  # headers and figures may wrap at spaces, never inside a word
    for word in ("target", "runtime", "results", "top-1", "agree", "max", "mean", "|Δp|",
                 "reference", "1.0000", "(10/10)", "0.00e+00"):
        assert word in words, done.stdout
    rows = [line for line in lines if line.startswith("…")]  # folder names lose their start
    assert [row.split()[0][-6:] for row in rows] == ["name_a", "name_b"], done.stdout


def test_a_model_against_its_own_run_output_and_a_missing_result(frozen_model, inputs, tmp_path):
    cli = CliRunner()
    done = cli.invoke(app, ["run", str(frozen_model), "-i", str(inputs), "-o",
                            str(tmp_path / "out"), "-q"])
    assert done.exit_code == 0, done.output
    (tmp_path / "out" / "Result_3" / "output.raw").unlink()
    done = cli.invoke(app, ["compare", f"{frozen_model}@tf", str(tmp_path / "out"), "-i",
                            str(inputs), "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output[done.output.index("{"):])
    model_row, folder_row = report["targets"]
    assert model_row["kind"] == "tf" and folder_row["kind"] == "results"
    assert folder_row["results"] == 9 and folder_row["compared"] == 9
    assert folder_row["top1_agreement"] == 1.0 and folder_row["max_abs_dp"] < 1e-6


def test_targets_and_usage(tmp_path):
    assert split_target("m.onnx@qnn") == (tmp_path.__class__("m.onnx"), "qnn")
    assert split_target("m.onnx")[1] is None
    done = CliRunner().invoke(app, ["compare", str(tmp_path), "-i", str(tmp_path / "l.txt")])
    assert done.exit_code == 2 and "two or more" in done.output
