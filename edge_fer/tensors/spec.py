"""What a model takes and gives: one input specification and one output specification.

Models brought from elsewhere differ from edge-fer's in size, colour, layout, normalisation,
tensor names and labels. These two records say it once; preprocess, raw-inputs, the runners,
classify and convert read them instead of assuming 48×48 gray in [0, 1] and seven classes.
They are filled from the model file (runners/model_io.py), then from the manifest edge-fer writes
beside a converted model (`"input_spec"` / `"output_spec"`), then from flags (`with_overrides`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from edge_fer.atomic import atomic_write_text
from edge_fer.errors import EdgeFerError, UsageError, failure_reason
from edge_fer.files import require_regular
from edge_fer.labels import LABELS
from edge_fer.limits import check_side

COLORS = ("gray", "rgb", "bgr")
LAYOUTS = ("nhwc", "nchw")
ACTIVATIONS = ("probabilities", "logits", "auto")
SPEC_NAME = "input_spec.json"  # written beside raws (input_list.txt, manifest.csv)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class InputSpec:
    """One image input: `value = (pixel / 255 − mean) / std` per channel, in `layout`."""

    name: str = "x"
    height: int = 48
    width: int = 48
    color: str = "gray"                   # gray | rgb | bgr (channel order of the tensor)
    layout: str = "nhwc"                  # nhwc | nchw
    dtype: str = "float32"                # the model's input type (int8/uint8: quantised)
    scale: float | None = None            # quantisation of an integer input
    zero_point: int | None = None
    mean: tuple[float, ...] = (0.0,)      # one value, or one per channel
    std: tuple[float, ...] = (1.0,)
    resize: str = "area"                  # INTER_AREA when shrinking, linear when enlarging
    face_crop: bool = False
    batch: int | None = 1                 # None: any batch

    def __post_init__(self) -> None:
        if self.color not in COLORS:
            raise UsageError(f"colour {self.color!r}: expected one of {', '.join(COLORS)}")
        if self.layout not in LAYOUTS:
            raise UsageError(f"layout {self.layout!r}: expected one of {', '.join(LAYOUTS)}")
        if self.height < 1 or self.width < 1:
            raise UsageError(f"input size {self.height}x{self.width} must be positive")
        check_side(self.height, self.width, "input size")
        for what, values in (("mean", self.mean), ("std", self.std)):
            if len(values) not in (1, self.channels):
                raise UsageError(f"--{what} has {len(values)} values; a {self.color} input "
                                 f"takes 1 or {self.channels}")
        for what, values in (("mean", self.mean), ("std", self.std)):
            _require_values(values, f"--{what}", positive=what == "std")

    @property
    def channels(self) -> int:
        return 1 if self.color == "gray" else 3

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """One image in the tensor's layout: (H, W, C) or (C, H, W)."""
        if self.layout == "nchw":
            return (self.channels, self.height, self.width)
        return (self.height, self.width, self.channels)

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.batch or 1, *self.image_shape)

    @property
    def elements(self) -> int:
        """Values per image (a raw holds a whole number of images)."""
        return self.channels * self.height * self.width

    @property
    def quantized(self) -> bool:
        return np.dtype(self.dtype).kind in "iu"

    @property
    def normalises(self) -> bool:
        """False for mean 0 and std 1, where `(v − mean) / std` is v bit for bit (and skipped)."""
        return any(value != 0 for value in self.mean) or any(value != 1 for value in self.std)

    def mean_array(self) -> np.ndarray:
        return np.asarray(self.mean, np.float32)

    def std_array(self) -> np.ndarray:
        return np.asarray(self.std, np.float32)

    def describe(self) -> str:
        """One line for messages: `'x' [1,48,48,1] gray nhwc float32, mean 0 std 1`."""
        dims = ",".join(str(d) for d in self.shape)
        return (f"{self.name!r} [{dims}] {self.color} {self.layout} {self.dtype}, "
                f"mean {_values(self.mean)} std {_values(self.std)}")

    def same_tensor(self, other: InputSpec) -> bool:
        """Whether raws made for `other` hold what this input expects (names and batch aside)."""
        keys = ("height", "width", "color", "layout")
        if any(getattr(self, k) != getattr(other, k) for k in keys):
            return False
        return (np.allclose(np.broadcast_to(self.mean_array(), self.channels),
                            np.broadcast_to(other.mean_array(), other.channels))
                and np.allclose(np.broadcast_to(self.std_array(), self.channels),
                                np.broadcast_to(other.std_array(), other.channels)))

    def differences(self, other: InputSpec) -> list[tuple[str, str, str]]:
        """(what, other's value, this one's) for each way raws made for `other` differ from what
        this input takes: size, colour, layout, mean and std (names, batch and the model's own
        dtype aside: runners quantise float raws themselves)."""
        found = []
        if (self.height, self.width) != (other.height, other.width):
            found.append(("size", f"{other.height}x{other.width}", f"{self.height}x{self.width}"))
        for key in ("color", "layout"):
            if getattr(self, key) != getattr(other, key):
                found.append((key, getattr(other, key), getattr(self, key)))
        if self.channels == other.channels:
            for key in ("mean", "std"):
                mine = np.broadcast_to(np.asarray(getattr(self, key), np.float32), self.channels)
                theirs = np.broadcast_to(np.asarray(getattr(other, key), np.float32),
                                         other.channels)
                if not np.allclose(mine, theirs):
                    found.append((key, _values(getattr(other, key)), _values(getattr(self, key))))
        return found

    def with_overrides(self, size: str | None = None, color: str | None = None,
                       layout: str | None = None, mean: str | None = None,
                       std: str | None = None, face_crop: bool | None = None) -> InputSpec:
        """This spec with the values the user gave by flag (`--size 64` or `64x48`, `--mean
        0.5` or `0.485,0.456,0.406`)."""
        changes: dict = {}
        if size:
            changes["height"], changes["width"] = parse_size(size)
        if color:
            changes["color"] = color.lower()
        if layout:
            changes["layout"] = layout.lower()
        if mean:
            changes["mean"] = parse_values(mean, "--mean")
        if std:
            changes["std"] = parse_values(std, "--std")
        if face_crop is not None:
            changes["face_crop"] = face_crop
        return replace(self, **changes)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["mean"], data["std"] = list(self.mean), list(self.std)
        data["shape"] = list(self.shape)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> InputSpec:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("mean", "std"):
            if key in values:
                values[key] = tuple(float(v) for v in values[key])
        return cls(**values)


