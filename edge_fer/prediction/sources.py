"""What predict reads: an image, a folder of images, a video file or a camera, as frames.

Every source yields `Frame`s in order; a frame that cannot be decoded comes with `image=None`
and the reason, so the caller counts it and goes on. Images go through preprocess.load_image
(EXIF orientation applied); videos and cameras through OpenCV's VideoCapture (FFmpeg, V4L2).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge_fer.errors import EdgeFerError, ToolMissingError
from edge_fer.preprocess import load_image, to_color_uint8
from edge_fer.tensors.raw_inputs import IMAGE_SUFFIXES, find_images

# A video whose decoder fails this many frames in a row is taken to have ended (a truncated file).
MAX_FAILED_IN_A_ROW = 25


@dataclass
class Frame:
    source: str                    # the image file, or the video / camera
    index: int                     # frame number in the video (0 for an image)
    time_s: float | None           # seconds into the video (None for images)
    image: np.ndarray | None       # BGR uint8, None when it could not be decoded
    error: str = ""


@dataclass
class Source:
    kind: str                      # image | folder | video | camera
    name: str
    total: int | None              # frames expected (None: a camera, or unknown)
    fps: float | None              # frames per second of a video or camera
    size: tuple[int, int] | None   # (width, height) of a video or camera
    _capture: cv2.VideoCapture | None = None
    _paths: tuple[Path, ...] = ()
    _unlisted: tuple[tuple[str, str], ...] = ()  # subfolders that could not be listed, and why

    @property
    def is_video(self) -> bool:
        return self.kind in ("video", "camera")

    def frames(self, max_frames: int | None = None) -> Iterator[Frame]:
        if self.is_video:
            yield from self._video_frames(max_frames)
            return
        for folder, reason in self._unlisted:  # counted as skipped, never left out silently
            yield Frame(folder, 0, None, None, reason)
        for number, path in enumerate(self._paths):
            if max_frames is not None and number >= max_frames:
                return
            try:
                image = to_color_uint8(load_image(path), "bgr")
            except EdgeFerError as exc:
                yield Frame(str(path), 0, None, None, str(exc).removeprefix(f"{path}: "))
                continue
            yield Frame(str(path), 0, None, image)

    def _video_frames(self, max_frames: int | None) -> Iterator[Frame]:
        capture = self._capture
        fps = self.fps or 0.0
        index, failed_in_a_row = 0, 0
        try:
            while max_frames is None or index < max_frames:
                if self.total is not None and index >= self.total:
                    break
                ok, image = capture.read()
                time_s = index / fps if fps else None
                if not ok or image is None:
                    if self.total is None:  # a camera that stopped, or the end of a stream
                        break
                    failed_in_a_row += 1
                    if failed_in_a_row >= MAX_FAILED_IN_A_ROW:
                        break
                    yield Frame(self.name, index, time_s, None, "frame could not be decoded")
                else:
                    failed_in_a_row = 0
                    yield Frame(self.name, index, time_s, image)
                index += 1
        finally:
            capture.release()


def open_source(source: str) -> Source:
    """An image, folder, video file or camera index (`0`), checked to be readable (exit 1; a
    camera that is not there: exit 3)."""
    if source.isdigit() and not Path(source).exists():
        return _open_camera(int(source))
    path = Path(source)
    if not path.exists():
        raise EdgeFerError(f"{path}: no such file or folder")
    if path.is_dir():
        paths, _, unlisted = find_images(path)
        if unlisted and unlisted[0][0] == str(path):
            raise EdgeFerError(f"{path}: {unlisted[0][1]}")
        if not paths:
            raise EdgeFerError(f"{path}: holds no image files "
                               f"({', '.join(sorted(IMAGE_SUFFIXES)[:6])}, ...)")
        return Source("folder", str(path), len(paths), None, None, _paths=tuple(paths),
                      _unlisted=tuple(unlisted))
    if path.suffix.lower() in IMAGE_SUFFIXES:
        load_image(path)  # an unreadable image is an error here, not a skipped frame
        return Source("image", str(path), 1, None, None, _paths=(path,))
    return _open_video(path)


def _open_video(path: Path) -> Source:
    if not os.access(path, os.R_OK):
        raise EdgeFerError(f"{path}: cannot read (permission denied)")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise EdgeFerError(f"{path}: neither an image nor a video OpenCV can open")
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    if total <= 0:
        capture.release()
        raise EdgeFerError(f"{path}: a video with no frames OpenCV can read")
    fps = capture.get(cv2.CAP_PROP_FPS) or None
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    return Source("video", str(path), total, fps, size, _capture=capture)


def _open_camera(index: int) -> Source:
    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        capture.release()
        raise ToolMissingError(f"camera {index}: not found or busy (/dev/video{index}); connect "
                               f"a camera or give an image, folder or video file")
    ok, first = capture.read()
    if not ok or first is None:
        capture.release()
        raise ToolMissingError(f"camera {index}: opened but gives no frames")
    # put the first frame back in front of the stream
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    size = (first.shape[1], first.shape[0])
    return Source("camera", f"camera {index}", None, fps, size,
                  _capture=_Prepended(capture, first))


class _Prepended:
    """A VideoCapture whose first read() returns a frame already read (to check the camera)."""

    def __init__(self, capture: cv2.VideoCapture, first: np.ndarray) -> None:
        self._capture, self._first = capture, first

    def read(self):
        if self._first is not None:
            first, self._first = self._first, None
            return True, first
        return self._capture.read()

    def release(self) -> None:
        self._capture.release()
