"""Side by side with the PyPI `fer` package: the same face JPEGs → labels, both pipelines, one run.

The JPEGs are FER2013 faces (48×48, from the CSV's `--split`, written once as
`<work>/jpegs/<emotion>/<row>.jpg`), so both accuracies are measured on real labelled faces.

- edge-fer: raw-inputs → run --batch → classify (bench/e2e.py's `product_path`, the library
  calls behind the three commands) with `--model`: a .tflite/.onnx/.pb file, or a shipped model's
  name, which is converted to int8 TFLite first (calibrated on 200 Training rows of the CSV;
  `--dynamic-batch`, so run's batches are one invoke each, as the README advises for throughput).
- fer: its own `FER(use_tflite=True).detect_emotions(path, face_rectangles=[whole image])` per
  JPEG (its quantised mini-Xception at 64×64; the face box is given, as the JPEGs are already
  faces, which its Haar detector with a 50-pixel minimum would not find), in its own process.

`fer` is never a dependency of edge-fer: `make bench-fer-env` installs it with `--no-deps` (plus
setuptools for the `pkg_resources` it imports) into runs/fer-site, and only the fer process puts
that folder on its path. Its FER class needs nothing else edge-fer's environment lacks
(TensorFlow, OpenCV, Pillow, requests); PyTorch is only for its MTCNN detector, not used here.

    make bench-fer-env
    python bench/vs_fer.py --model tiny --data ../shared/data/fer2013/fer2013.csv.gz [--count 3589]

Rates are images / wall seconds from model load to the last label (imports excluded for both).
Beside them: edge-fer as its three commands (start-up included), and each file stage's files/s
beside a one-thread floor loop measured in the same run (bench/stages.py). With goals
(--target-rate images/s, --target-ratio × fer, --target-cli-rate images/s as commands) it exits 1
when one is missed (the figures are printed either way); without them, 0 once measured.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))  # bench/e2e.py: the product path and the JPEG writer
FER_SITE = REPO / "runs" / "fer-site"
FER_VERSION = "25.10.3"
FER_REQUIREMENT = f"fer=={FER_VERSION}"


def write_face_jpegs(csv: Path, split: str, count: int | None, folder: Path) -> int:
    """The split's first `count` faces as `<folder>/<emotion>/<row>.jpg`; how many were written."""
    from e2e import write_jpegs

    from edge_fer.data import load_dataset
    from edge_fer.errors import EdgeFerError

    dataset = load_dataset(csv)
    if split not in dataset.splits:
        raise EdgeFerError(f"{csv}: no {split} rows (it has {', '.join(sorted(dataset.splits))})")
    chosen = dataset.splits[split]
    total = len(chosen) if count is None else min(count, len(chosen))
    return len(write_jpegs(chosen.images[:total], chosen.labels[:total], folder))


def runnable_model(model: str, csv: Path, work: Path) -> Path:
    """A file the runners load: the one given, or a shipped model (or .pb) as int8 TFLite with a
    free batch."""
    from edge_fer.errors import EdgeFerError
    from edge_fer.training.pretrained import model_or_default

    path = model_or_default(model)
    if not path.is_file():
        raise EdgeFerError(f"{path}: no such model file")
    if path.suffix != ".pb":
        return path
    from edge_fer.converters import ConvertRequest, convert_model

    report = convert_model(ConvertRequest(model=path, target="tflite", precision="int8",
                                          calib=str(csv), calib_count=200, dynamic_batch=True,
                                          out_dir=work / "model", verify_count=0))
    return next(r.path for r in report.results if r.variant.startswith("int8 in"))


def prepare(args: argparse.Namespace) -> int:
    """In a child process: the JPEGs and the runnable model, recorded in <work>/prepared.json."""
    from edge_fer.errors import EdgeFerError

    work = args.prepare
    try:
        count = write_face_jpegs(args.data, args.split, args.count, work / "jpegs")
        model = runnable_model(args.model, args.data, work)
    except EdgeFerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    (work / "prepared.json").write_text(json.dumps({"faces": count, "model": str(model)}))
    return 0


