"""The one definition of the seven FER2013 classes (CONVENTIONS: Labels)."""

from __future__ import annotations

from pathlib import Path

from edge_fer.atomic import atomic_write_text
from edge_fer.errors import EdgeFerError

LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(LABELS)


def label_index(name: str) -> int:
    """Map a class name (case-insensitive, e.g. an image-folder name) to its FER2013 index."""
    key = name.strip().lower()
    try:
        return LABELS.index(key)
    except ValueError:
        raise ValueError(f"unknown emotion {name!r}; expected one of {', '.join(LABELS)}") from None


def label_lookup(labels: tuple[str, ...] | list[str], where: str | Path) -> dict[str, int]:
    """A model's labels as name → output position, matched case-insensitively (true labels
    `Happy` and `happy` are one class); two labels that are one name that way are an error
    naming both positions and where the labels came from."""
    lookup: dict[str, int] = {}
    for position, name in enumerate(labels):
        key = name.strip().lower()
        if key in lookup:
            raise EdgeFerError(f"{where}: label {name!r} (position {position}) is label "
                               f"{labels[lookup[key]]!r} (position {lookup[key]}) again; each "
                               f"class needs its own name")
        lookup[key] = position
    return lookup


def labels_text() -> str:
    return "".join(f"{name}\n" for name in LABELS)


def write_labels(path: str | Path) -> Path:
    """Write labels.txt (one name per line, FER2013 order) atomically."""
    return atomic_write_text(Path(path), labels_text())
