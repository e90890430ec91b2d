"""Atomic writes: complete or absent, never half-written; ordinary permissions when complete."""

from __future__ import annotations

import stat

import pytest

from edge_fer.atomic import atomic_dir, atomic_path, atomic_write_text, staged_dir, write_plain


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


def _ours(path):
    return path.suffix == ".raw"


def test_staged_dir_builds_a_new_or_replaceable_folder_whole(tmp_path):
    target = tmp_path / "raws"
    with staged_dir(target, _ours) as staging:
        assert staging is not None and staging != target and not target.exists()
        write_plain(staging / "a.raw", b"1")
    assert [p.name for p in target.iterdir()] == ["a.raw"]
    with staged_dir(target, _ours) as staging:  # holds only what an earlier run left: replaced
        write_plain(staging / "b.raw", b"2")
    assert [p.name for p in target.iterdir()] == ["b.raw"]
    with pytest.raises(RuntimeError), staged_dir(target, _ours) as staging:
        write_plain(staging / "c.raw", b"half")
        raise RuntimeError("crash")
    assert [p.name for p in target.iterdir()] == ["b.raw"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raws"]


def test_staged_dir_declines_a_folder_holding_anything_else(tmp_path):
    (tmp_path / "notes.txt").write_text("the user's")
    with staged_dir(tmp_path, _ours) as staging:
        assert staging is None
    assert (tmp_path / "notes.txt").read_text() == "the user's"
    (tmp_path / "link").symlink_to(tmp_path / "empty", target_is_directory=True)
    (tmp_path / "empty").mkdir()
    with staged_dir(tmp_path / "link", _ours) as staging:
        assert staging is None
