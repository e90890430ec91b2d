"""A folder of images (or a FER2013 CSV split) → model input raws, input_list.txt, manifest.csv.

Every image goes through `preprocess.preprocess`, the function training used, on all cores, with
the input spec of the model the raws are for (size, colour, layout, normalisation; edge-fer's own
48×48 gray in [0, 1] by default), recorded beside them in input_spec.json. A file that cannot be
decoded is listed in skipped.csv with its reason and the rest go on.

A folder's images are decoded, preprocessed and written by worker processes (`parallel.worker_pool`),
each writing its chunk's raws into the staged folder itself; the main process numbers them in order
and closes the gap a skipped file leaves with a rename (only after a skip).
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.atomic import atomic_write_text, check_not_inside, staged_dir
from edge_fer.errors import EdgeFerError, UsageError
from edge_fer.files import walk_files
from edge_fer.labels import LABELS
from edge_fer.parallel import (
    available_cores,
    chunk_size,
    chunks,
    ordered_map,
    shut_down,
    worker_pool,
)
from edge_fer.tensors.rawio import (
    MANIFEST_NAME,
    ManifestRow,
    write_image_raw,
    write_input_list,
    write_manifest,
)
from edge_fer.tensors.spec import SPEC_NAME, InputSpec, OutputSpec, write_spec

INPUT_LIST_NAME = "input_list.txt"
OWN_INPUT = InputSpec()  # edge-fer's own model: 48×48 gray in [0, 1]
SKIPPED_NAME = "skipped.csv"
RAW_DTYPES = {"float32": 4, "uint8": 1}  # bytes per value
# Suffixes of the formats OpenCV's imdecode reads; other files in the folder are not images.
IMAGE_SUFFIXES = frozenset({
    ".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".webp", ".tif", ".tiff", ".pbm", ".pgm",
    ".ppm", ".pnm", ".pxm", ".sr", ".ras", ".jp2", ".exr", ".hdr", ".pic", ".gif",
})
_OUR_RAW = re.compile(r"^\d{6}_.*\.raw$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Raws written per task: a few tasks per thread, each large enough that handing it over is cheap.
MAX_CHUNK = 64
# Chunks decoded or written ahead of the main thread per worker (bounds what waits in memory).
AHEAD_PER_WORKER = 2


@dataclass
class RawInputsResult:
    """What raw-inputs wrote and skipped."""

    out_dir: Path
    input_list: Path
    manifest: Path
    skipped_csv: Path
    dtype: str
    spec: InputSpec = OWN_INPUT
    written: int = 0
    labelled: int = 0
    seconds: float = 0.0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    ignored: int = 0  # files in the folder that are not images by their suffix
    no_face: list[str] | None = None  # with --detect-faces: sources where no face was found

    @property
    def bytes_per_raw(self) -> int:
        return self.spec.elements * RAW_DTYPES[self.dtype]

    def to_dict(self) -> dict:
        return {
            "out_dir": str(self.out_dir), "input_list": str(self.input_list),
            "manifest": str(self.manifest), "skipped_csv": str(self.skipped_csv),
            "dtype": self.dtype, "bytes_per_raw": self.bytes_per_raw,
            "input_spec": self.spec.to_dict(), "written": self.written,
            "labelled": self.labelled, "skipped": len(self.skipped), "ignored": self.ignored,
            "seconds": round(self.seconds, 3),
            "no_face": None if self.no_face is None else len(self.no_face),
            "no_face_files": self.no_face,
            "skipped_files": [{"path": p, "reason": r} for p, r in self.skipped],
        }


def find_images(root: Path) -> tuple[list[Path], int, list[tuple[str, str]]]:
    """Image files under root (recursive, sorted, hidden entries skipped), how many others, and
    the folders that could not be listed with why (reported as skipped, never left out silently)."""
    files, unlisted = walk_files(root)
    images = [path for path in files if path.suffix.lower() in IMAGE_SUFFIXES]
    return images, len(files) - len(images), unlisted


def folder_label(path: Path, root: Path) -> str:
    """The emotion named by the nearest enclosing folder below root (case-insensitive), or ''."""
    for part in reversed(path.relative_to(root).parts[:-1]):
        if part.strip().lower() in LABELS:
            return part.strip().lower()
    return ""


class NoFace(np.ndarray):
    """A preprocessed image in which --detect-faces found no face (the whole image was used)."""


def _preprocess_or_reason(path: Path, spec: InputSpec) -> np.ndarray | str:
    from edge_fer.preprocess import largest_face_crop, load_image, preprocess, to_color_uint8

    try:
        image = load_image(path)
        if not spec.face_crop:
            return preprocess(image, spec=spec)
        whole = replace(spec, face_crop=False)
        pixels = to_color_uint8(image, "gray" if spec.color == "gray" else "bgr")
        crop = largest_face_crop(pixels)
        return preprocess(pixels, spec=whole).view(NoFace) if crop is None else \
            preprocess(crop, spec=whole)
    except EdgeFerError as exc:
        return str(exc).removeprefix(f"{path}: ")
    except Exception as exc:  # noqa: BLE001 - any decoder failure skips this file, not the run
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


@dataclass(frozen=True)
class WrittenRaw:
    """An image a worker already wrote into the staged folder, as `name`."""

    name: str


def _write_chunk(task: tuple[Path, int, list[Path], InputSpec, str]) -> list[tuple[str, bool] | str]:
    """In a worker: decode, preprocess and write one chunk's raws into the staged folder, numbered
    from `first` on as if no earlier file were skipped; per file, its raw's name and whether
    --detect-faces found no face in it, or why it was skipped. A failed write stops the run."""
    folder, first, paths, spec, dtype = task
    outcomes: list[tuple[str, bool] | str] = []
    for path in paths:
        image = _preprocess_or_reason(path, spec)
        if isinstance(image, str):
            outcomes.append(image)
            continue
        name = raw_name(first, path.stem)
        write_image_raw(f"{folder}/{name}", image, dtype, atomic=False, elements=spec.elements)
        outcomes.append((name, isinstance(image, NoFace)))
        first += 1
    return outcomes


def write_files(paths: list[Path], folder: Path, spec: InputSpec, dtype: str,
                workers: int | None = None) -> Iterator[tuple[Path, tuple[str, bool] | str]]:
    """(path, (raw name, no face found) or the reason it was skipped) in path order, each image
    written by `_write_chunk` on `workers` processes (default: every core)."""
    workers = workers or available_cores()
    parts = chunks(paths, chunk_size(len(paths), workers, MAX_CHUNK))
    firsts = itertools.accumulate((len(part) for part in parts[:-1]), initial=0)
    tasks = [(folder, first, part, spec, dtype) for first, part in zip(firsts, parts)]
    pool = worker_pool(workers, len(paths))  # before the progress bar: no thread to fork with
    try:
        with reporter.make_progress() as bar:
            task = bar.add_task("preprocessing", total=len(paths), status="")
            for part, outcome in zip(parts, ordered_map(pool, _write_chunk, tasks,
                                                         AHEAD_PER_WORKER * workers)):
                yield from zip(part, outcome)
                bar.advance(task, len(part))
    finally:
        shut_down(pool)  # no worker writes into a discarded folder


def raw_name(index: int, stem: str) -> str:
    """`<index:06d>_<stem>.raw`: unique by index, traceable by the source's name."""
    return f"{index:06d}_{_UNSAFE.sub('_', stem)[:60].strip('_') or 'image'}.raw"


