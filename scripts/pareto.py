#!/usr/bin/env python3
"""Accuracy per cost: every shipped model against the peers a user would otherwise pick.

    python scripts/pareto.py                 # docs/pareto.png + docs/pareto.md
    python scripts/pareto.py --out somewhere/
    python scripts/pareto.py --candidate runs/tiny/candidate/metrics.json   # + a model not shipped

Reads each shipped model's metrics.json (data/pretrained/<name>/: parameters, MFLOP per face,
PublicTest accuracy float and int8, int8 TFLite latency at batch 1, one thread — all measured by
scripts/build_pretrained.py) and adds the peers from PEERS, whose figures are their published
ones unless said otherwise. Writes a plot (accuracy against MFLOP per face, and against int8
TFLite latency) and a markdown table marking the Pareto-optimal points (no other point is both
cheaper and more accurate). A figure that was not measured is shown as "—" or named as
published; a peer without a measured cost is drawn as a horizontal line at its accuracy.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


@dataclass(frozen=True)
class Point:
    name: str
    source: str                    # where the figures come from
    accuracy: float | None         # FER2013 test accuracy (float model), 0..1
    accuracy_int8: float | None = None
    mflop: float | None = None     # per face
    parameters: int | None = None
    latency_ms: float | None = None  # int8 TFLite, batch 1, one thread, this machine
    input_size: str = "48×48 gray"
    measured: bool = False         # accuracy measured by edge-fer (a shipped model, candidate or peer)
    candidate: bool = False        # scored, not shipped
    peer: bool = False             # not edge-fer's (measured or published)
    accuracy_note: str = ""        # e.g. "published", "measured"


# The peers (issue 17). seed003's parameters and MFLOP are edge-fer inspect's count of the
# architecture (`edge-fer inspect` on any frozen seed003 graph, e.g. `edge-fer train --arch
# seed003` + `edge-fer freeze`: 2,423,239 parameters, 37,910,528 FLOPs; they do not depend on the
# weights); its accuracy is the published figure for that network on FER2013.
# mini-Xception is the `fer` package's own model files (fer 25.10.3, `make bench-fer-env` puts them
# in runs/fer-site/fer/data/), measured here like edge-fer's models, on the 3,589 PublicTest faces:
#   edge-fer convert emotion_model.hdf5 --target tflite --mean 0.5 --std 0.5            → float
#   edge-fer convert emotion_model.hdf5 --target tflite --precision int8 --mean 0.5 --std 0.5 \
#       --calib fer2013.csv.gz                                                          → int8
#   edge-fer evaluate <file> --data fer2013.csv.gz --split PublicTest  → 65.23 % float, 64.92 % int8
#   edge-fer inspect frozen/emotion_model.pb  → 56,951 parameters, 20,326,784 FLOPs (64×64 input)
#   edge-fer bench emotion_model_int8.tflite --runtime tflite --batch 1 --threads 1 → p50 0.712 ms
#       (this machine, nothing else running)
# Its published figure is about 66 % on the FER2013 test set.
MINI_XCEPTION_COMMANDS = "fer 25.10.3's emotion_model.hdf5: edge-fer convert, evaluate, inspect, bench (scripts/pareto.py)"
PEERS = (
    Point("seed003 (SNPE tutorial's 3-conv CNN)", "size and MFLOP: edge-fer inspect; accuracy: published",
          0.56, mflop=37.9, parameters=2_423_239, accuracy_note="≈ 56 % published"),
    Point("mini-Xception (`fer` package)", MINI_XCEPTION_COMMANDS, 0.6523, 0.6492, mflop=20.3,
          parameters=56_951, latency_ms=0.712, input_size="64×64 gray", measured=True, peer=True,
          accuracy_note="PublicTest, measured (≈ 66 % published)"),
)


def shipped_points() -> list[Point]:
    """One point per shipped model, from its metrics.json (PublicTest, measured)."""
    from edge_fer.training.pretrained import describe_shipped

    points = []
    for row in describe_shipped():
        if not row["shipped"]:
            continue
        points.append(Point(
            f"{row['name']} (edge-fer)", "metrics.json (scripts/build_pretrained.py)",
            row["public_test_float"], row["public_test_int8"], row["mflop_per_face"],
            row["parameters"], row["int8_tflite_latency_ms"], measured=True,
            accuracy_note="PublicTest, measured"))
    return points


def candidate_point(path: Path) -> Point:
    """A model build_pretrained scored but did not ship (<run>/candidate/metrics.json): measured
    like a shipped one, named as not shipped."""
    import json

    metrics = json.loads(Path(path).read_text())
    scores = metrics["public_test"]
    return Point(f"{metrics['name']} candidate (not shipped)",
                 f"{path} (not shipped: {metrics.get('not_shipped', '')})",
                 scores["float"]["accuracy"], scores["int8"]["accuracy"],
                 round(metrics["flops_per_image"] / 1e6, 1), metrics["parameters"],
                 metrics.get("int8_tflite_latency", {}).get("p50_ms"), measured=True, candidate=True,
                 accuracy_note="PublicTest, measured")


def pareto_front(points: list[Point], cost: str) -> set[str]:
    """Names of the points with a known `cost` that no other such point beats: cheaper or as
    cheap, and more accurate or as accurate, better in one."""
    known = [p for p in points if getattr(p, cost) is not None and p.accuracy is not None]
    front = set()
    for p in known:
        beaten = any(getattr(q, cost) <= getattr(p, cost) and q.accuracy >= p.accuracy
                     and (getattr(q, cost) < getattr(p, cost) or q.accuracy > p.accuracy)
                     for q in known if q is not p)
        if not beaten:
            front.add(p.name)
    return front


def _percent(value: float | None) -> str:
    return f"{100 * value:.2f} %" if value is not None else "—"


def markdown_table(points: list[Point]) -> str:
    front = pareto_front(points, "mflop")
    lines = [("| model | parameters | MFLOP / face | input | test accuracy (float) | int8 TFLite | "
              "int8 TFLite ms (batch 1, 1 thread) | on the MFLOP front | figures from |"),
             "|---|--:|--:|---|--:|--:|--:|:-:|---|"]
    for p in sorted(points, key=lambda p: (p.mflop is None, p.mflop or 0)):
        accuracy = _percent(p.accuracy) if p.measured else p.accuracy_note
        lines.append(
            f"| {p.name} | {f'{p.parameters:,}' if p.parameters else '—'} | "
            f"{f'{p.mflop:.1f}' if p.mflop is not None else 'not measured'} | {p.input_size} | "
            f"{accuracy} | {_percent(p.accuracy_int8)} | "
            f"{f'{p.latency_ms:.3f}' if p.latency_ms is not None else 'not measured'} | "
            f"{'yes' if p.name in front else ''} | {p.source} |")
    return "\n".join(lines) + "\n"


def plot(points: list[Point]) -> bytes:
    """The two panels as PNG bytes."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, cost, label in ((axes[0], "mflop", "MFLOP per face"),
                            (axes[1], "latency_ms", "int8 TFLite ms per face, batch 1, 1 thread")):
        front = pareto_front(points, cost)
        placed = [p for p in points if getattr(p, cost) is not None]
        for p in placed:
            ax.scatter(getattr(p, cost), 100 * p.accuracy, s=60,
                       marker="o" if p.measured else "s",
                       color="C2" if p.candidate else "C1" if p.peer or not p.measured else "C0",
                       edgecolor="black" if p.name in front else "none", zorder=3)
            ax.annotate(p.name, (getattr(p, cost), 100 * p.accuracy), textcoords="offset points",
                        xytext=(6, 4), fontsize=8)
        ordered = sorted((p for p in placed if p.name in front), key=lambda p: getattr(p, cost))
        if len(ordered) > 1:
            ax.step([getattr(p, cost) for p in ordered], [100 * p.accuracy for p in ordered],
                    where="post", color="C0", alpha=0.4)
        for p in points:
            if getattr(p, cost) is None:
                color = "C1" if p.peer or not p.measured else "C0"
                ax.axhline(100 * p.accuracy, color=color, linestyle=":", linewidth=1)
                ax.annotate(f"{p.name}: {p.accuracy_note}, cost not measured",
                            (0.02, 100 * p.accuracy), xycoords=("axes fraction", "data"),
                            xytext=(0, 3), textcoords="offset points", fontsize=7, color=color)
        if placed:
            ax.set_xscale("log")
        ax.set_xlabel(label + (" (log)" if placed else ""))
        ax.set_ylabel("FER2013 test accuracy %")
        ax.grid(alpha=0.3)
    axes[0].set_title("accuracy per FLOP", fontsize=10)
    axes[1].set_title("accuracy per millisecond (this machine)", fontsize=10)
    figure.suptitle("edge-fer shipped models (blue), candidates not shipped (green), peers (orange): "
                    "circles PublicTest, measured here; squares/lines published figures", fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="folder for pareto.png and pareto.md")
    parser.add_argument("--candidate", type=Path, action="append", default=[],
                        help="also a model scored but not shipped: its <run>/candidate/metrics.json")
    args = parser.parse_args(argv)

    from edge_fer.atomic import atomic_write_bytes, atomic_write_text

    points = shipped_points() + [candidate_point(path) for path in args.candidate] + list(PEERS)
    atomic_write_bytes(args.out / "pareto.png", plot(points))
    table = markdown_table(points)
    atomic_write_text(args.out / "pareto.md", table)
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
