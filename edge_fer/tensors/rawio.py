"""SNPE raw tensors, input lists and the raw-inputs manifest (CONVENTIONS: Raw tensors)."""

from __future__ import annotations

import csv
import functools
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_fer.atomic import atomic_write_bytes, atomic_write_text, write_plain
from edge_fer.errors import EdgeFerError, failure_reason
from edge_fer.files import read_regular, require_regular
from edge_fer.preprocess import INPUT_SIZE

IMAGE_ELEMENTS = INPUT_SIZE * INPUT_SIZE
MANIFEST_NAME = "manifest.csv"
MANIFEST_FIELDS = ("index", "raw_path", "source_path", "label")


@functools.cache
def _little_endian(dtype: str) -> np.dtype:
    return np.dtype(dtype).newbyteorder("<")


def write_raw(path: str | Path, tensor: np.ndarray, dtype: str = "float32",
              atomic: bool = True) -> Path:
    """Write a tensor's bytes, C order, little-endian, no header (`atomic=False`: only inside a
    folder `atomic.staged_dir` is building)."""
    array = np.ascontiguousarray(tensor, dtype=_little_endian(dtype))
    if atomic:
        return atomic_write_bytes(path, array.tobytes())
    write_plain(path, array)
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


def _images_wrong(size: int, per_image: int, images: int | None) -> bool:
    """A raw of `size` bytes does not hold `images` images (None: any whole number of them)."""
    return size != per_image * images if images else (size == 0 or size % per_image != 0)


def _images_text(images: int | None, dtype: str, spec, per_image: int) -> str:
    count = "a whole number of" if not images else ("one" if images == 1 else str(images))
    return (f"{count} {dtype} {_image_text(spec)} image{'' if images == 1 else 's'} "
            f"({per_image:,} bytes each)")


def read_image_raw(path: str | Path, dtype: str = "float32", spec=None,
                   per_raw: int | None = None, model: str | None = None) -> np.ndarray:
    """Read one input `.raw` as float32 [k, *image shape] (k images concatenated for batch > 1;
    exactly `per_raw` of them when given); the image shape is the input spec's
    (edge_fer.tensors.spec), 48x48x1 without one.

    One open per file (files.read_regular) and no stat: a raw of the wrong size is a one-line
    error naming it when it is read, and with `model` (what the raws are fed to) that model's
    input."""
    data = read_regular(path, "a raw input file", "raw input")
    elements = spec.elements if spec is not None else IMAGE_ELEMENTS
    itemsize = np.dtype(dtype).itemsize
    per_image = elements * itemsize
    if _images_wrong(len(data), per_image, per_raw):
        target = f", the input {spec.describe() if spec else 'x'} of {model}" if model else ""
        raise EdgeFerError(f"{path}: {len(data):,} bytes is not "
                           f"{_images_text(per_raw, dtype, spec, per_image)}{target}")
    flat = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<"))
    images = flat.reshape(-1, *(spec.image_shape if spec is not None else
                                (INPUT_SIZE, INPUT_SIZE, 1)))
    if dtype == "uint8":
        return images.astype(np.float32) / np.float32(255.0)
    return images.astype(np.float32)  # a writable copy in native byte order


@dataclass
class InputList:
    """A parsed SNPE input list: one entry per inference, plus `#` layer / `%` tensor lines."""

    path: Path
    entries: list[dict[str, Path]]  # per line: input name ('' when unnamed) → absolute raw path
    output_layers: list[str] = field(default_factory=list)
    output_tensors: list[str] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)  # 1-based line of each entry

    def raw_paths(self, input_name: str = "") -> list[Path]:
        """The raw of each line for one input (the only one when the model has a single input)."""
        paths = []
        for number, entry in enumerate(self.entries):
            if input_name in entry:
                paths.append(entry[input_name])
            elif len(entry) == 1:
                paths.append(next(iter(entry.values())))
            else:
                raise EdgeFerError(f"{self.where(number)}: inference {number} has no input "
                                   f"{input_name!r}")
        return paths

    def where(self, number: int) -> str:
        """`list.txt:7`: the file and line of the number-th inference, for messages."""
        if number < len(self.line_numbers):
            return f"{self.path}:{self.line_numbers[number]}"
        return str(self.path)

    def __len__(self) -> int:
        return len(self.entries)


# The grammar (CONVENTIONS: Raw tensors and input lists, after snpe-net-run's --input_list):
#   list   := line ("\n" line)*        UTF-8, no byte-order mark, no NUL; "\r\n" is taken as "\n"
#   line   := blank | header | inputs
#   header := ("#" | "%") name (" " name)*     only before the first inputs line
#   inputs := path | pair (" " pair)*          pair := name ":=" path; names unique on a line
# A path holds no whitespace, does not begin with "#" or "%", and a bare path holds no ":=".
PAIR = ":="
HEADER_MARKS = {"#": "output layers", "%": "output tensors"}
_BOM = "\ufeff"


class InputListError(EdgeFerError):
    """A line outside the input-list grammar; the message names the file and the line."""


