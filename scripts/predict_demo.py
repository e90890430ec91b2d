#!/usr/bin/env python3
"""The README's predict pictures and frames/s figure, from a clip made of real faces.

Pastes FER2013's sample faces into a 640×480 clip (1 face in its first fifth, then 3, drifting
and changing expression every second), writes it as mp4v, runs `edge-fer predict` on it with the
default model (the shipped model as int8 TFLite) and prints the summary; with --docs it also
writes docs/predict_frame.png (one annotated frame) and docs/predict_emotions.png (the
emotions-over-time plot).

    python scripts/predict_demo.py [--faces ../shared/data/fer2013/sample] [--frames 150]
        [--fps 15] [--work /tmp/predict_demo] [--docs docs/] [predict options, e.g. --threads 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def busiest_frame(rows_csv: Path, near: int) -> int:
    """The frame with the most faces in predictions.csv, the nearest to `near` among equals."""
    import csv
    from collections import Counter

    with rows_csv.open(newline="") as handle:
        faces = Counter(int(row["frame"]) for row in csv.DictReader(handle))
    if not faces:
        return near
    most = max(faces.values())
    return min((f for f, n in faces.items() if n == most), key=lambda f: abs(f - near))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=Path,
                        default=REPO.parent / "shared" / "data" / "fer2013" / "sample")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/predict_demo"))
    parser.add_argument("--docs", type=Path, default=None,
                        help="write predict_frame.png and predict_emotions.png here")
    parser.add_argument("--frame", type=int, default=None, help="frame shown (default: the one "
                        "with the most faces found, nearest 3/4 of the way in)")
    args, predict_options = parser.parse_known_args(argv)

    import cv2

    from edge_fer.prediction.scenes import moving_faces, sample_faces, write_video

    args.work.mkdir(parents=True, exist_ok=True)
    scene = moving_faces(sample_faces(args.faces), args.frames, switch_every=round(args.fps))
    clip = write_video(scene, args.work / "faces.mp4", args.fps)
    out = args.work / "out"
    arguments = ["predict", str(clip), "-o", str(out), "--json", *predict_options]
    print("$ edge-fer", " ".join(arguments), file=sys.stderr)
    done = subprocess.run([sys.executable, "-c", "from edge_fer.cli import main; main()",
                           *arguments], stdout=subprocess.PIPE, text=True, check=False)
    print(done.stdout, end="")
    if done.returncode:
        return done.returncode
    if args.docs:
        args.docs.mkdir(parents=True, exist_ok=True)
        capture = cv2.VideoCapture(str(out / "faces_annotated.mp4"))
        capture.set(cv2.CAP_PROP_POS_FRAMES, args.frame if args.frame is not None
                    else busiest_frame(out / "predictions.csv", args.frames * 3 // 4))
        ok, frame = capture.read()
        capture.release()
        if not ok:
            print(f"{out / 'faces_annotated.mp4'}: cannot read the frame back", file=sys.stderr)
            return 1
        from PIL import Image  # a 256-colour PNG: a third of the size, the same picture here

        Image.fromarray(frame[:, :, ::-1]).quantize(256).save(args.docs / "predict_frame.png",
                                                             optimize=True)
        with Image.open(out / "faces_emotions.png") as plot:
            plot.convert("RGB").quantize(64).save(args.docs / "predict_emotions.png",
                                                  optimize=True)
        print(f"wrote {args.docs / 'predict_frame.png'} and {args.docs / 'predict_emotions.png'}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
