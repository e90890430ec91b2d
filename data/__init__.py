"""Data sets for training and evaluation: FER2013 CSV, image folders, or built-in synthetic faces.

`load_dataset` is the one entry point; every loader returns a `DataSet` of uint8 48×48 faces
with FER2013 labels, and records each skipped row or file in `DataSet.problems`.

Wing 1 of the layout (see edge_fer/__init__.py): imports only the root modules.
"""

from __future__ import annotations

from pathlib import Path

from edge_fer.data.dataset import DataSet, Split
from edge_fer.errors import EdgeFerError
from edge_fer.files import require_regular

SYNTHETIC = "synthetic"

__all__ = ["SYNTHETIC", "DataSet", "Split", "check_dataset_spec", "load_dataset"]


def load_dataset(spec: str | Path, *, strict: bool = False, seed: int = 0,
                 synthetic_size: tuple[int, int] = (6000, 1200)) -> DataSet:
    """spec: "synthetic" | path to FER2013 CSV (.csv or .csv.gz) | image folder.

    `seed` draws the synthetic faces and any validation split carved out of a training split;
    `strict` turns the first bad row or file into an error instead of a recorded problem.
    """
    check_dataset_spec(spec)
    if isinstance(spec, str) and spec.strip().lower() == SYNTHETIC:
        from edge_fer.data.synthetic import synthetic_dataset

        n_train, n_val = synthetic_size
        return synthetic_dataset(n_train, n_val, seed=seed)
    path = Path(spec).expanduser()
    if path.is_dir():
        from edge_fer.data.folders import load_image_folder

        return load_image_folder(path, strict=strict, seed=seed)
    from edge_fer.data.fer2013_csv import load_fer2013_csv

    return load_fer2013_csv(path, strict=strict, seed=seed)


def check_dataset_spec(spec: str | Path) -> None:
    """Refuse a spec load_dataset cannot read (nothing there, a FIFO, ...) without reading it:
    the commands call this before any model loads."""
    if isinstance(spec, str) and spec.strip().lower() == SYNTHETIC:
        return
    path = Path(spec).expanduser()
    if path.is_dir() or path.is_file():
        return
    require_regular(path, "a FER2013 CSV or an image folder")
    raise EdgeFerError(f"{spec}: no such file or folder; expected 'synthetic', a FER2013 CSV "
                       f"(.csv or .csv.gz) or an image folder (<emotion>/* or train/<emotion>/*)")
