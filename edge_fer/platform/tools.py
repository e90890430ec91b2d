"""The one way edge-fer runs an external tool (SDK converters and runners, adb, snpe-diagview,
benchmark_model through adb): an argument list, never a shell string; one timeout policy; the
exit code and, where the tool prints one, its own success line checked.

Timeouts: QUERY_TIMEOUT_S for questions that answer at once (`adb devices`, `getprop`,
`--version`), TOOL_TIMEOUT_S for work (a conversion, a whole input list, a push of the SDK).
A tool that cannot start is exit 3 (ToolMissingError); one that times out, fails, or exits 0
without its success line is one EdgeFerError naming it and ending with its last lines.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from edge_fer import signals
from edge_fer.errors import EdgeFerError, ToolMissingError, failure_reason

QUERY_TIMEOUT_S = 30
TOOL_TIMEOUT_S = 3600


@dataclass
class ToolRun:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str = ""

    @property
    def output(self) -> str:
        """Everything it printed (stdout and stderr in their order when run with merge=True)."""
        return self.stdout + self.stderr


def last_lines(text: str, count: int = 1) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-count:]) if lines else "no output"


def run_tool(argv: list[str | Path], what: str | None = None, cwd: Path | None = None,
             timeout: float = TOOL_TIMEOUT_S, check: bool = False, merge: bool = False,
             expect: tuple[str, ...] = ()) -> ToolRun:
    """Run argv and keep what it printed. `check`: a non-zero exit is an error; `expect`: one of
    these lines must appear in its output (a tool that exits 0 without it failed); `merge`:
    stderr goes into stdout, in the order the tool wrote them."""
    argv = [str(arg) for arg in argv]
    what = what or Path(argv[0]).name
    try:
        done = subprocess.run(argv, check=False, cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT if merge else subprocess.PIPE,
                              text=True, errors="replace", timeout=timeout,
                              preexec_fn=signals.child_setup())  # the tool dies with edge-fer
    except OSError as exc:
        raise ToolMissingError(f"cannot start {argv[0]}: {failure_reason(exc)}") from None
    except subprocess.TimeoutExpired:
        raise EdgeFerError(f"{what} did not finish within {timeout:g} s") from None
    run = ToolRun(argv, done.returncode, done.stdout or "", done.stderr or "")
    if check and run.returncode != 0:
        raise EdgeFerError(f"{what} failed with exit code {run.returncode}: "
                           f"{last_lines(run.stderr + run.stdout, 3)}")
    if expect and run.returncode == 0 and not any(line in run.output for line in expect):
        raise EdgeFerError(f"{what} exited 0 without printing {expect[0]!r}: "
                           f"{last_lines(run.output, 3)}")
    return run
