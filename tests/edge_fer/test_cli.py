"""The root command: shell completion (click's _EDGE_FER_COMPLETE mechanism, as the installed
script calls it) completes commands and choices."""

from __future__ import annotations

import ast
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


def test_only_the_invoked_commands_module_is_built_and_the_root_gets_them_all(monkeypatch):
    from edge_fer.cli import build_app, invoked_module

    monkeypatch.delenv("_EDGE_FER_COMPLETE", raising=False)
    assert invoked_module(["raw-inputs", "imgs", "-o", "raws"]) == "raw_inputs"
    assert invoked_module(["--debug", "device-bench", "--help"]) == "device_bench"
    assert invoked_module(["hub", "run"]) == "hub"
    for whole in ([], ["--help"], ["--version"], ["no-such-command"], ["--", "run"]):
        assert invoked_module(whole) is None, whole
    monkeypatch.setenv("_EDGE_FER_COMPLETE", "complete_bash")
    assert invoked_module(["run"]) is None  # completion lists every command
    one = build_app(("models",))
    assert [c.name for c in one.registered_commands] == ["models"]
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert {"raw-inputs", "run", "classify", "models", "hub"} <= names


def test_a_command_started_alone_imports_no_other_commands_modules():
    code = ("import sys; sys.argv = ['edge-fer', 'models', '--help']\n"
            "from edge_fer.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('edge_fer.commands.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    loaded = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert "edge_fer.commands.models" in loaded
    assert not {"edge_fer.commands.train", "edge_fer.commands.convert",
                "edge_fer.commands.raw_inputs"} & set(loaded)
