"""The Kaggle FER2013 CSV (`emotion,pixels,Usage`), plain or gzip, read as a stream.

The file is ~290 MB of text uncompressed, so it is never held in memory as text: the csv module
reads one row at a time and each row's pixels are parsed by NumPy in one call. A bad row is
skipped and recorded with its line number (or raises, with `strict`), so one damaged line does
not cost the other 35,000.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import numpy as np

from edge_fer.data.dataset import DataSet, Split, raise_if_empty, split_off_validation
from edge_fer.errors import EdgeFerError, failure_reason
from edge_fer.labels import NUM_CLASSES
from edge_fer.preprocess import INPUT_SIZE

GZIP_MAGIC = b"\x1f\x8b"
PIXELS_PER_IMAGE = INPUT_SIZE * INPUT_SIZE
REQUIRED_COLUMNS = ("emotion", "pixels")
USAGE_COLUMN = "usage"
TRAIN_USAGE = "Training"
VAL_USAGE = "PublicTest"
TEST_USAGE = "PrivateTest"
USAGES = (TRAIN_USAGE, VAL_USAGE, TEST_USAGE)
HOLDOUT_SPLIT = "Validation"  # carved out of Training when the file has no PublicTest/PrivateTest
HOLDOUT_FRACTION = 0.1
SNIFF_BYTES = 4096


class RowError(ValueError):
    """Why one row cannot be used; becomes a `<file>:<line>: <reason>` problem."""


def is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(GZIP_MAGIC)) == GZIP_MAGIC


@contextlib.contextmanager
def open_text(path: Path) -> Iterator[TextIO]:
    """Open plain or gzip (by magic bytes, whatever the suffix) as a UTF-8 text stream."""
    compressed = is_gzip(path)
    opener = gzip.open if compressed else open
    with opener(path, "rb") as raw:
        try:
            if b"\x00" in raw.peek(SNIFF_BYTES)[:SNIFF_BYTES]:
                raise EdgeFerError(f"{path}: not a CSV file (binary data)")
            with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
                yield text
        except (OSError, EOFError, zlib.error) as exc:
            kind = "gzip stream" if compressed else "file"
            raise EdgeFerError(f"{path}: cannot read {kind} ({failure_reason(exc)})") from None


def parse_label(text: str) -> int:
    try:
        label = int(text)
    except ValueError:
        raise RowError(f"emotion {text.strip()!r} is not a number") from None
    if not 0 <= label < NUM_CLASSES:
        raise RowError(f"emotion {label} is outside 0-{NUM_CLASSES - 1}")
    return label


def parse_pixels(text: str) -> np.ndarray:
    """Space-separated 0..255 integers → uint8 [48, 48]; raises RowError saying what is wrong."""
    try:
        values = np.fromstring(text, dtype=np.int64, sep=" ")
    except ValueError:
        bad = next((tok for tok in text.split() if not tok.lstrip("+-").isdigit()), text.strip())
        raise RowError(f"pixel value {bad[:20]!r} is not an integer") from None
    if values.size != PIXELS_PER_IMAGE:
        raise RowError(f"{values.size} pixel values, expected {PIXELS_PER_IMAGE}")
    out_of_range = (values < 0) | (values > 255)
    if out_of_range.any():
        raise RowError(f"pixel value {values[out_of_range][0]} is outside 0..255")
    return values.astype(np.uint8).reshape(INPUT_SIZE, INPUT_SIZE)


def header_columns(path: Path, header: list[str] | None) -> dict[str, int]:
    """Column name (lower case) → index; raises when emotion or pixels is missing."""
    if header is None:
        raise EdgeFerError(f"{path}: empty file, expected a CSV header emotion,pixels,Usage")
    columns = {name.strip().lower(): i for i, name in enumerate(header)}
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        shown = ",".join(header)[:80]
        raise EdgeFerError(f"{path}: not a FER2013 CSV: header lacks {', '.join(missing)} "
                           f"(found {shown!r}; expected emotion,pixels,Usage)")
    return columns


def parse_row(row: list[str], columns: dict[str, int]) -> tuple[str, int, np.ndarray]:
    """One CSV row → (usage, label, image); a file without a Usage column is all Training."""
    wanted = [name for name in (*REQUIRED_COLUMNS, USAGE_COLUMN) if name in columns]
    missing = [name for name in wanted if columns[name] >= len(row)]
    if missing:
        width = max(columns[name] for name in wanted) + 1
        raise RowError(f"{len(row)} fields, expected {width} (missing {', '.join(missing)})")
    if USAGE_COLUMN in columns:
        usage = row[columns[USAGE_COLUMN]].strip()
        if usage not in USAGES:
            raise RowError(f"unknown Usage {usage[:20]!r} (expected {', '.join(USAGES)})")
    else:
        usage = TRAIN_USAGE
    label = parse_label(row[columns["emotion"]])
    image = parse_pixels(row[columns["pixels"]])
    return usage, label, image


def load_fer2013_csv(path: str | Path, *, strict: bool = False, seed: int = 0) -> DataSet:
    """Load a FER2013 CSV: Training → train, PublicTest (else PrivateTest, else 10 % of
    Training, stratified by `seed`) → val; PrivateTest is kept as its own split when present.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a CSV file" if path.is_dir() else "no such file"
        raise EdgeFerError(f"{path}: {what}")
    images: dict[str, list[np.ndarray]] = {usage: [] for usage in USAGES}
    labels: dict[str, list[int]] = {usage: [] for usage in USAGES}
    lines: dict[str, list[int]] = {usage: [] for usage in USAGES}
    problems: list[str] = []
    with open_text(path) as text:
        reader = csv.reader(text)
        line = 1
        try:
            columns = header_columns(path, next(reader, None))
            for row in reader:
                line = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                try:
                    usage, label, image = parse_row(row, columns)
                except RowError as exc:
                    if strict:
                        raise EdgeFerError(f"{path}:{line}: {exc}") from None
                    problems.append(f"{path}:{line}: {exc}")
                    continue
                images[usage].append(image)
                labels[usage].append(label)
                lines[usage].append(line)
        except UnicodeDecodeError:
            raise EdgeFerError(f"{path}: not a CSV file (not UTF-8 text near line {line + 1})"
                              ) from None
        except csv.Error as exc:
            raise EdgeFerError(f"{path}:{reader.line_num}: not a valid CSV ({failure_reason(exc)})") from None
    splits = {usage: Split(usage, np.stack(images[usage]), labels[usage], lines[usage])
              for usage in USAGES if images[usage]}
    splits.setdefault(TRAIN_USAGE, Split.empty(TRAIN_USAGE))
    if VAL_USAGE in splits:
        val_split = VAL_USAGE
    elif TEST_USAGE in splits:
        val_split = TEST_USAGE
    else:
        splits[TRAIN_USAGE], splits[HOLDOUT_SPLIT] = split_off_validation(
            splits[TRAIN_USAGE], HOLDOUT_FRACTION, seed, HOLDOUT_SPLIT)
        val_split = HOLDOUT_SPLIT
    dataset = DataSet(source=str(path), splits=splits, train_split=TRAIN_USAGE,
                      val_split=val_split, problems=problems)
    return raise_if_empty(dataset)
