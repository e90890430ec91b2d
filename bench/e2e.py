"""End to end: a folder of JPEGs → labels, edge-fer's path against a naive per-image loop.

Both run in one process on the same JPEGs and the same model file:

- product: `raw_inputs_from_folder` (decode + preprocess on all cores, raws + input list +
  manifest) → `load_runner` + `run_input_list` (batched, Result_<i>/output.raw) →
  `classify_output` (labels joined to the manifest). The library calls behind
  `edge-fer raw-inputs`, `edge-fer run` and `edge-fer classify`.
- naive: for each image in turn: decode + preprocess → write its raw → invoke the model on that
  one image → write its Result folder → parse it back into a label. Same library functions,
  same files written, one image at a time on one core.

- commands: `edge-fer raw-inputs` → `edge-fer run` → `edge-fer classify` as three processes,
  start-up included (bench/stages.py).
- stages: each file stage's files/s (raw-inputs; run's reading and writing without the model
  load and the inference; classify) beside the floor, a plain one-thread loop doing the same file
  work on the same JPEGs in the same run (bench/stages.py).

Each figure is images / wall-clock seconds including the model load. The model's FLOP floor
(2 × multiply-adds of Conv2D/MatMul per image, from its frozen graph) is printed beside the
measured per-image inference latency, with the arithmetic rate that implies.

    python bench/e2e.py --model model.tflite --data fer2013.csv.gz --work /dev/shm/e2e [--batch 64]

(--data: the CSV's PublicTest faces as JPEGs; without it, --images synthetic faces.) Exit code 0
once measured; with goals (--target-rate images/s in process, --target-ratio × the naive loop,
--target-cli-rate images/s for the three commands) 1 when one is missed — the figures are
printed either way.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/stages.py, bench/vs_fer.py
from stages import cli_path, naive_floors, stage_rates, stage_table


def make_jpegs(folder: Path, count: int, seed: int = 7, quality: int = 95) -> list[Path]:
    """`count` built-in synthetic faces as `<folder>/<emotion>/<i>.jpg` (labels from folders)."""

    from edge_fer.data.synthetic import generate

    images, labels = generate(count, seed)
    return write_jpegs(images, labels, folder, quality)


def write_jpegs(images, labels, folder: Path, quality: int = 95) -> list[Path]:
    """uint8 faces as `<folder>/<emotion>/<i>.jpg`, the folder naming each one's label."""
    import cv2

    from edge_fer.labels import LABELS

    paths = []
    for name in LABELS:
        (folder / name).mkdir(parents=True, exist_ok=True)
    for index, (image, label) in enumerate(zip(images, labels)):
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("OpenCV could not encode a JPEG")
        path = folder / LABELS[int(label)] / f"{index:06d}.jpg"
        path.write_bytes(data.tobytes())
        paths.append(path)
    return paths


