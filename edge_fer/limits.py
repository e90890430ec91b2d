"""Bounds on the sizes users give — image sides, images per call — checked before any work: a
`--size 100000` would allocate 40 GB per image. No numpy here, so the command line checks its
options without loading it (edge_fer/commands/options.py)."""

from __future__ import annotations

from edge_fer.errors import UsageError

# An image side edge-fer makes or feeds: 4096 × 4096 × 3 float32 is 201 MB per image.
MAX_SIDE = 4096
# Images in one inference call or one batch of raws.
MAX_BATCH = 4096


def check_side(height: int, width: int, where: str) -> None:
    if max(height, width) > MAX_SIDE:
        raise UsageError(f"{where}: {height}x{width} images are larger than edge-fer takes "
                         f"(at most {MAX_SIDE} pixels a side)")


def check_batch(value: int, flag: str = "--batch") -> int:
    if not 1 <= value <= MAX_BATCH:
        raise UsageError(f"{flag} {value}: expected 1 to {MAX_BATCH:,} images per call")
    return value
