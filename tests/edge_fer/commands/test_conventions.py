"""One set of option names across every command (docs/CONVENTIONS.md, Command line): walks every
typer command's parameters and checks the conventions, so a new command or option cannot drift."""

from __future__ import annotations

import pytest
import typer.main
from typer._click.types import StringParamType  # the click typer carries
from typer.testing import CliRunner

from edge_fer.cli import app, old_spellings

ROOT = typer.main.get_command(app)


def _leaves(group, prefix: str = "") -> list[tuple[str, object]]:
    """Every command, those of sub-groups (device-bench snpe) too."""
    found = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found += _leaves(command, f"{prefix}{name} ")
        else:
            found.append((prefix + name, command))
    return found


COMMANDS = sorted(_leaves(ROOT))


def _options(command) -> dict:
    return {name: param for param in command.params if param.param_type_name == "option"
            for name in param.opts + param.secondary_opts}


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_follows_the_option_conventions(name, command):
    options = _options(command)
    # every command: --quiet/-q and --verbose/-v, the same flags everywhere
    for long, short in (("--quiet", "-q"), ("--verbose", "-v")):
        assert long in options and options[long] is options.get(short), (name, long)
        assert options[long].is_flag, (name, long)
    # --json is always a flag (never a path or value)
    if "--json" in options:
        assert options["--json"].is_flag, name
    # --out always has -o, -o is always --out, and its help says folder or file
    if "--out" in options or "-o" in options:
        assert options.get("--out") is options.get("-o"), name
        assert options["--out"].help.split()[0] in ("Folder", "File"), (name, options["--out"].help)
    # -r is always --runtime
    if "--runtime" in options or "-r" in options:
        assert options.get("--runtime") is options.get("-r"), name
    # --batch always means images per inference call (freeze's graph batch is --input-batch)
    if "--batch" in options:
        assert "images per" in (options["--batch"].help or "").lower(), name
    # --format and --json together: --format is not defaulted, so a conflict can be seen
    if "--format" in options and "--json" in options:
        assert options["--format"].default is None, name
    # no short name used twice
    shorts = [opt for param in command.params for opt in getattr(param, "opts", ())
              if len(opt) == 2 and opt.startswith("-")]
    assert len(shorts) == len(set(shorts)), (name, shorts)
    # a str option whose help spells out choices ("a | b") should be an Enum (listed, completed)
    for param in command.params:
        if param.param_type_name == "option" and isinstance(param.type, StringParamType):
            assert " | " not in (param.help or ""), (name, param.opts)


@pytest.mark.parametrize("command", ["classify", "predict"])
def test_json_with_another_format_is_a_usage_error(command, tmp_path):
    result = CliRunner().invoke(app, [command, str(tmp_path), "--json", "--format", "csv"])
    assert result.exit_code == 2, result.output
    assert "--json and --format csv" in result.output


def test_old_spellings_still_work_without_showing():
    assert old_spellings(["run", "m.pb", "--output-dir", "o", "--", "--output-dir"]) == \
        ["run", "m.pb", "--out", "o", "--", "--output-dir"]
    assert old_spellings(["--debug", "freeze", "r", "--batch=0"]) == ["--debug", "freeze", "r", "--input-batch=0"]
    assert old_spellings(["bench", "m.onnx", "--batch", "1,2"]) == ["bench", "m.onnx", "--batch", "1,2"]
    help_text = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"}).output
    assert "--out" in help_text and "--output-dir" not in help_text
