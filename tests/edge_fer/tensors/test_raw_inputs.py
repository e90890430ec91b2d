"""raw-inputs: folders of real and broken images, FER2013 CSV splits, uint8 raws, many cores."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from edge_fer import parallel
from edge_fer.cli import app
from edge_fer.errors import EdgeFerError
from edge_fer.preprocess import preprocess_file
from edge_fer.tensors import raw_inputs
from edge_fer.tensors.raw_inputs import raw_inputs_from_csv, raw_inputs_from_folder
from edge_fer.tensors.rawio import read_image_raw, read_input_list, read_manifest

SAMPLE_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "fer2013" / "sample"


def read_skipped(path: Path) -> dict[str, str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {Path(row["path"]).name: row["reason"] for row in csv.DictReader(handle)}


@pytest.fixture
def mixed_folder(tmp_path) -> Path:
    """Good images of every kind OpenCV reads, two broken files and a non-image file."""
    rng = np.random.default_rng(0)
    root = tmp_path / "imgs"
    (root / "Happy" / "deeper").mkdir(parents=True)
    (root / "zero.jpg").write_bytes(b"")
    (root / "notes.png").write_text("this is text, not a PNG\n")
    (root / "README.md").write_text("not an image")
    cv2.imwrite(str(root / "Happy" / "photo.jpg"), rng.integers(0, 256, (3000, 4000, 3), np.uint8))
    cv2.imwrite(str(root / "bgra.png"), rng.integers(0, 256, (64, 80, 4), np.uint8))
    cv2.imwrite(str(root / "Happy" / "deeper" / "deep16.png"),
                rng.integers(0, 65536, (50, 60), np.uint16))
    cv2.imwrite(str(root / "gray.bmp"), rng.integers(0, 256, (30, 40), np.uint8))
    return root


def test_done_when_70_sample_faces_become_raws_list_and_manifest(tmp_path):
    if not SAMPLE_DIR.is_dir():
        pytest.skip(f"the 70 real sample faces are not at {SAMPLE_DIR}")
    result = raw_inputs_from_folder(SAMPLE_DIR, tmp_path / "raws")
    assert (result.written, len(result.skipped), result.labelled) == (70, 0, 70)
    raws = read_input_list(result.input_list).raw_paths()
    assert len(raws) == 70 and all(p.stat().st_size == 9216 for p in raws)
    rows = read_manifest(result.manifest)
    assert [r.index for r in rows] == list(range(70))
    assert {r.label for r in rows} == {"angry", "disgust", "fear", "happy", "sad", "surprise",
                                       "neutral"}
    for row in rows[::23]:  # the raw is exactly the one preprocessing function's output
        assert Path(row.source_path).parent.name == row.label
        np.testing.assert_array_equal(read_image_raw(tmp_path / "raws" / row.raw_path)[0, ..., 0],
                                      preprocess_file(row.source_path))


def test_done_when_bad_files_are_listed_and_every_good_file_is_written(mixed_folder, tmp_path):
    done = CliRunner().invoke(app, ["raw-inputs", str(mixed_folder), "--out",
                                    str(tmp_path / "raws")])
    assert done.exit_code == 0, done.output
    assert "wrote 4 raws" in done.output and "skipped 2" in done.output
    skipped = read_skipped(tmp_path / "raws" / "skipped.csv")
    assert skipped == {"zero.jpg": "empty file", "notes.png": "not an image OpenCV can decode"}
    rows = read_manifest(tmp_path / "raws" / "manifest.csv")
    assert sorted(Path(r.source_path).name for r in rows) == ["bgra.png", "deep16.png",
                                                              "gray.bmp", "photo.jpg"]
    labels = {Path(r.source_path).name: r.label for r in rows}
    assert labels["photo.jpg"] == labels["deep16.png"] == "happy" and labels["gray.bmp"] == ""
    for row in rows:
        image = read_image_raw(tmp_path / "raws" / row.raw_path)
        assert image.shape == (1, 48, 48, 1) and 0.0 <= image.min() <= image.max() <= 1.0


def test_uint8_raws_are_2304_bytes_of_the_same_pixels(mixed_folder, tmp_path):
    floats = raw_inputs_from_folder(mixed_folder, tmp_path / "f", workers=1)
    bytes_ = raw_inputs_from_folder(mixed_folder, tmp_path / "u", dtype="uint8", workers=1)
    for f, u in zip(read_input_list(floats.input_list).raw_paths(),
                    read_input_list(bytes_.input_list).raw_paths()):
        assert u.stat().st_size == 2304
        np.testing.assert_allclose(read_image_raw(u, "uint8"), read_image_raw(f), atol=1e-6)


@pytest.mark.parametrize("pool", ["processes", "threads"])
def test_many_workers_give_the_same_raws_as_one_with_skips_between(tmp_path, monkeypatch, pool):
    rng = np.random.default_rng(1)
    (tmp_path / "in").mkdir()
    for i in range(24):
        cv2.imwrite(str(tmp_path / "in" / f"{i:02d}.png"),
                    rng.integers(0, 256, (60 + i, 50, 3), np.uint8))
    for broken in ("05.png", "11.png", "12.png"):  # numbering goes on without a gap
        (tmp_path / "in" / broken).write_bytes(b"broken")
    single = raw_inputs_from_folder(tmp_path / "in", tmp_path / "one", workers=1)
    monkeypatch.setattr(raw_inputs, "MAX_CHUNK", 2)  # many chunks decoded and written at once
    monkeypatch.setattr(parallel, "MIN_ITEMS_FOR_PROCESSES", 1 if pool == "processes" else 10**9)
    pooled = raw_inputs_from_folder(tmp_path / "in", tmp_path / "two", workers=3)
    pairs = list(zip(read_input_list(single.input_list).raw_paths(),
                     read_input_list(pooled.input_list).raw_paths(), strict=True))
    for a, b in pairs:
        assert a.name == b.name and a.read_bytes() == b.read_bytes()
    names = sorted(p.name for p in (tmp_path / "two").glob("*.raw"))
    assert pooled.written == 21 and names == [b.name for _, b in pairs]
    assert names[5] == "000005_06.raw" and names[10] == "000010_13.raw"
    assert [r.source_path for r in read_manifest(pooled.manifest)] == \
        [r.source_path for r in read_manifest(single.manifest)]


def test_a_second_smaller_run_leaves_no_stale_raws(mixed_folder, tmp_path):
    raw_inputs_from_folder(mixed_folder, tmp_path / "raws")
    (mixed_folder / "bgra.png").unlink()
    result = raw_inputs_from_folder(mixed_folder, tmp_path / "raws")
    assert len(list((tmp_path / "raws").glob("*.raw"))) == result.written == 3


def test_a_folder_holding_other_files_keeps_them_and_gets_no_temporaries(mixed_folder, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("the user's")
    (out / "000009_old.raw").write_bytes(b"stale")
    result = raw_inputs_from_folder(mixed_folder, out)
    names = sorted(p.name for p in out.iterdir())
    assert "notes.txt" in names and "000009_old.raw" not in names
    assert not [n for n in names if n.startswith(".")]
    assert len([n for n in names if n.endswith(".raw")]) == result.written == 4
    assert all(p.is_file() for p in read_input_list(result.input_list).raw_paths())


def test_nothing_readable_and_no_folder_are_errors(tmp_path):
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "a.jpg").write_bytes(b"")
    done = CliRunner().invoke(app, ["raw-inputs", str(tmp_path / "only"), "--out",
                                    str(tmp_path / "r")])
    assert done.exit_code == 1 and "no image could be read" in done.output
    done = CliRunner().invoke(app, ["raw-inputs", str(tmp_path / "absent")])
    assert done.exit_code == 1 and "no such folder" in done.output
    assert CliRunner().invoke(app, ["raw-inputs"]).exit_code == 2


def test_a_fer2013_csv_split_becomes_labelled_raws(tmp_path):
    rng = np.random.default_rng(2)
    lines = ["emotion,pixels,Usage"]
    for i in range(9):
        pixels = " ".join(str(v) for v in rng.integers(0, 256, 2304))
        lines.append(f"{i % 7},{pixels},{'PublicTest' if i % 3 else 'Training'}")
    lines.append("3,1 2 3,PublicTest")  # a damaged row: skipped and listed
    path = tmp_path / "fer2013.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    result = raw_inputs_from_csv(path, tmp_path / "raws", usage="PublicTest")
    assert result.written == 6 and result.labelled == 6
    rows = read_manifest(result.manifest)
    assert [r.label for r in rows] == ["disgust", "fear", "sad", "surprise", "angry", "disgust"]
    assert all(r.source_path.startswith("fer2013.csv.gz:") for r in rows)
    first_pixels = np.array(lines[2].split(",")[1].split(), dtype=np.float32) / 255.0
    np.testing.assert_allclose(read_image_raw(tmp_path / "raws" / rows[0].raw_path).ravel(),
                               first_pixels, atol=1e-7)
    assert "fer2013.csv.gz:11" in (tmp_path / "raws" / "skipped.csv").read_text()


@pytest.mark.parametrize("pool", ["processes", "threads"])
def test_a_raw_that_cannot_be_written_fails_the_run_and_leaves_no_output(tmp_path, monkeypatch, pool):
    monkeypatch.setattr(parallel, "MIN_ITEMS_FOR_PROCESSES", 1 if pool == "processes" else 10**9)
    (tmp_path / "in").mkdir()
    for i in range(9):
        cv2.imwrite(str(tmp_path / "in" / f"{i}.png"), np.full((48, 48), 20 * i, np.uint8))
    monkeypatch.setattr(raw_inputs, "MAX_CHUNK", 2)
    real_write = raw_inputs.write_image_raw

    def full_after_five(path, *args, **kwargs):
        if Path(path).name.startswith("000005"):
            raise OSError(28, "No space left on device", str(path))
        return real_write(path, *args, **kwargs)

    monkeypatch.setattr(raw_inputs, "write_image_raw", full_after_five)
    with pytest.raises(EdgeFerError, match="no space left"):
        raw_inputs_from_folder(tmp_path / "in", tmp_path / "raws", workers=2)
    assert not (tmp_path / "raws").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".raws")]
    monkeypatch.setattr(raw_inputs, "write_image_raw", real_write)
    assert raw_inputs_from_folder(tmp_path / "in", tmp_path / "raws", workers=2).written == 9


def test_detect_faces_counts_the_images_without_a_face(mixed_folder, tmp_path):
    result = raw_inputs_from_folder(mixed_folder, tmp_path / "raws", detect_faces=True, workers=1)
    assert result.written == 4 and len(result.no_face) == 4  # noise holds no face
    assert result.to_dict()["no_face"] == 4
    assert raw_inputs_from_folder(mixed_folder, tmp_path / "plain").no_face is None
    shown = CliRunner().invoke(app, ["raw-inputs", str(mixed_folder), "--out",
                                     str(tmp_path / "cli"), "--detect-faces", "-q"])
    assert shown.exit_code == 0 and "no face found in 4 of 4 images" in shown.output


def test_raws_inside_the_image_folder_are_refused_and_linked_class_folders_read(tmp_path):
    """A second run would read its own output back: refused before any work. A class folder
    that is a symbolic link is read like the others (raw-inputs skipped it before)."""
    faces = tmp_path / "faces"
    for label in ("happy", "sad"):
        (tmp_path / "store" / label).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "store" / label / "a.png"), np.full((48, 48), 9, np.uint8))
    (faces / "happy").mkdir(parents=True)
    cv2.imwrite(str(faces / "happy" / "b.png"), np.full((48, 48), 9, np.uint8))
    (faces / "sad").symlink_to(tmp_path / "store" / "sad", target_is_directory=True)
    shown = CliRunner().invoke(app, ["raw-inputs", str(faces), "-o", str(faces / "raws")])
    assert shown.exit_code == 1 and "is inside the input folder" in shown.output, shown.output
    assert sorted(p.name for p in faces.iterdir()) == ["happy", "sad"]
    result = raw_inputs_from_folder(faces, tmp_path / "raws", workers=1)
    labels = sorted(row.label for row in read_manifest(result.manifest))
    assert labels == ["happy", "sad"]