RawItem = tuple[str, str, str, "np.ndarray | WrittenRaw | str"]


def write_raw_set(out_dir: Path, items: Iterable[RawItem] | Callable[[Path], Iterable[RawItem]],
                  dtype: str = "float32", spec: InputSpec = OWN_INPUT,
                  output: OutputSpec | None = None, model: str | Path | None = None,
                  workers: int | None = None) -> RawInputsResult:
    """Write (source, name stem, label, image or skip reason) items as raws, list and manifest;
    the raws on `workers` threads (default: every core) while the items keep coming. `items` may
    be a function of the staged folder, whose items are raws already written there (WrittenRaw).

    The folder is built whole beside out_dir and swapped in when complete (`atomic.staged_dir`):
    an earlier raw-inputs' files are replaced, any other files in it are kept untouched.
    """
    if dtype not in RAW_DTYPES:
        raise UsageError(f"--dtype must be one of {', '.join(RAW_DTYPES)}, not {dtype!r}")
    if dtype == "uint8" and (set(spec.mean) != {0.0} or set(spec.std) != {1.0}):
        raise UsageError("--dtype uint8 stores values in [0, 1] as pixels; it cannot hold "
                         "--mean/--std normalised values (use float32)")
    out_dir = Path(out_dir)
    result = RawInputsResult(out_dir, out_dir / INPUT_LIST_NAME, out_dir / MANIFEST_NAME,
                             out_dir / SKIPPED_NAME, dtype, spec)
    started = time.perf_counter()
    rows: list[ManifestRow] = []
    raws: list[str] = []  # paths as text: one per image, pathlib's cost adds up
    with staged_dir(out_dir, _is_raw_inputs_output) as folder, \
            _RawWriter(folder, dtype, spec.elements, workers) as writer:
        for source, stem, label, image in items(folder) if callable(items) else items:
            if isinstance(image, str):
                result.skipped.append((source, image))
                continue
            name = raw_name(len(raws), stem)
            if isinstance(image, WrittenRaw):
                if image.name != name:  # an earlier file was skipped: close the gap in the numbers
                    os.rename(folder / image.name, folder / name)
                raws.append(f"{folder}/{name}")
            else:
                raws.append(writer.add(name, image))
            rows.append(ManifestRow(len(rows), name, source, label))
        writer.finish()
        if not raws:
            reasons = "; ".join(f"{s}: {r}" for s, r in result.skipped[:3])
            raise EdgeFerError(f"no image could be read{': ' + reasons if reasons else ''}")
        write_input_list(folder / INPUT_LIST_NAME, raws)
        write_manifest(folder / MANIFEST_NAME, rows)
        write_spec(folder, spec, output, model, raw_dtype=dtype)
        _write_skipped(folder / SKIPPED_NAME, result.skipped)
    result.written = len(raws)
    result.labelled = sum(1 for row in rows if row.label)
    result.seconds = time.perf_counter() - started
    return result


