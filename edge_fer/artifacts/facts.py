"""What a runner needs of a model file — its one image input and its class-score output — taken
from the file's description (edge_fer/artifacts/formats.py: one reader per format, each through
that format's checked loader). A `.dlc` says nothing readable here: its manifest does
(runners/model_io.py resolves the spec from these facts, the manifest, labels.txt and flags).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge_fer.artifacts.description import Description, Tensor
from edge_fer.errors import EdgeFerError
from edge_fer.tensors.graphio import OUTPUT_NAME

# The input types a runner can make images into (float, or integers it quantises to).
IMAGE_DTYPES = ("float32", "float16", "float64", "uint8", "int8", "int16", "uint16")


@dataclass
class FileFacts:
    """What the model file itself says about its one input and its output."""

    input_name: str
    input_shape: list[int | None]         # None for a free dimension
    input_dtype: str = "float32"
    scale: float | None = None
    zero_point: int | None = None
    output_name: str = "output"
    classes: int | None = None
    softmax: bool | None = None           # the output is a Softmax's (None: cannot tell)
    output_dtype: str = "float32"
    output_scale: float | None = None     # quantisation of an integer output
    output_zero_point: int | None = None


def pick_output(names: list[str], wanted: str | None = None) -> str:
    """The class scores: `wanted` when named, else `output` (tf2onnx keeps TF's `output:0`),
    else the only output."""
    for name in names:
        if name in (wanted or OUTPUT_NAME, f"{wanted or OUTPUT_NAME}:0"):
            return name
    if len(names) == 1 and wanted is None:
        return names[0]
    raise EdgeFerError(f"model has outputs {', '.join(names)} and none named "
                       f"{wanted or OUTPUT_NAME!r}")


def _scalar_quantization(tensor: Tensor) -> tuple[float | None, int | None]:
    quantization = tensor.quantization or {}
    scale = quantization.get("scale")
    if not isinstance(scale, float) or not scale:
        return None, None
    return scale, int(quantization.get("zero_point") or 0)


def _io(description: Description) -> tuple[Tensor, Tensor]:
    path = description.path
    if description.picked is not None:
        input_name, output_name = description.picked
        found = next(t for t in description.inputs if t.name == input_name)
        return found, description.output(output_name)
    if len(description.inputs) != 1:
        raise EdgeFerError(f"{path}: expected one input, found "
                           f"{', '.join(t.name for t in description.inputs) or 'none'}")
    try:
        output_name = pick_output([t.name for t in description.outputs])
    except EdgeFerError as exc:
        raise EdgeFerError(f"{path}: {exc}") from None
    return description.inputs[0], description.output(output_name)


def facts_of(description: Description) -> FileFacts | None:
    """The runner's facts from a description; None when the file's tensors are not readable here
    (a .dlc: its manifest says them). A refused file (TensorFlow ops in a .tflite) raises."""
    if not description.tensors_from_file:
        return None
    if description.problem:
        raise EdgeFerError(description.problem)
    image, scores = _io(description)
    if image.dtype not in IMAGE_DTYPES:
        raise EdgeFerError(f"{description.path}: input {image.name!r} is {image.dtype}; edge-fer "
                           f"feeds images as {', '.join(IMAGE_DTYPES)}")
    scale, zero_point = _scalar_quantization(image)
    out_scale, out_zero_point = _scalar_quantization(scores)
    classes = scores.dims()
    return FileFacts(image.name, image.dims(), image.dtype, scale, zero_point, scores.name,
                     classes[-1] if classes else None, scores.softmax, scores.dtype, out_scale,
                     out_zero_point)


def file_facts(path: str | Path) -> FileFacts | None:
    """What the model file says, or None for files read only through their manifest (.dlc)."""
    from edge_fer.artifacts.formats import describe, reader_for

    if reader_for(path) is None or Path(path).suffix.lower() == ".dlc":
        return None  # a .dlc is handed to the SDK as it is; its container is only for inspect
    return facts_of(describe(path, full=False))
