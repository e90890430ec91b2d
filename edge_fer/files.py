"""Facts about a file: what kind it is, before anything reads it (a FIFO or a device named `x.jpg`
would block a read forever — a FIFO waits for a writer — so readers refuse anything but a regular
file), and its sha256 (manifests, shipped models' metrics.json, the distillation cache)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from pathlib import Path

from edge_fer.atomic import settle
from edge_fer.errors import EdgeFerError, failure_reason

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"))


def not_regular(path: str | Path) -> str | None:
    """What path is when it is not a regular file (symlinks followed), e.g. 'a FIFO (named
    pipe)'; None for a regular file, or one whose stat fails (the read then says why)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


# A FIFO opens at once with O_NONBLOCK (no writer needed) and a terminal does not become ours.
_READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY


def _open_settled(path: str | Path) -> int:
    """os.open for reading; a path missing because its folder is in the middle of a swap is
    settled (atomic.settle) and opened once more, as require_regular does before its check."""
    try:
        return os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        settle(path)
        return os.open(path, _READ_FLAGS)


def read_regular(path: str | Path, what: str, reading: str | None = None) -> bytes:
    """A regular file's bytes with one open and no stat by name: open (non-blocking), fstat,
    read, close. Anything else is refused after the open, by what fstat says it is: `<path>: is a
    FIFO (named pipe), not <what>`; a failed open or read is `<path>: cannot read <reading> (why)`
    (`reading` defaults to `what`; '' gives `cannot read (why)`)."""
    reading = what if reading is None else reading
    cannot = f"cannot read {reading} (" if reading else "cannot read ("
    try:
        fd = _open_settled(path)
    except (OSError, ValueError) as exc:
        raise EdgeFerError(f"{path}: {cannot}{failure_reason(exc)})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((kind for test, kind in _KINDS if test(info.st_mode)), "not a regular file")
            raise EdgeFerError(f"{path}: is {kind}, not {what}")
        size = info.st_size
        data = os.read(fd, size + 1)  # one read: a regular file gives all it holds
        if len(data) != size:  # a short read, or a file that changed size: read to its end
            parts = [data]
            while part := os.read(fd, max(size, 1 << 16)):
                parts.append(part)
            data = b"".join(parts)
        return data
    except OSError as exc:
        raise EdgeFerError(f"{path}: {cannot}{failure_reason(exc)})") from None
    finally:
        os.close(fd)


def require_regular(path: str | Path, what: str) -> None:
    """Refuse, before anything opens it, a path that exists but is not a regular file: `<path>: is
    a FIFO (named pipe), not an input list` (a missing file is left to the caller's own message).
    A path missing because its folder is in the middle of a swap is settled first (atomic.settle:
    a reader never finds an output missing that stands under one of its names)."""
    if not os.path.lexists(path):
        settle(path)
    kind = not_regular(path)
    if kind:
        raise EdgeFerError(f"{path}: is {kind}, not {what}")


def walk_files(root: str | Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Every file under root (recursive, sorted, hidden entries skipped; FIFOs and devices
    included, for their reader to refuse by name) and the folders that could not be listed, with
    why: a caller reports those as skipped, never leaves them out silently. Symbolic links to
    folders are followed (a class folder linked from elsewhere is read like any other), except
    one leading back to a folder already read: listed as skipped, so a loop ends."""
    found, unlisted = [], []
    seen: set[tuple[int, int]] = set()

    def cannot_list(exc: OSError) -> None:
        unlisted.append((str(exc.filename), f"cannot list folder ({failure_reason(exc)})"))

    with contextlib.suppress(OSError):
        info = os.stat(root)
        seen.add((info.st_dev, info.st_ino))
    for folder, dirs, files in os.walk(root, onerror=cannot_list, followlinks=True):
        kept = []
        for name in sorted(d for d in dirs if not d.startswith(".")):
            try:
                info = os.stat(os.path.join(folder, name))
            except OSError as exc:
                cannot_list(exc)
                continue
            if (info.st_dev, info.st_ino) in seen:
                why = "a link to a folder already read (a loop or a second link); not read again"
                unlisted.append((os.path.join(folder, name), why))
                continue
            seen.add((info.st_dev, info.st_ino))
            kept.append(name)
        dirs[:] = kept
        found.extend(os.path.join(folder, name) for name in files if not name.startswith("."))
    found.sort(key=lambda path: path.split(os.sep))  # Path's order (by parts), at string speed
    return [Path(path) for path in found], sorted(unlisted)


def sha256_file(path: str | Path) -> str:
    """The file's sha256 (hex), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_path(path: str | Path) -> str:
    """sha256 of a file, or of a folder's files (a SavedModel: relative names and contents, in
    name order)."""
    path = Path(path)
    if not path.is_dir():
        return sha256_file(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode() + b"\0")
        digest.update(sha256_file(file).encode())
    return digest.hexdigest()