class _RawWriter:
    """Raws written in chunks on a thread pool, in the background of the caller's loop; the
    first failure is raised by `add` or `finish` (the staged folder is then discarded whole)."""

    def __init__(self, folder: Path, dtype: str, elements: int, workers: int | None) -> None:
        self.folder, self.dtype, self.elements = folder, dtype, elements
        self.workers = workers or available_cores()
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="edge-fer-raws")
        self.pending: list[tuple[str, np.ndarray]] = []
        self.running: deque[Future] = deque()

    def __enter__(self):
        return self

    def __exit__(self, *failure) -> None:
        for future in self.running:
            future.cancel()
        self.pool.shutdown(wait=True)

    def add(self, name: str, image: np.ndarray) -> str:
        path = f"{self.folder}/{name}"
        self.pending.append((path, image))
        if len(self.pending) >= MAX_CHUNK:
            self._submit()
        return path

    def finish(self) -> None:
        self._submit()
        while self.running:
            self.running.popleft().result()

    def _submit(self) -> None:
        if self.pending:
            self.running.append(self.pool.submit(self._write, self.pending))
            self.pending = []
        while len(self.running) > AHEAD_PER_WORKER * self.workers or (
                self.running and self.running[0].done()):
            self.running.popleft().result()

    def _write(self, items: list[tuple[str, np.ndarray]]) -> None:
        for path, image in items:
            write_image_raw(path, image, self.dtype, atomic=False, elements=self.elements)


def _is_raw_inputs_output(path: Path) -> bool:
    """What an earlier raw-inputs leaves in its folder (so the folder may be replaced whole)."""
    if path.name in (INPUT_LIST_NAME, MANIFEST_NAME, SKIPPED_NAME, SPEC_NAME):
        return path.is_file()
    return bool(_OUR_RAW.match(path.name)) and path.is_file()


