#!/usr/bin/env python3
"""The edge model zoo's long training runs, kept in the repository until each model ships.

A small network's whole training state (checkpoints with Adam's slots, state.json, config.json,
the cached teacher logits) is a few MB, so it lives in zoo/runs/<model>/ and survives a change of
machine: whoever continues the work runs `train` again and every run resumes where it stopped.

    python scripts/zoo.py train [--models tiny fast] [--data FER2013.csv.gz]   # resume all, in order
    python scripts/zoo.py status                                               # epochs, best so far
    python scripts/zoo.py snapshot                                             # commit the runs' state

`train` runs scripts/build_pretrained.py for each model not yet shipped (its recipe and stages),
one after the other (one process, both cores), at a lower priority so tests and builds keep the
machine. `snapshot` waits for an epoch boundary (state.json newer than every checkpoint file) and
commits zoo/runs, so no commit pairs one epoch's state.json with another epoch's checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ZOO = REPO / "zoo" / "runs"
DEFAULT_DATA = REPO.parent / "shared" / "data" / "fer2013" / "fer2013.csv.gz"
ORDER = ("fast", "tiny")  # a shipped one is skipped (tiny shipped 2026-12-03, fast 2026-12-04)


def shipped(name: str) -> bool:
    return (REPO / "data" / "pretrained" / name / "model.pb").is_file()


def run_folders() -> list[Path]:
    return sorted(p.parent for p in ZOO.glob("*/seed*/state.json"))


def status() -> int:
    if not run_folders():
        done = [name for name in ORDER if shipped(name)]
        print(f"zoo/runs: no run in progress (shipped: {', '.join(done) or 'none'})")
    for run in run_folders():
        state = json.loads((run / "state.json").read_text())
        config = json.loads((run / "config.json").read_text())
        best = state["best"]
        last = state["history"][-1] if state["history"] else {}
        print(f"{run.relative_to(REPO)}: epoch {state['epoch']}/{config['epochs']}, best "
              f"{best['val_accuracy']:.4f} at epoch {best['epoch']}, last {last.get('val_accuracy', 0):.4f}, "
              f"{last.get('images_per_second', 0):.0f} images/s, {state['wall_seconds'] / 3600:.2f} h")
    return 0


def train(models: list[str], data: Path, niceness: int) -> int:
    if not data.is_file():
        print(f"error: {data}: FER2013 CSV not found (pass --data)", file=sys.stderr)
        return 1
    os.nice(niceness)
    failed = 0
    for name in models:
        if shipped(name):
            print(f"{name}: shipped already (data/pretrained/{name}); nothing to train")
            continue
        code = subprocess.call([sys.executable, str(REPO / "scripts" / "build_pretrained.py"),
                                "--model", name, "--data", str(data)], cwd=REPO)
        print(f"{name}: build_pretrained exited {code}", flush=True)
        failed |= code != 0
    return int(failed)


def consistent(run: Path) -> bool:
    """True at an epoch boundary: state.json was written after every checkpoint file."""
    state = run / "state.json"
    if not state.is_file():
        return False
    written = state.stat().st_mtime
    return all(f.stat().st_mtime <= written for sub in ("best", "last") for f in (run / sub).glob("*"))


def snapshot(message: str, wait_seconds: float) -> int:
    runs = run_folders()
    deadline = time.monotonic() + wait_seconds
    while not all(consistent(run) for run in runs):
        if time.monotonic() > deadline:
            print("error: no epoch boundary seen in time; try again", file=sys.stderr)
            return 1
        time.sleep(0.5)
    subprocess.check_call(["git", "add", "-A", "--", str(ZOO)], cwd=REPO)
    if not all(consistent(run) for run in runs):  # an epoch ended while adding: take the next one
        subprocess.check_call(["git", "reset", "-q", "--", str(ZOO)], cwd=REPO)
        return snapshot(message, wait_seconds)
    if subprocess.call(["git", "diff", "--cached", "--quiet", "--", str(ZOO)], cwd=REPO) == 0:
        print("zoo: nothing new to commit")
        return 0
    summary = "; ".join(
        f"{run.parent.name} epoch {json.loads((run / 'state.json').read_text())['epoch']}" for run in runs)
    return subprocess.call(["git", "commit", "-q", "-m", f"{message}: {summary}", "--", str(ZOO)], cwd=REPO)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train_parser = sub.add_parser("train", help="resume (or start) every unshipped model's run")
    train_parser.add_argument("--models", nargs="+", default=list(ORDER), choices=ORDER)
    train_parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    train_parser.add_argument("--nice", type=int, default=10, help="priority increment (0: none)")
    sub.add_parser("status", help="where each run stands")
    snap = sub.add_parser("snapshot", help="commit zoo/runs at the next epoch boundary")
    snap.add_argument("-m", "--message", default="zoo: training state")
    snap.add_argument("--wait", type=float, default=600.0, help="seconds to wait for a boundary")
    args = parser.parse_args(argv)
    if args.command == "train":
        return train(args.models, args.data, args.nice)
    if args.command == "status":
        return status()
    return snapshot(args.message, args.wait)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `zoo.py status | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
