"""SNPE raw tensors, input lists and the raw-inputs manifest (CONVENTIONS: Raw tensors)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_fer.atomic import atomic_write_bytes, atomic_write_text, write_plain
from edge_fer.errors import EdgeFerError
from edge_fer.files import not_regular
from edge_fer.preprocess import INPUT_SIZE

IMAGE_ELEMENTS = INPUT_SIZE * INPUT_SIZE
MANIFEST_NAME = "manifest.csv"
MANIFEST_FIELDS = ("index", "raw_path", "source_path", "label")


def write_raw(path: str | Path, tensor: np.ndarray, dtype: str = "float32",
              atomic: bool = True) -> Path:
    """Write a tensor's bytes, C order, little-endian, no header (`atomic=False`: only inside a
    folder `atomic.staged_dir` is building)."""
    array = np.ascontiguousarray(tensor, dtype=np.dtype(dtype).newbyteorder("<"))
    if atomic:
        return atomic_write_bytes(path, array.tobytes())
    write_plain(path, array.tobytes())
    return Path(path)


def write_image_raw(path: str | Path, image: np.ndarray, dtype: str = "float32",
                    atomic: bool = True, elements: int = IMAGE_ELEMENTS) -> Path:
    """Write one preprocessed image as a model input raw: float32 (48x48x1: 9,216 bytes) or
    uint8 (2,304 bytes, value × 255, for values in [0, 1]) — the inverse of `read_image_raw`."""
    image = np.asarray(image, dtype=np.float32)
    if image.size != elements:
        raise EdgeFerError(f"{path}: image has {image.size} values, expected {elements}")
    if dtype == "uint8":
        return write_raw(path, np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8), "uint8",
                         atomic)
    if dtype != "float32":
        raise EdgeFerError(f"{path}: raw inputs are float32 or uint8, not {dtype}")
    return write_raw(path, image, "float32", atomic)


def read_raw(path: str | Path, dtype: str = "float32") -> np.ndarray:
    """Read a headerless raw tensor as a flat array."""
    return np.fromfile(path, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype, copy=False)


def _image_text(spec) -> str:
    return "x".join(str(d) for d in spec.image_shape) if spec is not None else "48x48x1"


def check_raws(raw_paths: list[Path], spec, dtype: str, model: str) -> None:
    """Every raw holds a whole number of the model's images (by size, before any is read); the
    first that does not is a one-line error naming it and the model's input."""
    elements = spec.elements if spec is not None else IMAGE_ELEMENTS
    per_image = elements * np.dtype(dtype).itemsize
    for path in raw_paths:
        try:
            size = Path(path).stat().st_size
        except OSError as exc:
            raise EdgeFerError(f"{path}: cannot read raw input ({exc.strerror or exc})") from None
        if size == 0 or size % per_image:
            raise EdgeFerError(
                f"{path}: {size} bytes is not a whole number of {dtype} {_image_text(spec)} "
                f"images ({per_image} bytes each), the input {spec.describe() if spec else 'x'} "
                f"of {model}")


def read_image_raw(path: str | Path, dtype: str = "float32", spec=None) -> np.ndarray:
    """Read one input `.raw` as float32 [k, *image shape] (k images concatenated for batch > 1);
    the image shape is the input spec's (edge_fer.tensors.spec), 48x48x1 without one."""
    path = Path(path)
    kind = not_regular(path)
    if kind:
        raise EdgeFerError(f"{path}: is {kind}, not a raw input file")
    elements = spec.elements if spec is not None else IMAGE_ELEMENTS
    try:
        flat = read_raw(path, dtype)
    except OSError as exc:
        raise EdgeFerError(f"{path}: cannot read raw input ({exc.strerror or exc})") from None
    if flat.size == 0 or flat.size % elements:
        itemsize = np.dtype(dtype).itemsize
        raise EdgeFerError(
            f"{path}: {flat.size * itemsize} bytes is not a whole number of {dtype} "
            f"{_image_text(spec)} images ({elements * itemsize} bytes each)")
    images = flat.reshape(-1, *(spec.image_shape if spec is not None else
                                (INPUT_SIZE, INPUT_SIZE, 1)))
    if dtype == "uint8":
        return images.astype(np.float32) / np.float32(255.0)
    return images.astype(np.float32, copy=False)


@dataclass
class InputList:
    """A parsed SNPE input list: one entry per inference, plus `#` layer / `%` tensor lines."""

    path: Path
    entries: list[dict[str, Path]]  # per line: input name ('' when unnamed) → absolute raw path
    output_layers: list[str] = field(default_factory=list)
    output_tensors: list[str] = field(default_factory=list)

    def raw_paths(self, input_name: str = "") -> list[Path]:
        """The raw of each line for one input (the only one when the model has a single input)."""
        paths = []
        for number, entry in enumerate(self.entries):
            if input_name in entry:
                paths.append(entry[input_name])
            elif len(entry) == 1:
                paths.append(next(iter(entry.values())))
            else:
                raise EdgeFerError(f"{self.path}: inference {number} has no input {input_name!r}")
        return paths

    def __len__(self) -> int:
        return len(self.entries)


def read_input_list(path: str | Path) -> InputList:
    """Parse an input list; relative raw paths are taken from the list's folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EdgeFerError(f"{path}: cannot read input list ({exc})") from None
    base = path.parent
    result = InputList(path=path, entries=[])
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            result.output_layers.extend(line[1:].split())
            continue
        if line.startswith("%"):
            result.output_tensors.extend(line[1:].split())
            continue
        entry: dict[str, Path] = {}
        for token in line.split():
            name, sep, raw = token.rpartition(":=")
            raw_path = Path(raw if sep else token)
            entry[name if sep else ""] = raw_path if raw_path.is_absolute() else base / raw_path
        result.entries.append(entry)
    if not result.entries:
        raise EdgeFerError(f"{path}: input list names no inputs")
    return result


def write_input_list(path: str | Path, raw_paths: list[Path], relative: bool = True,
                     output_tensors: list[str] | None = None) -> Path:
    """Write an input list (paths relative to the list's folder unless asked otherwise)."""
    path = Path(path)
    lines = [f"%{' '.join(output_tensors)}"] if output_tensors else []
    folder = path.parent.resolve()
    prefixes: dict[Path, str] = {}  # raws share a few folders: work out each folder's prefix once
    for raw in raw_paths:
        raw = Path(raw)
        if not relative:
            lines.append(raw.as_posix())
            continue
        prefix = prefixes.get(raw.parent)
        if prefix is None:
            parent = raw.parent.resolve()
            prefix = prefixes[raw.parent] = "" if parent == folder else (
                parent.relative_to(folder) if parent.is_relative_to(folder) else parent
            ).as_posix() + "/"
        lines.append(prefix + raw.name)
    return atomic_write_text(path, "\n".join(lines) + "\n")


@dataclass
class ManifestRow:
    index: int
    raw_path: str
    source_path: str
    label: str  # emotion name, '' when unknown


def write_manifest(path: str | Path, rows: list[ManifestRow]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MANIFEST_FIELDS)
    for row in rows:
        writer.writerow([row.index, row.raw_path, row.source_path, row.label])
    return atomic_write_text(path, buffer.getvalue())


def read_manifest(path: str | Path) -> list[ManifestRow]:
    path = Path(path)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(MANIFEST_FIELDS) - set(reader.fieldnames or ())
        if missing:
            raise EdgeFerError(f"{path}: manifest lacks columns {', '.join(sorted(missing))}")
        return [ManifestRow(int(r["index"]), r["raw_path"], r["source_path"], r["label"] or "")
                for r in reader]