def _write_skipped(path: Path, skipped: list[tuple[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("path", "reason"))
    writer.writerows(skipped)
    atomic_write_text(path, buffer.getvalue())


def raw_inputs_from_folder(root: str | Path, out_dir: str | Path, detect_faces: bool = False,
                           dtype: str = "float32", workers: int | None = None,
                           spec: InputSpec = OWN_INPUT, output: OutputSpec | None = None,
                           model: str | Path | None = None) -> RawInputsResult:
    """Every image under root → raws of `spec` in out_dir; labels from emotion-named folders."""
    if detect_faces:
        spec = replace(spec, face_crop=True)
    root = Path(root)
    if not root.is_dir():
        raise EdgeFerError(f"{root}: no such folder" if not root.exists() else
                           f"{root}: not a folder (use --csv for a FER2013 CSV file)")
    check_not_inside(Path(out_dir), root)  # a second run would read its own output back
    paths, ignored, unlisted = find_images(root)
    if unlisted and unlisted[0][0] == str(root):
        raise EdgeFerError(f"{root}: {unlisted[0][1]}")
    if not paths and unlisted:
        raise EdgeFerError(f"{unlisted[0][0]}: {unlisted[0][1]}; no image found elsewhere "
                           f"under {root}")
    if not paths:
        raise EdgeFerError(f"{root}: holds no image files "
                           f"({', '.join(sorted(IMAGE_SUFFIXES)[:6])}, ...)")
    started = time.perf_counter()
    no_face: list[str] = []
    labels: dict[str, str] = {}  # by folder: its files share their label

    def items(folder: Path):
        for where, reason in unlisted:
            yield where, "", "", reason
        for path, outcome in write_files(paths, folder, spec, dtype, workers):
            source = str(path)
            if isinstance(outcome, str):
                yield source, path.stem, "", outcome
                continue
            name, missed_face = outcome
            if missed_face:
                no_face.append(source)
            parent = source.rpartition("/")[0]
            label = labels.get(parent)
            if label is None:
                label = labels[parent] = folder_label(path, root)
            yield source, path.stem, label, WrittenRaw(name)

    result = write_raw_set(Path(out_dir), items, dtype, spec, output, model, workers)
    result.ignored = ignored
    result.no_face = no_face if spec.face_crop else None
    result.seconds = time.perf_counter() - started
    return result


def raw_inputs_from_csv(csv_path: str | Path, out_dir: str | Path, usage: str = "PublicTest",
                        dtype: str = "float32", spec: InputSpec = OWN_INPUT,
                        output: OutputSpec | None = None,
                        model: str | Path | None = None) -> RawInputsResult:
    """One Usage split of a FER2013 CSV (plain or .gz) → raws; labels from its emotion column."""
    from edge_fer.data import load_dataset
    from edge_fer.preprocess import preprocess

    csv_path = Path(csv_path)
    started = time.perf_counter()
    dataset = load_dataset(csv_path)
    if usage not in dataset.splits:
        raise UsageError(f"{csv_path}: no {usage!r} rows; splits: {', '.join(dataset.splits)}")
    split = dataset.splits[usage]
    lines = getattr(split, "lines", None)  # CSV line numbers, when the loader keeps them

    def items():
        for problem in dataset.problems:  # rows the loader could not parse: "<file>:<line>: why"
            match = re.match(r"^(.*?:\d+): (.*)$", problem)
            where, reason = match.groups() if match else (str(csv_path), problem)
            yield where, "", "", reason
        for number in reporter.track(range(len(split)), len(split), f"{usage} rows"):
            where = f"{csv_path.name}:{lines[number]}" if lines is not None else \
                f"{csv_path.name}:{usage}[{number}]"
            label = LABELS[int(split.labels[number])]
            yield where, f"{usage}_{number}_{label}", label, \
                preprocess(split.images[number], spec=spec)

    result = write_raw_set(Path(out_dir), items(), dtype, spec, output, model)
    result.seconds = time.perf_counter() - started
    return result
