"""Synthetic faces: deterministic, balanced, right shape; classes that differ but overlap."""

from __future__ import annotations

import cv2
import numpy as np

from edge_fer.data.synthetic import generate, render_png_folder, synthetic_dataset
from edge_fer.labels import LABELS, NUM_CLASSES


def test_same_seed_same_faces_other_seed_other_faces():
    images, labels = generate(40, seed=3)
    again_images, again_labels = generate(40, seed=3)
    other_images, _ = generate(40, seed=4)
    np.testing.assert_array_equal(images, again_images)
    np.testing.assert_array_equal(labels, again_labels)
    assert not np.array_equal(images, other_images)


def test_shapes_dtypes_and_balance():
    images, labels = generate(700, seed=0)
    assert images.shape == (700, 48, 48) and images.dtype == np.uint8
    assert labels.shape == (700,) and labels.dtype == np.int64
    assert list(np.bincount(labels, minlength=NUM_CLASSES)) == [100] * NUM_CLASSES
    counts = np.bincount(generate(12, seed=1)[1], minlength=NUM_CLASSES)
    assert counts.max() - counts.min() <= 1 and counts.sum() == 12
    assert generate(0, seed=0)[0].shape == (0, 48, 48)
    # real contrast in every face, mid-gray on average, little clipping at 0 or 255
    assert (images.std(axis=(1, 2)) > 10).all() and 30 < images.std(axis=(1, 2)).mean() < 80
    assert 90 < images.mean() < 170
    assert (images == 0).mean() < 0.05 and (images == 255).mean() < 0.05


def test_classes_differ_but_overlap():
    """A nearest-class-mean classifier on standardised pixels: well above chance, far from 100 %."""

    def standardise(images):
        flat = images.reshape(len(images), -1).astype(np.float32)
        flat -= flat.mean(axis=1, keepdims=True)
        return flat / (flat.std(axis=1, keepdims=True) + 1e-6)

    train_images, train_labels = generate(1400, seed=1)
    test_images, test_labels = generate(700, seed=2)
    train, test = standardise(train_images), standardise(test_images)
    means = np.stack([train[train_labels == c].mean(axis=0) for c in range(NUM_CLASSES)])
    distances = ((test[:, None, :] - means[None]) ** 2).sum(axis=-1)
    accuracy = (distances.argmin(axis=1) == test_labels).mean()
    assert 0.25 < accuracy < 0.8, accuracy  # chance is 1/7 ≈ 0.14


def test_dataset_splits_come_from_different_streams():
    dataset = synthetic_dataset(70, 21, seed=5)
    assert (dataset.source, dataset.train_split, dataset.val_split) == ("synthetic", "train", "val")
    assert (len(dataset.train), len(dataset.val)) == (70, 21) and not dataset.problems
    assert not any((dataset.train.images == face).all(axis=(1, 2)).any()
                   for face in dataset.val.images)
    np.testing.assert_array_equal(synthetic_dataset(70, 21, seed=5).val.images, dataset.val.images)
    assert not np.array_equal(synthetic_dataset(70, 21, seed=6).train.images,
                              dataset.train.images)


def test_render_png_folder_writes_the_generated_faces(tmp_path):
    out = tmp_path / "faces"
    written = render_png_folder(out, 3, seed=9)
    assert len(written) == 3 * NUM_CLASSES
    assert sorted(p.relative_to(out).as_posix() for p in written) == sorted(
        f"{name}/{i}.png" for name in LABELS for i in range(3))
    assert not [p for p in out.rglob("*") if p.is_file() and p.suffix != ".png"]  # no temp files
    images, labels = generate(3 * NUM_CLASSES, seed=9)
    first_fear = images[np.flatnonzero(labels == LABELS.index("fear"))[0]]
    np.testing.assert_array_equal(cv2.imread(str(out / "fear" / "0.png"), cv2.IMREAD_UNCHANGED),
                                  first_fear)

