"""What kind of file a path is, before anything reads it: a FIFO or a device named `x.jpg` would
block a read forever (a FIFO waits for a writer), so readers refuse anything but a regular file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

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
