"""The one manifest reader (edge_fer.artifacts.manifest): odd JSON is one line, never a crash."""

from __future__ import annotations

import json

import pytest

from edge_fer.artifacts.manifest import manifest_path, manifest_specs, read_manifest
from edge_fer.errors import EdgeFerError


def _model(tmp_path, manifest) -> object:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"x")
    if manifest is not None:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        manifest_path(model).write_text(text)
    return model


def test_no_manifest_is_an_empty_one(tmp_path):
    assert read_manifest(_model(tmp_path, None)) == {}


def test_a_good_manifest_gives_its_specs(tmp_path):
    model = _model(tmp_path, {"input_spec": {"height": 64, "width": 64, "mean": [0.5],
                                             "std": [0.5], "batch": None},
                              "output_spec": {"labels": ["a", "b"]}})
    input_spec, output_spec = manifest_specs(model, read_manifest(model))
    assert (input_spec.height, input_spec.mean, output_spec.labels) == (64, (0.5,), ("a", "b"))


@pytest.mark.parametrize(("manifest", "needle"), [
    ("[1, 2]", "manifest is a list, expected a JSON object"),
    ("{not json", "manifest is not JSON"),
    ({"input_spec": 5}, "input_spec is a number (5), expected an object"),
    ({"input_spec": {"batch": "1"}}, 'input_spec.batch is a string ("1")'),
    ({"input_spec": {"height": True}}, "input_spec.height is true/false"),
    ({"input_spec": {"mean": ["a"]}}, "input_spec.mean holds"),
    ({"output_spec": {"labels": "abc"}}, "output_spec.labels is a string"),
    ({"output_spec": {"labels": ["a", "A"]}}, "label 'A' (position 1) is label 'a' (position 0) again"),
    ({"source_model": "x.pb"}, "source_model is a string"),
    ({"precision": 8}, "precision is a number"),
])
def test_odd_json_is_one_line_naming_the_file_and_key(tmp_path, manifest, needle):
    model = _model(tmp_path, manifest)
    with pytest.raises(EdgeFerError) as caught:
        read_manifest(model)
    assert str(caught.value).startswith(f"{manifest_path(model)}: ")
    assert needle in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(("spec", "needle"), [
    ({"std": [0]}, "std"),
    ({"height": 100000}, "at most 4096"),
    ({"color": "purple"}, "purple"),
])
def test_values_the_spec_refuses_name_the_manifest(tmp_path, spec, needle):
    model = _model(tmp_path, {"input_spec": spec})
    with pytest.raises(EdgeFerError, match=needle) as caught:
        manifest_specs(model, read_manifest(model))
    assert str(caught.value).startswith(str(manifest_path(model)))
