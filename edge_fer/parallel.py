"""File work on every core, results in order with a bounded number in flight.

Threads suit work that is mostly in native code with the GIL released (run's batched reads and
writes). Decoding small images is not: per image, the Python around OpenCV's decoder (reading,
checks, preprocessing, writing) holds the GIL longer than the decoder runs, so two threads ran
raw-inputs no faster than one (3,589 48×48 JPEGs: 0.59 s on two threads, 0.53 s on one).
`worker_pool` forks worker processes for such work: forked, they start in milliseconds with
every module already imported, and they hand back only short results (they write their own
files).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def ordered_map(pool: Executor, function: Callable[[T], R], items: Iterable[T],
                ahead: int) -> Iterator[R]:
    """function(item) for each item on the pool, yielded in the items' order, with at most
    `ahead` submitted and not yet taken (memory stays bounded whatever the count). An exception
    is raised where its item's result would be; the work still queued is cancelled."""
    pending: deque[Future] = deque()
    try:
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def chunks(items: list[T], size: int) -> list[list[T]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def chunk_size(count: int, workers: int, largest: int = 64) -> int:
    """Items per task: a few tasks per worker (an even load), at most `largest` (a steady flow)."""
    return max(1, min(largest, count // (workers * 4) or 1))


# Below this many items a process pool's fork and hand-over cost more than they save.
MIN_ITEMS_FOR_PROCESSES = 256


def worker_pool(workers: int, items: int) -> Executor:
    """`workers` forked processes for CPU work with Python in it (with every worker started
    before this returns, so no thread this process starts later is half-copied into one); a
    thread pool where fork is unavailable, for one worker, or for a handful of items."""
    if workers < 2 or items < MIN_ITEMS_FOR_PROCESSES or \
            "fork" not in multiprocessing.get_all_start_methods():
        return ThreadPoolExecutor(workers, thread_name_prefix="edge-fer-work")
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=functools.partial(_worker_started, os.getpid()))
    # With fork, the first submit starts every worker. A signal during the fork would reach
    # Python's at-fork callbacks, which swallow the handler's exception (a Ctrl-C lost): held
    # until the fork is done, it is raised here; the workers unblock it for themselves.
    try:
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
        try:
            started = pool.submit(os.getpid)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a held signal is raised here
        started.result()
    except BaseException:
        shut_down(pool)
        raise
    return pool


def shut_down(pool: Executor) -> None:
    """Cancel what is queued and wait for the workers. Always waits: a process pool whose manager
    thread is still closing its pipes when the interpreter exits makes Python's exit hook write
    to a closed pipe ("Exception ignored ... Bad file descriptor"), so a signal that stops the
    wait stops it only after it is done (a second one ends the process at once: signals.py)."""
    try:
        pool.shutdown(wait=True, cancel_futures=True)
    except KeyboardInterrupt:
        pool.shutdown(wait=True, cancel_futures=True)
        raise


def _worker_started(parent: int) -> None:
    """A worker ends with its parent, and leaves signals to it: Ctrl-C reaches the whole
    process group, and the parent stops the work and cleans up; the workers just exit."""
    from edge_fer.signals import die_with_parent

    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)  # held while it was forked


# The signals that stop a command (edge_fer.signals handles them in the main process).
_STOPPING = {getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)}
