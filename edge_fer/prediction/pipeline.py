"""predict: every face of every frame → detected, cropped, preprocessed, classified, reported.

One loop for all sources (sources.py): detect (detect.py), crop with the detector's margins,
the one preprocessing function, the frame's faces in one runner call, tracks and smoothing for
videos (track.py), drawing and the video/plot (annotate.py). The output folder is built whole
under a temporary name and renamed when the run ends (also when a camera run is stopped with
Ctrl-C), so it never holds half a run.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from edge_fer import reporter
from edge_fer.atomic import (
    atomic_write_bytes,
    atomic_write_text,
    check_not_inside,
    staged_dir,
    write_plain,
)
from edge_fer.errors import EdgeFerError, UsageError
from edge_fer.labels import LABELS
from edge_fer.parallel import available_cores
from edge_fer.prediction.annotate import VIDEO_SUFFIX, Face, VideoOut, draw_faces, plot_emotions
from edge_fer.prediction.detect import Box, load_detector
from edge_fer.prediction.sources import Frame, Source, open_source
from edge_fer.prediction.track import Tracker
from edge_fer.preprocess import preprocess

ANNOTATED_DIR = "annotated"
ROWS_NAME = "predictions.csv"
SUMMARY_NAME = "summary.json"
WRITABLE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


@dataclass
class FaceRow:
    """One face of one frame."""

    source: str
    frame: int
    time_s: float | None
    face: int                      # index of the face in its frame
    box: Box
    probs: np.ndarray              # this frame's probabilities
    track: int | None = None
    smoothed: np.ndarray | None = None  # the track's smoothed probabilities
    classified: bool = True        # False: --classify-every reused the track's latest result


@dataclass
class PredictReport:
    source: str
    kind: str
    model: str
    runtime: str
    detector: str
    labels: tuple[str, ...] = LABELS
    rows: list[FaceRow] = field(default_factory=list)
    frames: int = 0                # frames decoded and searched for faces
    frames_failed: int = 0         # frames (or images) that could not be decoded
    frames_without_face: int = 0
    seconds: float = 0.0           # the frame loop: decode, detect, classify, draw, write
    detect_s: float = 0.0
    classify_s: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    outputs: dict[str, str] = field(default_factory=dict)
    stopped: bool = False          # a camera run ended by Ctrl-C

    @property
    def faces(self) -> int:
        return len(self.rows)

    def summary(self) -> dict:
        frames = self.frames
        return {
            "source": self.source, "kind": self.kind, "model": self.model,
            "runtime": self.runtime, "detector": self.detector,
            "frames": frames, "frames_failed": self.frames_failed,
            "frames_without_face": self.frames_without_face, "faces": self.faces,
            "seconds": round(self.seconds, 3),
            "frames_per_s": round(frames / self.seconds, 2) if self.seconds > 0 else None,
            "detect_ms_per_frame": round(1000 * self.detect_s / frames, 2) if frames else None,
            "classify_ms_per_frame": round(1000 * self.classify_s / frames, 2) if frames else None,
            "labels": {name: sum(1 for r in self.rows if self.label_of(r) == name)
                       for name in self.labels},
            "failed": [{"source": s, "reason": r} for s, r in self.failures],
            "outputs": self.outputs, "stopped": self.stopped,
        }

    def label_of(self, row: FaceRow) -> str:
        return self.labels[int(np.argmax(row.probs))]

    def row_dicts(self) -> list[dict]:
        rows = []
        for row in self.rows:
            item = {"source": row.source, "frame": row.frame,
                    "time_s": None if row.time_s is None else round(row.time_s, 3),
                    "face": row.face, "track": row.track,
                    "x0": row.box.as_list()[0], "y0": row.box.as_list()[1],
                    "x1": row.box.as_list()[2], "y1": row.box.as_list()[3],
                    "score": round(row.box.score, 4), "label": self.label_of(row),
                    "probability": round(float(np.max(row.probs)), 4),
                    "classified": int(row.classified)}
            item.update({f"p_{name}": round(float(p), 4) for name, p in zip(self.labels, row.probs)})
            if row.smoothed is not None:
                item["smoothed_label"] = self.labels[int(np.argmax(row.smoothed))]
            rows.append(item)
        return rows


def rows_csv(report: PredictReport) -> str:
    rows = report.row_dicts()
    names = ["source", "frame", "time_s", "face", "track", "x0", "y0", "x1", "y1", "score",
             "label", "probability", *[f"p_{n}" for n in report.labels], "smoothed_label",
             "classified"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, names, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _is_predict_output(path: Path) -> bool:
    """What an earlier predict leaves in its folder (so the folder may be replaced whole)."""
    if path.name == ANNOTATED_DIR:
        return path.is_dir()
    return path.is_file() and (path.name in (ROWS_NAME, SUMMARY_NAME)
                               or path.name.endswith(("_annotated" + VIDEO_SUFFIX, "_emotions.png")))


class _Outputs:
    """Writes into the staged folder with plain writes, or in place file by file (atomically)."""

    def __init__(self, folder: Path, staged: bool) -> None:
        self.folder, self.staged = folder, staged

    def write_bytes(self, relative: str, data: bytes) -> None:
        path = self.folder / relative
        if self.staged:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_plain(path, data)
        else:
            atomic_write_bytes(path, data)


def _annotated_name(frame: Frame, source: Source) -> str:
    path = Path(frame.source)
    relative = path.relative_to(source.name) if source.kind == "folder" else Path(path.name)
    if relative.suffix.lower() not in WRITABLE_SUFFIXES:  # a.gif → a.gif.png: never a.png's
        relative = relative.with_name(relative.name + ".png")
    return str(Path(ANNOTATED_DIR) / relative)


def _model_input(crops: list[np.ndarray], spec) -> np.ndarray:
    """The one preprocessing function on each crop (with the model's input spec), stacked as
    the model's batch."""
    images = np.stack([preprocess(crop, spec=spec) for crop in crops])
    return images[..., None] if images.ndim == 3 else images


def predict(source: str, model: Path | None = None, runtime: str | None = None,
            out_dir: Path | None = None, detector: str = "blazeface", track: bool = True,
            smooth: float = 0.6, max_frames: int | None = None, threads: int | None = None,
            min_score: float = 0.5, classify_every: int = 1, spec=None,
            input_flags: dict | None = None) -> PredictReport:
    """Run the whole loop on `source`; write annotated images/video, plot, rows and summary into
    out_dir (None: report only). `input_flags`: what the user says of the model's input where
    its file and manifest do not (mean/std/colour of a model brought from elsewhere)."""
    from edge_fer.prediction.model import resolve_model
    from edge_fer.runners import load_runner

    if not 0.0 <= smooth < 1.0:
        raise UsageError(f"--smooth must be in [0, 1), not {smooth}")
    if classify_every < 1:
        raise UsageError(f"--classify-every must be at least 1, not {classify_every}")
    if classify_every > 1 and not track:
        raise UsageError("--classify-every needs --track (a face's result is reused along its "
                         "track)")
    if max_frames is not None and max_frames < 1:
        raise UsageError(f"--max-frames must be at least 1, not {max_frames}")
    if out_dir is not None and Path(source).is_dir():  # before any work
        check_not_inside(Path(out_dir), Path(source))
    opened = open_source(source)
    try:
        face_detector = load_detector(detector, min_score)
        model_path, runtime = resolve_model(model, runtime)
        # all cores by default: 9.4 → 14.8 frames/s on the README's clip here (LiteRT uses one)
        runner = load_runner(model_path, runtime, threads=threads or available_cores(),
                             input_flags=input_flags)
    except BaseException:
        if opened._capture is not None:
            opened._capture.release()
        raise
    report = PredictReport(opened.name, opened.kind, str(model_path), runner.name, detector,
                           labels=tuple(runner.output_spec.labels))
    if spec is None:  # the model's own input (size, colour, layout, normalisation); the face
        spec = replace(runner.input_spec, face_crop=False)  # is already cropped by the detector
    tracker = Tracker(smooth) if track and opened.is_video else None
    with contextlib.ExitStack() as stack:
        folder = None
        if out_dir is not None:
            staging = stack.enter_context(staged_dir(out_dir, _is_predict_output))
            folder = _Outputs(staging or Path(out_dir), staging is not None)
            folder.folder.mkdir(parents=True, exist_ok=True)
        _loop(opened, report, face_detector, runner, tracker, folder, max_frames, spec,
              classify_every)
        if folder is not None:
            _finish(opened, report, folder, Path(out_dir))
    runner.close()
    return report


def _loop(source: Source, report: PredictReport, face_detector, runner, tracker,
          folder: _Outputs | None, max_frames: int | None, spec, every: int) -> None:
    video = None
    total = source.total if max_frames is None or source.total is None else min(max_frames,
                                                                                 source.total)
    started = time.perf_counter()
    try:
        with reporter.make_progress() as bar:
            task = bar.add_task(f"predict {Path(source.name).name}", total=total, status="")
            for frame in source.frames(max_frames):
                bar.advance(task)
                if frame.image is None:
                    report.frames_failed += 1
                    report.failures.append((f"{frame.source}" + (f" frame {frame.index}"
                                            if source.is_video else ""), frame.error))
                    continue
                report.frames += 1
                annotated = _frame(frame, report, face_detector, runner, tracker, spec,
                                   draw=folder is not None, every=every)
                if folder is None:
                    continue
                if source.is_video:
                    if video is None:
                        stem = Path(source.name).stem if source.kind == "video" else "camera"
                        video = VideoOut(folder.folder / f"{stem}_annotated{VIDEO_SUFFIX}",
                                         source.fps or 25.0,
                                         (annotated.shape[1], annotated.shape[0]))
                    video.write(annotated)
                else:
                    name = _annotated_name(frame, source)
                    ok, encoded = cv2.imencode(Path(name).suffix, annotated)
                    if not ok:
                        raise EdgeFerError(f"{name}: OpenCV cannot encode the annotated image")
                    folder.write_bytes(name, encoded.tobytes())
    except KeyboardInterrupt:
        if source.kind != "camera":
            if video is not None:
                video.close(keep=False)
            raise
        report.stopped = True  # a camera runs until stopped: keep what was seen
    finally:
        report.seconds = time.perf_counter() - started
    if video is not None:
        path = video.close()
        if path is not None:
            report.outputs["video"] = path.name


def _frame(frame: Frame, report: PredictReport, face_detector, runner, tracker, spec,
           draw: bool, every: int = 1) -> np.ndarray | None:
    image = frame.image
    start = time.perf_counter()
    boxes = face_detector.detect(image)
    report.detect_s += time.perf_counter() - start
    tracks = tracker.assign(boxes) if tracker is not None else [None] * len(boxes)
    if not boxes:
        report.frames_without_face += 1
        return image.copy() if draw else None
    # the faces classified now: all of them, or (--classify-every) the tracks that are due
    due = [i for i, track in enumerate(tracks) if track is None or track.due(frame.index, every)]
    probs: dict[int, np.ndarray] = {}
    if due:
        crops = []
        for i in due:
            x0, y0, x1, y1 = boxes[i].crop(face_detector.margins, image.shape)
            crops.append(image[y0:y1, x0:x1])
        start = time.perf_counter()
        scores = runner.infer(_model_input(crops, spec))
        probs = dict(zip(due, runner.output_spec.probabilities(scores)))
        report.classify_s += time.perf_counter() - start
    drawn: list[Face] = []
    for number, (box, track) in enumerate(zip(boxes, tracks)):
        classified = number in probs
        p = probs[number] if classified else track.last_probs
        smoothed = None
        if track is not None:
            smoothed = tracker.observe(track, p, frame.index) if classified else track.probs
        report.rows.append(FaceRow(frame.source, frame.index, frame.time_s, number, box, p,
                                   None if track is None else track.id, smoothed, classified))
        drawn.append(Face(box, smoothed if smoothed is not None else p,
                          None if track is None else track.id))
    if not draw:
        return None
    annotated = image.copy()
    draw_faces(annotated, drawn, report.labels)
    return annotated


def _finish(source: Source, report: PredictReport, folder: _Outputs, out_dir: Path) -> None:
    if not source.is_video and report.frames:
        report.outputs["annotated"] = ANNOTATED_DIR
    if source.is_video and report.rows:
        name = (Path(source.name).stem if source.kind == "video" else "camera") + "_emotions.png"
        series = _series(report)
        x_label = "time (s)" if any(r.time_s is not None for r in report.rows) else "frame"
        plot_emotions(series, report.labels, folder.folder / name, x_label,
                      f"{Path(source.name).name}: expression over time")
        report.outputs["plot"] = name
    report.outputs["rows"] = ROWS_NAME
    report.outputs["summary"] = SUMMARY_NAME
    report.outputs = {key: str(out_dir / value) for key, value in report.outputs.items()}
    text = rows_csv(report)
    summary = json.dumps(report.summary(), indent=2) + "\n"
    if folder.staged:
        write_plain(folder.folder / ROWS_NAME, text.encode())
        write_plain(folder.folder / SUMMARY_NAME, summary.encode())
    else:
        atomic_write_text(folder.folder / ROWS_NAME, text)
        atomic_write_text(folder.folder / SUMMARY_NAME, summary)


def _series(report: PredictReport) -> dict:
    """Per track (or, untracked, the mean of each frame's faces): x values and probabilities."""
    def x_of(row: FaceRow) -> float:
        return row.time_s if row.time_s is not None else float(row.frame)

    series: dict = {}
    if all(row.track is not None for row in report.rows):
        for row in report.rows:
            xs, ps = series.setdefault(row.track, ([], []))
            xs.append(x_of(row))
            ps.append(row.smoothed)
    else:
        by_frame: dict[int, list[FaceRow]] = {}
        for row in report.rows:
            by_frame.setdefault(row.frame, []).append(row)
        xs = [x_of(rows[0]) for rows in by_frame.values()]
        ps = [np.mean([r.probs for r in rows], axis=0) for rows in by_frame.values()]
        series["all faces (mean)"] = (xs, ps)
    return {key: (xs, np.asarray(ps)) for key, (xs, ps) in series.items()}
