"""Drawing on frames (box, label, a bar per class), the annotated video, and the emotions-over-
time plot."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge_fer.errors import EdgeFerError
from edge_fer.prediction.detect import Box

# One BGR colour per class (FER2013 order; more classes cycle).
COLORS = ((40, 40, 220), (40, 140, 40), (160, 60, 160), (40, 200, 240), (200, 120, 40),
          (230, 200, 60), (170, 170, 170))
# mp4v (MPEG-4 Part 2) in .mp4 plays in VLC, mpv, QuickTime and Windows' player. This OpenCV
# build's FFmpeg has no H.264 (avc1) encoder: only the h264_v4l2m2m hardware one, absent here.
VIDEO_FOURCC = "mp4v"
VIDEO_SUFFIX = ".mp4"


def color_of(index: int) -> tuple[int, int, int]:
    return COLORS[index % len(COLORS)]


FONT = cv2.FONT_HERSHEY_SIMPLEX
MIN_TEXT_PX = 12   # the smallest capital height drawn: legible in the picture at its own size


@dataclass
class Face:
    """What is drawn for one face: its box, its probabilities and its track (None: untracked)."""

    box: Box
    probs: np.ndarray
    track: int | None = None


def draw_face(frame: np.ndarray, box: Box, probs: np.ndarray, labels: tuple[str, ...],
              track: int | None = None) -> None:
    """One face: draw_faces with a single face."""
    draw_faces(frame, [Face(box, probs, track)], labels)


def draw_faces(frame: np.ndarray, faces: list[Face], labels: tuple[str, ...]) -> None:
    """Each face's box in the colour of its label, and beside it a panel framed in the same
    colour: `label p #track` on top, then one bar per class. Panels are placed where they cover
    no face and no other panel when the frame has room (else where they cover least), and text
    is at least MIN_TEXT_PX high (in place)."""
    h, w = frame.shape[:2]
    style = _Style.for_frame(h, w, labels)
    boxes = [tuple(face.box.as_list()) for face in faces]
    for face, box in zip(faces, boxes):
        cv2.rectangle(frame, box[:2], box[2:], color_of(int(np.argmax(face.probs))),
                      style.thick + 1)
    placed: list[tuple[int, int, int, int]] = []
    order = sorted(range(len(faces)), key=lambda i: (boxes[i][0], boxes[i][1]))
    for i in order:
        panel = _place(boxes[i], style.size, (w, h), [b for j, b in enumerate(boxes) if j != i],
                       placed, style.gap)
        placed.append(panel)
        _draw_panel(frame, panel, boxes[i], faces[i], labels, style)


@dataclass
class _Style:
    scale: float
    thick: int
    row: int           # height of a text row
    name_w: int
    bar_w: int
    gap: int
    size: tuple[int, int]  # panel width, height

    @classmethod
    def for_frame(cls, h: int, w: int, labels: tuple[str, ...]) -> _Style:
        thick = max(1, round(min(h, w) / 400))
        scale = 0.3
        while cv2.getTextSize("Hg", FONT, scale, thick)[0][1] < max(MIN_TEXT_PX, min(h, w) / 45):
            scale += 0.05
        text_h = cv2.getTextSize("Hg", FONT, scale, thick)[0][1]
        row = text_h + max(4, text_h // 2)
        longest = max((name for name in labels), key=len, default="neutral")[:10]
        name_w = cv2.getTextSize(longest, FONT, scale, thick)[0][0] + 8
        header_w = cv2.getTextSize(f"{longest} 0.00 #00", FONT, scale, thick)[0][0] + 8
        bar_w = max(4 * row, header_w - name_w)
        size = (name_w + bar_w + 4, row * (len(labels) + 1) + 4)
        return cls(scale, thick, row, name_w, bar_w, max(3, thick * 2), size)


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def _place(box: tuple[int, int, int, int], size: tuple[int, int], frame: tuple[int, int],
           faces: list[tuple[int, int, int, int]], panels: list[tuple[int, int, int, int]],
           gap: int) -> tuple[int, int, int, int]:
    """The panel's rectangle beside `box`: right, left, below or above it (in that order of
    preference), kept inside the frame, covering the least of other faces, placed panels and
    its own face."""
    (pw, ph), (w, h) = size, frame
    x0, y0, x1, y1 = box
    candidates = [(x1 + gap, y0), (x0 - gap - pw, y0), (x1 + gap, y1 - ph), (x0 - gap - pw, y1 - ph),
                  (x0, y1 + gap), (x1 - pw, y1 + gap), (x0, y0 - gap - ph), (x1 - pw, y0 - gap - ph)]
    best, best_cost = None, None
    for rank, (px, py) in enumerate(candidates):
        px, py = min(max(0, px), max(0, w - pw)), min(max(0, py), max(0, h - ph))
        rect = (px, py, px + pw, py + ph)
        cost = (4 * sum(_overlap(rect, face) for face in faces)
                + 4 * sum(_overlap(rect, panel) for panel in panels)
                + 2 * _overlap(rect, box))
        if best_cost is None or (cost, rank) < best_cost:
            best, best_cost = rect, (cost, rank)
    return best


def _draw_panel(frame: np.ndarray, panel: tuple[int, int, int, int],
                box: tuple[int, int, int, int], face: Face, labels: tuple[str, ...],
                style: _Style) -> None:
    px0, py0, px1, py1 = panel
    best = int(np.argmax(face.probs))
    color = color_of(best)
    region = frame[py0:py1, px0:px1]
    region[:] = (region * 0.25).astype(np.uint8)  # darkened, so white text reads on any picture
    header = f"{labels[best][:10]} {float(face.probs[best]):.2f}" + \
        (f" #{face.track}" if face.track is not None else "")
    cv2.rectangle(frame, (px0, py0), (px1 - 1, py0 + style.row + 2), color, -1)
    text = _ink(color)
    cv2.putText(frame, header, (px0 + 4, py0 + style.row - 2), FONT, style.scale, text,
                style.thick, cv2.LINE_AA)
    for i, (name, p) in enumerate(zip(labels, face.probs)):
        top = py0 + (i + 1) * style.row + 2
        cv2.putText(frame, name[:10], (px0 + 4, top + style.row - 3), FONT, style.scale,
                    (255, 255, 255), max(1, style.thick - 1), cv2.LINE_AA)
        length = round(style.bar_w * float(np.clip(p, 0, 1)))
        if length:
            cv2.rectangle(frame, (px0 + style.name_w, top + 3),
                          (px0 + style.name_w + length, top + style.row - 2), color_of(i), -1)
    cv2.rectangle(frame, (px0, py0), (px1 - 1, py1 - 1), color, style.thick + 1)
    if _overlap(panel, (box[0] - style.gap - 1, box[1] - style.gap - 1, box[2] + style.gap + 1,
                        box[3] + style.gap + 1)) == 0:  # not beside its face: a line joins them
        cv2.line(frame, _nearest(box, panel), _nearest(panel, box), color, style.thick)


def _ink(color: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads on `color` (BGR)."""
    b, g, r = color
    return (0, 0, 0) if 0.114 * b + 0.587 * g + 0.299 * r > 140 else (255, 255, 255)