@dataclass(frozen=True)
class OutputSpec:
    """The class scores: their tensor, the label of each position, probabilities or logits."""

    name: str = "output"
    labels: tuple[str, ...] = field(default=LABELS)
    activation: str = "probabilities"     # probabilities | logits | auto (decide from the values)

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise UsageError(f"output {self.activation!r}: expected one of "
                             f"{', '.join(ACTIVATIONS)}")

    @property
    def classes(self) -> int:
        return len(self.labels)

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Rows of scores → rows of probabilities (softmax for logits)."""
        scores = np.asarray(scores, np.float32)
        if self.activation == "probabilities":
            return scores
        if self.activation == "auto" and looks_like_probabilities(scores):
            return scores
        return softmax(scores)

    def with_labels(self, labels: tuple[str, ...] | None) -> OutputSpec:
        return self if labels is None else replace(self, labels=tuple(labels))

    def check_classes(self, count: int, where: str) -> None:
        """One-line error when the model gives `count` scores and there are other many labels."""
        if count != self.classes:
            raise EdgeFerError(f"{where}: the model gives {count} scores but there are "
                               f"{self.classes} labels ({', '.join(self.labels[:8])}"
                               f"{', ...' if self.classes > 8 else ''})")

    def to_dict(self) -> dict:
        return {"name": self.name, "labels": list(self.labels), "activation": self.activation}

    @classmethod
    def from_dict(cls, data: dict) -> OutputSpec:
        return cls(name=data.get("name", "output"),
                   labels=tuple(data.get("labels") or LABELS),
                   activation=data.get("activation", "probabilities"))


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)


def looks_like_probabilities(scores: np.ndarray) -> bool:
    """Every row non-negative and summing to 1 (within float error)."""
    finite = scores[np.isfinite(scores).all(axis=-1)]
    return bool(finite.size) and bool((finite >= -1e-6).all()) and \
        bool(np.allclose(finite.sum(axis=-1), 1.0, atol=1e-3))


def parse_size(text: str) -> tuple[int, int]:
    """`64` → (64, 64); `64x48` → (64, 48) as height × width."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise UsageError(f"--size {text!r}: expected H or HxW, e.g. 64 or 224x224") from None
    if len(values) not in (1, 2) or min(values) < 1:
        raise UsageError(f"--size {text!r}: expected H or HxW with positive numbers")
    check_side(values[0], values[-1], f"--size {text!r}")
    return (values[0], values[-1])


