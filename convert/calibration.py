"""Calibration samples for int8 conversion, and the check inputs artifacts are compared on.

`--calib` is either an SNPE input list (a `.txt` naming float32 raws of the model's input,
48×48×1 for edge-fer's own, CONVENTIONS: Raw tensors) or a data-set spec that `edge_fer.data.load_dataset` understands; without it the built-in
synthetic data set is used, its faces made into what the model takes by its input spec
(edge_fer/tensors/spec.py). Whatever was used is recorded in each manifest.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.atomic import atomic_dir
from edge_fer.errors import EdgeFerError
from edge_fer.files import require_regular
from edge_fer.finite import require_finite
from edge_fer.tensors.rawio import (
    read_image_raw,
    read_input_list,
    write_input_list,
    write_raw,
)
from edge_fer.tensors.spec import InputSpec, model_inputs, read_spec

DEFAULT_DATASET = "synthetic"
SYNTHETIC_VAL = 1200  # the built-in set's validation split, as `edge-fer train` draws it
SAMPLE_SEED = 0


@dataclass
class SampleSet:
    """float32 model inputs [N, *InputSpec.image_shape] and where they came from."""

    images: np.ndarray
    kind: str                      # "input-list" or "data-set"
    source: str                    # the list's path or the data-set spec
    input_list: Path | None = None  # the SNPE list itself, when the samples came from one
    note: str = ""
    split: str = ""                # the data set's split the samples were drawn from

    def __len__(self) -> int:
        return len(self.images)

    def describe(self) -> dict:
        facts = {"kind": self.kind, "source": self.source, "count": len(self)}
        if self.split:
            facts["split"] = self.split
        if self.note:
            facts["note"] = self.note
        return facts


def is_input_list(spec: str) -> bool:
    return spec.lower().endswith(".txt")


def load_input_list_samples(path: str | Path, spec: InputSpec | None = None) -> SampleSet:
    """Every raw of the list, each checked to exist and to hold exactly one float32 image of the
    model's input (and, when raw-inputs recorded it, made with the model's spec)."""
    spec = spec or InputSpec()
    listing = read_input_list(path)
    recorded = read_spec(listing.path.parent)
    if recorded is not None and not recorded[0].same_tensor(spec):
        raise EdgeFerError(f"{listing.path}: raws made for {recorded[0].describe()}, but the "
                           f"model takes {spec.describe()}; make them with edge-fer raw-inputs "
                           f"--model")
    raw_bytes = spec.elements * 4
    shown = "x".join(str(d) for d in spec.image_shape)
    images = []
    for number, raw in enumerate(listing.raw_paths(spec.name)):
        where = f"input {number + 1} of {listing.where(number)}"
        require_regular(raw, f"a calibration raw ({where})")
        if not raw.is_file():
            raise EdgeFerError(f"{raw}: calibration raw missing ({where})")
        size = raw.stat().st_size
        if size != raw_bytes:
            raise EdgeFerError(f"{raw}: {size:,} bytes, expected {raw_bytes:,} (one float32 "
                               f"{shown} image; {where})")
        image = read_image_raw(raw, "float32", spec)
        require_finite(image, str(raw), f"calibration raw ({where})")
        images.append(image)
    stacked = np.concatenate(images)
    if spec.same_tensor(InputSpec()) and (stacked.min() < 0.0 or stacked.max() > 1.0):
        reporter.warn(f"{listing.path}: raw values span [{stacked.min():.3g}, {stacked.max():.3g}]; "
                      f"the model takes pixels scaled to [0, 1]")
    return SampleSet(stacked, "input-list", str(listing.path), input_list=listing.path)


@functools.lru_cache(maxsize=4)
def _dataset_images(spec: str) -> tuple[tuple[str, np.ndarray], tuple[str, np.ndarray]]:
    """(calibration pool, check pool) of a data set: its training split to calibrate on, as a
    deployment would, and its validation split to check against the TF graph. The built-in set
    is drawn fresh, so its validation faces serve both (calibration takes the first ones)."""
    from edge_fer.data import load_dataset

    if spec.strip().lower() == DEFAULT_DATASET:  # only its validation faces are needed
        dataset = load_dataset(spec, synthetic_size=(0, SYNTHETIC_VAL))
        pool = ("val", dataset.val.images)
        return pool, pool
    dataset = load_dataset(spec)
    if dataset.problems:
        reporter.warn(f"{dataset.source}: skipped {len(dataset.problems)} bad rows/files")
    train = (dataset.train_split, dataset.train.images)
    val = (dataset.val_split, dataset.val.images)
    if len(train[1]) == 0 and len(val[1]) == 0:
        raise EdgeFerError(f"{spec}: data set has no images to calibrate with")
    return (train if len(train[1]) else val), (val if len(val[1]) else train)


def _dataset_order(count: int) -> np.ndarray:
    return np.random.default_rng(SAMPLE_SEED).permutation(count)


def load_calibration(spec: str | None, count: int, input_spec: InputSpec | None = None) -> SampleSet:
    """`count` calibration inputs from a data set (its training split; the built-in set's
    validation faces), or every input of an SNPE list, made as `input_spec` says."""
    input_spec = input_spec or InputSpec()
    if spec is not None and is_input_list(spec):
        return load_input_list_samples(spec, input_spec)
    name = spec or DEFAULT_DATASET
    (split, images), _ = _dataset_images(name)
    chosen = np.sort(_dataset_order(len(images))[:count])
    note = "built-in default (no --calib)" if spec is None else ""
    if len(chosen) < count:
        reporter.warn(f"{name}: only {len(chosen)} images to calibrate with (asked for {count})")
    return SampleSet(model_inputs(images[chosen], input_spec), "data-set", name, note=note,
                     split=split)


def load_check_samples(spec: str | None, count: int, calib_count: int,
                       input_spec: InputSpec | None = None) -> SampleSet:
    """Inputs to compare artifacts with the TF graph on: a data set's validation images not used
    for calibration (where there are enough), or the inputs of the calibration list."""
    input_spec = input_spec or InputSpec()
    if spec is not None and is_input_list(spec):
        samples = load_input_list_samples(spec, input_spec)
        return SampleSet(samples.images[:count], samples.kind, samples.source, samples.input_list,
                         note="the calibration list's own inputs")
    name = spec or DEFAULT_DATASET
    (_, calibration), (split, images) = _dataset_images(name)
    order = _dataset_order(len(images))
    if calibration is not images:  # a separate split: none of it was used for calibration
        chosen, note = order[:count], "validation split (calibration used the training split)"
    else:
        unused = order[calib_count:calib_count + count]
        chosen = unused if len(unused) >= min(count, len(images)) else order[:count]
        note = "validation images not used for calibration" if chosen is unused else ""
    return SampleSet(model_inputs(images[np.sort(chosen)], input_spec), "data-set", name,
                     note=note, split=split)


def write_snpe_input_list(samples: SampleSet, folder: Path) -> Path:
    """An SNPE input list for the samples: the user's own list as it is, else raws written into
    `folder` with absolute paths (the SDK tools resolve paths from their working folder)."""
    if samples.input_list is not None:
        return samples.input_list
    folder = Path(folder).resolve()
    with atomic_dir(folder) as tmp:
        raws = [write_raw(tmp / f"calib_{i:04d}.raw", image) for i, image in enumerate(samples.images)]
        write_input_list(tmp / "input_list.txt", [folder / raw.name for raw in raws], relative=False)
    return folder / "input_list.txt"


def snpe_input_list_path(samples_spec: str | None, folder: Path) -> Path:
    """Where the list passed to snpe-dlc-quantize is (or will be), without loading any data."""
    if samples_spec is not None and is_input_list(samples_spec):
        return Path(samples_spec)
    return Path(folder) / "input_list.txt"