def parse_input_list(text: str, path: Path, base: Path | None = None) -> InputList:
    """Parse input-list text; relative raw paths are taken from `base` (default: path's folder)."""
    base = path.parent if base is None else base
    result = InputList(path=path, entries=[])

    def fail(number: int, problem: str) -> InputListError:
        return InputListError(f"{path}:{number}: {problem}")

    if text.startswith(_BOM):
        raise fail(1, "starts with a UTF-8 byte-order mark (save the list as UTF-8 without BOM)")
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.isprintable():  # the usual line is: one test instead of one per character
            if "\0" in line:
                raise fail(number, "holds a NUL byte")
            bad = next((c for c in line if not c.isprintable() and c not in " \t"), None)
            if bad is not None:
                raise fail(number, f"holds the control character {bad!r}")
        tokens = line.split()
        if not tokens:
            continue
        mark = line.lstrip()[0]
        if mark in HEADER_MARKS:
            if result.entries:
                raise fail(number, f"a {mark!r} line ({HEADER_MARKS[mark]}) must come before "
                                   "the first input line")
            names = line.lstrip()[1:].split()
            if not names:
                raise fail(number, f"{mark!r} line names no {HEADER_MARKS[mark]}")
            (result.output_layers if mark == "#" else result.output_tensors).extend(names)
            continue
        result.entries.append(_parse_inputs(tokens, base, functools.partial(fail, number)))
        result.line_numbers.append(number)
    if not result.entries:
        raise InputListError(f"{path}: input list names no inputs")
    return result


def _parse_inputs(tokens: list[str], base: Path, fail) -> dict[str, Path]:
    """One inputs line → {name ('' for a bare path): absolute path}."""
    if len(tokens) == 1 and PAIR not in tokens[0]:
        return {"": _resolved(tokens[0], base)}
    entry: dict[str, Path] = {}
    for token in tokens:
        name, sep, raw = token.partition(PAIR)
        if not sep:
            raise fail(f"{len(tokens)} paths without input names ({' '.join(tokens)!r}): a "
                       f"model with several inputs takes name{PAIR}path pairs separated by "
                       "spaces, and a path cannot hold a space")
        if not name or not raw:
            raise fail(f"{token!r} is not a name{PAIR}path pair")
        if name in entry:
            raise fail(f"input {name!r} is given twice")
        entry[name] = _resolved(raw, base)
    return entry


def _resolved(raw: str, base: Path) -> Path:
    return base / raw  # an absolute raw replaces base


def read_input_list(path: str | Path) -> InputList:
    """Read and parse an input list; relative raw paths are taken from the list's folder."""
    path = Path(path)
    data = read_regular(path, "an input list", "input list")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputListError(f"{path}:{line}: {failure_reason(exc)}") from None
    return parse_input_list(text, path)


def _list_token(text: str, what: str, pair_allowed: bool = False) -> str:
    """A path or name as it can stand in an input list; an error when it cannot."""
    if not text or not text.isprintable() or " " in text:  # every other space is unprintable
        raise EdgeFerError(f"{text!r}: an input list cannot hold an empty {what} or one with "
                           "spaces or control characters (snpe-net-run splits lines at spaces)")
    if PAIR in text and not pair_allowed:
        raise EdgeFerError(f"{text!r}: an input list cannot hold a {what} containing {PAIR!r}")
    return text


def format_input_list(entries: list[dict[str, str]], output_layers: list[str] | None = None,
                      output_tensors: list[str] | None = None) -> str:
    """Input-list text: header lines, then one line per entry ({'': path} for a bare path)."""
    lines = [mark + " ".join(_list_token(name, "name") for name in names)
             for mark, names in (("#", output_layers), ("%", output_tensors)) if names]
    for entry in entries:
        if list(entry) == [""]:
            token = _list_token(entry[""], "path")
            if token[0] in HEADER_MARKS:
                raise EdgeFerError(f"{token!r}: a path in an input list cannot begin with "
                                   f"{token[0]!r} (give it as ./{token})")
            lines.append(token)
        else:  # the path of a pair may hold ':=': the name ends at the first one
            marked = next((name for name in entry if name[:1] in HEADER_MARKS), None)
            if marked is not None:
                raise EdgeFerError(f"{marked!r}: an input name in an input list cannot begin "
                                   f"with {marked[0]!r} (the line would read as a header)")
            lines.append(" ".join(_list_token(name, "input name") + PAIR
                                  + _list_token(raw, "path", pair_allowed=True)
                                  for name, raw in entry.items()))
    return "\n".join(lines) + "\n"


def write_input_list(path: str | Path, raw_paths: list[str | Path], relative: bool = True,
                     output_tensors: list[str] | None = None) -> Path:
    """Write an input list (paths relative to the list's folder unless asked otherwise)."""
    path = Path(path)
    lines = []
    folder = path.parent.resolve()
    prefixes: dict[str, str] = {}  # raws share a few folders: work out each folder's prefix once
    for raw in raw_paths:
        raw = os.fspath(raw)
        if not relative:
            lines.append(Path(raw).as_posix())
            continue
        head, _, name = raw.rpartition("/")
        prefix = prefixes.get(head)
        if prefix is None:
            parent = Path(head or ("/" if raw.startswith("/") else ".")).resolve()
            prefix = prefixes[head] = "" if parent == folder else (
                parent.relative_to(folder) if parent.is_relative_to(folder) else parent
            ).as_posix() + "/"
        lines.append(prefix + name)
    text = format_input_list([{"": line} for line in lines], output_tensors=output_tensors)
    return atomic_write_text(path, text)


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
    require_regular(path, "a manifest")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise EdgeFerError(f"{path}:{line}: {failure_reason(exc)}") from None
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(MANIFEST_FIELDS) - set(reader.fieldnames or ())
        if missing:
            raise EdgeFerError(f"{path}: manifest lacks columns {', '.join(sorted(missing))}")
        rows = []
        try:
            for r in reader:
                if None in r.values() or None in r:  # too few or too many fields on the line
                    raise ValueError(f"{len(reader.fieldnames)} fields expected")
                if "\0" in "".join(r.values()):
                    raise ValueError("holds a NUL byte")
                rows.append(ManifestRow(int(r["index"]), r["raw_path"], r["source_path"],
                                        r["label"] or ""))
        except (ValueError, csv.Error, UnicodeDecodeError) as exc:
            raise EdgeFerError(f"{path}:{reader.line_num}: malformed manifest row "
                               f"({failure_reason(exc)})") from None
        return rows
