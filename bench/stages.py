"""The file stages beside their floor, and the three commands end to end (bench/e2e.py, vs_fer.py).

- floor: plain single-threaded Python loops over the same JPEGs, in the same run, doing each
  stage's file work with no checks — decode + scale + write each raw; read each raw back; mkdir +
  write each Result_<i>/output.raw; read each back. What one core does with nothing but the work.
- edge-fer's stages, from bench/e2e.py's `product_path`: raw-inputs (decode + write, threads),
  run's reading and writing (run's wall time less the model load and the inference calls),
  classify (reading the Result folders, joining the manifest).
- cli: `edge-fer raw-inputs` → `edge-fer run` → `edge-fer classify` as three processes, start-up
  included, timed from the first start to the last exit.

Run alone, it times the three stages in one process, best of --repeats, in wall and CPU seconds
(CPU: every thread of the process; the inference's own CPU time, measured on the same raws, is
taken off run's):

    python bench/stages.py --model model.tflite --jpegs /dev/shm/jpegs --work /dev/shm/stages
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def naive_floors(paths: list[Path], work: Path) -> dict[str, float]:
    """files/s of the four plain loops (one thread, no checks) on `paths`, in `work`/floor."""
    import cv2

    folder = work / "floor"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "output").mkdir(parents=True)
    rates = {}
    started = time.perf_counter()
    raws = []
    for index, path in enumerate(paths):
        image = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_GRAYSCALE)
        raw = folder / f"{index:06d}.raw"
        (image.astype(np.float32) / np.float32(255.0)).tofile(raw)
        raws.append(raw)
    rates["decode_write_raws"] = len(paths) / (time.perf_counter() - started)
    started = time.perf_counter()
    for raw in raws:
        np.fromfile(raw, np.float32)
    rates["read_raws"] = len(paths) / (time.perf_counter() - started)
    probs = np.random.default_rng(0).random((len(paths), 7), np.float32)
    started = time.perf_counter()
    for index, row in enumerate(probs):
        result = folder / "output" / f"Result_{index}"
        result.mkdir()
        row.tofile(result / "output.raw")
    rates["write_results"] = len(paths) / (time.perf_counter() - started)
    started = time.perf_counter()
    for index in range(len(paths)):
        np.fromfile(folder / "output" / f"Result_{index}" / "output.raw", np.float32)
    rates["read_results"] = len(paths) / (time.perf_counter() - started)
    shutil.rmtree(folder, ignore_errors=True)
    return {k: round(v, 1) for k, v in rates.items()}


def stage_rates(product: dict) -> dict[str, float]:
    """files/s of edge-fer's file stages from `product_path`'s figures."""
    images, stages = product["images"], product["stages_s"]
    run_files_s = stages["run_s"] - product["load_s"] - product["inference_s"]
    return {"raw_inputs": round(images / stages["raw_inputs_s"], 1),
            "run_files": round(images / max(run_files_s, 1e-9), 1),
            "classify": round(images / stages["classify_s"], 1)}


def stage_table(rates: dict[str, float], floors: dict[str, float]) -> str:
    """Each stage's files/s beside the floor of the same file work."""
    run_floor = 1.0 / (1.0 / floors["read_raws"] + 1.0 / floors["write_results"])
    rows = [("raw-inputs (decode + write raws)", rates["raw_inputs"],
             floors["decode_write_raws"]),
            ("run: read raws + write Result folders", rates["run_files"], run_floor),
            ("classify (read Result folders)", rates["classify"], floors["read_results"])]
    header = f"{'stage (files/s)':40} {'edge-fer':>9} {'floor':>9}  (floor: one-thread loop)"
    lines = [header]
    lines += [f"{name:40} {ours:9,.0f} {floor:9,.0f}" for name, ours, floor in rows]
    return "\n".join(lines)


def edge_fer_command() -> list[str]:
    """The edge-fer console script of this Python's environment (or the module, without one)."""
    script = Path(sys.executable).with_name("edge-fer")
    return [str(script)] if script.is_file() else \
        [sys.executable, "-c", "from edge_fer.cli import main; main()"]


