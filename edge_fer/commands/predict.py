"""`edge-fer predict`: photos, folders, videos and cameras → every face → expression."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import typer

from edge_fer import reporter
from edge_fer.commands import reports_errors
from edge_fer.commands.options import (
    COLOR_OPTION,
    MEAN_OPTION,
    STD_OPTION,
    Color,
    input_flags,
    output_format,
)

EXAMPLE = """
Examples:

  edge-fer predict group.jpg -o runs/predict/group    (annotated/group.jpg, predictions.csv)

  edge-fer predict clip.mp4 -o runs/predict/clip    (clip_annotated.mp4, clip_emotions.png)

  edge-fer predict photos/ model_int8.tflite --format csv > faces.csv

  edge-fer predict 0 --max-frames 300 -o runs/predict/webcam    (camera 0; Ctrl-C stops and keeps the run)

For speed on video, name a shipped edge model: `fast` (58 MFLOP per face against `best`'s 909,
69.4 % on FER2013 PublicTest, within 2 points of best's 71.4 %) or `tiny` (14 MFLOP, 66.4 %);
edge-fer models lists each one's cost and accuracy;
--classify-every 3 classifies each track every third frame and keeps its label between
(docs/predict.md has the frames per second of each).
"""


class Runtime(str, Enum):
    tflite = "tflite"
    onnx = "onnx"
    qnn = "qnn"
    tf = "tf"


class Detector(str, Enum):
    blazeface = "blazeface"
    blazeface_full = "blazeface-full"
    haar = "haar"


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def register(app: typer.Typer) -> None:
    @app.command("predict", help="Find every face in an image, a folder of images, a video or "
                 "a camera, classify its expression, and write annotated images or video, an "
                 "emotions-over-time plot, one row per face and a summary.\n" + EXAMPLE)
    @reports_errors
    def predict(
        source: str = typer.Argument(..., help="An image, a folder of images, a video file "
                                     "(anything OpenCV reads) or a camera index such as 0."),
        model: Path = typer.Argument(None, help="A .tflite, .onnx or .pb model. Default: the "
                                     "shipped FER2013 model as int8 TFLite (converted once, "
                                     "cached)."),
        runtime: Runtime = typer.Option(None, "--runtime", "-r", help="Runner (default: from the "
                                        "model file; tflite for the shipped model)."),
        out: Path = typer.Option(None, "--out", "-o", show_default=False, help="Folder for the "
                                 "annotated images or video, plot, rows and summary (default: "
                                 "new runs/predict/exp<N>)."),
        detector: Detector = typer.Option(Detector.blazeface, "--detector", help="blazeface (faces within ~2 m), "
                                          "blazeface-full (smaller ones) or haar."),
        min_score: float = typer.Option(0.5, "--min-score", min=0.0, max=1.0,
                                        help="Lowest detector score kept (BlazeFace)."),
        track: bool = typer.Option(True, "--track/--no-track", help="Videos: follow each face "
                                   "across frames (box overlap) and smooth its probabilities."),
        smooth: float = typer.Option(0.6, "--smooth", min=0.0, max=0.99, help="Weight of a "
                                     "track's past probabilities (0: no smoothing)."),
        classify_every: int = typer.Option(1, "--classify-every", min=1, help="Videos: classify "
                                           "each tracked face every N frames and keep its "
                                           "latest result in between (N× less inference)."),
        max_frames: int = typer.Option(None, "--max-frames", min=1, help="Stop after this many "
                                       "frames (cameras run until Ctrl-C otherwise)."),
        threads: int = typer.Option(None, "--threads", min=1, help="Runtime threads (default: all cores)."),
        fmt: Format = typer.Option(None, "--format", "-f", show_default=False, help="Rows on "
                                   "stdout: table (with --rows), csv or json (summary and rows)."),
        rows: bool = typer.Option(False, "--rows", help="Print a row per face (default: the "
                                  "summary)."),
        color: Color = COLOR_OPTION,
        mean: str = MEAN_OPTION,
        std: str = STD_OPTION,
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON (no rows; "
                                     "--format json adds them)."),
    ) -> None:
        from edge_fer.commands import preflight

        preflight.require_model(model)
        preflight.require_output_folder(out)
        from edge_fer.outputs import output_dir

        out = output_dir(out, "predict")
        from edge_fer.prediction.pipeline import predict as run_predict
        from edge_fer.prediction.pipeline import rows_csv

        output_format(as_json, fmt)  # --json with --format csv/table: a usage error, up front
        fmt = fmt or Format.table
        report = run_predict(source, model, runtime.value if runtime else None, out,
                             detector.value, track, smooth, max_frames, threads, min_score,
                             classify_every, input_flags=input_flags(color, mean, std))
        summary = report.summary()
        for where, reason in report.failures:
            reporter.warn(f"skipped {reporter.printable(str(where))}: {reason}")
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
        elif fmt is Format.csv:
            typer.echo(rows_csv(report), nl=False)
        elif fmt is Format.json:
            typer.echo(json.dumps({"summary": summary, "rows": report.row_dicts()}, indent=2))
        elif rows:
            _print_table(report)
        if not as_json and fmt is Format.table:
            if not rows:
                _print_counts(report, summary)
            typer.echo(reporter.wrapped(_summary_line(summary), indent="  "))
        else:
            reporter.info(_summary_line(summary))
        for what, path in summary["outputs"].items():
            reporter.info(f"{what}: {reporter.printable(str(path))}")


def _summary_line(summary: dict) -> str:
    failed = f", {summary['frames_failed']} unreadable" if summary["frames_failed"] else ""
    frames = f"{summary['frames']} frame{'' if summary['frames'] == 1 else 's'}"
    return (f"{frames}{failed}, {summary['frames_without_face']} without a "
            f"face, {summary['faces']} faces; {summary['frames_per_s']} frames/s "
            f"(detect {summary['detect_ms_per_frame']} ms, classify "
            f"{summary['classify_ms_per_frame']} ms per frame; {summary['runtime']}, "
            f"{summary['detector']})")


def _print_counts(report, summary: dict) -> None:
    """The summary a screen holds whatever the number of faces: faces per label (and tracks,
    for a video), the source named once."""
    faces = summary["faces"]
    tracks = len({row.track for row in report.rows if row.track is not None})
    noun = "frame" if report.kind in ("video", "camera") else "image"
    what = f"{summary['frames']} {noun}{'' if summary['frames'] == 1 else 's'}"
    typer.echo(reporter.wrapped(f"{reporter.printable(report.source)}: {what}, {faces} faces"
                                + (f" in {tracks} tracks" if tracks else ""), indent="  "))
    counted = [[name, str(count), f"{count / faces:.0%}" if faces else ""]
               for name, count in summary["labels"].items() if count]
    if counted:
        typer.echo(reporter.table_text(["label", "faces", "share"], counted, right=(1, 2)),
                   nl=False)
    typer.echo("--rows: one row per face; --format csv|json: the rows with every probability")


def _print_table(report) -> None:
    video = report.kind in ("video", "camera")
    columns = (["frame", "time s"] if video else ["image"]) + ["face", "box x0,y0,x1,y1",
                                                             "label", "p", "top-2"]
    if video and any(row.track is not None for row in report.rows):
        columns.insert(2, "track")
    lines = []
    for row, item in zip(report.rows, report.row_dicts()):
        order = sorted(range(len(report.labels)), key=lambda i: -row.probs[i])
        cells = ([str(row.frame), f"{row.time_s:.2f}" if row.time_s is not None else ""]
                 if video else [reporter.printable(str(row.source))])
        if "track" in columns:
            cells.append(str(row.track))
        cells += [str(row.face), ",".join(str(v) for v in row.box.as_list()), item["label"],
                  f"{item['probability']:.2f}",
                  f"{report.labels[order[1]]} {row.probs[order[1]]:.2f}"]
        lines.append(cells)
    typer.echo(reporter.table_text(columns, lines, shrink=0), nl=False)
