"""Image-folder loader: flat and train/val/test layouts, bad files recorded, any-case names."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_fer.data.folders import load_image_folder
from edge_fer.data.synthetic import generate, render_png_folder
from edge_fer.errors import EdgeFerError
from edge_fer.labels import LABELS, NUM_CLASSES

PER_CLASS = 5


def expected_faces(seed: int) -> dict[tuple[str, int], np.ndarray]:
    """(emotion, i) → the pixels render_png_folder writes to <emotion>/<i>.png."""
    images, labels = generate(PER_CLASS * NUM_CLASSES, seed)
    return {(name, i): images[index] for label, name in enumerate(LABELS)
            for i, index in enumerate(np.flatnonzero(labels == label))}


def add_bad_files(emotion_dir: Path) -> list[Path]:
    empty = emotion_dir / "empty.jpg"
    empty.write_bytes(b"")
    text = emotion_dir / "notes.png"
    text.write_text("not a picture\n")
    return [empty, text]


def find(images: np.ndarray, face: np.ndarray) -> int:
    return sum(np.array_equal(image, face) for image in images)


def test_flat_layout_loads_good_files_and_reports_bad_ones(tmp_path):
    root = tmp_path / "flat"
    render_png_folder(root, PER_CLASS, seed=11)
    bad = add_bad_files(root / "happy")
    (root / "bored").mkdir()
    cv2.imwrite(str(root / "bored" / "0.png"), np.zeros((48, 48), np.uint8))
    (root / ".hidden").mkdir()  # hidden folders and files are not data
    (root / "fear" / ".DS_Store").write_bytes(b"\x00\x01")

    dataset = load_image_folder(root, seed=0)

    assert (dataset.train_split, dataset.val_split) == ("train", "val")
    assert len(dataset.train) + len(dataset.val) == PER_CLASS * NUM_CLASSES
    assert list(dataset.val.class_counts()) == [1] * NUM_CLASSES  # 10 %, at least one per class
    assert sorted(dataset.problems) == sorted([
        f"{root / 'bored'}: folder name is not an emotion (expected one of {', '.join(LABELS)})",
        f"{bad[0]}: empty file",
        f"{bad[1]}: not an image OpenCV can decode",
    ])
    # every good file arrives intact under its folder's label
    images = np.concatenate([dataset.train.images, dataset.val.images])
    labels = np.concatenate([dataset.train.labels, dataset.val.labels])
    for (name, _), face in expected_faces(11).items():
        hits = [i for i, image in enumerate(images) if np.array_equal(image, face)]
        assert len(hits) == 1 and LABELS[labels[hits[0]]] == name


def test_flat_split_is_deterministic_per_seed(tmp_path):
    root = tmp_path / "flat"
    render_png_folder(root, PER_CLASS * 2, seed=12)
    first, again, other = (load_image_folder(root, seed=s) for s in (3, 3, 4))
    np.testing.assert_array_equal(first.val.images, again.val.images)
    assert not np.array_equal(first.val.images, other.val.images)


def test_train_test_tree_with_mixed_case_names(tmp_path):
    root = tmp_path / "tree"
    render_png_folder(root / "Train", PER_CLASS, seed=13)
    render_png_folder(root / "test", 2, seed=14)
    (root / "Train" / "happy").rename(root / "Train" / "HAPPY")
    bad = add_bad_files(root / "test" / "sad")
    (root / "extras").mkdir()

    dataset = load_image_folder(root)

    assert (dataset.train_split, dataset.val_split) == ("train", "test")
    assert list(dataset.train.class_counts()) == [PER_CLASS] * NUM_CLASSES
    assert list(dataset.val.class_counts()) == [2] * NUM_CLASSES
    assert len(dataset.problems) == 3
    assert any(p.startswith(f"{root / 'extras'}: not a split folder") for p in dataset.problems)
    assert {p.split(": ")[0] for p in dataset.problems} >= {str(b) for b in bad}
    happy = expected_faces(13)[("happy", 3)]
    assert find(dataset.train.images, happy) == 1
    assert dataset.train.labels[[np.array_equal(i, happy) for i in dataset.train.images]][0] == 3


def test_val_folder_is_preferred_and_test_kept(tmp_path):
    root = tmp_path / "tree"
    for split, seed in (("train", 1), ("validation", 2), ("test", 3)):
        render_png_folder(root / split, 1, seed=seed)
    dataset = load_image_folder(root)
    assert (dataset.train_split, dataset.val_split) == ("train", "val")
    assert list(dataset.splits) == ["train", "val", "test"]
    assert [len(s) for s in dataset.splits.values()] == [NUM_CLASSES] * 3


def test_other_image_kinds_go_through_the_one_preprocessing(tmp_path):
    root = tmp_path / "kinds"
    (root / "neutral").mkdir(parents=True)
    colour = np.zeros((90, 120, 3), np.uint8)
    colour[:, :60] = (0, 0, 255)
    cv2.imwrite(str(root / "neutral" / "colour.jpg"), colour)
    cv2.imwrite(str(root / "neutral" / "deep.png"), np.full((30, 30), 40000, np.uint16))
    dataset = load_image_folder(root)
    images = np.concatenate([dataset.train.images, dataset.val.images])
    assert images.shape == (2, 48, 48) and images.dtype == np.uint8 and not dataset.problems
    assert (images == 40000 >> 8).all(axis=(1, 2)).sum() == 1  # 16-bit scaled to 8-bit


def test_strict_raises_on_the_first_bad_file(tmp_path):
    root = tmp_path / "flat"
    render_png_folder(root, 1, seed=15)
    empty, _ = add_bad_files(root / "angry")
    with pytest.raises(EdgeFerError, match="empty file"):
        load_image_folder(root, strict=True)
    empty.unlink()
    (root / "angry" / "notes.png").unlink()
    (root / "bored").mkdir()
    with pytest.raises(EdgeFerError, match="bored: folder name is not an emotion"):
        load_image_folder(root, strict=True)


def test_no_images_is_a_one_line_error(tmp_path):
    with pytest.raises(EdgeFerError, match="no such folder"):
        load_image_folder(tmp_path / "absent")
    (tmp_path / "empty" / "happy").mkdir(parents=True)
    with pytest.raises(EdgeFerError, match="no images found"):
        load_image_folder(tmp_path / "empty")
    add_bad_files(tmp_path / "empty" / "happy")
    with pytest.raises(EdgeFerError, match="no usable images; first problem: .*empty.jpg"):
        load_image_folder(tmp_path / "empty")
