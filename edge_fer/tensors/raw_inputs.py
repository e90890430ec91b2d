"""A folder of images (or a FER2013 CSV split) → model input raws, input_list.txt, manifest.csv.

Every image goes through `preprocess.preprocess`, the function training used, on all cores, with
the input spec of the model the raws are for (size, colour, layout, normalisation; edge-fer's own
48×48 gray in [0, 1] by default), recorded beside them in input_spec.json. A file that cannot be
decoded is listed in skipped.csv with its reason and the rest go on.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from edge_fer import reporter, signals
from edge_fer.atomic import atomic_write_text, check_not_inside, staged_dir
from edge_fer.errors import EdgeFerError, UsageError
from edge_fer.files import walk_files
from edge_fer.labels import LABELS
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
MAX_CHUNK = 32
# Below this many files a process pool costs more to start (~1 s) than it saves.
POOL_MIN_FILES = 200
# Without face detection the work per file is a decode and a resize, ~70 MB/s of JPEG in one
# process here (48×48 files: ~35 µs each); below this many input bytes the pool's start-up and
# per-result pickling cost more than it saves (3,000 48×48 JPEGs: 0.11 s serial, 0.23-0.44 s pooled).
# Nor do threads help: 5,000 48x48 JPEGs took 0.87-1.08 s serial, 1.15-1.20 s with a decode thread
# per core, the raws' file creation in one folder being the larger, serial part.
POOL_MIN_BYTES = 64 * 2**20


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


def _init_worker() -> None:
    import cv2

    signals.die_with_parent()  # a kill -9 of the command takes its workers too
    cv2.setNumThreads(1)  # one process per core already


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


def _preprocess_chunk(paths: list[Path], spec: InputSpec) -> list[np.ndarray | str]:
    return [_preprocess_or_reason(path, spec) for path in paths]


def _chunks(items: list[Path], size: int) -> list[list[Path]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def preprocess_files(paths: list[Path], spec: InputSpec = OWN_INPUT,
                     workers: int | None = None) -> Iterator[tuple[Path, np.ndarray | str]]:
    """(path, one float32 image of `spec` or the reason it failed) in path order, on `workers`
    processes."""
    detect_faces = spec.face_crop
    workers = workers or os.cpu_count() or 1
    size = max(1, min(MAX_CHUNK, len(paths) // (workers * 4) or 1))
    chunks = _chunks(paths, size)
    with reporter.make_progress() as bar:
        task = bar.add_task("preprocessing", total=len(paths), status="")
        if (workers == 1 or len(chunks) < 2 or len(paths) < POOL_MIN_FILES
                or not _main_importable() or _little_work(paths, detect_faces)):
            results = (_preprocess_chunk(chunk, spec) for chunk in chunks)
            for chunk, outcome in zip(chunks, results):
                yield from zip(chunk, outcome)
                bar.advance(task, len(chunk))
            return
        done = 0
        try:
            with ProcessPoolExecutor(max_workers=min(workers, len(chunks)),
                                     mp_context=_pool_context(), initializer=_init_worker) as pool:
                outcomes = pool.map(_preprocess_chunk, chunks, [spec] * len(chunks))
                for chunk, outcome in zip(chunks, outcomes):
                    yield from zip(chunk, outcome)
                    bar.advance(task, len(chunk))
                    done += 1
        except BrokenProcessPool as exc:
            reporter.warn(f"worker processes failed ({exc}); going on in this process")
            for chunk in chunks[done:]:
                yield from zip(chunk, _preprocess_chunk(chunk, spec))
                bar.advance(task, len(chunk))


def _little_work(paths: list[Path], detect_faces: bool) -> bool:
    """True when decoding everything in this process is quicker than starting a pool: no face
    detection (milliseconds per image whatever its size) and few input bytes in all."""
    if detect_faces:
        return False
    total = 0
    for path in paths:
        try:
            total += path.stat().st_size
        except OSError:
            continue  # preprocess reports it
        if total >= POOL_MIN_BYTES:
            return False
    return True


def _main_importable() -> bool:
    """forkserver workers re-import the parent's __main__ file; a script read from stdin has none.
    (A script calling this library needs the usual `if __name__ == "__main__":` guard.)"""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return main_file is None or Path(main_file).is_file()


def _pool_context():
    """forkserver, never a plain fork: a parent running OpenCV's (or TensorFlow's) thread pool
    would hand the child locks that no thread will ever release."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["edge_fer.tensors.raw_inputs"])
    return context


def raw_name(index: int, stem: str) -> str:
    """`<index:06d>_<stem>.raw`: unique by index, traceable by the source's name."""
    return f"{index:06d}_{_UNSAFE.sub('_', stem)[:60].strip('_') or 'image'}.raw"


def write_raw_set(out_dir: Path, items: Iterable[tuple[str, str, str, np.ndarray | str]],
                  dtype: str = "float32", spec: InputSpec = OWN_INPUT,
                  output: OutputSpec | None = None,
                  model: str | Path | None = None) -> RawInputsResult:
    """Write (source, name stem, label, image or skip reason) items as raws, list and manifest.

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
    raws: list[Path] = []
    with staged_dir(out_dir, _is_raw_inputs_output) as folder:
        for source, stem, label, image in items:
            if isinstance(image, str):
                result.skipped.append((source, image))
                continue
            raw = write_image_raw(folder / raw_name(len(raws), stem), image, dtype,
                                  atomic=False, elements=spec.elements)
            raws.append(raw)
            rows.append(ManifestRow(len(rows), raw.name, source, label))
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

    def items():
        for folder, reason in unlisted:
            yield folder, "", "", reason
        for path, image in preprocess_files(paths, spec, workers):
            if isinstance(image, NoFace):
                no_face.append(str(path))
                image = image.view(np.ndarray)
            yield str(path), path.stem, folder_label(path, root), image

    result = write_raw_set(Path(out_dir), items(), dtype, spec, output, model)
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
