#!/usr/bin/env python3
"""Benchmark a .tflite on an Android device with LiteRT's benchmark_model, per delegate: the same as
`edge-fer device-bench tflite` (kept as a thin wrapper; every argument is passed on).

    python scripts/tflite_device_bench.py --help
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from edge_fer.cli import app

    try:
        app(["device-bench", "tflite", *(sys.argv[1:] if argv is None else argv)],
            prog_name="edge-fer")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
