"""edge_fer.files: read_regular (one open per file; anything but a regular file refused after the
open, without blocking on a FIFO with no writer, in the message each reader has always given) and
walk_files (symbolic links to folders followed, loops ended and reported)."""

from __future__ import annotations

import os
import threading

import pytest

from edge_fer.errors import EdgeFerError
from edge_fer.files import read_regular, walk_files


def read_within(path, *args, seconds: float = 10.0):
    """read_regular on a thread: a read that blocks fails the test instead of hanging it."""
    outcome: list = []

    def target():
        try:
            outcome.append(read_regular(path, *args))
        except EdgeFerError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"read_regular({path}) blocked"
    return outcome[0]


def test_regular_files_empty_ones_and_what_is_not_a_file(tmp_path):
    data = os.urandom(70_001)
    (tmp_path / "a.raw").write_bytes(data)
    (tmp_path / "empty.raw").write_bytes(b"")
    os.mkfifo(tmp_path / "pipe.raw")
    assert read_within(tmp_path / "a.raw", "a raw input file") == data
    assert read_within(tmp_path / "empty.raw", "a raw input file") == b""
    fifo = read_within(tmp_path / "pipe.raw", "a raw input file", "raw input")
    assert str(fifo) == f"{tmp_path / 'pipe.raw'}: is a FIFO (named pipe), not a raw input file"
    folder = read_within(tmp_path, "an image file", "")
    assert str(folder) == f"{tmp_path}: is a folder, not an image file"
    missing = read_within(tmp_path / "none.jpg", "an image file", "")
    assert str(missing).startswith(f"{tmp_path / 'none.jpg'}: cannot read (") 
    with pytest.raises(EdgeFerError, match=r"none\.raw: cannot read raw input \("):
        read_regular(tmp_path / "none.raw", "a raw input file", "raw input")


def test_symlinked_class_folders_are_followed_and_a_loop_is_reported_once(tmp_path):
    elsewhere = tmp_path / "elsewhere" / "happy"
    elsewhere.mkdir(parents=True)
    (elsewhere / "1.png").write_bytes(b"x")
    root = tmp_path / "faces"
    (root / "sad").mkdir(parents=True)
    (root / "sad" / "2.png").write_bytes(b"x")
    (root / "happy").symlink_to(elsewhere, target_is_directory=True)
    (root / "sad" / "back").symlink_to(root, target_is_directory=True)  # a loop
    files, skipped = walk_files(root)
    assert [p.relative_to(root).as_posix() for p in files] == ["happy/1.png", "sad/2.png"]
    assert [(path, why.split(" (")[0]) for path, why in skipped] == [
        (str(root / "sad" / "back"), "a link to a folder already read")]
