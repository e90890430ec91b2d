"""Atomic writes: complete or absent, never half-written; ordinary permissions when complete."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from edge_fer.atomic import (
    MAX_FOREIGN_FILES,
    NO_EXCHANGE_ENV,
    _mount_points,
    _renameat2,
    atomic_dir,
    atomic_path,
    atomic_write_text,
    check_not_inside,
    exchange,
    output_lock,
    recover,
    replaced_folder,
    settle,
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


def test_a_folder_replaced_with_its_kept_entries_as_one_unit(tmp_path):
    """convert's target folder: the new model and manifest arrive together with the other
    artifacts (the same files, hard-linked), and a failure leaves the old folder as it was."""
    folder = tmp_path / "tflite"
    folder.mkdir()
    for name, text in (("m.tflite", "old model"), ("m.json", "old manifest"),
                       ("m_int8.tflite", "other"), ("m_int8.json", "other's manifest")):
        (folder / name).write_text(text)
    inode = (folder / "m_int8.tflite").stat().st_ino
    with pytest.raises(RuntimeError), replaced_folder(folder, lambda e: True) as stage:
        (stage / "m.json").unlink()
        (stage / "m.json").write_text("new manifest")
        raise RuntimeError("killed before the model")
    assert (folder / "m.json").read_text() == "old manifest"
    with replaced_folder(folder, lambda e: not e.name.startswith("m.")) as stage:
        (stage / "m.tflite").write_text("new model")
        (stage / "m.json").write_text("new manifest")
    assert [(folder / n).read_text() for n in ("m.tflite", "m.json")] == ["new model",
                                                                         "new manifest"]
    assert (folder / "m_int8.tflite").stat().st_ino == inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tflite"]


@pytest.mark.parametrize("exchange_possible", [True, False])
def test_a_reader_never_finds_a_swapped_output_missing(tmp_path, monkeypatch, exchange_possible):
    """Between the two renames of a swap without RENAME_EXCHANGE (or a writer killed there) the
    output stands under a hidden name only: settle() puts it back before the reader looks."""
    if not exchange_possible:
        monkeypatch.setenv(NO_EXCHANGE_ENV, "1")
    out = tmp_path / "out"
    with staged_dir(out, _ours) as staging:
        write_plain(staging / "a.raw", b"1")
    with staged_dir(out, _ours) as staging:
        write_plain(staging / "a.raw", b"2")
    assert (out / "a.raw").read_bytes() == b"2"
    os.rename(out, tmp_path / ".out.edge-fer-new")  # as a kill between the renames leaves it
    (tmp_path / ".out.edge-fer-old").mkdir()
    settle(out / "input_list.txt")  # a file in the output folder: its folder is settled
    assert (out / "a.raw").read_bytes() == b"2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("wrapper", [True, False])
def test_exchange_swaps_two_folders_in_one_step_where_the_kernel_can(tmp_path, monkeypatch,
                                                                    wrapper):
    """Through libc's renameat2, and through the raw system call (libc without the wrapper)."""
    monkeypatch.setattr("edge_fer.atomic._EXCHANGE", _renameat2(wrapper))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").write_text("b")
    if not exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("this file system cannot exchange (the two-rename path is tested above)")
    assert (tmp_path / "a").read_text() == "b" and (tmp_path / "b").is_dir()
    with pytest.raises(FileNotFoundError):  # an error other than "cannot" is raised
        exchange(tmp_path / "a", tmp_path / "missing")


def test_an_output_folder_holding_a_mount_point_is_refused_before_any_work(tmp_path,
                                                                          monkeypatch):
    out = tmp_path / "out"
    (out / "volume").mkdir(parents=True)
    (out / "volume" / "data.bin").write_text("the volume's")
    monkeypatch.setattr("edge_fer.atomic._mount_points", lambda: [Path("/"), out / "volume"])
    with pytest.raises(EdgeFerError, match="volume: is a mount point inside the output folder"), \
            staged_dir(out, _ours):
        pytest.fail("work began")
    monkeypatch.setattr("edge_fer.atomic._mount_points", lambda: [Path("/"), out])
    monkeypatch.setattr("os.path.ismount", lambda path: Path(path) == out)
    with pytest.raises(EdgeFerError, match="out: is a mount point"), staged_dir(out, _ours):
        pytest.fail("work began")
    assert (out / "volume" / "data.bin").read_text() == "the volume's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_the_mount_table_is_read(tmp_path):
    points = _mount_points()
    assert points is None or Path("/") in points


def test_an_output_inside_its_input_is_refused(tmp_path):
    (tmp_path / "photos").mkdir()
    with pytest.raises(EdgeFerError, match="is inside the input folder"):
        check_not_inside(tmp_path / "photos" / "out", tmp_path / "photos")
    with pytest.raises(EdgeFerError, match="holds the input folder"):
        check_not_inside(tmp_path, tmp_path / "photos")
    check_not_inside(tmp_path / "out", tmp_path / "photos")


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