def parse_values(text: str, flag: str) -> tuple[float, ...]:
    """`0.5` or `0.485,0.456,0.406` → floats."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"{flag} {text!r}: expected a number or three separated by commas") \
            from None
    if len(values) not in (1, 3):
        raise UsageError(f"{flag} {text!r}: give one value or three (one per channel)")
    return _require_values(values, flag, positive=flag == "--std")


def _require_values(values: tuple[float, ...], flag: str, positive: bool) -> tuple[float, ...]:
    """Means are finite numbers; standard deviations finite and above 0 (else every value made
    with them is NaN, infinite or sign-flipped)."""
    for value in values:
        if not math.isfinite(value) or (positive and value <= 0):
            wanted = "a finite number above 0" if positive else "a finite number"
            raise UsageError(f"{flag} {_values(values)}: each value must be {wanted}")
    return values


def read_labels_file(path: str | Path) -> tuple[str, ...]:
    """labels.txt: one class name per line, in the model's output order."""
    path = Path(path)
    require_regular(path, "a labels file")
    try:
        names = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                      if line.strip())
    except (OSError, UnicodeDecodeError) as exc:
        raise EdgeFerError(f"{path}: cannot read labels ({failure_reason(exc)})") from None
    if not names:
        raise EdgeFerError(f"{path}: no labels in it")
    return names


def write_spec(folder: str | Path, spec: InputSpec, output: OutputSpec | None = None,
               model: str | Path | None = None, raw_dtype: str | None = None) -> Path:
    """Record beside the raws what they were made for (and how they are stored: `raw_dtype`),
    so run, compare and calibration can check it."""
    data = {"input": spec.to_dict(), "model": str(model) if model else None}
    if raw_dtype is not None:
        data["raw_dtype"] = raw_dtype
    if output is not None:
        data["output"] = output.to_dict()
    return atomic_write_text(Path(folder) / SPEC_NAME, json.dumps(data, indent=2) + "\n")


@dataclass(frozen=True)
class RecordedSpec:
    """What input_spec.json beside a set of raws says they hold."""

    path: Path
    input: InputSpec
    output: OutputSpec | None = None
    model: str | None = None       # the model raw-inputs --model made them for
    raw_dtype: str | None = None   # float32 | uint8 (None: raws written before it was recorded)


def read_recorded_spec(folder: str | Path) -> RecordedSpec | None:
    """input_spec.json in `folder` (None when there is none: raws made elsewhere or older)."""
    path = Path(folder) / SPEC_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("input"), dict):
            raise TypeError("no \"input\" object")
        output = OutputSpec.from_dict(data["output"]) if data.get("output") else None
        raw_dtype, model = data.get("raw_dtype"), data.get("model")
        if raw_dtype is not None and raw_dtype not in ("float32", "uint8"):
            raise ValueError(f"raw_dtype {raw_dtype!r} is not float32 or uint8")
        if model is not None and not isinstance(model, str):
            raise ValueError("\"model\" is not a path")
        return RecordedSpec(path, InputSpec.from_dict(data["input"]), output, model, raw_dtype)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EdgeFerError) as exc:
        raise EdgeFerError(f"{path}: unreadable input spec ({failure_reason(exc)})") from None


def read_spec(folder: str | Path) -> tuple[InputSpec, OutputSpec | None] | None:
    """The spec raw-inputs recorded in `folder` (None when there is none: older raws)."""
    recorded = read_recorded_spec(folder)
    return None if recorded is None else (recorded.input, recorded.output)


def _values(values: tuple[float, ...]) -> str:
    return ",".join(f"{v:g}" for v in values)


def model_inputs(faces: np.ndarray, spec: InputSpec) -> np.ndarray:
    """uint8 [N, 48, 48] faces → what the model takes: as training fed edge-fer's own model,
    else through the one preprocess function with the model's input spec (calibration, evaluate
    and bench feed any model its own size, colour, layout and normalisation)."""
    from edge_fer.preprocess import preprocess, to_model_input

    if spec.same_tensor(InputSpec()):
        return to_model_input(faces)
    return np.stack([preprocess(face, spec=spec) for face in faces]) if len(faces) else \
        np.zeros((0, *spec.image_shape), np.float32)

