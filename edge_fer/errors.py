"""Errors that carry the exit code of CONVENTIONS (1 failure, 2 usage, 3 missing tool)."""

from __future__ import annotations

import errno
import os
import re
import traceback
from pathlib import Path


class EdgeFerError(Exception):
    """A failure the user can act on: bad input, conversion error. One line, exit 1."""

    exit_code = 1


class UsageError(EdgeFerError):
    """Options that do not fit together or name nothing known. Exit 2."""

    exit_code = 2


class ToolMissingError(EdgeFerError):
    """A required external SDK, tool or device is absent. Exit 3; the message says how to get it."""

    exit_code = 3


# What the operating system's error numbers mean to someone running a command (OSError.strerror
# says "Is a directory"; this says what was wanted instead).
_ERRNO_TEXT = {
    errno.ENOENT: "no such file or folder",
    errno.EISDIR: "is a folder, not a file",
    errno.ENOTDIR: "a part of this path is a file where a folder is wanted",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large",
    errno.ENAMETOOLONG: "file name too long",
    errno.EEXIST: "already exists",
    errno.ENOTEMPTY: "folder not empty",
    errno.ELOOP: "too many levels of symbolic links",
    errno.EMFILE: "too many open files",
    errno.EIO: "input/output error",
    errno.EPIPE: "broken pipe (the reader closed early)",
    errno.EXDEV: "cannot move across file systems",
    errno.ETXTBSY: "file busy",
}


def failure_reason(exc: BaseException) -> str:
    """What went wrong, without the path (for a message that names the path itself): 'permission
    denied', 'not UTF-8 text (byte 0xff at offset 3)'."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return _ERRNO_TEXT.get(exc.errno) or exc.strerror or str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
    return _first_line(exc) or type(exc).__name__


def os_error_text(exc: OSError) -> str:
    """`<path>: <what>` for an OSError (both paths of a failed rename or copy)."""
    what = failure_reason(exc)
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    return ": ".join([" → ".join(paths), what] if paths else [what])


def _is_named(exc: BaseException, module_prefix: str, class_name: str) -> bool:
    """exc is (a subclass of) `class_name` from a package we do not import here."""
    return any(cls.__name__ == class_name and cls.__module__.startswith(module_prefix)
               for cls in type(exc).__mro__)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _mount_of(path: Path) -> Path:
    """The mount point of the file system holding path (or where it would be created)."""
    path = Path(os.path.realpath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def no_space_text(path: str | Path | None) -> str:
    """The one line every writer gives on a full disk (ENOSPC, EDQUOT): which file system,
    which file."""
    if path is None:
        return "no space left on device"
    return f"no space left on device {_mount_of(Path(os.fsdecode(path)))} writing {path}"


def describe_failure(exc: BaseException) -> tuple[str, int] | None:
    """(one-line message, exit code) for a failure the user can act on; None for a bug.

    The one place that decides what is an expected failure: our own errors, the operating
    system's (by errno), text that is not UTF-8, a NUL byte in a path, a truncated or corrupt
    model file (protobuf, TensorFlow), memory exhaustion.
    """
    if isinstance(exc, EdgeFerError):
        return " ".join(str(exc).split("\n")), exc.exit_code
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return no_space_text(exc.filename), 1
    if isinstance(exc, OSError) and (exc.errno is not None or exc.filename is not None):
        return os_error_text(exc), 1
    if isinstance(exc, UnicodeDecodeError):
        return failure_reason(exc), 1
    if isinstance(exc, ValueError) and ("null byte" in str(exc) or "null character" in str(exc)):
        return "a path holds a NUL byte", 1
    if _is_named(exc, "google.protobuf", "DecodeError"):
        return f"not a valid model file, truncated or corrupt ({_first_line(exc)})", 1
    if _is_named(exc, "tensorflow", "OpError"):
        message = str(getattr(exc, "message", exc))
        if "no space left on device" in message.lower():  # a saver or summary writer
            paths = re.findall(r"(/[^\s:;,'\"]+)", message)
            return no_space_text(paths[0] if paths else None), 1
        return _first_line(message), 1
    if isinstance(exc, MemoryError):
        return "out of memory", 1
    return None


def bug_location(exc: BaseException, roots: tuple[Path, ...]) -> str:
    """`file:line` of the innermost frame of the traceback inside `roots` (else the innermost)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown location"
    ours = [f for f in frames if any(Path(f.filename).resolve().is_relative_to(r) for r in roots)]
    frame = (ours or frames)[-1]
    path = Path(frame.filename).resolve()
    for root in roots:
        if path.is_relative_to(root):
            path = path.relative_to(root.parent)
            break
    return f"{path}:{frame.lineno}"


DEBUG_ENV = "EDGE_FER_DEBUG"


def debug_enabled() -> bool:
    """--debug (which sets EDGE_FER_DEBUG) or EDGE_FER_DEBUG=1: show tracebacks."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")