def cli_path(folder: Path, work: Path, model: Path, batch: int) -> dict:
    """raw-inputs → run → classify as three commands; wall seconds of each, start-up included."""
    edge_fer = edge_fer_command()
    raws, output, labels = work / "cli_raws", work / "cli_output", work / "cli_labels.csv"
    for stale in (raws, output):
        shutil.rmtree(stale, ignore_errors=True)
    commands = {
        "raw_inputs": ["raw-inputs", str(folder), "--out", str(raws), "-q"],
        "run": ["run", str(model), "-i", str(raws / "input_list.txt"), "--out", str(output),
                "--batch", str(batch), "-q"],
        "classify": ["classify", str(output), "--format", "csv", "--out", str(labels), "-q"],
    }
    seconds = {}
    started = time.perf_counter()
    for name, arguments in commands.items():
        begun = time.perf_counter()
        done = subprocess.run(edge_fer + arguments, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"edge-fer {name.replace('_', '-')} failed "
                               f"(exit {done.returncode}): {last}")
        seconds[name] = round(time.perf_counter() - begun, 3)
    total = time.perf_counter() - started
    images = sum(1 for line in labels.read_text().splitlines()[1:] if line)
    return {"images": images, "seconds": round(total, 3), "images_per_s": images / total,
            "commands_s": seconds,
            "commands": [" ".join(["edge-fer", *arguments]) for arguments in commands.values()]}


def best_stage_times(jpegs: Path, work: Path, model: Path, batch: int, repeats: int) -> dict:
    """Best-of-`repeats` (wall s, CPU s) of raw-inputs, run without load and inference, classify."""
    from edge_fer.analysis.classify import classify_output
    from edge_fer.runners import load_runner
    from edge_fer.runners.base import run_input_list
    from edge_fer.tensors.raw_inputs import raw_inputs_from_folder

    runner = load_runner(model)
    best: dict[str, list[float]] = {}
    images = 0
    try:
        for _ in range(repeats):
            for stale in ("raws", "output"):
                shutil.rmtree(work / stale, ignore_errors=True)
            marks = [(time.perf_counter(), time.process_time())]
            written = raw_inputs_from_folder(jpegs, work / "raws")
            marks.append((time.perf_counter(), time.process_time()))
            timings = run_input_list(runner, written.input_list, work / "output", batch=batch)
            marks.append((time.perf_counter(), time.process_time()))
            classify_output(work / "output", written.input_list)
            marks.append((time.perf_counter(), time.process_time()))
            stacked = np.concatenate(_raws(written.input_list))
            cpu = time.process_time()
            for first in range(0, len(stacked), batch):
                runner.infer(stacked[first:first + batch])
            inference_cpu = time.process_time() - cpu
            images = written.written
            spans = [(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(marks)]
            spans[1] = (spans[1][0] - sum(timings.batch_latencies_s), spans[1][1] - inference_cpu)
            for name, (wall, cpu_s) in zip(("raw-inputs", "run (files only)", "classify"), spans):
                kept = best.setdefault(name, [float("inf"), float("inf")])
                kept[0], kept[1] = min(kept[0], wall), min(kept[1], cpu_s)
    finally:
        runner.close()
    return {"images": images, "stages": best}


def _raws(input_list: Path):
    from edge_fer.tensors.rawio import read_image_raw, read_input_list

    return [read_image_raw(raw) for raw in read_input_list(input_list).raw_paths()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The file stages, best of --repeats.")
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--jpegs", type=Path, required=True, help="folder of face images")
    parser.add_argument("--work", type=Path, required=True, help="working folder (tmpfs)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    from edge_fer import reporter

    reporter.set_quiet(True)
    with reporter.quiet_native():
        figures = best_stage_times(args.jpegs, args.work, args.model, args.batch, args.repeats)
    images = figures["images"]
    for name, (wall, cpu) in figures["stages"].items():
        print(f"{name:17} best wall {wall:.3f} s = {images / wall:7,.0f} files/s; CPU {cpu:.3f} s "
              f"= {images / cpu:7,.0f} files per CPU-second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
