"""Outputs are replaced whole or not at all: written under a temporary name, then renamed.

A file is written beside its final name and renamed onto it. A folder (raws, a run's Result
folders, a training run) is built whole in a hidden staging folder beside it and swapped in by
renames, the old one deleted last, so a kill -9 at any instant leaves the complete old output or
the complete new one. The next command on the same path finishes an interrupted swap (or undoes a
failed one) and removes stale staging; a lock file beside the path makes a second command writing
it at the same time refuse instead of mixing two outputs. Entries of an output folder that its
command did not write (the user's notes, a cm.png) are carried over to the new folder untouched.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from edge_fer.errors import EdgeFerError, failure_reason


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; a finished file gets the permissions an ordinary open() would give.
FILE_MODE = 0o666 & ~_current_umask()
DIR_MODE = 0o777 & ~_current_umask()
# Hidden names beside an output `<name>`: `.<name>.edge-fer-<pid>-<random>.tmp` while it is built,
# `.<name>.edge-fer-new` once complete (the commit point), `.<name>.edge-fer-old` while the old one
# is deleted, `.<name>.edge-fer-lock` while a command writes it; a set of files (a model and its
# manifest) is committed as the folder `.<name>.edge-fer-files` and moved out of it.
MARK = ".edge-fer-"
FILE_SET = "files"
# Failures of the file system itself, whichever file they hit: the output cannot be written.
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def hidden(path: Path, kind: str) -> Path:
    return path.with_name(f".{path.name}{MARK}{kind}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale_temporaries(path: Path, only_dead: bool) -> Iterator[Path]:
    """`.<name>.edge-fer-<pid>-*.tmp` beside path (of dead processes only, with only_dead)."""
    prefix = f".{path.name}{MARK}"
    try:
        listing = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in listing:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
            continue
        pid = entry.name[len(prefix):].split("-", 1)[0]
        if only_dead and pid.isdigit() and _pid_alive(int(pid)):
            continue
        yield path.parent / entry.name


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _output_error(path: Path, exc: OSError) -> EdgeFerError:
    return EdgeFerError(f"{path}: cannot write it ({failure_reason(exc)})")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in _stale_temporaries(path, only_dead=True):  # left by a killed command
            _remove(stale)
        fd, tmp = tempfile.mkstemp(prefix=staging_name(path), suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _output_error(path, exc) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, FILE_MODE)
        os.replace(tmp_path, path)
    except OSError as exc:
        if exc.errno in _OUTPUT_ERRNOS or exc.filename in (str(tmp_path), str(path)):
            raise _output_error(path, exc) from None
        raise
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
def output_lock(path: Path) -> Iterator[None]:
    """Hold `.<name>.edge-fer-lock` beside path: a second command writing the same output refuses
    (a kill -9 releases the lock with the process; the file goes when its holder ends)."""
    lock = hidden(path, "lock")
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _output_error(path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            raise EdgeFerError(f"{path}: another edge-fer command{f' (pid {holder})' if holder else ''}"
                               f" is writing it; wait for it to finish or choose another output") \
                from None
        try:  # the holder before us may have removed the file between our open and our lock
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def recover(path: Path, ours: Callable[[Path], bool] | None = None) -> None:
    """Finish a swap a killed command left half done (its new output was complete), or undo one
    that failed, and remove stale staging. Call only while holding `output_lock(path)`."""
    new, old = hidden(path, "new"), hidden(path, "old")
    present = path.exists() or path.is_symlink()
    if new.exists():
        if present:
            if old.exists():
                _remove(old)
            os.rename(path, old)
        os.rename(new, path)
    elif old.exists() and not present:
        os.rename(old, path)  # the new one never arrived: the old one stays
    if old.exists():
        _carry_over_late(old, path, ours)
        _remove(old)
    for stale in _stale_temporaries(path, only_dead=False):
        _remove(stale)


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link (same file system; a copy where links are refused) source as target."""
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst, follow_symlinks=False)
        except OSError:
            if not Path(src).is_file():
                raise
            shutil.copy2(src, dst)

    if source.is_dir() and not source.is_symlink():
        shutil.copytree(source, target, symlinks=True, copy_function=link)
    else:
        link(str(source), str(target))


# The user's files an output folder may hold and still be replaced as a folder (each is
# hard-linked into the new one); a folder holding more (a home folder named by mistake) is refused.
MAX_FOREIGN_FILES = 1000


