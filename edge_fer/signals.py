"""SIGINT, SIGTERM and SIGHUP stop a command the same way, and nothing it started outlives it.

`install()` runs first thing in the command line's entry (edge_fer/__init__.py, imported before
anything else of the command line: typer and the commands load after it). Before a command runs (imports, argument parsing) there is nothing to
clean up: a signal ends the process at once with one line, `error: interrupted`, and exit
128 + the signal's number — never a KeyboardInterrupt traceback. While a command runs
(`running()`), a signal raises `Interrupted` (a KeyboardInterrupt) where the command is, so every
staging folder and lock is removed by the `with` blocks it unwinds, and the command's wrapper
exits 130 (SIGINT), 143 (SIGTERM) or 129 (SIGHUP). A second signal while that cleanup runs ends
the process at once (the next command removes what is left).

Children: `die_with_parent()` (Linux prctl PR_SET_PDEATHSIG) is called in every worker process
(bench's, raw-inputs') and before every external tool starts (`preexec_fn`), so a kill -9 of the
command takes them with it; multiprocessing's resource tracker ends when the last of them is gone.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

HANDLED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                if hasattr(signal, name))
_PR_SET_PDEATHSIG = 1
COMMAND_ENV = "EDGE_FER_COMMAND_PID"  # set by the command for the processes it starts
_state: dict = {"phase": "starting", "pid": None}


class Interrupted(KeyboardInterrupt):
    """A signal stopped the command; `exit_code` is 128 + its number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


def exit_code(exc: BaseException) -> int:
    return getattr(exc, "exit_code", 128 + signal.SIGINT)


def _exit_now(signum: int) -> None:
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(OSError):
        os.write(2, b"error: interrupted\n")
    os._exit(128 + signum)


def _handler(signum: int, frame) -> None:
    if os.getpid() != _state["pid"]:  # a forked child before its exec: nothing of ours to say
        os._exit(128 + signum)
    if _state["phase"] != "running":  # starting, finishing, or already stopping: nothing to undo
        _exit_now(signum)
    _state["phase"] = "stopping"
    raise Interrupted(signum)


def is_command_line() -> bool:
    """This process is the `edge-fer` command (its script, or `python -c` code that calls
    edge_fer.cli), not a program or test run importing the library, nor another `python -c`
    program (a spawned worker of the command, a test runner's worker process): only then are its
    signals ours to handle."""
    owner = os.environ.get(COMMAND_ENV)
    if owner and owner != str(os.getpid()):
        return False
    if not sys.argv:
        return False
    if sys.argv[0] == "-c":
        interpreter_argv = getattr(sys, "orig_argv", [])
        code = interpreter_argv[interpreter_argv.index("-c") + 1] if "-c" in interpreter_argv[:-1] else ""
        return "edge_fer.cli" in code
    return Path(sys.argv[0]).name == "edge-fer"


def install() -> None:
    """Handle SIGINT, SIGTERM and SIGHUP (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        return
    _state["pid"] = os.getpid()
    os.environ[COMMAND_ENV] = str(os.getpid())  # its workers and tools inherit it
    for signum in HANDLED:
        with contextlib.suppress(OSError, ValueError):
            if signal.getsignal(signum) is signal.SIG_IGN:  # nohup: keep ignoring
                continue
            signal.signal(signum, _handler)


@contextlib.contextmanager
def running() -> Iterator[None]:
    """The command's own work: a signal raises Interrupted here, so cleanup runs."""
    if _state["phase"] == "running":
        yield
        return
    _state["phase"] = "running"
    try:
        yield
    finally:
        _state["phase"] = "finishing"


def die_with_parent(parent: int | None = None) -> None:
    """Ask the kernel to SIGKILL this process when its parent ends (Linux; elsewhere nothing).
    With `parent` (its pid, taken before the fork): end now if it is already gone."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(128 + signal.SIGKILL)


def child_setup():
    """`preexec_fn` for an external tool: it dies with this process."""
    return functools.partial(die_with_parent, os.getpid())
