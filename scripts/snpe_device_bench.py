#!/usr/bin/env python3
"""Benchmark a DLC on an Android device with SNPE's snpe-net-run, per runtime (cpu, gpu, dsp).

Pushes the DLC, the raws and input list, snpe-net-run and the SDK's libraries for the device's
ABI and Hexagon version over adb; runs snpe-net-run --perf_profile PROFILE ITERATIONS times per
runtime; pulls the Result folders and SNPEDiag logs; reads each log with the host's
snpe-diagview; writes OUT/snpe_device_bench.csv and .json (per runtime: mean, min, max total
inference time) and checks the device's labels against the host reference (edge-fer compare).

    python scripts/snpe_device_bench.py model.dlc -i raws/input_list.txt -o device_bench/ \\
        [--runtimes cpu,gpu,dsp] [--iterations 10] [--device SERIAL] [--reference model.pb]

Needs adb with one device (or --device), and SNPE_ROOT (or QAIRT_SDK_ROOT) pointing at the SDK.
Exit codes: 0 done and labels agree; 1 a runtime failed or agreement below --min-agreement;
2 usage error; 3 adb, a device or the SDK is missing (the message says which).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dlc", type=Path)
    parser.add_argument("-i", "--input-list", type=Path, required=True)
    parser.add_argument("-o", "--out", type=Path, default=Path("snpe_device_bench"))
    parser.add_argument("--runtimes", default="cpu,gpu,dsp", help="cpu, gpu, dsp (HTP), aip")
    parser.add_argument("--iterations", type=int, default=10, help="snpe-net-run runs per runtime")
    parser.add_argument("--perf-profile", default="high_performance")
    parser.add_argument("--device", default=None, help="adb serial (default: the only device)")
    parser.add_argument("--reference", type=Path, default=None,
                        help="host model for the label check (default: the DLC's source .pb)")
    parser.add_argument("--min-agreement", type=float, default=0.95,
                        help="top-1 agreement with the reference required per runtime")
    args = parser.parse_args(argv)

    from edge_fer.benchmarks.device_bench import format_summary, snpe_device_bench
    from edge_fer.errors import EdgeFerError

    try:
        summaries = snpe_device_bench(
            args.dlc, args.input_list, args.out,
            tuple(r.strip() for r in args.runtimes.split(",") if r.strip()), args.iterations,
            args.perf_profile, args.device, args.reference)
    except EdgeFerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(format_summary(summaries), end="")
    print(f"summary: {args.out / 'snpe_device_bench.csv'}, {args.out / 'snpe_device_bench.json'}")
    return _exit_code(summaries, args.min_agreement)


def _exit_code(summaries, min_agreement: float) -> int:
    failed = [s for s in summaries if s.status != "measured"
              or (s.agreement is not None and s.agreement < min_agreement)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
