"""The one Result-folder writer and reader (CONVENTIONS: Outputs).

Every runner writes `<output_dir>/Result_<i>/output.raw` through `write_results`; classify,
compare and bench read any runtime's layout through `read_results`, so snpe-net-run's
`output:0.raw`, qnn-net-run's `output_0.raw` and our own `output.raw` look the same downstream.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_fer.atomic import settle, write_plain
from edge_fer.errors import EdgeFerError
from edge_fer.files import read_regular
from edge_fer.labels import NUM_CLASSES

RESULT_PREFIX = "Result_"
OUTPUT_TENSOR = "output"
RESULT_DIR_PATTERN = re.compile(r"^Result_(\d+)$")
# The output tensor's file as each runtime names it: ours, snpe-net-run (Linux, Windows), qnn-net-run.
_OUTPUT_FILE_NAMES = ("output.raw", "output:0.raw", "output_0.raw")


@dataclass
class ResultEntry:
    """One Result folder: its probabilities [7], or the reason there are none."""

    index: int
    probs: np.ndarray | None
    problem: str | None
    path: Path

    @property
    def ok(self) -> bool:
        return self.probs is not None


def result_dir(output_dir: str | Path, index: int) -> Path:
    return Path(output_dir) / f"{RESULT_PREFIX}{index}"


def write_results(output_dir: str | Path, probs: np.ndarray, start_index: int = 0,
                  tensor_name: str = OUTPUT_TENSOR, atomic: bool = True) -> list[Path]:
    """Write row k of probs [N, C] (or a list of per-input arrays) to Result_<start_index+k>.

    Each folder is built under a hidden temporary name beside it and renamed, so a reader never
    sees a partial one. `atomic=False` skips that (mkdir and the tensor only), for an output
    folder that `atomic.staged_dir` is building whole.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if not atomic:
        return _write_plain_results(output_dir, probs, start_index, tensor_name)
    written = []
    for offset, row in enumerate(probs):
        target = result_dir(output_dir, start_index + offset)
        data = np.ascontiguousarray(row, dtype=np.dtype("<f4")).tobytes()
        staging = output_dir / f".{target.name}.{os.getpid()}.tmp"
        try:
            if staging.exists():  # a leftover of a crashed run of the same pid
                shutil.rmtree(staging)
            _write_result_folder(staging, tensor_name, data)
            try:
                os.replace(staging, target)
            except OSError:  # an earlier run's folder is there: replace it whole
                shutil.rmtree(target)
                os.replace(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        written.append(target)
    return written


def _write_plain_results(output_dir: Path, probs, start_index: int,
                         tensor_name: str) -> list[Path]:
    """Result folders straight into a folder being built whole: per row a mkdir, then open,
    write and close of the tensor (a TF name with '/' adds its nested folders)."""
    base = os.fspath(output_dir)
    nested = os.path.dirname(tensor_name)
    little_endian = np.dtype("<f4")
    written = []
    for index, row in enumerate(probs, start=start_index):
        folder = f"{base}/{RESULT_PREFIX}{index}"
        os.mkdir(folder)
        if nested:
            os.makedirs(f"{folder}/{nested}")
        write_plain(f"{folder}/{tensor_name}.raw", np.ascontiguousarray(row, little_endian))
        written.append(folder)
    return [Path(folder) for folder in written]


def _write_result_folder(folder: Path, tensor_name: str, data: bytes) -> None:
    """mkdir (ordinary permissions) and the tensor; a TF name with '/' becomes nested folders."""
    folder.mkdir()
    tensor_path = folder / f"{tensor_name}.raw"
    if tensor_path.parent != folder:
        tensor_path.parent.mkdir(parents=True)
    write_plain(tensor_path, data)


def remove_results_from(output_dir: str | Path, first_stale: int) -> int:
    """Delete Result_<i> folders with i >= first_stale (left over from a longer earlier run)."""
    removed = 0
    for index, folder in _result_folders(Path(output_dir)):
        if index >= first_stale:
            shutil.rmtree(folder)
            removed += 1
    return removed


def _result_folders(output_dir: Path) -> list[tuple[int, str]]:
    folders = []
    with os.scandir(output_dir) as listing:  # the entries' types come with the listing
        for entry in listing:
            match = RESULT_DIR_PATTERN.match(entry.name)
            if match and entry.is_dir():
                folders.append((int(match.group(1)), entry.path))
    return sorted(folders)


def find_output_raw(folder: Path, tensor_name: str = OUTPUT_TENSOR) -> Path | str:
    """The output tensor's file in one Result folder, or why none can be chosen."""
    raws = sorted(p for p in folder.rglob("*.raw") if p.is_file())
    if not raws:
        return "no .raw file"
    if len(raws) == 1:
        return raws[0]
    for name in _OUTPUT_FILE_NAMES:
        candidate = folder / name.replace(OUTPUT_TENSOR, tensor_name, 1)
        if candidate.is_file():
            return candidate
    # A TF tensor name holding '/' becomes nested folders: a/b/output:0.raw.
    stems = {p: re.sub(r"(:|_)0$", "", p.stem) for p in raws}
    named = [p for p, stem in stems.items() if stem == tensor_name.rsplit("/", 1)[-1]]
    if len(named) == 1:
        return named[0]
    shown = ", ".join(p.relative_to(folder).as_posix() for p in raws[:5])
    return f"{len(raws)} .raw files and none named {tensor_name!r} ({shown})"


def read_result(folder: Path, index: int, tensor_name: str = OUTPUT_TENSOR,
                num_classes: int = NUM_CLASSES) -> ResultEntry:
    """Read one Result folder; a missing, short or non-finite tensor becomes `problem`.

    The usual folder is one open: `<tensor>.raw` as a regular file is the one every layout's
    search would choose. Only when it is not there is the folder listed and searched."""
    found: Path | str = os.path.join(folder, f"{tensor_name}.raw")
    try:
        data = read_regular(found, "a result tensor", "")
    except EdgeFerError:
        found = _search_output_raw(Path(folder), tensor_name)
        if isinstance(found, str):
            return ResultEntry(index, None, found, Path(folder))
        try:
            data = read_regular(found, "a result tensor", "")
        except EdgeFerError as exc:
            return ResultEntry(index, None, str(exc).removeprefix(f"{found}: "), found)
    return _result_entry(index, data, num_classes, found)


def _search_output_raw(folder: Path, tensor_name: str) -> Path | str:
    """The output tensor of a folder without `<tensor>.raw`: its one .raw, or the runtime's name
    for the tensor; else why there is none."""
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except (FileNotFoundError, NotADirectoryError):
        return "missing Result folder"
    if len(entries) == 1 and entries[0].name.endswith(".raw") and entries[0].is_file():
        return Path(entries[0].path)  # one tensor: no search
    return find_output_raw(folder, tensor_name)


def _result_entry(index: int, data: bytes, num_classes: int, found: Path | str) -> ResultEntry:
    size = len(data)
    values = np.frombuffer(data, np.dtype("<f4"), count=size // 4)
    if values.size != num_classes or size != num_classes * 4:
        if values.size > num_classes and values.size % num_classes == 0 and size % 4 == 0:
            problem = (f"{size} bytes = {values.size // num_classes} images of {num_classes} "
                       f"float32 (a batched input line); expected one image per line")
        else:
            problem = (f"{size} bytes, expected {num_classes * 4} "
                       f"({num_classes} float32 probabilities)")
        return ResultEntry(index, None, problem, Path(found))
    if not np.isfinite(values).all():
        return ResultEntry(index, None, "holds NaN or infinite values", Path(found))
    return ResultEntry(index, values.astype(np.float32), None, Path(found))


def read_results(output_dir: str | Path, expected: int | None = None,
                 tensor_name: str = OUTPUT_TENSOR,
                 num_classes: int = NUM_CLASSES) -> list[ResultEntry]:
    """Every Result_<i> in output_dir, sorted by i.

    With `expected` (the input list's length) exactly indices 0..expected-1 are returned; without
    it, 0..highest found. Absent ones come back with problem 'missing Result folder'.
    """
    output_dir = Path(output_dir)
    settle(output_dir)  # a swap a killed writer left half done: finished first
    if not output_dir.is_dir():
        raise EdgeFerError(f"{output_dir}: no such output folder")
    found = dict(_result_folders(output_dir))
    if not found and not expected:
        raise EdgeFerError(f"{output_dir}: holds no Result_<i> folders (is it a runner's output?)")
    count = expected if expected is not None else max(found, default=-1) + 1
    if expected is None and count - len(found) > max(len(found), 100):
        raise EdgeFerError(
            f"{output_dir}: Result_0..Result_{count - 1} would be mostly missing: {len(found)} "
            f"Result folders found, the highest Result_{count - 1}; remove the stray ones or "
            f"pass the input list that was run (--input-list)")
    return [read_result(found[index] if index in found else result_dir(output_dir, index), index,
                        tensor_name, num_classes) for index in range(count)]


def stack_probs(entries: list[ResultEntry]) -> np.ndarray:
    """float32 [N, C] from entries that all hold probabilities; NaN rows for the others."""
    width = next((e.probs.size for e in entries if e.ok), NUM_CLASSES)
    rows = [e.probs if e.ok else np.full(width, np.nan, np.float32) for e in entries]
    return np.stack(rows) if rows else np.zeros((0, width), np.float32)
