"""The one place failures are described (errors.describe_failure) and reported
(commands.report_failure): `error: <path>: <what>`, the exit code, no traceback unless asked."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from edge_fer.commands import report_failure
from edge_fer.errors import (
    DEBUG_ENV,
    EdgeFerError,
    ToolMissingError,
    UsageError,
    bug_location,
    describe_failure,
)


@pytest.mark.parametrize(("number", "what"), [
    (errno.ENOENT, "no such file or folder"),
    (errno.EISDIR, "is a folder, not a file"),
    (errno.ENOTDIR, "a part of this path is a file where a folder is wanted"),
    (errno.EACCES, "permission denied"),
    (errno.EROFS, "read-only file system"),
    (errno.ENAMETOOLONG, "file name too long"),
])
def test_os_errors_become_path_and_what_exit_1(number, what):
    message, code = describe_failure(OSError(number, "strerror", "out/run.json"))
    assert (message, code) == (f"out/run.json: {what}", 1)


def test_a_full_disk_names_the_file_system_and_the_file(tmp_path):
    """The one line of every writer, TensorFlow's checkpoint saver included."""
    import tensorflow as tf

    target = tmp_path / "run" / "best" / "model.ckpt.index"
    expected = (f"no space left on device {_mount_point(tmp_path)} writing {target}", 1)
    assert describe_failure(OSError(errno.ENOSPC, "strerror", str(target))) == expected
    saver = tf.errors.ResourceExhaustedError(
        None, None, f"{target}.tempstate123; No space left on device [Op:SaveV2]")
    assert describe_failure(saver)[0].startswith("no space left on device ")
    assert describe_failure(saver)[0].endswith(f"writing {target}.tempstate123")


def _mount_point(path):
    while not os.path.ismount(path):
        path = path.parent
    return path


def test_a_failed_rename_names_both_paths():
    exc = OSError(errno.EXDEV, "Invalid cross-device link", "a/.x.tmp", None, "b/x")
    assert describe_failure(exc)[0] == "a/.x.tmp → b/x: cannot move across file systems"


@pytest.mark.parametrize(("exc", "expected"), [
    (EdgeFerError("a.raw: too short"), ("a.raw: too short", 1)),
    (UsageError("--batch must be ≥ 1"), ("--batch must be ≥ 1", 2)),
    (ToolMissingError("snpe-net-run not found"), ("snpe-net-run not found", 3)),
    (EdgeFerError("two\nlines"), ("two lines", 1)),
    (ValueError("embedded null byte"), ("a path holds a NUL byte", 1)),
    (UnicodeDecodeError("utf-8", b"ab\xff", 2, 3, "invalid start byte"),
     ("not UTF-8 text (byte 0xff at offset 2)", 1)),
    (MemoryError(), ("out of memory", 1)),
])
def test_expected_failures(exc, expected):
    assert describe_failure(exc) == expected


def test_a_truncated_protobuf_is_expected():
    from google.protobuf.message import DecodeError

    message, code = describe_failure(DecodeError("Error parsing message"))
    assert code == 1 and "truncated or corrupt" in message


@pytest.mark.parametrize("exc", [ZeroDivisionError("division by zero"), KeyError("x"),
                                 ValueError("could not broadcast"), TypeError("bad")])
def test_anything_else_is_a_bug(exc):
    assert describe_failure(exc) is None


def _fail_here():
    return 1 / 0


def test_a_bug_is_one_line_with_its_location_and_how_to_see_more(capsys, monkeypatch):
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    try:
        _fail_here()
    except ZeroDivisionError as exc:
        code = report_failure(exc)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("error: internal error (a bug in edge-fer")
    assert "ZeroDivisionError: division by zero" in lines[0]
    assert f"test_errors.py:{_fail_here.__code__.co_firstlineno + 1}" in lines[0]
    assert "--debug" in lines[0] and DEBUG_ENV in lines[0]


def test_debug_prints_the_traceback_first(capsys, monkeypatch):
    monkeypatch.setenv(DEBUG_ENV, "1")
    try:
        raise EdgeFerError("x.raw: bad")
    except EdgeFerError as exc:
        assert report_failure(exc) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and err.strip().endswith("error: x.raw: bad")


def test_bug_location_prefers_our_own_frames():
    import json

    try:
        json.loads("{")
    except ValueError as exc:
        location = bug_location(exc, (Path(__file__).resolve().parent,))
    assert location.startswith("edge_fer/test_errors.py:")


def test_message_markup_is_printed_as_is(capsys):
    report_failure(EdgeFerError("[bold]x[/bold].raw: bad"))
    assert "[bold]x[/bold].raw" in capsys.readouterr().err
