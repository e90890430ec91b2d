"""Atomic writes: complete or absent, never half-written; ordinary permissions when complete."""

from __future__ import annotations

import stat

import pytest

from edge_fer.atomic import atomic_dir, atomic_path, atomic_write_text


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "model.bin"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.bin"]


def test_completed_write_replaces_with_readable_permissions(tmp_path):
    target = atomic_write_text(tmp_path / "a.txt", "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) & 0o044  # group/other can read (umask 022)


def test_atomic_dir_replaces_whole_folder_only_on_success(tmp_path):
    target = tmp_path / "Result_0"
    with atomic_dir(target) as tmp:
        (tmp / "output.raw").write_bytes(b"1234")
    assert (target / "output.raw").read_bytes() == b"1234"
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "output.raw").write_bytes(b"half")
        raise RuntimeError("crash")
    assert (target / "output.raw").read_bytes() == b"1234"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Result_0"]
