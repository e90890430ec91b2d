"""`run` stops with one line when its raws are rewritten under it (raw-inputs swapping in a new
set meanwhile: it replaces its folder whole), instead of mixing both sets into one output; the
old output stays. The raws' folders are checked once per batch, not each raw (no stat per file)."""

from __future__ import annotations

import os
import shutil

import numpy as np
from typer.testing import CliRunner

from edge_fer.cli import app
from edge_fer.tensors.raw_inputs import write_raw_set
from tests.hostile.conftest import write_tiny_onnx


def test_raws_rewritten_during_a_run_stop_it_and_keep_the_old_output(tmp_path, monkeypatch):
    from edge_fer.runners import base

    rng = np.random.default_rng(0)
    items = [(f"f{i}", f"f{i}", "", rng.random((48, 48), np.float32)) for i in range(6)]
    raws = write_raw_set(tmp_path / "raws", items)
    model = write_tiny_onnx(tmp_path / "m.onnx")
    out = tmp_path / "out"
    runner = CliRunner()
    args = ["run", str(model), "-i", str(raws.input_list), "-o", str(out), "-q"]
    assert runner.invoke(app, args).exit_code == 0
    old = {p.name: (p / "output.raw").read_bytes() for p in out.glob("Result_*")}
    read = base.read_image_raw
    folder = tmp_path / "raws"

    def rewriting(path, *rest, **kwargs):  # raw-inputs swaps a new set in while run reads
        if not (tmp_path / "swapped").exists():
            (tmp_path / "swapped").touch()
            fresh = tmp_path / "fresh"
            shutil.copytree(folder, fresh)
            for raw in fresh.glob("*.raw"):
                raw.write_bytes(np.ones(48 * 48, np.float32).tobytes())
            os.rename(folder, tmp_path / "old")
            os.rename(fresh, folder)
        return read(path, *rest, **kwargs)

    monkeypatch.setattr(base, "read_image_raw", rewriting)
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(folder) in lines[0] and "changed while this run" in lines[0]
    assert {p.name: (p / "output.raw").read_bytes() for p in out.glob("Result_*")} == old

