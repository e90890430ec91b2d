"""A reader that closes early (`edge-fer models | head`) ends the command quietly with the shell's
SIGPIPE code, not with an error line; a broken pipe that is not standard output is still an error."""

from __future__ import annotations

import subprocess
import sys

import typer

from edge_fer.commands import BROKEN_PIPE_EXIT, reports_errors


def test_a_closed_reader_is_no_error():
    command = [sys.executable, "-c", "from edge_fer.cli import main; main()", "models"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the first line is written
    _, err = process.communicate(timeout=120)
    assert process.returncode == BROKEN_PIPE_EXIT
    assert err.decode().strip() == ""


def test_another_broken_pipe_is_still_reported(capsys):
    @reports_errors
    def command():
        raise BrokenPipeError(32, "Broken pipe")  # e.g. a tool's stdin, while stdout is fine

    try:
        command()
    except typer.Exit as exit_:
        assert exit_.exit_code == 1
    else:
        raise AssertionError("no exit")
    assert "broken pipe" in capsys.readouterr().err
