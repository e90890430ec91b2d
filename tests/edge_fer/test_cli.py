"""The root command: shell completion (click's _EDGE_FER_COMPLETE mechanism, as the installed
script calls it) completes commands and choices."""

from __future__ import annotations

import os
import subprocess
import sys

from typer.testing import CliRunner

from edge_fer.cli import app

CLI = [sys.executable, "-c", "from edge_fer.cli import main; main()"]


def _complete(line: str) -> list[str]:
    """What bash completion offers for `line` (the cursor at its end)."""
    words = line.split(" ")
    env = {**os.environ, "_EDGE_FER_COMPLETE": "complete_bash", "COMP_WORDS": line,
           "COMP_CWORD": str(len(words) - 1)}
    done = subprocess.run(CLI, env=env, capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_completion_script_is_produced():
    result = CliRunner().invoke(app, ["--show-completion", "bash"])
    assert result.exit_code == 0, result.output
    assert "_EDGE_FER_COMPLETE=complete_bash" in result.output
    assert "complete -o default -F _edge_fer_completion edge-fer" in result.output


def test_shell_completes_commands_and_choices():
    from edge_fer.converters import TARGETS

    assert {"convert", "classify", "compare"} <= set(_complete("edge-fer c"))
    assert _complete("edge-fer convert --target ") == [t.name for t in TARGETS] + ["all"]
    assert _complete("edge-fer raw-inputs --layout n") == ["nhwc", "nchw"]
    # bench --runtime takes a comma-separated list: the last item is completed
    assert _complete("edge-fer bench m.onnx --runtime onnx,t") == ["onnx,tf", "onnx,tflite"]
