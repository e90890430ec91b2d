"""Numbers users give, bounded before any work (edge_fer.limits)."""

from __future__ import annotations

import pytest

from edge_fer.errors import UsageError
from edge_fer.limits import MAX_SIDE, check_batch, parse_size, parse_values


def test_good_values_parse():
    assert parse_size("64") == (64, 64) and parse_size("64x48") == (64, 48)
    assert parse_size(str(MAX_SIDE)) == (MAX_SIDE, MAX_SIDE)
    assert parse_values("0.485,0.456,0.406", "--mean") == (0.485, 0.456, 0.406)
    assert check_batch(32) == 32


@pytest.mark.parametrize(("call", "needle"), [
    (lambda: parse_size("100000"), "at most 4096"),
    (lambda: parse_size("64x4097"), "at most 4096"),
    (lambda: parse_size("0"), "positive"),
    (lambda: parse_values("nan", "--mean"), "finite"),
    (lambda: parse_values("inf", "--std"), "finite"),
    (lambda: parse_values("-1", "--std"), "greater than 0"),
    (lambda: parse_values("0,1,1", "--std"), "greater than 0"),
    (lambda: parse_values("1,2", "--mean"), "one value or three"),
    (lambda: check_batch(100000), "1 to 4,096"),
])
def test_bad_values_are_usage_errors(call, needle):
    with pytest.raises(UsageError, match=needle):
        call()