def product_path(folder: Path, work: Path, model: Path, batch: int,
                 workers: int | None) -> dict:
    """raw-inputs → run → classify, timed stage by stage; labels by manifest source path."""
    from edge_fer.analysis.classify import classify_output
    from edge_fer.runners import load_runner
    from edge_fer.runners.base import run_input_list
    from edge_fer.tensors.raw_inputs import raw_inputs_from_folder

    raws, output = work / "raws", work / "output"
    stages = {}
    started = time.perf_counter()
    written = raw_inputs_from_folder(folder, raws, workers=workers)
    stages["raw_inputs_s"] = time.perf_counter() - started
    mark = time.perf_counter()
    runner = load_runner(model)
    try:
        timings = run_input_list(runner, written.input_list, output, batch=batch)
        model_batch = runner.max_batch
    finally:
        runner.close()
    stages["run_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    report = classify_output(output, written.input_list)
    stages["classify_s"] = time.perf_counter() - mark
    seconds = time.perf_counter() - started
    labels = {p.source: p.label for p in report.predictions}
    return {"images": len(report.predictions), "seconds": seconds,
            "images_per_s": len(report.predictions) / seconds,
            "stages_s": {k: round(v, 3) for k, v in stages.items()},
            "accuracy": report.metrics.accuracy if report.metrics else None,
            "invoke_ms_per_image": float(np.median(timings.per_image_ms)),
            "inference_s": round(sum(timings.batch_latencies_s), 4),
            "load_s": round(timings.load_s, 3), "model_batch": model_batch, "labels": labels}


def naive_loop(paths: list[Path], work: Path, model: Path) -> dict:
    """One image at a time: decode+preprocess → raw → invoke → Result folder → parse."""
    from edge_fer.labels import LABELS
    from edge_fer.preprocess import preprocess_file
    from edge_fer.runners import load_runner
    from edge_fer.tensors.rawio import write_image_raw
    from edge_fer.tensors.results import read_result, result_dir, write_results

    raws, output = work / "naive_raws", work / "naive_output"
    raws.mkdir(parents=True)
    labels, invoke = {}, []
    started = time.perf_counter()
    runner = load_runner(model)
    try:
        for index, path in enumerate(paths):
            image = preprocess_file(path)
            write_image_raw(raws / f"{index:06d}.raw", image)
            begun = time.perf_counter()
            probs = runner.infer(image.reshape(1, *image.shape, 1))
            invoke.append(time.perf_counter() - begun)
            write_results(output, [probs[0]], start_index=index)
            entry = read_result(result_dir(output, index), index)
            labels[str(path)] = LABELS[int(np.argmax(entry.probs))]
    finally:
        runner.close()
    seconds = time.perf_counter() - started
    return {"images": len(paths), "seconds": seconds, "images_per_s": len(paths) / seconds,
            "invoke_ms_per_image": float(np.median(invoke) * 1000.0), "labels": labels}


def flop_floor(model: Path) -> int | None:
    from edge_fer.benchmarks.facts import flops_per_image, source_graph

    graph = source_graph(model)
    return flops_per_image(graph) if graph else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None,
                        help="Model file, e.g. model_int8.tflite (edge-fer convert); required.")
    parser.add_argument("--images", type=int, default=5000, help="JPEGs to generate (with "
                        "--data: the most faces of the split to use).")
    parser.add_argument("--data", type=Path, default=None,
                        help="FER2013 CSV: its PublicTest faces as the JPEGs instead of "
                        "synthetic ones.")
    parser.add_argument("--naive-images", type=int, default=None,
                        help="Images the naive loop runs on (default: all; it is a rate).")
    parser.add_argument("--batch", type=int, default=64, help="run --batch of the product path.")
    parser.add_argument("--workers", type=int, default=None,
                        help="raw-inputs processes (default: all cores).")
    parser.add_argument("--work", type=Path, default=None,
                        help="Working folder (default: a temporary one, removed after).")
    parser.add_argument("--target-rate", type=float, default=None,
                        help="Images/s goal: exit 1 when missed (default: no goal, exit 0).")
    parser.add_argument("--target-ratio", type=float, default=None,
                        help="Goal for product / naive: exit 1 when missed (default: none).")
    parser.add_argument("--no-cli", dest="cli", action="store_false",
                        help="Leave out the three commands (in-process figures only).")
    parser.add_argument("--target-cli-rate", type=float, default=None,
                        help="Goal for the three commands end to end, start-up included, "
                             "images/s: exit 1 when missed (default: none).")
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures here.")
    parser.add_argument("--make-jpegs", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.make_jpegs:
        if args.data:
            from vs_fer import write_face_jpegs

            write_face_jpegs(args.data, "PublicTest", args.images, args.make_jpegs)
        else:
            make_jpegs(args.make_jpegs, args.images)
        return 0
    if args.model is None or not args.model.is_file():
        parser.error(f"--model {args.model or ''}: no such model file")

    from edge_fer import reporter

    reporter.set_quiet(True)
    work = args.work or Path(tempfile.mkdtemp(prefix="edge-fer-e2e-"))
    try:
        folder = work / "jpegs"
        if folder.exists():
            shutil.rmtree(folder)
        for stale in ("raws", "output", "naive_raws", "naive_output"):
            shutil.rmtree(work / stale, ignore_errors=True)
        made = time.perf_counter()
        # In a separate process: this one must not have run OpenCV's thread pool before
        # raw-inputs forks its workers (a forked child can inherit a held pool lock).
        subprocess.run([sys.executable, __file__, "--make-jpegs", str(folder),
                        "--images", str(args.images),
                        *(["--data", str(args.data)] if args.data else [])], check=True)
        paths = sorted(folder.rglob("*.jpg"))
        print(f"generated {len(paths)} JPEGs (48x48 "
              f"{'PublicTest faces' if args.data else 'synthetic faces'}) in "
              f"{time.perf_counter() - made:.1f} s in {folder}", flush=True)
        load_start = os.getloadavg()
        floors = naive_floors(paths, work)
        product = product_path(folder, work, args.model, args.batch, args.workers)
        cli = cli_path(folder, work, args.model, args.batch) if args.cli else None
        naive = naive_loop(paths[:args.naive_images] if args.naive_images else paths, work,
                           args.model)
        load_end = os.getloadavg()
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    same = [product["labels"].get(source) == label for source, label in naive["labels"].items()]
    ratio = product["images_per_s"] / naive["images_per_s"]
    flops = flop_floor(args.model)
    print(f"model {args.model.name}, {os.cpu_count()} CPUs, load average "
          f"{', '.join(f'{v:.2f}' for v in load_start)} at start, "
          f"{', '.join(f'{v:.2f}' for v in load_end)} at end")
    print(f"product (raw-inputs → run --batch {args.batch} → classify): {product['images']} "
          f"images in {product['seconds']:.2f} s = {product['images_per_s']:,.0f} images/s "
          f"(stages {product['stages_s']}; accuracy {product['accuracy']:.3f})")
    if cli:
        print(f"three commands (start-up included; {cli['commands_s']}): {cli['images']} images "
              f"in {cli['seconds']:.2f} s = {cli['images_per_s']:,.0f} images/s")
    print(f"naive per-image loop: {naive['images']} images in {naive['seconds']:.2f} s = "
          f"{naive['images_per_s']:,.0f} images/s")
    rates = stage_rates(product)
    print(stage_table(rates, floors))
    print(f"ratio: {ratio:.2f}x; labels identical on {sum(same)}/{len(same)}")
    if flops:
        looped = product["model_batch"] is not None and product["model_batch"] < args.batch
        calls = (f"run --batch {args.batch}: {args.batch} invokes of {product['model_batch']} "
                 f"image, the model's batch" if looped else f"run --batch {args.batch}")
        for name, ms in ((calls, product["invoke_ms_per_image"]),
                         ("naive: one image per invoke", naive["invoke_ms_per_image"])):
            print(f"FLOP floor {flops / 1e6:.1f} MFLOP/image; measured inference {ms:.4f} "
                  f"ms/image ({name}, median) = {flops / (ms / 1000.0) / 1e9:.1f} GFLOP/s")
    met_rate = args.target_rate is None or product["images_per_s"] >= args.target_rate
    met_ratio = args.target_ratio is None or ratio >= args.target_ratio
    met_cli = args.target_cli_rate is None or cli is None or \
        cli["images_per_s"] >= args.target_cli_rate
    goals = ([f"≥ {args.target_rate:,.0f} images/s {'MET' if met_rate else 'MISSED'}"]
             if args.target_rate is not None else [])
    goals += ([f"≥ {args.target_ratio:g}x naive {'MET' if met_ratio else 'MISSED'}"]
              if args.target_ratio is not None else [])
    goals += ([(f"commands ≥ {args.target_cli_rate:,.0f} images/s "
                f"{'not run' if cli is None else 'MET' if met_cli else 'MISSED'}")]
              if args.target_cli_rate is not None else [])
    if goals:
        print(f"targets: {'; '.join(goals)}")
    if args.json:
        from edge_fer.atomic import atomic_write_text

        figures = {"model": str(args.model), "cpu_count": os.cpu_count(),
                   "load_average_start": load_start, "load_average_end": load_end,
                   "flops_per_image": flops, "ratio": ratio,
                   "labels_identical": sum(same), "compared": len(same),
                   "product": {k: v for k, v in product.items() if k != "labels"},
                   "stage_files_per_s": rates, "floor_files_per_s": floors, "cli": cli,
                   "naive": {k: v for k, v in naive.items() if k != "labels"}}
        atomic_write_text(args.json, json.dumps(figures, indent=2) + "\n")
    return 0 if met_rate and met_ratio and met_cli else 1


if __name__ == "__main__":
    sys.exit(main())
