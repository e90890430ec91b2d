"""Checks of the paths a command was given, made before TensorFlow or any model loads, so that a
missing file, a folder where a file is wanted or an output path that is a file is one error line
within a second, not after the work that precedes its first use.

Each check raises the error the library would raise later (same words), only sooner; the
library keeps its own checks for callers of the Python API.
"""

from __future__ import annotations

from pathlib import Path

from edge_fer.errors import EdgeFerError


def require_exists(path: str | Path, what: str) -> Path:
    """`path` exists (a file or a folder); else `<path>: no such <what>`."""
    path = Path(path).expanduser()
    if not path.exists():
        raise EdgeFerError(f"{path}: no such {what}")
    return path


def require_file(path: str | Path | None, what: str) -> None:
    """`path` (when given) is an existing regular file."""
    if path is None:
        return
    from edge_fer.files import require_regular

    path = require_exists(path, what)
    article = "an" if what[0] in "aeiou" else "a"
    if path.is_dir():
        raise EdgeFerError(f"{path}: is a folder, not {article} {what}")
    require_regular(path, f"{article} {what}")


def require_model(model: str | Path | None) -> None:
    """A model argument: none (the shipped default), a shipped model's name, or an existing file
    or folder (a SavedModel)."""
    from edge_fer.training.pretrained import names_shipped_model

    if not names_shipped_model(model):
        require_exists(model, "model file")


def require_data(spec: str | None) -> None:
    """A data-set spec (train --data, evaluate --data): 'synthetic', a CSV or an image folder."""
    if spec is None:
        return
    from edge_fer.data import check_dataset_spec

    check_dataset_spec(spec)


def require_calib(spec: str | None) -> None:
    """convert --calib: an SNPE input list (.txt) or a data-set spec."""
    if spec is None:
        return
    if spec.lower().endswith(".txt"):
        require_file(spec, "input list (--calib)")
    else:
        require_data(spec)


def require_output_folder(path: str | Path | None) -> None:
    """An output folder may not exist yet, but may not be a file."""
    if path is not None and Path(path).exists() and not Path(path).is_dir():
        raise EdgeFerError(f"{path}: is a file, not a folder (the output is a folder: give a new path)")
