"""Non-finite numbers stop where they appear: a NaN loss, a NaN graph output, a NaN raw.

One NaN passes every later step silently (argmax of NaNs is 0, "max|Δp| nan" compares false with
every threshold), so each producer checks what it makes and names where it came from.
"""

from __future__ import annotations

import numpy as np

from edge_fer.errors import EdgeFerError


class NonFiniteError(EdgeFerError):
    """Numbers that should be finite are NaN or infinite."""


def count_non_finite(values) -> int:
    return int(np.size(values) - np.count_nonzero(np.isfinite(values)))


def describe_non_finite(values) -> str:
    """'3 of 9,216 values are NaN' / '... are NaN or infinite'."""
    values = np.asarray(values)
    bad = count_non_finite(values)
    kinds = ("NaN" if np.isnan(values).any() else "") + \
            (" or infinite" if np.isinf(values).any() else "")
    return f"{bad:,} of {values.size:,} values are {kinds.removeprefix(' or ') or 'non-finite'}"


def require_finite(values, where: str, what: str) -> None:
    """Raise `<where>: <what>: 3 of 9,216 values are NaN` unless every value is finite."""
    values = np.asarray(values)
    if values.size and not np.isfinite(values).all():
        raise NonFiniteError(f"{where}: {what}: {describe_non_finite(values)}")
