"""SIGTERM and SIGHUP stop a command like SIGINT: one line, 128 + the signal's number, staging and
lock removed; at start-up too; and an external tool dies with a command killed by SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hostile.conftest import (
    assert_no_leftovers,
    finish,
    start_cli,
    wait_until,
    write_face_pngs,
)


def _handles(pid: int, signum: int) -> bool:
    """The process has a handler for signum (/proc/<pid>/status SigCgt)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = int(status.split("SigCgt:")[1].split()[0], 16)
    return bool(caught >> (signum - 1) & 1)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_at_start_up_is_one_line_and_its_exit_code(tmp_path, signum):
    process = start_cli("raw-inputs", tmp_path, "-o", tmp_path / "out")
    # as soon as edge_fer's first line has run (the interpreter's own start-up is before any
    # code of ours): the command line is still importing typer and its commands
    # (Python catches SIGINT itself from its start: SIGTERM's handler says ours are in place)
    assert wait_until(lambda: _handles(process.pid, signal.SIGTERM), process=process)
    process.send_signal(signum)
    result = finish(process)
    assert result.code == 128 + signum, str(result)
    assert "Traceback" not in result.output and "error: interrupted" in result.output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_writing_cleans_the_staging_and_the_lock(tmp_path, signum):
    write_face_pngs(tmp_path / "faces", 600, seed=2)
    out = tmp_path / "raws"
    process = start_cli("raw-inputs", tmp_path / "faces", "-o", out, "-q", "--workers", "1")

    def staging() -> bool:
        return any(p.name.startswith(".raws.") and p.name.endswith(".tmp") and
                   len(os.listdir(p)) > 50 for p in tmp_path.iterdir() if p.is_dir())

    assert wait_until(staging, process=process), "never staged"
    process.send_signal(signum)
    result = finish(process)
    assert result.code == 128 + signum, str(result)
    assert [line for line in result.output.splitlines() if line.startswith("error:")] == [
        "error: interrupted"]
    assert "Traceback" not in result.output
    assert not out.exists()
    assert_no_leftovers(tmp_path)


_PARENT = """
import subprocess, sys, time
from edge_fer import signals
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                         preexec_fn=signals.child_setup())
print(child.pid, flush=True)
time.sleep(60)
"""


def test_an_external_tool_dies_with_its_command(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait(timeout=10)

    def gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        with open(f"/proc/{child}/stat") as stat:  # a zombie waiting for init counts as gone
            return stat.read().split(")")[-1].split()[0] == "Z"

    assert wait_until(gone, timeout=10), "the tool outlived its command"


def test_a_killed_bench_leaves_no_process_holding_the_callers_pipe(tmp_path):
    """bench runs each case in a spawned worker (with multiprocessing's resource tracker):
    kill -9 of the command alone (not its group) must end them too, so the caller's pipe
    closes."""
    from tests.hostile.conftest import write_tiny_onnx

    model = write_tiny_onnx(tmp_path / "m.onnx")
    process = subprocess.Popen(
        [sys.executable, "-c", "from edge_fer.cli import main; main()", "bench", str(model),
         "--iterations", "100000", "--max-seconds", "60", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def children() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == process.pid:
                    found.append(int(entry.name))
        return found

    assert wait_until(lambda: len(children()) >= 2, timeout=120, process=process), \
        "bench never started its worker"
    time.sleep(1)
    process.kill()  # the command only: its worker and tracker are left to die with it
    try:
        process.communicate(timeout=20)  # EOF: nobody holds the pipe any more
    except subprocess.TimeoutExpired:
        pytest.fail("a process of the killed bench still holds the caller's pipe")


def test_ctrl_c_to_a_command_with_workers_is_one_line(tmp_path):
    """The terminal sends SIGINT to the whole process group: raw-inputs' workers stay silent; the
    command says one line and removes its staging. (Enough faces that the threaded raw-inputs,
    some thousands of images/s, is still at work when the signal comes.)"""
    write_face_pngs(tmp_path / "faces", 3000, seed=3)
    out = tmp_path / "raws"
    process = start_cli("raw-inputs", tmp_path / "faces", "-o", out, "-q", "--workers", "2",
                        "--detect-faces")

    def workers_busy() -> bool:
        return any(p.name.startswith(".raws.") and p.name.endswith(".tmp")
                   for p in tmp_path.iterdir())

    assert wait_until(workers_busy, process=process), "never staged"
    time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    result = finish(process)
    assert result.code == 130, str(result)
    assert [line for line in result.output.splitlines() if line.strip()] == [
        "error: interrupted"], str(result)
    assert not out.exists()
    assert_no_leftovers(tmp_path)


def test_another_python_c_program_importing_edge_fer_keeps_its_own_signals():
    """A test runner's worker or any `python -c` program is not the command: importing edge_fer
    installs nothing there, and the processes it starts are not taken for a command's workers."""
    code = ("import os, signal, edge_fer; from edge_fer import signals; "
            "print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, signals.COMMAND_ENV in os.environ)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={k: v for k, v in os.environ.items() if k != "EDGE_FER_COMMAND_PID"})
    assert done.stdout.split() == ["True", "False"]
