"""The in-memory form of every data set: named splits of uint8 48×48 faces and FER2013 labels.

Loaders (CSV, image folders, synthetic) all return a `DataSet`, so the trainer and the evaluators
never care where the pixels came from. Images stay uint8 until `preprocess.to_model_input`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edge_fer.errors import EdgeFerError
from edge_fer.labels import NUM_CLASSES
from edge_fer.preprocess import INPUT_SIZE


@dataclass
class Split:
    """One split: images uint8 [N, 48, 48] and labels int64 [N] (FER2013 indices 0..6).

    `lines`, when the source is a CSV, holds each row's line number, so a result can be traced
    back to the file.
    """

    name: str
    images: np.ndarray
    labels: np.ndarray
    lines: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.images = np.ascontiguousarray(self.images, dtype=np.uint8).reshape(
            -1, INPUT_SIZE, INPUT_SIZE)
        self.labels = np.ascontiguousarray(self.labels, dtype=np.int64).reshape(-1)
        if len(self.images) != len(self.labels):
            raise ValueError(f"split {self.name!r}: {len(self.images)} images but "
                             f"{len(self.labels)} labels")
        if self.labels.size and (self.labels.min() < 0 or self.labels.max() >= NUM_CLASSES):
            raise ValueError(f"split {self.name!r}: labels outside 0..{NUM_CLASSES - 1}")
        if self.lines is not None:
            self.lines = np.asarray(self.lines, dtype=np.int64).reshape(-1)
            if len(self.lines) != len(self.labels):
                raise ValueError(f"split {self.name!r}: {len(self.lines)} line numbers for "
                                 f"{len(self.labels)} images")

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> np.ndarray:
        """Images per class, int64 [7], in FER2013 label order."""
        return np.bincount(self.labels, minlength=NUM_CLASSES)

    def subset(self, indices: np.ndarray, name: str | None = None) -> Split:
        lines = None if self.lines is None else self.lines[indices]
        return Split(name or self.name, self.images[indices], self.labels[indices], lines)

    @classmethod
    def empty(cls, name: str) -> Split:
        return cls(name, np.zeros((0, INPUT_SIZE, INPUT_SIZE), np.uint8), np.zeros(0, np.int64))


@dataclass
class DataSet:
    """What was loaded, its splits, which to train / validate on, and every row or file skipped."""

    source: str
    splits: dict[str, Split]
    train_split: str
    val_split: str
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for role, name in (("train", self.train_split), ("val", self.val_split)):
            if name not in self.splits:
                raise ValueError(f"{self.source}: {role} split {name!r} is not among "
                                 f"{sorted(self.splits)}")

    @property
    def train(self) -> Split:
        return self.splits[self.train_split]

    @property
    def val(self) -> Split:
        return self.splits[self.val_split]

    def summary(self) -> str:
        """One line for the log: split sizes, roles and how many rows/files were skipped."""
        roles = {self.train_split: " (train)", self.val_split: " (val)"}
        parts = [f"{name} {len(split)}{roles.get(name, '')}" for name, split in self.splits.items()]
        skipped = f"; {len(self.problems)} skipped" if self.problems else ""
        return f"{self.source}: {', '.join(parts)}{skipped}"


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Deterministically hold out `fraction` of each class: (keep indices, held-out indices).

    Each class with at least two members gives at least one held-out item, so a small class is
    still seen at validation; both index arrays are sorted, so the original order is kept.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for cls in range(NUM_CLASSES):
        members = np.flatnonzero(labels == cls)
        count = round(len(members) * fraction)
        if len(members) >= 2:
            count = min(max(count, 1), len(members) - 1)
        held.append(rng.permutation(members)[:count])
    held_out = np.sort(np.concatenate(held)).astype(np.int64)
    keep = np.setdiff1d(np.arange(len(labels), dtype=np.int64), held_out, assume_unique=True)
    return keep, held_out


def split_off_validation(split: Split, fraction: float, seed: int, val_name: str
                         ) -> tuple[Split, Split]:
    """Carve a stratified validation split out of a training split."""
    keep, held_out = stratified_holdout(split.labels, fraction, seed)
    return split.subset(keep), split.subset(held_out, val_name)


def raise_if_empty(dataset: DataSet) -> DataSet:
    """A data set with no image at all is an error, named by its first problem when there is one."""
    if any(len(split) for split in dataset.splits.values()):
        return dataset
    first = f"; first problem: {dataset.problems[0]}" if dataset.problems else ""
    raise EdgeFerError(f"{dataset.source}: no usable images{first}")

