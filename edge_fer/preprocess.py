"""The one preprocessing function (CONVENTIONS: Preprocessing).

Training, raw-inputs and every runner go through `preprocess`, so the pixels a model sees on a
device are the pixels it was trained on. Given an input spec (edge_fer/tensors/spec.py: size,
colour, layout, normalisation) the same function makes what a model brought from elsewhere takes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from edge_fer.errors import EdgeFerError
from edge_fer.files import read_regular
from edge_fer.finite import describe_non_finite

INPUT_SIZE = 48
INPUT_SHAPE = (1, INPUT_SIZE, INPUT_SIZE, 1)
FACE_MARGIN = 0.1


class PixelSpec(Protocol):
    """What preprocess needs of an input spec (edge_fer.tensors.spec.InputSpec is one)."""

    height: int
    width: int
    color: str      # gray | rgb | bgr
    layout: str     # nhwc | nchw
    face_crop: bool
    normalises: bool  # False when mean is 0 and std 1

    def mean_array(self) -> np.ndarray: ...

    def std_array(self) -> np.ndarray: ...


class ImageError(EdgeFerError):
    """An image file that cannot be decoded; raw-inputs skips it and records why."""


def load_image(path: str | Path) -> np.ndarray:
    """Decode any image OpenCV reads (gray, BGR, BGRA, 8 or 16 bit) without changing its depth."""
    try:
        data = np.frombuffer(read_regular(path, "an image file", ""), dtype=np.uint8)
    except EdgeFerError as exc:
        raise ImageError(str(exc)) from None
    if data.size == 0:
        raise ImageError(f"{path}: empty file")
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise ImageError(f"{path}: not an image OpenCV can decode")
    return apply_orientation(image, exif_orientation(data))


# EXIF orientation (1-8) → the array operation that shows the picture upright (EXIF 2.3, tag 274).
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}
# Containers that can carry EXIF and the marker that says they do (checked before parsing).
_EXIF_MARKERS = ((b"\xff\xd8", b"Exif\x00\x00"), (b"\x89PNG", b"eXIf"), (b"RIFF", b"EXIF"),
                 (b"II*\x00", b""), (b"MM\x00*", b""))


def exif_orientation(data: np.ndarray | bytes) -> int:
    """The EXIF orientation of encoded image bytes (1 when absent or unreadable).

    cv2.imdecode with IMREAD_UNCHANGED (needed to keep 16-bit and alpha) ignores it, so a phone
    photo taken upright would reach the model sideways.
    """
    head = bytes(memoryview(data)[:65536])
    marker = next((marker for magic, marker in _EXIF_MARKERS if head.startswith(magic)), None)
    if marker is None or marker not in head:
        return 1
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(bytes(data))) as picture:
            value = picture.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block leaves the pixels as decoded
        return 1
    return value if value in _ORIENT else 1


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip a decoded image as its EXIF orientation says (1: unchanged)."""
    transform = _ORIENT.get(orientation)
    return image if transform is None else np.ascontiguousarray(transform(image))


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    if image.dtype in (np.float32, np.float64):
        if not np.isfinite(image).all():  # NaN would become black pixels, silently
            raise ImageError(f"float image: {describe_non_finite(image)}")
        return np.clip(image * 255.0 if image.max() <= 1.0 else image, 0, 255).astype(np.uint8)
    if image.dtype != np.uint8:
        raise ImageError(f"unsupported pixel type {image.dtype}")
    return image


