"""Families: a manifest or labels.txt beside a model that lies, and sizes that would allocate
without bound (docs/trust.md).

Odd JSON types in a model's manifest are one line naming the file and the key; a labels.txt that
disagrees with the model's class count or with the manifest is an error (`--labels` settles it),
never passed over; --size/--batch/--input-shape values are refused before any work (exit 2).
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.hostile.conftest import assert_error, assert_ok, invoke_cli


@pytest.fixture
def model(tmp_path, tiny_onnx):
    folder = tmp_path / "model"
    folder.mkdir()
    return shutil.copy(tiny_onnx, folder / "tiny.onnx")


def _run(model, raws_dir, tmp_path, *extra):
    return invoke_cli("run", model, "-i", raws_dir / "input_list.txt", "-o", tmp_path / "out", *extra)


@pytest.mark.parametrize(("manifest", "needle"), [
    ({"input_spec": 5}, "input_spec is a number (5), expected an object"),
    ({"input_spec": {"batch": "1"}}, "input_spec.batch is a string"),
    ({"output_spec": {"labels": [1, 2, 3]}}, "output_spec.labels holds"),
    ([], "manifest is a list"),
    ({"input_spec": {"height": 100000}}, "at most 4096"),
])
def test_odd_json_in_a_models_manifest_is_one_line(model, raws_dir, tmp_path, manifest, needle):
    (model.parent / "tiny.json").write_text(json.dumps(manifest))
    assert_error(_run(model, raws_dir, tmp_path), 1, model.parent / "tiny.json", needle)
    assert not (tmp_path / "out").exists()


def test_a_labels_file_of_the_wrong_length_is_an_error_until_labels_are_named(
        model, raws_dir, tmp_path):
    labels = model.parent / "labels.txt"
    labels.write_text("a\nb\nc\nd\ne\nf\n")
    assert_error(_run(model, raws_dir, tmp_path), 1, labels, "6 labels", "7 scores", "--labels")
    from edge_fer.labels import LABELS

    named = tmp_path / "seven.txt"
    named.write_text("\n".join(LABELS) + "\n")
    assert_ok(invoke_cli("evaluate", model, "--data", "synthetic", "--limit", "14", "--labels",
                      named))


def test_a_labels_file_that_disagrees_with_the_manifest_is_an_error(model, raws_dir, tmp_path):
    seven = [f"class{i}" for i in range(7)]
    (model.parent / "tiny.json").write_text(json.dumps({"output_spec": {"labels": seven}}))
    (model.parent / "labels.txt").write_text("\n".join(reversed(seven)) + "\n")
    assert_error(_run(model, raws_dir, tmp_path), 1, model.parent / "labels.txt",
                 "disagree with", "tiny.json")
    (model.parent / "labels.txt").write_text("\n".join(seven) + "\n")
    assert_ok(_run(model, raws_dir, tmp_path, "-q"))


def test_duplicate_label_names_are_refused(model, raws_dir, tmp_path):
    labels = tmp_path / "dup.txt"
    labels.write_text("a\nb\nc\nd\ne\nf\nA\n")
    assert_error(invoke_cli("evaluate", model, "--data", "synthetic", "--limit", "14", "--labels",
                         labels), 1, labels, "'A' (position 6) is label 'a'", "its own name")


@pytest.mark.parametrize(("args", "needle"), [
    (("raw-inputs", "{faces}", "-o", "{out}", "--size", "100000"), "at most 4096"),
    (("raw-inputs", "{faces}", "-o", "{out}", "--size", "64x5000"), "at most 4096"),
    (("run", "{model}", "-i", "{list}", "-o", "{out}", "--batch", "100000"), "4096"),
    (("convert", "{model}", "-t", "onnx", "--input-shape", "1,100000,100000,1", "--out",
      "{out}"), "at most 4096"),
])
def test_sizes_that_would_exhaust_memory_are_refused_at_once(
        faces_dir, model, raws_dir, tmp_path, args, needle):
    values = {"faces": faces_dir, "out": tmp_path / "out", "model": model,
              "list": raws_dir / "input_list.txt"}
    result = invoke_cli(*[arg.format(**values) for arg in args], timeout=30)
    assert_error(result, 2, needle)
    assert not (tmp_path / "out").exists()
