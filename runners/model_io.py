"""A model file's input and output specification: from the file, its manifest, then flags.

The file says what it can (tensor names, shape and so size and layout, dtype and quantisation,
class count, whether the last op is a softmax); the manifest edge-fer writes beside a converted
model (`<name>.json`: `input_spec`, `output_spec`) says what a file cannot (colour order,
mean/std, labels); flags override both. The file's facts come from edge_fer/artifacts/facts.py
(one reader per format, each through that format's checked loader); nothing is unpickled.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from edge_fer.artifacts.facts import FileFacts, file_facts
from edge_fer.artifacts.manifest import (
    LABELS_NAME,
    manifest_path,
    manifest_specs,
    read_labels,
    read_manifest,
)
from edge_fer.errors import EdgeFerError, UsageError
from edge_fer.labels import LABELS
from edge_fer.tensors.spec import InputSpec, OutputSpec


def layout_of(shape: list[int | None]) -> str:
    """NCHW when the second dimension is the channel count (1 or 3) and the last is not."""
    if len(shape) == 4 and shape[1] in (1, 3) and shape[3] not in (1, 3):
        return "nchw"
    return "nhwc"


def _input_from_facts(spec: InputSpec, facts: FileFacts, path: Path) -> InputSpec:
    shape = facts.input_shape
    if len(shape) == 3:  # [N, H, W]: one channel without its axis
        shape = [*shape, 1]
    if len(shape) != 4:
        raise EdgeFerError(f"{path}: input {facts.input_name!r} has shape {shape}; edge-fer takes "
                           f"image inputs [N, H, W, C] or [N, C, H, W]")
    layout = layout_of(shape)
    channels, height, width = (shape[1], shape[2], shape[3]) if layout == "nchw" else \
        (shape[3], shape[1], shape[2])
    changes: dict = {"name": facts.input_name, "layout": layout, "dtype": facts.input_dtype,
                     "scale": facts.scale, "zero_point": facts.zero_point, "batch": shape[0]}
    if height and width:
        changes["height"], changes["width"] = height, width
    if channels == 1:
        changes["color"] = "gray"
    elif channels == 3 and spec.color == "gray":
        changes["color"] = "rgb"   # the usual order; a manifest or --color bgr says otherwise
    elif channels not in (None, 3):
        raise EdgeFerError(f"{path}: input {facts.input_name!r} has {channels} channels; "
                           f"edge-fer makes gray (1) or colour (3) images")
    if changes.get("color", spec.color) == "gray" and len(spec.mean) > 1:
        changes["mean"], changes["std"] = spec.mean[:1], spec.std[:1]
    return replace(spec, **changes)


def _default_labels(classes: int | None) -> tuple[str, ...]:
    if classes is None or classes == len(LABELS):
        return LABELS
    return tuple(f"class_{i}" for i in range(classes))


def _resolve_labels(path: Path, output: OutputSpec, from_manifest: bool, classes: int | None,
                    labels_file: str | Path | None) -> tuple[OutputSpec, str]:
    """The labels and where they came from: --labels, else the manifest, else the labels.txt
    beside the model, else the defaults. A labels.txt that disagrees with the manifest or with
    the model's class count is an error, never passed over in silence; --labels settles it."""
    if labels_file is not None:
        return replace(output, labels=read_labels(labels_file)), str(labels_file)
    beside = path.parent / LABELS_NAME
    found = read_labels(beside) if beside.is_file() else None
    settle = "fix or remove it (evaluate, predict and convert also take --labels)"
    if from_manifest:
        if found is not None and found != output.labels:
            raise EdgeFerError(f"{beside}: {_some(found)} disagree with {manifest_path(path)}'s "
                               f"{_some(output.labels)}; {settle}")
        return output, str(manifest_path(path))
    if found is not None:
        if classes is not None and len(found) != classes:
            raise EdgeFerError(f"{beside}: {len(found)} labels, but {path.name} gives {classes} "
                               f"scores; {settle}")
        return replace(output, labels=found), str(beside)
    return replace(output, labels=_default_labels(classes)), str(path)


def _some(labels: tuple[str, ...]) -> str:
    shown = ", ".join(labels[:4]) + (", …" if len(labels) > 4 else "")
    return f"{len(labels)} labels ({shown})"


def model_spec(path: str | Path, labels_file: str | Path | None = None,
               output_kind: str | None = None, **flags) -> tuple[InputSpec, OutputSpec]:
    """The model's input and output specification: file, then manifest, then flags.

    `flags` are InputSpec.with_overrides' (size, color, layout, mean, std, face_crop); a labels
    file whose length is not the model's class count is a one-line error.
    """
    path = Path(path)
    return spec_from_facts(path, file_facts(path), labels_file, output_kind, **flags)


def spec_from_facts(path: str | Path, facts: FileFacts | None,
                    labels_file: str | Path | None = None, output_kind: str | None = None,
                    **flags) -> tuple[InputSpec, OutputSpec]:
    """model_spec with the file's facts already read (convert reads them from the graph it
    converts, with the names and dimensions the user gave)."""
    path = Path(path)
    manifest = read_manifest(path) if path.is_file() else {}
    recorded_input, recorded_output = manifest_specs(path, manifest)
    spec = recorded_input or InputSpec()
    if facts is not None:
        spec = _input_from_facts(spec, facts, path)
    spec = spec.with_overrides(**{k: v for k, v in flags.items() if v is not None})
    if facts is not None and facts.input_shape and None not in facts.input_shape[1:] and \
            any(flags.get(key) for key in ("size", "layout")):
        fixed = _input_from_facts(InputSpec(), facts, path)
        if (fixed.height, fixed.width, fixed.layout) != (spec.height, spec.width, spec.layout):
            raise UsageError(f"{path}: its input {fixed.describe()} is fixed; --size/--layout "
                             f"cannot change it")
    output = recorded_output or OutputSpec()
    classes = facts.classes if facts is not None else None
    if facts is not None:
        activation = "probabilities" if facts.softmax else (
            output.activation if "output_spec" in manifest else "auto")
        output = replace(output, name=facts.output_name, activation=activation)
    output, where = _resolve_labels(path, output, recorded_output is not None, classes,
                                    labels_file)
    if output_kind:
        output = replace(output, activation=output_kind)
    if classes is not None and classes != output.classes:
        raise EdgeFerError(f"{where}: {output.classes} labels, but {path.name} gives {classes} "
                           f"scores")
    return spec, output
