"""Option choices and ranges: every fixed choice is the list of the module that uses it, and a
range refuses NaN and infinity (click's own ranges let NaN through)."""

from __future__ import annotations

import math

import pytest
import typer

from edge_fer.commands import options


def test_choice_lists_are_the_library_lists():
    from edge_fer.runners import REGISTRY
    from edge_fer.runners.snpe import RUNTIME_FLAGS
    from edge_fer.tensors.raw_inputs import RAW_DTYPES
    from edge_fer.tensors.spec import COLORS, LAYOUTS
    from edge_fer.training import augment, bn_stats, train

    assert options.SNPE_RUNTIMES == tuple(RUNTIME_FLAGS)
    assert options.RAW_DTYPES == tuple(RAW_DTYPES)
    assert (options.COLORS, options.LAYOUTS) == (COLORS, LAYOUTS)
    assert options.RUNTIMES == tuple(REGISTRY)
    assert options.COLORS == COLORS and options.LAYOUTS == LAYOUTS
    from edge_fer.benchmarks.device.snpe import PERF_PROFILES
    from edge_fer.benchmarks.device.tflite import TFLITE_DELEGATE_FLAGS

    assert options.PERF_PROFILES == PERF_PROFILES
    assert options.TFLITE_DELEGATES == tuple(TFLITE_DELEGATE_FLAGS)
    assert options.TRAIN_PRECISIONS == train.PRECISIONS
    assert options.LR_SCHEDULES == train.LR_SCHEDULES
    assert options.CLASS_WEIGHTINGS == train.CLASS_WEIGHTINGS
    assert options.AUGMENTATIONS == augment.AUGMENTATIONS
    assert options.BN_STATISTICS == bn_stats.BN_STATISTICS


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0.0, -1.0])
def test_positive_finite_refuses(value):
    with pytest.raises(typer.BadParameter, match="is not a finite number > 0"):
        options.finite(0, low_open=True)(value)


def test_ranges_take_their_bounds():
    check = options.finite(0.0, 0.5)
    assert check(0.0) == 0.0 and check(0.5) == 0.5 and check(None) is None
    with pytest.raises(typer.BadParameter, match="0.6 is not a finite number ≥ 0 and ≤ 0.5"):
        check(0.6)


def test_a_choice_is_its_value():
    kind = options.choice("Kind", ("moving-average", "precise"))
    assert [k.value for k in kind] == ["moving-average", "precise"]
    assert options.plain(kind("precise")) == "precise" and options.plain(None) is None
