"""FER2013 CSV loader: splits by Usage, bad rows by line number, strict mode, gzip by magic."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from edge_fer.data.fer2013_csv import load_fer2013_csv
from edge_fer.data.synthetic import generate
from edge_fer.errors import EdgeFerError

HEADER = "emotion,pixels,Usage"


def pixel_text(image: np.ndarray) -> str:
    return " ".join(str(int(v)) for v in image.reshape(-1))


def good_rows(n: int, usage: str, seed: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    images, labels = generate(n, seed)
    rows = [f"{label},{pixel_text(image)},{usage}" for image, label in zip(images, labels)]
    return rows, images, labels


@pytest.fixture
def messy_csv(tmp_path) -> tuple[Path, dict]:
    """A CSV whose lines 4, 6, 7, 9, 10 and 11 are bad in different ways (line 1 is the header)."""
    train_rows, train_images, train_labels = good_rows(8, "Training", seed=1)
    val_rows, val_images, val_labels = good_rows(3, "PublicTest", seed=2)
    some_pixels = pixel_text(train_images[0])
    too_bright = some_pixels.split()
    too_bright[5] = "300"
    lines = [
        HEADER,                                              # 1
        train_rows[0],                                       # 2
        train_rows[1],                                       # 3
        f"3,{' '.join(['7'] * 2303)},Training",              # 4: 2303 values
        train_rows[2],                                       # 5
        f"2,{some_pixels.replace(' ', ' x ', 1)},Training",  # 6: non-number (and 2305 tokens)
        f"9,{some_pixels},Training",                         # 7: label 9
        train_rows[3],                                       # 8
        "4,1 2 3",                                           # 9: short row (no Usage)
        f"1,{' '.join(too_bright)},PublicTest",               # 10: 300 out of range
        f"5,{some_pixels},Whatever",                         # 11: unknown Usage
        "",                                                  # 12: blank line, ignored
        *train_rows[4:],                                     # 13..16
        *val_rows,                                           # 17..19
    ]
    path = tmp_path / "messy.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = {
        "bad_lines": [4, 6, 7, 9, 10, 11],
        "train_images": train_images, "train_labels": train_labels,
        "train_lines": [2, 3, 5, 8, 13, 14, 15, 16],
        "val_images": val_images, "val_labels": val_labels, "val_lines": [17, 18, 19],
    }
    return path, expected


def test_good_rows_kept_and_bad_lines_named(messy_csv):
    path, expected = messy_csv
    dataset = load_fer2013_csv(path)
    assert (dataset.train_split, dataset.val_split) == ("Training", "PublicTest")
    assert list(dataset.splits) == ["Training", "PublicTest"]
    np.testing.assert_array_equal(dataset.train.images, expected["train_images"])
    np.testing.assert_array_equal(dataset.train.labels, expected["train_labels"])
    np.testing.assert_array_equal(dataset.val.images, expected["val_images"])
    np.testing.assert_array_equal(dataset.val.labels, expected["val_labels"])
    assert dataset.train.images.dtype == np.uint8 and dataset.train.labels.dtype == np.int64
    assert list(dataset.train.lines) == expected["train_lines"]
    assert list(dataset.val.lines) == expected["val_lines"]

    lines = [int(problem.split(":")[1]) for problem in dataset.problems]
    assert lines == expected["bad_lines"]
    assert all(problem.startswith(f"{path}:") for problem in dataset.problems)
    reasons = dict(zip(lines, dataset.problems))
    assert "2303 pixel values, expected 2304" in reasons[4]
    assert "'x' is not an integer" in reasons[6]
    assert "emotion 9 is outside 0-6" in reasons[7]
    assert "2 fields, expected 3 (missing usage)" in reasons[9]
    assert "300 is outside 0..255" in reasons[10]
    assert "unknown Usage 'Whatever'" in reasons[11]


def test_strict_raises_at_first_bad_line(messy_csv):
    path, _ = messy_csv
    with pytest.raises(EdgeFerError, match=rf"^{path}:4: 2303 pixel values"):
        load_fer2013_csv(path, strict=True)


def test_gzip_and_plain_give_the_same_result(messy_csv, tmp_path):
    path, _ = messy_csv
    gz = tmp_path / "messy.csv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    disguised = tmp_path / "disguised.csv"  # gzip with a plain suffix: detected by magic bytes
    disguised.write_bytes(gz.read_bytes())
    plain = load_fer2013_csv(path)
    for other_path in (gz, disguised):
        other = load_fer2013_csv(other_path)
        assert list(other.splits) == list(plain.splits)
        for name, split in plain.splits.items():
            np.testing.assert_array_equal(other.splits[name].images, split.images)
            np.testing.assert_array_equal(other.splits[name].labels, split.labels)
        assert [p.replace(str(other_path), "F") for p in other.problems] == \
            [p.replace(str(path), "F") for p in plain.problems]


def test_private_test_is_validation_without_public_test(tmp_path):
    train, _, _ = good_rows(14, "Training", seed=3)
    private, _, _ = good_rows(7, "PrivateTest", seed=4)
    path = tmp_path / "private.csv"
    path.write_text("\n".join([HEADER, *train, *private]) + "\n")
    dataset = load_fer2013_csv(path)
    assert dataset.val_split == "PrivateTest"
    assert (len(dataset.train), len(dataset.val)) == (14, 7)


def test_training_only_gets_a_stratified_deterministic_holdout(tmp_path):
    rows, _, _ = good_rows(140, "Training", seed=5)
    path = tmp_path / "train_only.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    first = load_fer2013_csv(path, seed=7)
    again = load_fer2013_csv(path, seed=7)
    other = load_fer2013_csv(path, seed=8)
    assert (first.train_split, first.val_split) == ("Training", "Validation")
    assert list(first.val.class_counts()) == [2] * 7  # 10 % of 20 per class
    assert len(first.train) == 126
    np.testing.assert_array_equal(first.val.images, again.val.images)
    assert not np.array_equal(first.val.lines, other.val.lines)
    # the two parts are the file's rows, each exactly once
    assert sorted([*first.train.lines, *first.val.lines]) == list(range(2, 142))


def test_csv_without_usage_column_is_all_training(tmp_path):
    images, labels = generate(21, 6)
    path = tmp_path / "kaggle_train.csv"
    path.write_text("emotion,pixels\n" + "".join(
        f"{label},{pixel_text(image)}\n" for image, label in zip(images, labels)))
    dataset = load_fer2013_csv(path)
    assert len(dataset.train) + len(dataset.val) == 21 and not dataset.problems


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    (b"", "empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV file"),
    (b"label,image\n1,2\n", "header lacks emotion, pixels"),
    (b"emotion,pixels,Usage\n\xff\xfe\xfa bad bytes\n", "not UTF-8"),
    (gzip.compress(b"emotion,pixels,Usage\n" + b"3,1 2 3,Training\n" * 50, mtime=0)[:-20], "gzip"),
])
def test_unreadable_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(EdgeFerError, match=message) as info:
        load_fer2013_csv(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_all_rows_bad_is_an_error_naming_the_first(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(f"{HEADER}\n9,1 2,Training\n")
    with pytest.raises(EdgeFerError, match=r"no usable images; first problem: .*bad.csv:2:"):
        load_fer2013_csv(path)
