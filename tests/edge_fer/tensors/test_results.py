"""The one Result-folder writer/reader: our layout, snpe-net-run's and qnn-net-run's, problems by
index."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from edge_fer.errors import EdgeFerError
from edge_fer.tensors.results import read_results, remove_results_from, write_results


def probs(n: int, seed: int = 0) -> np.ndarray:
    values = np.random.default_rng(seed).random((n, 7), dtype=np.float32)
    return values / values.sum(axis=1, keepdims=True)


def test_write_then_read_round_trips_as_little_endian_float32(tmp_path):
    expected = probs(12)
    write_results(tmp_path, expected)
    entries = read_results(tmp_path)
    assert [e.index for e in entries] == list(range(12))  # Result_10 after Result_9, not Result_1
    assert (tmp_path / "Result_3" / "output.raw").read_bytes() == expected[3].astype("<f4").tobytes()
    np.testing.assert_array_equal(np.stack([e.probs for e in entries]), expected)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_start_index_and_overwrite_keep_every_folder_whole(tmp_path):
    write_results(tmp_path, probs(4))
    write_results(tmp_path, probs(2, seed=1), start_index=2)
    entries = read_results(tmp_path)
    np.testing.assert_array_equal(entries[3].probs, probs(2, seed=1)[1])
    assert remove_results_from(tmp_path, 3) == 1 and len(read_results(tmp_path)) == 3


@pytest.mark.parametrize("relative", ["output:0.raw", "output_0.raw", "output.raw",
                                      "InceptionV3/Predictions/Reshape_1:0.raw", "whatever.raw"])
def test_every_runtime_naming_is_read(tmp_path, relative):
    expected = probs(1)[0]
    target = tmp_path / "Result_0" / relative
    target.parent.mkdir(parents=True)
    target.write_bytes(expected.astype("<f4").tobytes())
    (entry,) = read_results(tmp_path)
    assert entry.ok and entry.path == target
    np.testing.assert_array_equal(entry.probs, expected)


def test_the_output_tensor_is_picked_among_several(tmp_path):
    folder = tmp_path / "Result_0"
    folder.mkdir()
    (folder / "logits:0.raw").write_bytes(np.ones(7, "<f4").tobytes())
    (folder / "output:0.raw").write_bytes(probs(1)[0].astype("<f4").tobytes())
    assert read_results(tmp_path)[0].path.name == "output:0.raw"
    (folder / "output:0.raw").rename(folder / "other:0.raw")
    assert "2 .raw files and none named 'output'" in read_results(tmp_path)[0].problem


def test_missing_short_nan_and_batched_results_are_problems_by_index(tmp_path):
    write_results(tmp_path, probs(6))
    shutil.rmtree(tmp_path / "Result_1")
    (tmp_path / "Result_2" / "output.raw").write_bytes(b"\0" * 12)
    (tmp_path / "Result_3" / "output.raw").write_bytes(np.full(7, np.nan, "<f4").tobytes())
    (tmp_path / "Result_4" / "output.raw").write_bytes(probs(2).astype("<f4").tobytes())
    entries = read_results(tmp_path, expected=8)
    problems = {e.index: e.problem for e in entries if not e.ok}
    assert problems[1] == "missing Result folder"
    assert problems[2] == "12 bytes, expected 28 (7 float32 probabilities)"
    assert problems[3] == "holds NaN or infinite values"
    assert "2 images" in problems[4]
    assert problems[6] == problems[7] == "missing Result folder"
    assert [e.index for e in entries if e.ok] == [0, 5]


def test_a_folder_without_results_is_an_error(tmp_path):
    with pytest.raises(EdgeFerError, match="no Result_<i> folders"):
        read_results(tmp_path)
    with pytest.raises(EdgeFerError, match="no such output folder"):
        read_results(tmp_path / "absent")
