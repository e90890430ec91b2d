"""Atomic writes: complete or absent, never half-written; ordinary permissions when complete."""

from __future__ import annotations

import os
import stat

import pytest

from edge_fer.atomic import (
    MAX_FOREIGN_FILES,
    atomic_dir,
    atomic_path,
    atomic_write_text,
    output_lock,
    publish_files,
    recover,
    recover_files,
    staged_dir,
    write_plain,
)
from edge_fer.errors import EdgeFerError


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


def test_staged_dir_keeps_the_users_files_untouched_and_replaces_ours(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "notes.txt").write_text("the user's")
    (target / "old.raw").write_text("an earlier run's")
    inode = (target / "notes.txt").stat().st_ino
    with staged_dir(target, _ours) as staging:
        write_plain(staging / "new.raw", b"2")
    assert sorted(p.name for p in target.iterdir()) == ["new.raw", "notes.txt"]
    assert (target / "notes.txt").stat().st_ino == inode  # the same file, not a copy
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_staged_dir_replaces_a_symlinks_target_and_keeps_the_link(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    with staged_dir(tmp_path / "link", _ours) as staging:
        write_plain(staging / "a.raw", b"1")
    assert (tmp_path / "link").is_symlink() and (tmp_path / "real" / "a.raw").is_file()


def _interrupted(tmp_path, *states):
    """An output folder `out` (old) and what a killed swap left beside it."""
    out = tmp_path / "out"
    for name, content in states:
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.raw").write_text(content)
    return out


@pytest.mark.parametrize("states, expected", [
    ((("out", "old"), (".out.edge-fer-new", "new")), "new"),                 # before old → aside
    (((".out.edge-fer-old", "old"), (".out.edge-fer-new", "new")), "new"),   # between the renames
    ((("out", "new"), (".out.edge-fer-old", "old")), "new"),                 # old half deleted
    (((".out.edge-fer-old", "old"),), "old"),                                # swap failed: undo
    ((("out", "old"), (".out.edge-fer-123-x.tmp", "half")), "old"),          # killed while building
])
def test_recover_finishes_or_undoes_an_interrupted_swap(tmp_path, states, expected):
    out = _interrupted(tmp_path, *states)
    with output_lock(out):
        recover(out, _ours)
    assert (out / "a.raw").read_text() == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_second_writer_of_the_same_output_refuses(tmp_path):
    with output_lock(tmp_path / "out"), pytest.raises(
            EdgeFerError, match="another edge-fer command .* is writing it"), \
            staged_dir(tmp_path / "out", _ours):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # the lock file goes with its holder


def test_an_existing_file_is_not_an_output_folder(tmp_path):
    (tmp_path / "out").write_text("x")
    with pytest.raises(EdgeFerError, match="exists and is not a folder"), \
            staged_dir(tmp_path / "out", _ours):
        pass


def test_a_model_and_its_manifest_are_published_as_one_set(tmp_path):
    """convert's pair: a kill after the commit point leaves a set the next command completes."""
    (tmp_path / "m.onnx").write_text("old model")
    (tmp_path / "m.json").write_text("old manifest")
    commit = tmp_path / ".m.onnx.edge-fer-files"  # as a kill between the two moves leaves it
    commit.mkdir()
    (commit / "m.json").write_text("new manifest")
    os.replace(tmp_path / "m.onnx", tmp_path / "kept")
    (tmp_path / "m.onnx").write_text("new model")
    (tmp_path / ".m.onnx.edge-fer-999999999-x.tmp").mkdir()  # a killed command's staging
    with output_lock(tmp_path / "m.onnx"):
        recover_files(tmp_path / "m.onnx")
    assert (tmp_path / "m.json").read_text() == "new manifest"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept", "m.json", "m.onnx"]
    stage = tmp_path / "stage"
    stage.mkdir()
    (stage / "m.onnx").write_text("newer model")
    (stage / "m.json").write_text("newer manifest")
    publish_files(stage, tmp_path / "m.onnx")
    assert [(tmp_path / n).read_text() for n in ("m.onnx", "m.json")] == ["newer model",
                                                                         "newer manifest"]


def test_the_current_folder_or_a_crowded_one_is_refused_before_any_work(tmp_path, monkeypatch):
    target = tmp_path / "home"
    (target / "docs").mkdir(parents=True)
    for i in range(MAX_FOREIGN_FILES + 1):
        (target / "docs" / f"{i}.txt").write_text("")
    with pytest.raises(EdgeFerError, match="more than 1000 files"), staged_dir(target, _ours):
        pass
    monkeypatch.chdir(target / "docs")
    with pytest.raises(EdgeFerError, match="is the current folder"), staged_dir(target, _ours):
        pass
    assert len(list((target / "docs").iterdir())) == MAX_FOREIGN_FILES + 1


def test_a_folder_sweep_clears_what_killed_commands_left_of_other_files(tmp_path):
    """A convert killed while writing m_int8.onnx leaves its staging, lock and committed set; the
    next convert of another file in the folder finishes the set and removes the rest, but leaves
    what live commands hold."""
    (tmp_path / ".m_int8.onnx.edge-fer-999999999-x.tmp").mkdir()        # dead pid
    (tmp_path / ".m_int8.onnx.edge-fer-lock").write_text("999999999")    # held by nobody
    commit = tmp_path / ".m_fp16.onnx.edge-fer-files"
    commit.mkdir()
    (commit / "m_fp16.json").write_text("new manifest")
    live = tmp_path / f".m_live.onnx.edge-fer-{os.getpid()}-y.tmp"
    live.mkdir()
    with output_lock(tmp_path / "held.onnx"):
        with output_lock(tmp_path / "m.onnx"):
            recover_files(tmp_path / "m.onnx")
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            ".held.onnx.edge-fer-lock", live.name, "m_fp16.json"]
