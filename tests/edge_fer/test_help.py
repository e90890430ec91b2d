"""Help that reads at 80 columns: every command's --help rendered at COLUMNS=80 has no line
wider than that, no word or option name cut in two, no `<bool>` metavar, option help of at
most a few lines (details go in the command's epilog), and examples that paste as typed."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from edge_fer.cli import app

MAX_OPTION_LINES = 3


def command_paths() -> list[list[str]]:
    import typer

    group = typer.main.get_command(app)
    paths = [[]]
    with group.context_class(group, info_name="edge-fer") as ctx:
        for name in group.list_commands(ctx):
            paths.append([name])
            sub = group.get_command(ctx, name)
            if hasattr(sub, "list_commands"):
                with sub.context_class(sub, info_name=name, parent=ctx) as sub_ctx:
                    paths += [[name, child] for child in sub.list_commands(sub_ctx)]
    return paths


def render(path: list[str], columns: int = 80) -> str:
    done = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(columns)})
    assert done.exit_code == 0, done.output
    return done.output


def option_entries(text: str) -> list[list[str]]:
    """The lines of each entry of the Options/Arguments sections (name line + continuation)."""
    entries: list[list[str]] = []
    section = False
    for line in text.splitlines():
        if line in ("Options:", "Arguments:"):
            section = True
            continue
        if not line.strip():  # the sections hold no blank line: the epilog follows one
            section = False
        if not section:
            continue
        if re.match(r"^  \S", line):
            entries.append([line])
        elif entries:
            entries[-1].append(line)
    return entries


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "edge-fer")
def test_help_fits_80_columns_without_cut_words(path):
    text = render(path)
    wide = [line for line in text.splitlines() if len(line) > 80]
    assert not wide, wide
    assert "<bool>" not in text
    truncated = [line for line in text.splitlines()
                 if re.search(r"\w…|\w\.\.\.$", line) and not line.startswith("Usage:")]
    assert not truncated, truncated
    cut = [line for line in text.splitlines() if re.search(r"[A-Za-z]-$", line)]
    assert not cut, cut
    long = [entry[0].split()[0] for entry in option_entries(text)
            if len(entry) - (1 if len(entry[0]) < 34 else 0) > MAX_OPTION_LINES]
    assert not long, f"option help over {MAX_OPTION_LINES} lines (move details to the epilog): {long}"


def test_examples_are_pasteable_and_only_shipped_models_are_named():
    import shlex

    from edge_fer.training.pretrained import SHIPPED, shipped_names

    unshipped = [name for name in SHIPPED if name not in shipped_names()]
    for path in command_paths():
        text = render(path)
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if not line.startswith("    edge-fer "):  # an example (prose is indented by 2)
                continue
            command = line.strip()
            j = i
            while command.endswith("\\"):
                j += 1
                command = command[:-1] + " " + lines[j].strip()
            words = shlex.split(command, comments=True)
            assert "(" not in command or "$(" in command, command  # notes are `# comments`
            for name in unshipped:
                assert name not in words, f"{' '.join(path)}: {command} names unshipped {name}"
            shell = [i for i, word in enumerate(words) if word in (">", ">>", "|", "<")]
            parses(words[1:shell[0] if shell else None], f"{' '.join(path)} --help: {command}")


def parses(args: list[str], where: str) -> None:
    """The command line itself takes `args` (commands, options, choices), without running it."""
    import typer
    from typer._click.exceptions import UsageError  # the click typer carries

    group = typer.main.get_command(app)
    with group.context_class(group, info_name="edge-fer") as ctx:
        command, rest = group.get_command(ctx, args[0]), args[1:]
        assert command is not None, where
        if hasattr(command, "get_command"):  # device-bench snpe|tflite
            sub = command.get_command(ctx, rest[0])
            assert sub is not None, where
            command, rest = sub, rest[1:]
        try:
            command.make_context(args[0], rest, parent=ctx)
        except UsageError as exc:
            raise AssertionError(f"{where}: {exc}") from None