def check_replaceable(path: Path, ours: Callable[[Path], bool] | None) -> None:
    """Refuse, before any work, an output folder that cannot be swapped sensibly: the current
    folder (or one holding it), or one holding more than MAX_FOREIGN_FILES files of the user's."""
    if not path.is_dir():
        return
    if Path.cwd().resolve().is_relative_to(path):
        raise EdgeFerError(f"{path}: is the current folder (or holds it); write the output into "
                           f"a folder of its own")
    if ours is None:
        return
    count = 0
    for entry in path.iterdir():
        if ours(entry) or (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            continue
        count += 1 if not entry.is_dir() or entry.is_symlink() else sum(
            len(files) + len(dirs) for _, dirs, files in os.walk(entry)) + 1
        if count > MAX_FOREIGN_FILES:
            raise EdgeFerError(f"{path}: holds more than {MAX_FOREIGN_FILES} files that are not "
                               f"this command's output; write the output into a folder of its own")


def _carry_over(old: Path, new: Path, ours: Callable[[Path], bool]) -> None:
    """Entries of the old output folder its command did not write → the new folder, unchanged."""
    if not old.is_dir():
        return
    for entry in old.iterdir():
        if ours(entry) or (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            continue
        if not (new / entry.name).exists():
            _link_tree(entry, new / entry.name)


def _carry_over_late(old: Path, new: Path, ours: Callable[[Path], bool] | None) -> None:
    """The user's entries that appeared in the old folder during the swap are moved across."""
    if ours is None or not (old.is_dir() and new.is_dir()):
        return
    for entry in old.iterdir():
        if ours(entry) or (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            continue
        if not (new / entry.name).exists() and not (new / entry.name).is_symlink():
            with contextlib.suppress(OSError):
                os.rename(entry, new / entry.name)


def swap_in(staging: Path, path: Path, ours: Callable[[Path], bool] | None = None) -> None:
    """Replace `path` with the complete folder `staging` by renames, the old one deleted last;
    with `ours`, the old folder's other entries are carried over first."""
    if ours is not None:
        _carry_over(path, staging, ours)
    new, old = hidden(path, "new"), hidden(path, "old")
    os.chmod(staging, DIR_MODE)
    os.rename(staging, new)  # the commit point: from here on the new output wins
    if path.exists() or path.is_symlink():
        os.rename(path, old)
    os.rename(new, path)
    if old.exists():
        _carry_over_late(old, path, ours)
        _remove(old)


def publish_files(stage: Path, target: Path) -> None:
    """Move the files of the complete folder `stage` beside `target` (a model, its manifest) as
    one set: the folder is first renamed to `.<target>.edge-fer-files` (the commit point), so a
    kill while moving leaves a set that `recover_files` completes."""
    commit = hidden(target, FILE_SET)
    _remove(commit)
    os.rename(stage, commit)
    _move_out(commit, target.parent)


def _move_out(commit: Path, folder: Path) -> None:
    """The set's files into folder, the one the set is named after last (`.<name>.edge-fer-files`
    → `name`): a reader who finds the new model finds its manifest and companion files too."""
    last = commit.name[1:].rpartition(MARK)[0]
    for entry in sorted(commit.iterdir(), key=lambda entry: (entry.name == last, entry.name)):
        os.replace(entry, folder / entry.name)
    commit.rmdir()


def recover_files(target: Path) -> None:
    """Complete a set of files a killed command committed beside `target`, and remove staging
    that killed commands left there. Call only while holding `output_lock(target)`.

    The folder's other files get the same (`sweep_folder`): a convert killed while writing
    model_int8.tflite leaves nothing that a later convert to model.tflite keeps."""
    commit = hidden(target, FILE_SET)
    if commit.is_dir():
        _move_out(commit, target.parent)
    for stale in _stale_temporaries(target, only_dead=True):
        _remove(stale)
    sweep_folder(target.parent)


def _hidden_entries(folder: Path) -> list[tuple[str, str]]:
    """(name, kind) of the hidden `.<name>.edge-fer-<kind>` entries in folder."""
    try:
        listing = os.listdir(folder)
    except OSError:
        return []
    found = []
    for entry in listing:
        if entry.startswith(".") and MARK in entry:
            name, _, kind = entry[1:].rpartition(MARK)
            found.append((name, kind))
    return found


def sweep_folder(folder: Path) -> None:
    """Finish the file sets killed commands committed in folder, and remove their staging and
    lock files; whatever a live command holds (its lock, a temporary of a live pid) stays."""
    for name, kind in _hidden_entries(folder):
        target = folder / name
        stale = kind.endswith(".tmp") and kind.split("-", 1)[0].isdigit() \
            and not _pid_alive(int(kind.split("-", 1)[0]))
        try:
            if stale:
                _remove(folder / f".{name}{MARK}{kind}")
            elif kind in ("lock", FILE_SET) and hidden(target, kind).exists():
                with output_lock(target):  # refused while its command runs: left alone
                    commit = hidden(target, FILE_SET)
                    if commit.is_dir():
                        _move_out(commit, folder)
        except (OSError, EdgeFerError):
            continue


def staging_name(target: Path) -> str:
    """The prefix of a staging entry for `target` (removed as stale once its process is gone)."""
    return f".{target.name}{MARK}{os.getpid()}-"


class StagedOutput:
    """An output folder being built: write into `folder`; `commit()` swaps it in (done on a clean
    exit of `staged_output` at the latest), after which `folder` is the final path."""

    def __init__(self, path: Path, ours: Callable[[Path], bool] | None) -> None:
        self.path, self.ours = path, ours
        self.folder = Path(tempfile.mkdtemp(prefix=staging_name(path), suffix=".tmp",
                                            dir=path.parent))
        self.committed = False

    def commit(self) -> None:
        if not self.committed:
            swap_in(self.folder, self.path, self.ours)
            self.folder, self.committed = self.path, True

    def in_place(self) -> None:
        """Write into the final folder itself from now on (a run resumed where it stopped)."""
        if not self.committed:
            _remove(self.folder)
            self.path.mkdir(exist_ok=True)
            self.folder, self.committed = self.path, True


def resolve_output(path: str | Path) -> Path:
    """The folder an output path names (a symlink's target is replaced, the link stays); refuses
    an existing file."""
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    if path.exists() and not path.is_dir():
        raise EdgeFerError(f"{path}: exists and is not a folder; name a folder for the output")
    return Path(os.path.abspath(path))


@contextlib.contextmanager
def staged_output(path: str | Path, ours: Callable[[Path], bool] | None = None
                  ) -> Iterator[StagedOutput]:
    """Build the output folder `path` whole beside it and swap it in when the block succeeds.

    `ours(entry)` says which entries of an existing folder its command writes: the others (the
    user's files) are carried over to the new folder untouched. Without it the folder is replaced
    entirely. A failure or a kill leaves the old folder as it was.
    """
    path = resolve_output(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _output_error(path, exc) from None
    with output_lock(path):
        stage = None
        try:
            recover(path, ours)
            check_replaceable(path, ours)
            stage = StagedOutput(path, ours)
            yield stage
            stage.commit()
        except OSError as exc:
            if exc.errno in _OUTPUT_ERRNOS or (exc.filename or "").startswith(
                    (str(path), str(path.parent / f".{path.name}"))):
                raise _output_error(path, exc) from None
            raise
        finally:
            if stage is not None and not stage.committed:
                _remove(stage.folder)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a staging folder that replaces `path` entirely only if the block succeeds."""
    with staged_output(path) as stage:
        yield stage.folder


@contextlib.contextmanager
def staged_dir(path: str | Path, replaceable: Callable[[Path], bool]) -> Iterator[Path]:
    """Yield a staging folder that becomes `path` when the block succeeds: entries `replaceable`
    accepts (an earlier run's output) are replaced, any others carried over untouched.

    A temporary name and a rename per file cost ~8× a plain write here (3,000 raws: 0.6 s against
    0.09 s), so files inside are written plain (`write_plain`) and the folder swapped once.
    """
    with staged_output(path, replaceable) as stage:
        yield stage.folder


_PLAIN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


def write_plain(path: str | Path, data) -> None:
    """Write bytes (or any C-contiguous buffer, e.g. a numpy array) with no temporary name: only
    inside a folder `staged_dir` is building. Three system calls: open, write, close."""
    fd = os.open(path, _PLAIN_FLAGS, 0o666)
    try:
        view = memoryview(data).cast("B")
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def save_figure(figure, path: str | Path) -> Path:
    """Save a matplotlib figure atomically in the format its suffix names, then close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    try:
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format=fmt)
    except ValueError as exc:
        raise EdgeFerError(f"{path}: cannot write the plot ({failure_reason(exc)})") from None
    finally:
        plt.close(figure)
    return path
