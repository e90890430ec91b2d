"""Write files and folders under a temporary name and rename them when complete.

Nothing edge-fer writes is ever left half-written: a crash leaves either the old file or
no file, never a truncated one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; a finished file gets the permissions an ordinary open() would give.
FILE_MODE = 0o666 & ~_current_umask()
DIR_MODE = 0o777 & ~_current_umask()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, FILE_MODE)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; it replaces `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, DIR_MODE)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def staged_dir(path: str | Path, replaceable: Callable[[Path], bool]) -> Iterator[Path | None]:
    """Build an output folder of many small files whole under a temporary name, or say it can't.

    A temporary name and a rename per file cost ~8× a plain write here (3,000 raws: 0.6 s against
    0.09 s), so a folder that is absent, empty or holds only entries `replaceable` accepts (an
    earlier run's output) is built beside it with plain writes and swapped in once complete.
    Yields None when it holds anything else (or is a symlink, which a rename would replace): the
    caller then writes in place, file by file.
    """
    path = Path(path)
    if path.is_symlink() or (path.exists() and (
            not path.is_dir() or not all(map(replaceable, path.iterdir())))):
        yield None
        return
    with atomic_dir(path) as tmp:
        yield tmp


def write_plain(path: str | Path, data: bytes) -> None:
    """Write bytes with no temporary name: only inside a folder `staged_dir` is building."""
    with open(path, "wb") as handle:
        handle.write(data)


def save_figure(figure, path: str | Path) -> Path:
    """Save a matplotlib figure atomically in the format its suffix names, then close it."""
    import matplotlib.pyplot as plt

    from edge_fer.errors import EdgeFerError

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    try:
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format=fmt)
    except ValueError as exc:
        raise EdgeFerError(f"{path}: cannot write the plot ({exc})") from None
    finally:
        plt.close(figure)
    return path