def fer_worker(folder: Path, out: Path) -> None:
    """In the fer process: every JPEG through fer's FER class; labels and timing to `out`."""
    import cv2  # noqa: F401  (imported before the clock starts, as edge-fer's modules are)
    from fer.fer import FER

    paths = sorted(folder.rglob("*.jpg"))
    started = time.perf_counter()
    detector = FER(use_tflite=True)
    labels, missing = {}, 0
    for path in paths:
        found = detector.detect_emotions(str(path), face_rectangles=[(0, 0, 48, 48)])
        if not found:
            missing += 1
            continue
        emotions = found[0]["emotions"]
        labels[str(path)] = max(emotions, key=emotions.get)
    seconds = time.perf_counter() - started
    out.write_text(json.dumps({"images": len(paths), "seconds": seconds, "labels": labels,
                               "unlabelled": missing}))


def run_fer(folder: Path, work: Path, site: Path) -> dict:
    """fer's pipeline in its own process, with only that process seeing the fer package."""
    out = work / "fer.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
               TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, __file__, "--fer-worker", str(folder), "--fer-out", str(out)],
                          check=False, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the fer pipeline failed (exit {done.returncode}): {last}")
    return json.loads(out.read_text())


def accuracy(labels: dict[str, str]) -> float:
    """Share of JPEGs whose label is their folder's emotion."""
    return sum(Path(source).parent.name == label for source, label in labels.items()) / max(len(labels), 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="best", help="model file or shipped model name (default best)")
    parser.add_argument("--data", type=Path, help="FER2013 CSV (.csv or .csv.gz)")
    parser.add_argument("--split", default="PublicTest", help="the CSV's rows to use (default PublicTest)")
    parser.add_argument("--count", type=int, default=None, help="faces to use (default: the whole split)")
    parser.add_argument("--batch", type=int, default=64, help="edge-fer run --batch")
    parser.add_argument("--fer-site", type=Path, default=FER_SITE,
                        help="folder the fer package is installed in (make bench-fer-env)")
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: temporary)")
    parser.add_argument("--target-rate", type=float, default=None,
                        help="edge-fer images/s goal: exit 1 when missed (default: no goal)")
    parser.add_argument("--target-ratio", type=float, default=None,
                        help="goal: edge-fer in process ≥ this × fer's images/s (default: none)")
    parser.add_argument("--target-cli-rate", type=float, default=None,
                        help="images/s goal of the three commands, start-up included (default: none)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--fer-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fer-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fer_worker:
        fer_worker(args.fer_worker, args.fer_out)
        return 0
    from edge_fer import reporter

    reporter.set_quiet(True)
    with reporter.quiet_native():  # TensorFlow's, the converter's and LiteRT's chatter
        return prepare(args) if args.prepare else compare(parser, args)


def compare(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Both pipelines on the same JPEGs; figures printed (and written to --json)."""
    if args.data is None or not args.data.is_file():
        parser.error(f"--data {args.data or ''}: no such FER2013 CSV")
    if not (args.fer_site / "fer" / "fer.py").is_file():
        print(f"error: the fer package is not in {args.fer_site}: run `make bench-fer-env` (it installs "
              f"{FER_REQUIREMENT} there with --no-deps, outside edge-fer's environment)", file=sys.stderr)
        return 3

    from e2e import product_path
    from stages import cli_path, naive_floors, stage_rates, stage_table

    work = args.work or Path(tempfile.mkdtemp(prefix="edge-fer-vs-fer-"))
    try:
        for stale in ("jpegs", "raws", "output", "model"):
            shutil.rmtree(work / stale, ignore_errors=True)
        folder = work / "jpegs"
        # In a child process, as bench/e2e.py does: raw-inputs forks its workers, and this
        # process must not have run OpenCV's or TensorFlow's thread pools before that.
        prepared = subprocess.run([sys.executable, __file__, "--prepare", str(work), "--model", args.model,
                                   "--data", str(args.data), "--split", args.split,
                                   *(["--count", str(args.count)] if args.count else [])],
                                  check=False, capture_output=True, text=True)
        if prepared.returncode != 0:  # its one error line (its stderr is swallowed here otherwise)
            print((prepared.stderr.strip().splitlines() or ["error: preparing the faces failed"])[-1],
                  file=sys.stderr)
            return 1
        facts = json.loads((work / "prepared.json").read_text())
        count, model = facts["faces"], Path(facts["model"])
        load_start = os.getloadavg()
        floors = naive_floors(sorted(folder.rglob("*.jpg")), work)
        ours = product_path(folder, work, model, args.batch, None)
        cli = cli_path(folder, work, model, args.batch)
        theirs = run_fer(folder, work, args.fer_site)
        load_end = os.getloadavg()
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    ours_accuracy, theirs_accuracy = accuracy(ours["labels"]), accuracy(theirs["labels"])
    theirs_rate = theirs["images"] / theirs["seconds"]
    print(f"{count} {args.split} faces as 48x48 JPEGs; {os.cpu_count()} CPUs, load average "
          f"{load_start[0]:.2f} at start, {load_end[0]:.2f} at end")
    print(f"edge-fer ({model.name}; raw-inputs → run --batch {args.batch} → classify): "
          f"{ours['images']} images in {ours['seconds']:.2f} s = {ours['images_per_s']:,.0f} images/s, "
          f"accuracy {ours_accuracy:.2%}")
    print(f"fer {FER_VERSION} (FER(use_tflite=True).detect_emotions, face box given): "
          f"{theirs['images']} images in {theirs['seconds']:.2f} s = {theirs_rate:,.0f} images/s, "
          f"accuracy {theirs_accuracy:.2%}" + (f", {theirs['unlabelled']} without a label"
                                                if theirs["unlabelled"] else ""))
    print(f"edge-fer as three commands (start-up included; {cli['commands_s']}): {cli['images']} "
          f"images in {cli['seconds']:.2f} s = {cli['images_per_s']:,.0f} images/s")
    rates = stage_rates(ours)
    print(stage_table(rates, floors))
    met = args.target_rate is None or ours["images_per_s"] >= args.target_rate
    met_ratio = args.target_ratio is None or ours["images_per_s"] >= args.target_ratio * theirs_rate
    met_cli = args.target_cli_rate is None or cli["images_per_s"] >= args.target_cli_rate
    goals = [text for given, text in (
        (args.target_rate, f"≥ {args.target_rate or 0:,.0f} images/s {'MET' if met else 'MISSED'}"),
        (args.target_ratio, f"≥ {args.target_ratio or 0:g}x fer {'MET' if met_ratio else 'MISSED'}"),
        (args.target_cli_rate, (f"commands ≥ {args.target_cli_rate or 0:,.0f} images/s "
                                f"{'MET' if met_cli else 'MISSED'}"))) if given is not None]
    print(f"edge-fer / fer: {ours['images_per_s'] / theirs_rate:.2f}x"
          + (f"; targets: {'; '.join(goals)}" if goals else ""))
    if args.json:
        from edge_fer.atomic import atomic_write_text

        figures = {"faces": count, "split": args.split, "model": str(model), "cpu_count": os.cpu_count(),
                   "load_average_start": load_start, "load_average_end": load_end,
                   "edge_fer": {"images": ours["images"], "seconds": ours["seconds"],
                                "images_per_s": ours["images_per_s"], "accuracy": ours_accuracy,
                                "stages_s": ours["stages_s"]},
                   "stage_files_per_s": rates, "floor_files_per_s": floors, "cli": cli,
                   "fer": {"version": FER_VERSION, "images": theirs["images"],
                           "seconds": theirs["seconds"], "images_per_s": theirs_rate,
                           "accuracy": theirs_accuracy, "unlabelled": theirs["unlabelled"]}}
        atomic_write_text(args.json, json.dumps(figures, indent=2) + "\n")
    return 0 if met and met_ratio and met_cli else 1


if __name__ == "__main__":
    sys.exit(main())
