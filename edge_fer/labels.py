"""The one definition of the seven FER2013 classes (CONVENTIONS: Labels)."""

from __future__ import annotations

from pathlib import Path

from edge_fer.atomic import atomic_write_text

LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(LABELS)


def label_index(name: str) -> int:
    """Map a class name (case-insensitive, e.g. an image-folder name) to its FER2013 index."""
    key = name.strip().lower()
    try:
        return LABELS.index(key)
    except ValueError:
        raise ValueError(f"unknown emotion {name!r}; expected one of {', '.join(LABELS)}") from None


def labels_text() -> str:
    return "".join(f"{name}\n" for name in LABELS)


def write_labels(path: str | Path) -> Path:
    """Write labels.txt (one name per line, FER2013 order) atomically."""
    return atomic_write_text(Path(path), labels_text())
