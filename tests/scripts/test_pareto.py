"""scripts/pareto.py: every shipped model's measured figures and the peers' published ones in one
table and plot; the Pareto front is the points nothing else beats on both cost and accuracy."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pareto.py"


@pytest.fixture
def pareto(monkeypatch):
    spec = importlib.util.spec_from_file_location("pareto", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "pareto", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_front_keeps_only_points_nothing_beats_on_both(pareto):
    Point = pareto.Point
    points = [Point("cheap", "", 0.60, mflop=10), Point("dear", "", 0.70, mflop=900),
              Point("beaten", "", 0.59, mflop=40), Point("tie", "", 0.60, mflop=10.0),
              Point("costless", "", 0.66)]
    assert pareto.pareto_front(points, "mflop") == {"cheap", "dear", "tie"}


def test_table_and_plot_hold_every_shipped_model_and_mark_what_is_published(pareto, tmp_path,
                                                                            capsys):
    from edge_fer.training.pretrained import pretrained_metrics, shipped_names

    assert pareto.main(["--out", str(tmp_path)]) == 0
    table = (tmp_path / "pareto.md").read_text()
    assert capsys.readouterr().out == table
    assert (tmp_path / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = [line for line in table.splitlines()[2:]]
    assert len(rows) == len(shipped_names()) + len(pareto.PEERS)
    for name in shipped_names():
        metrics = pretrained_metrics(name)
        (row,) = [r for r in rows if r.startswith(f"| {name} (edge-fer)")]
        assert f"{100 * metrics['public_test']['float']['accuracy']:.2f} %" in row
        assert f"{metrics['flops_per_image'] / 1e6:.1f}" in row
    published = [p for p in pareto.PEERS if not p.measured]
    for peer in pareto.PEERS:  # a published figure says so; a measured one is a percentage
        (row,) = [r for r in rows if r.startswith(f"| {peer.name}")]
        assert ("% published" in row) == (peer in published)
        if peer.measured:
            assert f"{100 * peer.accuracy:.2f} %" in row and f"{peer.latency_ms:.3f}" in row


def test_a_candidate_is_measured_and_named_as_not_shipped(pareto, tmp_path):
    import json

    candidate = tmp_path / "candidate" / "metrics.json"
    candidate.parent.mkdir()
    candidate.write_text(json.dumps({
        "name": "tiny", "parameters": 60535, "flops_per_image": 10964224,
        "not_shipped": "PublicTest 57.70% float, below its target 66%",
        "public_test": {"float": {"accuracy": 0.577}, "int8": {"accuracy": 0.5773}},
        "int8_tflite_latency": {"p50_ms": 0.556}}))
    assert pareto.main(["--out", str(tmp_path), "--candidate", str(candidate)]) == 0
    (row,) = [r for r in (tmp_path / "pareto.md").read_text().splitlines()
              if r.startswith("| tiny candidate (not shipped)")]
    assert "| 60,535 | 11.0 |" in row and "57.70 %" in row and "57.73 %" in row
    assert "0.556" in row and "below its target 66%" in row