def _nearest(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int]:
    """The point of rectangle `a` nearest to rectangle `b`'s centre."""
    cx, cy = (b[0] + b[2]) // 2, (b[1] + b[3]) // 2
    return min(max(cx, a[0]), a[2]), min(max(cy, a[1]), a[3])


class VideoOut:
    """An annotated video written under a temporary name beside `path` and renamed by close()
    (OpenCV picks the container from the suffix, so the temporary name keeps it)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        self.path = path
        self.frames = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
        self._writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*VIDEO_FOURCC),
                                       fps, size)
        if not self._writer.isOpened():
            self._tmp.unlink(missing_ok=True)
            raise EdgeFerError(f"{path}: OpenCV cannot write {VIDEO_FOURCC} video here")
        self.size = size

    def write(self, frame: np.ndarray) -> None:
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size)
        self._writer.write(frame)
        self.frames += 1

    def close(self, keep: bool = True) -> Path | None:
        self._writer.release()
        if keep and self.frames:
            os.replace(self._tmp, self.path)
            return self.path
        self._tmp.unlink(missing_ok=True)
        return None


def plot_emotions(series: dict[int | str, tuple[list[float], np.ndarray]],
                  labels: tuple[str, ...], path: Path, x_label: str, title: str) -> Path:
    """One panel per face track: each class's (smoothed) probability against time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edge_fer.atomic import save_figure

    shown = sorted(series.items(), key=lambda item: (0, item[0], "") if isinstance(item[0], int)
                   else (1, 0, str(item[0])))
    columns = 1 if len(shown) <= 4 else 2  # every track gets a panel
    rows = -(-len(shown) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(8 * columns, 1.2 + 1.9 * rows),
                                sharex=True, squeeze=False)
    for axis in axes.flat[len(shown):]:
        axis.set_visible(False)
    for axis, (key, (xs, probs)) in zip(axes.flat, shown):
        for c, name in enumerate(labels):
            bgr = color_of(c)
            axis.plot(xs, probs[:, c], label=name, color=(bgr[2] / 255, bgr[1] / 255, bgr[0] / 255),
                      linewidth=1.4)
        axis.set_ylim(0, 1)
        axis.set_ylabel("probability")
        axis.set_title(f"face #{key}" if isinstance(key, int) else str(key), fontsize=9)
        axis.grid(alpha=0.3)
    axes[0, 0].legend(ncol=len(labels), fontsize=7, loc="upper center",
                      bbox_to_anchor=(0.5, 1.45 if len(shown) > 1 else 1.3), frameon=False)
    for axis in axes[-1, :]:
        axis.set_xlabel(x_label)
    figure.suptitle(title, fontsize=10, y=0.995)
    figure.tight_layout()
    return save_figure(figure, path)
