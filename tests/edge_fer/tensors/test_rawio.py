"""SNPE raw tensors and input lists, as CONVENTIONS lays them out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_fer.errors import EdgeFerError
from edge_fer.tensors.rawio import read_image_raw, read_input_list, write_input_list, write_raw


def test_raw_is_headerless_little_endian_float32(tmp_path):
    tensor = np.random.default_rng(0).random((1, 48, 48, 1), dtype=np.float32)
    path = write_raw(tmp_path / "a.raw", tensor)
    assert path.stat().st_size == 9216
    assert path.read_bytes() == tensor.astype("<f4").tobytes()
    np.testing.assert_array_equal(read_image_raw(path), tensor)


def test_uint8_raw_is_2304_bytes_and_reads_back_scaled(tmp_path):
    pixels = np.arange(2304, dtype=np.uint32).astype(np.uint8)
    path = write_raw(tmp_path / "a.raw", pixels, dtype="uint8")
    assert path.stat().st_size == 2304
    np.testing.assert_allclose(read_image_raw(path, "uint8").ravel(), pixels / 255.0, atol=1e-7)


def test_wrongly_sized_raw_is_an_error_naming_the_file(tmp_path):
    (tmp_path / "short.raw").write_bytes(b"\0" * 100)
    with pytest.raises(EdgeFerError, match="short.raw.*100 bytes"):
        read_image_raw(tmp_path / "short.raw")


def test_input_list_skips_output_lines_and_resolves_relative_paths(tmp_path):
    (tmp_path / "list.txt").write_text(
        "#output\n%output:0\n\nraws/a.raw\nx:=raws/b.raw\n/abs/c.raw\n", encoding="utf-8")
    parsed = read_input_list(tmp_path / "list.txt")
    assert len(parsed) == 3
    assert parsed.output_layers == ["output"] and parsed.output_tensors == ["output:0"]
    assert parsed.raw_paths("x") == [tmp_path / "raws/a.raw", tmp_path / "raws/b.raw",
                                     Path("/abs/c.raw")]


def test_written_input_list_is_relative_and_reads_back(tmp_path):
    raws = [write_raw(tmp_path / "raws" / f"{i}.raw", np.zeros(2304, np.float32)) for i in range(3)]
    write_input_list(tmp_path / "input_list.txt", raws)
    assert (tmp_path / "input_list.txt").read_text().splitlines() == ["raws/0.raw", "raws/1.raw", "raws/2.raw"]
    assert read_input_list(tmp_path / "input_list.txt").raw_paths() == raws


def test_empty_input_list_is_an_error(tmp_path):
    (tmp_path / "list.txt").write_text("%output\n")
    with pytest.raises(EdgeFerError, match="names no inputs"):
        read_input_list(tmp_path / "list.txt")
