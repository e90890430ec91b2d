"""Where a command writes when `-o/--out` is not given: one convention for every command.

`runs/<command>/<name>`, and when that exists `<name>2`, `<name>3`, … (the first free one), so a
command never writes into another command's folder, nor over an earlier run of its own, unless
`-o` names a folder (which is then replaced whole, as before). The same layout as Ultralytics'
`runs/<task>/<name>`.
"""

from __future__ import annotations

from pathlib import Path

RUNS = Path("runs")
DEFAULT_NAME = "exp"


def new_output_dir(command: str, name: str = DEFAULT_NAME, root: Path = RUNS) -> Path:
    """`runs/<command>/<name>` or the first of `<name>2`, `<name>3`, … that does not exist."""
    base = root / command
    candidate, number = base / name, 1
    while candidate.exists() or candidate.is_symlink():
        number += 1
        candidate = base / f"{name}{number}"
    return candidate


def output_dir(given: Path | None, command: str, name: str = DEFAULT_NAME) -> Path:
    """The folder the user gave, else a new one under runs/<command>/."""
    return Path(given) if given is not None else new_output_dir(command, name)
