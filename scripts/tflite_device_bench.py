#!/usr/bin/env python3
"""Benchmark a .tflite on an Android device with LiteRT's benchmark_model, per delegate.

Pushes benchmark_model (an Android build you supply: --benchmark-model), the model and the first
--check-count raws over adb; runs benchmark_model --num_runs ITERATIONS for each of cpu
(XNNPACK), gpu and nnapi; then once per raw with --input_layer_value_files/--output_filepath and
pulls the outputs; writes OUT/tflite_device_bench.csv and .json (per delegate: mean, min, max
inference time) and checks the device's labels against the host reference (edge-fer compare).

    python scripts/tflite_device_bench.py model_int8.tflite -i raws/input_list.txt \\
        --benchmark-model android_aarch64_benchmark_model -o device_bench/ \\
        [--delegates cpu,gpu,nnapi] [--iterations 50] [--threads 4] [--device SERIAL]

Exit codes: 0 done and labels agree; 1 a delegate failed or agreement below --min-agreement;
2 usage error; 3 adb, a device or benchmark_model is missing (the message says which).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("-i", "--input-list", type=Path, required=True)
    parser.add_argument("-o", "--out", type=Path, default=Path("tflite_device_bench"))
    parser.add_argument("--benchmark-model", type=Path,
                        default=os.environ.get("TFLITE_BENCHMARK_MODEL"),
                        help="LiteRT benchmark_model built for the device "
                             "(default: $TFLITE_BENCHMARK_MODEL)")
    parser.add_argument("--delegates", default="cpu,gpu,nnapi")
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--check-count", type=int, default=20,
                        help="raws run one by one for the label check (0: none)")
    parser.add_argument("--device", default=None, help="adb serial (default: the only device)")
    parser.add_argument("--reference", type=Path, default=None,
                        help="host model for the label check (default: the model's source .pb)")
    parser.add_argument("--min-agreement", type=float, default=0.95)
    args = parser.parse_args(argv)

    from edge_fer.benchmarks.device_bench import format_summary, tflite_device_bench
    from edge_fer.errors import EdgeFerError

    try:
        summaries = tflite_device_bench(
            args.model, args.input_list, args.out, args.benchmark_model,
            tuple(d.strip() for d in args.delegates.split(",") if d.strip()), args.iterations,
            args.warmup, args.threads, args.check_count, args.device, args.reference)
    except EdgeFerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(format_summary(summaries), end="")
    print(f"summary: {args.out / 'tflite_device_bench.csv'}, {args.out / 'tflite_device_bench.json'}")
    failed = [s for s in summaries if s.status != "measured"
              or (s.agreement is not None and s.agreement < args.min_agreement)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
