"""The one reader of the manifest edge-fer writes beside a converted model (`<name>.json`,
CONVENTIONS: Artifacts) and the names of the files beside a model.

A manifest is data like the model: it is read once, checked to be a JSON object whose known keys
have the types edge-fer writes, and a manifest that is not — unreadable, not JSON, a list, an
`"input_spec": 5`, a batch size written as a string — is one line naming the file and the key,
never an internal error and never silently ignored.
"""

from __future__ import annotations

import json
from pathlib import Path

from edge_fer.errors import EdgeFerError, failure_reason
from edge_fer.files import require_regular
from edge_fer.labels import label_lookup

LABELS_NAME = "labels.txt"      # beside a model: one class name per line, in output order
MANIFEST_SUFFIX = ".json"       # `model_int8.tflite` → `model_int8.json`

_JSON_KINDS = {dict: "an object", list: "a list", str: "a string", bool: "true/false",
               int: "a number", float: "a number", type(None): "null"}

# The keys edge-fer writes and reads, with the JSON types they must have.
TOP_KEYS: dict[str, tuple[type, ...]] = {
    "artifact": (str,), "target": (str,), "precision": (str,), "labels": (str,),
    "source_model": (dict,), "input_spec": (dict,), "output_spec": (dict,),
    "inputs": (list,), "outputs": (list,), "checks": (dict, type(None)),
}
_NUMBER = (int, float)
INPUT_SPEC_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,), "height": (int,), "width": (int,), "color": (str,), "layout": (str,),
    "dtype": (str,), "scale": (*_NUMBER, type(None)), "zero_point": (int, type(None)),
    "mean": (list, *_NUMBER), "std": (list, *_NUMBER), "resize": (str,), "face_crop": (bool,),
    "batch": (int, type(None)), "shape": (list,),
}
OUTPUT_SPEC_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,), "labels": (list,), "activation": (str,),
}


def kind_of(value) -> str:
    return _JSON_KINDS.get(type(value), type(value).__name__)


def _wanted(types: tuple[type, ...]) -> str:
    return " or ".join(dict.fromkeys(_JSON_KINDS[t] for t in types))


def check_fields(data, keys: dict[str, tuple[type, ...]], path: str | Path,
                 prefix: str = "") -> dict:
    """`data` is an object whose known keys have their types (true/false is no number); one
    EdgeFerError naming the file and the key (`input_spec.height`) otherwise."""
    if not isinstance(data, dict):
        raise EdgeFerError(f"{path}: {prefix or 'manifest'} is {kind_of(data)}, expected an "
                           f"object")
    for key, types in keys.items():
        if key not in data:
            continue
        value = data[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise EdgeFerError(f"{path}: {prefix + '.' if prefix else ''}{key} is "
                               f"{kind_of(value)} ({json.dumps(value)[:40]}), expected "
                               f"{_wanted(types)}")
    return data


def check_input_spec(data, path: str | Path, prefix: str = "input_spec") -> dict:
    """An input spec object (a manifest's `input_spec`, input_spec.json's `input`): field types,
    and mean/std lists of numbers."""
    check_fields(data, INPUT_SPEC_KEYS, path, prefix)
    for key in ("mean", "std"):
        values = data.get(key)
        if isinstance(values, list) and not all(isinstance(v, _NUMBER) and
                                                not isinstance(v, bool) for v in values):
            raise EdgeFerError(f"{path}: {prefix}.{key} holds {json.dumps(values)[:40]}, "
                               f"expected numbers")
    return data


def check_output_spec(data, path: str | Path, prefix: str = "output_spec") -> dict:
    check_fields(data, OUTPUT_SPEC_KEYS, path, prefix)
    labels = data.get("labels")
    if isinstance(labels, list) and not all(isinstance(v, str) and v.strip() for v in labels):
        raise EdgeFerError(f"{path}: {prefix}.labels holds {json.dumps(labels)[:40]}, expected "
                           f"names")
    if isinstance(labels, list):
        label_lookup(labels, f"{path}: {prefix}.labels")  # each class its own name
    return data


def read_labels(path: str | Path) -> tuple[str, ...]:
    """A labels file (labels.txt, --labels): one name per line, each class its own name."""
    from edge_fer.tensors.spec import read_labels_file

    names = read_labels_file(path)
    label_lookup(names, path)  # two names that are one class (case-insensitively): an error
    return names


def manifest_path(model: str | Path) -> Path:
    """`tflite/model_int8.tflite` → `tflite/model_int8.json`."""
    return Path(model).with_suffix(MANIFEST_SUFFIX)


def read_manifest(model: str | Path) -> dict:
    """The manifest beside `model`, checked ({} when there is none)."""
    path = manifest_path(model)
    if not path.exists() or path == Path(model):
        return {}
    require_regular(path, "a model's manifest")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise EdgeFerError(f"{path}: unreadable manifest ({failure_reason(exc)})") from None
    except ValueError as exc:
        raise EdgeFerError(f"{path}: manifest is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise EdgeFerError(f"{path}: manifest is {kind_of(data)}, expected a JSON object")
    check_fields(data, TOP_KEYS, path)
    if "input_spec" in data:
        check_input_spec(data["input_spec"], path)
    if "output_spec" in data:
        check_output_spec(data["output_spec"], path)
    return data


def manifest_specs(model: str | Path, manifest: dict):
    """(InputSpec or None, OutputSpec or None) of a checked manifest; a value the spec refuses
    (colour `purple`, std 0) is one line naming the manifest."""
    from edge_fer.tensors.spec import InputSpec, OutputSpec

    where = manifest_path(model)
    try:
        input_spec = InputSpec.from_dict(manifest["input_spec"]) if "input_spec" in manifest \
            else None
        output_spec = OutputSpec.from_dict(manifest["output_spec"]) if "output_spec" in manifest \
            else None
    except EdgeFerError as exc:
        raise EdgeFerError(f"{where}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise EdgeFerError(f"{where}: input_spec/output_spec unusable ({exc})") from None
    return input_spec, output_spec
