"""load_dataset dispatch, the shared split helpers, and the real FER2013 copy beside the repo."""

from __future__ import annotations

import numpy as np
import pytest

from edge_fer.data import load_dataset
from edge_fer.data.dataset import DataSet, Split, stratified_holdout
from edge_fer.data.synthetic import generate, render_png_folder
from edge_fer.errors import EdgeFerError
from edge_fer.labels import NUM_CLASSES


def test_dispatch_synthetic_csv_and_folder(tmp_path):
    synthetic = load_dataset("Synthetic", seed=2, synthetic_size=(35, 14))
    assert synthetic.source == "synthetic"
    assert (len(synthetic.train), len(synthetic.val)) == (35, 14)

    images, labels = generate(14, seed=3)
    csv_path = tmp_path / "fer.csv"
    csv_path.write_text("emotion,pixels,Usage\n" + "".join(
        f"{label},{' '.join(map(str, image.reshape(-1)))},{'Training' if i < 7 else 'PublicTest'}\n"
        for i, (image, label) in enumerate(zip(images, labels))))
    from_csv = load_dataset(csv_path)
    assert from_csv.source == str(csv_path) and from_csv.val_split == "PublicTest"
    np.testing.assert_array_equal(from_csv.train.images, images[:7])
    assert load_dataset(str(csv_path)).val_split == "PublicTest"

    render_png_folder(tmp_path / "faces", 2, seed=4)
    from_folder = load_dataset(tmp_path / "faces")
    assert len(from_folder.train) + len(from_folder.val) == 2 * NUM_CLASSES


def test_unknown_spec_is_a_one_line_error_naming_it(tmp_path):
    missing = tmp_path / "nowhere.csv.gz"
    with pytest.raises(EdgeFerError, match="no such file or folder") as info:
        load_dataset(missing)
    assert str(info.value).startswith(f"{missing}:") and "\n" not in str(info.value)
    with pytest.raises(EdgeFerError, match="^synthetc: no such file"):
        load_dataset("synthetc")


def test_stratified_holdout_keeps_every_class_and_every_index():
    labels = np.repeat(np.arange(NUM_CLASSES), [50, 3, 20, 1, 10, 10, 2])
    keep, held = stratified_holdout(labels, 0.1, seed=0)
    assert sorted([*keep, *held]) == list(range(len(labels)))
    assert list(np.bincount(labels[held], minlength=NUM_CLASSES)) == [5, 1, 2, 0, 1, 1, 1]
    np.testing.assert_array_equal(held, stratified_holdout(labels, 0.1, seed=0)[1])


def test_split_and_dataset_check_their_contracts():
    with pytest.raises(ValueError, match="labels outside"):
        Split("x", np.zeros((1, 48, 48), np.uint8), np.array([7]))
    with pytest.raises(ValueError, match="2 images but 1 labels"):
        Split("x", np.zeros((2, 48, 48), np.uint8), np.array([0]))
    with pytest.raises(ValueError, match="val split 'val' is not among"):
        DataSet("s", {"train": Split.empty("train")}, "train", "val")


def test_real_fer2013_csv_and_sample(fer2013_dir):
    """The shared copy: Training 28,709 and PublicTest 3,589 rows, 70 sample images (10 a class)."""
    dataset = load_dataset(fer2013_dir / "fer2013.csv.gz", strict=True)
    assert {name: len(split) for name, split in dataset.splits.items()} == {
        "Training": 28709, "PublicTest": 3589}
    assert (dataset.train_split, dataset.val_split) == ("Training", "PublicTest")
    assert list(dataset.train.class_counts()) == [3995, 436, 4097, 7215, 4830, 3171, 4965]

    sample = load_dataset(fer2013_dir / "sample", strict=True)
    counts = sample.train.class_counts() + sample.val.class_counts()
    assert list(counts) == [10] * NUM_CLASSES and not sample.problems
