"""Drawing on frames (box, label, a bar per class), the annotated video, and the emotions-over-
time plot."""

from __future__ import annotations

import os
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


def draw_face(frame: np.ndarray, box: Box, probs: np.ndarray, labels: tuple[str, ...],
              track: int | None = None) -> None:
    """Box and `label p` above it, and one bar per class beside it (in place)."""
    best = int(np.argmax(probs))
    color = color_of(best)
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = box.as_list()
    thick = max(1, round(min(h, w) / 300))
    cv2.rectangle(frame, (x0, y0), (x1, y1), color, thick + 1)
    scale = max(0.4, min(h, w) / 900)
    text = f"{labels[best]} {probs[best]:.2f}" + (f"  #{track}" if track is not None else "")
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    ty = y0 - base - 2 if y0 - th - base - 4 >= 0 else min(h - base, y1 + th + 2)
    tx = max(0, min(x0, w - tw - 4))  # the label stays inside the frame
    cv2.rectangle(frame, (tx, ty - th - 2), (tx + tw + 4, ty + base), color, -1)
    cv2.putText(frame, text, (tx + 2, ty), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick,
                cv2.LINE_AA)
    _draw_bars(frame, (x0, y0, x1, y1), probs, labels, scale * 0.8, thick)


def _draw_bars(frame: np.ndarray, box: tuple[int, int, int, int], probs: np.ndarray,
               labels: tuple[str, ...], scale: float, thick: int) -> None:
    h, w = frame.shape[:2]
    x0, y0, x1, _ = box
    row = max(8, int(22 * scale))
    name_w = cv2.getTextSize("surprise", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] + 4
    bar_w = max(60, round(160 * scale))
    panel_w = name_w + bar_w + 4
    px = x1 + 4 if x1 + 4 + panel_w <= w else max(0, x0 - 4 - panel_w)
    py = max(0, min(y0, h - row * len(labels)))
    overlay = frame[py:py + row * len(labels), px:px + panel_w]
    overlay[:] = (overlay * 0.4).astype(np.uint8)  # darken behind the bars so they read
    for i, (name, p) in enumerate(zip(labels, probs)):
        top = py + i * row
        cv2.putText(frame, name[:8], (px + 2, top + row - 3), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), 1, cv2.LINE_AA)
        length = round(bar_w * float(np.clip(p, 0, 1)))
        cv2.rectangle(frame, (px + name_w, top + 2), (px + name_w + length, top + row - 2),
                      color_of(i), -1)


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

    longest = sorted(series.items(), key=lambda item: -len(item[1][0]))[:4]
    shown = sorted(longest, key=lambda item: str(item[0]))
    figure, axes = plt.subplots(len(shown), 1, figsize=(8, 1.2 + 1.9 * len(shown)),
                                sharex=True, squeeze=False)
    for axis, (key, (xs, probs)) in zip(axes[:, 0], shown):
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
    axes[-1, 0].set_xlabel(x_label)
    figure.suptitle(title, fontsize=10, y=0.995)
    figure.tight_layout()
    return save_figure(figure, path)
