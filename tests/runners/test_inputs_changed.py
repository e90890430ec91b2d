"""`run` stops with one line when its raws are rewritten under it (raw-inputs swapping in a new
set meanwhile), instead of mixing both sets into one output; the old output stays."""

from __future__ import annotations

import os

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
    later = sorted((tmp_path / "raws").glob("*.raw"))[4]

    def rewriting(path, *rest, **kwargs):  # another command replaces a raw not yet read
        if not (tmp_path / "swapped").exists():
            (tmp_path / "swapped").touch()
            fresh = later.with_name("fresh.tmp")
            fresh.write_bytes(later.read_bytes()[::-1])
            os.replace(fresh, later)
        return read(path, *rest, **kwargs)

    monkeypatch.setattr(base, "read_image_raw", rewriting)
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(later) in lines[0] and "changed while this run" in lines[0]
    assert {p.name: (p / "output.raw").read_bytes() for p in out.glob("Result_*")} == old

