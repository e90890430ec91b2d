"""The numbers a user gives — image sizes, mean/std, batch sizes — parsed and bounded in one place,
before any work: a NaN mean or a negative std would write NaN or inverted raws, and a `--size
100000` would allocate 40 GB per image. No numpy here, so the command line checks its options
without loading it (edge_fer/commands/options.py)."""

from __future__ import annotations

import math

from edge_fer.errors import UsageError

# An image side edge-fer makes or feeds: 4096 × 4096 × 3 float32 is 201 MB per image.
MAX_SIDE = 4096
# Images in one inference call or one batch of raws.
MAX_BATCH = 4096


def parse_size(text: str, flag: str = "--size") -> tuple[int, int]:
    """`64` → (64, 64); `64x48` → (64, 48) as height × width, each 1..MAX_SIDE."""
    parts = str(text).lower().replace("×", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise UsageError(f"{flag} {text!r}: expected H or HxW, e.g. 64 or 224x224") from None
    if len(values) not in (1, 2) or min(values) < 1:
        raise UsageError(f"{flag} {text!r}: expected H or HxW with positive numbers")
    check_side(values[0], values[-1], f"{flag} {text!r}")
    return (values[0], values[-1])


def check_side(height: int, width: int, where: str) -> None:
    if max(height, width) > MAX_SIDE:
        raise UsageError(f"{where}: {height}x{width} images are larger than edge-fer takes "
                         f"(at most {MAX_SIDE} pixels a side)")


def parse_values(text: str, flag: str) -> tuple[float, ...]:
    """`0.5` or `0.485,0.456,0.406` → finite floats; `--std` values must also be > 0."""
    try:
        values = tuple(float(v) for v in str(text).split(","))
    except ValueError:
        raise UsageError(f"{flag} {text!r}: expected a number or three separated by commas") \
            from None
    if len(values) not in (1, 3):
        raise UsageError(f"{flag} {text!r}: give one value or three (one per channel)")
    check_normalisation(flag.lstrip("-"), values, f"{flag} {text!r}")
    return values


def check_normalisation(what: str, values, where: str) -> None:
    """mean values finite; std values finite and > 0 (a negative std flips the image)."""
    if not all(math.isfinite(v) for v in values):
        raise UsageError(f"{where}: {what} values must be finite numbers")
    if what == "std" and min(values) <= 0:
        raise UsageError(f"{where}: std values must be greater than 0")


def check_batch(value: int, flag: str = "--batch") -> int:
    if not 1 <= value <= MAX_BATCH:
        raise UsageError(f"{flag} {value}: expected 1 to {MAX_BATCH:,} images per call")
    return value
