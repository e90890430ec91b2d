"""Sizes users give, bounded before any work (edge_fer.limits)."""

from __future__ import annotations

import pytest

from edge_fer.commands.options import BATCH_LIMIT
from edge_fer.errors import UsageError
from edge_fer.limits import MAX_BATCH, MAX_SIDE, check_batch
from edge_fer.tensors.spec import InputSpec, parse_size


def test_the_command_lines_batch_limit_is_the_librarys():
    assert BATCH_LIMIT == MAX_BATCH


def test_good_values_pass():
    assert parse_size("64") == (64, 64) and parse_size("64x48") == (64, 48)
    assert parse_size(str(MAX_SIDE)) == (MAX_SIDE, MAX_SIDE)
    assert check_batch(32) == 32


@pytest.mark.parametrize(("call", "needle"), [
    (lambda: parse_size("100000"), "at most 4096"),
    (lambda: parse_size("64x4097"), "at most 4096"),
    (lambda: parse_size("0"), "positive"),
    (lambda: InputSpec(height=100000, width=100000), "at most 4096"),
    (lambda: check_batch(100000), "1 to 4,096"),
])
def test_bad_values_are_usage_errors(call, needle):
    with pytest.raises(UsageError, match=needle):
        call()
