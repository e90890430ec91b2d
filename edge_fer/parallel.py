"""File work on every core with threads: OpenCV's decoders, numpy's copies and the file system
calls all release the GIL, so threads share the cores without a process pool's start-up (~1 s) or
pickling, and results come back in order with a bounded number in flight."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def ordered_map(pool: ThreadPoolExecutor, function: Callable[[T], R], items: Iterable[T],
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
