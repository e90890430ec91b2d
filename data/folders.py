"""Image-folder data sets: `<root>/<emotion>/*` or `<root>/{train,val|test}/<emotion>/*`.

Folder names map to FER2013 indices case-insensitively (`labels.label_index`); every file goes
through the one preprocessing path (`preprocess.load_image` + `gray48_to_uint8`), decoded on a
thread pool because OpenCV releases the GIL. A file that cannot be decoded, or a folder that
names no emotion, is recorded in `problems` and the rest load.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.data.dataset import DataSet, Split, raise_if_empty, split_off_validation
from edge_fer.errors import EdgeFerError
from edge_fer.files import walk_files
from edge_fer.labels import LABELS, label_index
from edge_fer.preprocess import ImageError, gray48_to_uint8, load_image

# Folder name (lower case) → split name; the first present of VAL_PREFERENCE is validated on,
# so a tree with train/val/test selects on val and keeps test untouched.
SPLIT_FOLDERS = {"train": "train", "training": "train", "val": "val", "validation": "val",
                 "test": "test", "testing": "test"}
TRAIN = "train"
VAL_PREFERENCE = ("val", "test")
FLAT_VAL = "val"
FLAT_VAL_FRACTION = 0.1
MAX_WORKERS = 8


def visible_children(folder: Path) -> list[Path]:
    """Entries of a folder, sorted, without hidden ones (.DS_Store, .ipynb_checkpoints)."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def decode_face(path: Path) -> np.ndarray:
    """One file → uint8 [48, 48] through the shared preprocessing; ImageError names the file."""
    image = load_image(path)
    try:
        return gray48_to_uint8(image)
    except ImageError as exc:
        raise ImageError(f"{path}: {exc}") from None


def _decode_or_reason(path: Path) -> np.ndarray | str:
    import cv2

    try:
        return decode_face(path)
    except ImageError as exc:
        return str(exc)
    except (cv2.error, ValueError, MemoryError) as exc:  # one odd file must not stop the rest
        return f"{path}: cannot decode ({type(exc).__name__}: {str(exc).strip()[:200]})"


def decode_all(paths: list[Path]) -> list[np.ndarray | str]:
    """Decode on a thread pool, keeping order; each result is an image or a problem line."""
    if not paths:
        return []
    workers = min(MAX_WORKERS, (os.cpu_count() or 1) * 2, len(paths))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(reporter.track(pool.map(_decode_or_reason, paths), total=len(paths),
                                   description="decoding images"))


def emotion_files(folder: Path, problems: list[str]) -> list[tuple[Path, int]]:
    """(file, label) for every file under `<folder>/<emotion>/`; other folders, and folders that
    cannot be listed, are problems (each counted as one skipped entry)."""
    files: list[tuple[Path, int]] = []
    for child in visible_children(folder):
        if not child.is_dir():
            continue
        try:
            label = label_index(child.name)
        except ValueError:
            problems.append(f"{child}: folder name is not an emotion "
                            f"(expected one of {', '.join(LABELS)})")
            continue
        found, unlisted = walk_files(child)
        problems.extend(f"{folder}: {why}" for folder, why in unlisted)
        files.extend((path, label) for path in found)
    return files


def load_split(name: str, files: list[tuple[Path, int]], problems: list[str],
               strict: bool) -> Split:
    results = decode_all([path for path, _ in files])
    images, labels = [], []
    for (path, label), result in zip(files, results):
        if isinstance(result, str):
            if strict:
                raise EdgeFerError(result)
            problems.append(result)
            continue
        images.append(result)
        labels.append(label)
    if not images:
        return Split.empty(name)
    return Split(name, np.stack(images), np.asarray(labels, np.int64))


def load_image_folder(root: str | Path, *, strict: bool = False, seed: int = 0) -> DataSet:
    """Load an image-folder data set; a flat one is split 90/10 per class by `seed`."""
    root = Path(root)
    if not root.is_dir():
        raise EdgeFerError(f"{root}: no such folder")
    problems: list[str] = []
    children = [child for child in visible_children(root) if child.is_dir()]
    split_dirs = {SPLIT_FOLDERS[c.name.lower()]: c for c in children
                  if c.name.lower() in SPLIT_FOLDERS}
    if split_dirs:
        for child in children:
            if child.name.lower() not in SPLIT_FOLDERS:
                problems.append(f"{child}: not a split folder (expected train, val or test)")
        files = {name: emotion_files(folder, problems) for name, folder in split_dirs.items()}
    else:
        files = {TRAIN: emotion_files(root, problems)}
    if strict and problems:
        raise EdgeFerError(problems[0])
    if not any(files.values()):
        raise EdgeFerError(f"{root}: no images found; expected <emotion>/* or "
                           f"train/<emotion>/* (emotions: {', '.join(LABELS)})")
    splits = {name: load_split(name, files[name], problems, strict)
              for name in (TRAIN, *VAL_PREFERENCE) if name in files}
    splits.setdefault(TRAIN, Split.empty(TRAIN))
    val_split = next((name for name in VAL_PREFERENCE if name in splits), None)
    if val_split is None:
        splits[TRAIN], splits[FLAT_VAL] = split_off_validation(
            splits[TRAIN], FLAT_VAL_FRACTION, seed, FLAT_VAL)
        val_split = FLAT_VAL
    dataset = DataSet(source=str(root), splits=splits, train_split=TRAIN, val_split=val_split,
                      problems=problems)
    return raise_if_empty(dataset)