def to_color_uint8(image: np.ndarray, color: str) -> np.ndarray:
    """Any decoded image (OpenCV order: gray, BGR, BGRA) → 8-bit gray [H, W] or RGB/BGR [H, W, 3]."""
    if color == "gray":
        return to_gray_uint8(image)
    image = _to_uint8(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 3:
        bgr = image
    elif image.ndim == 3 and image.shape[2] == 4:
        bgr = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    else:
        raise ImageError(f"unsupported image shape {image.shape}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if color == "rgb" else bgr


def to_gray_uint8(image: np.ndarray) -> np.ndarray:
    """Any decoded image → 8-bit single-channel."""
    image = _to_uint8(image)
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    raise ImageError(f"unsupported image shape {image.shape}")


_per_thread = threading.local()


def _face_detector() -> cv2.CascadeClassifier:
    """The Haar cascade, one per thread (raw-inputs detects faces on several threads, and one
    CascadeClassifier is not documented as safe to share)."""
    detector = getattr(_per_thread, "face_detector", None)
    if detector is None:
        cascade = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        detector = cv2.CascadeClassifier(str(cascade))
        if detector.empty():
            raise EdgeFerError(f"{cascade}: OpenCV Haar cascade missing or unreadable")
        _per_thread.face_detector = detector
    return detector


def largest_face_crop(gray: np.ndarray, margin: float = FACE_MARGIN) -> np.ndarray | None:
    """The largest Haar-cascade face with a small margin, or None when there is none.
    A colour image is searched in gray and cropped in colour."""
    image, gray = gray, (gray if gray.ndim == 2 else cv2.cvtColor(gray, cv2.COLOR_BGR2GRAY))
    min_side = max(24, min(gray.shape) // 10)
    faces = _face_detector().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                               minSize=(min_side, min_side))
    if len(faces) == 0:
        return None
    x, y, w, h = max(faces, key=lambda f: int(f[2]) * int(f[3]))
    dx, dy = int(w * margin), int(h * margin)
    y0, y1 = max(0, y - dy), min(gray.shape[0], y + h + dy)
    x0, x1 = max(0, x - dx), min(gray.shape[1], x + w + dx)
    return image[y0:y1, x0:x1]


def crop_largest_face(gray: np.ndarray, margin: float = FACE_MARGIN) -> np.ndarray:
    """Crop the largest Haar-cascade face with a small margin; the whole image when none is found."""
    crop = largest_face_crop(gray, margin)
    return gray if crop is None else crop


def resize_gray(gray: np.ndarray, size: int = INPUT_SIZE, width: int | None = None) -> np.ndarray:
    """Resize to size × (width or size): INTER_AREA when shrinking, linear when enlarging (any
    channel count)."""
    width = width or size
    if gray.shape[:2] == (size, width):
        return gray
    shrinking = gray.shape[0] > size or gray.shape[1] > width
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(gray, (width, size), interpolation=interp)


def preprocess(image: np.ndarray, detect_faces: bool = False,
               spec: PixelSpec | None = None) -> np.ndarray:
    """Decoded image → float32 [48, 48] in [0, 1]: gray, optional face crop, resize, /255.

    With an input spec: its colour, face crop, size, then `(pixel / 255 − mean) / std` per
    channel, as [H, W, C] or [C, H, W] (its layout) — what one image of that model's input holds.
    """
    if spec is None:
        return gray48_to_uint8(image, detect_faces).astype(np.float32) / np.float32(255.0)
    pixels = to_color_uint8(image, spec.color)
    if detect_faces or spec.face_crop:
        pixels = crop_largest_face(pixels if spec.color != "rgb" else pixels[:, :, ::-1])
        if spec.color == "rgb":
            pixels = pixels[:, :, ::-1]
    pixels = resize_gray(pixels, spec.height, spec.width)
    values = pixels / np.float32(255.0)  # float32, as astype(float32) then / 255
    if values.ndim == 2:
        values = values[:, :, None]
    if spec.normalises:  # (v - 0) / 1 is v, bit for bit: skipped
        values = (values - spec.mean_array()) / spec.std_array()
    if spec.layout == "nchw":
        values = values.transpose(2, 0, 1)
    return np.ascontiguousarray(values, dtype=np.float32)


def preprocess_file(path: str | Path, detect_faces: bool = False,
                    spec: PixelSpec | None = None) -> np.ndarray:
    """Read and preprocess one image file; raises ImageError naming the file when it is bad."""
    image = load_image(path)
    try:
        return preprocess(image, detect_faces=detect_faces, spec=spec)
    except ImageError as exc:
        raise ImageError(f"{path}: {exc}") from None


def gray48_to_uint8(image: np.ndarray, detect_faces: bool = False) -> np.ndarray:
    """Decoded image → uint8 [48, 48]: the in-memory form of every data set (scale later)."""
    gray = to_gray_uint8(image)
    if detect_faces:
        gray = crop_largest_face(gray)
    return resize_gray(gray)


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 [N, 48, 48] (or float [N, 48, 48] already scaled) → float32 [N, 48, 48, 1] in [0, 1]."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        images = images.astype(np.float32) / np.float32(255.0)
    else:
        images = images.astype(np.float32, copy=False)
    return images.reshape(images.shape[0], INPUT_SIZE, INPUT_SIZE, 1)
