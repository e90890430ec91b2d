"""Face detectors: one table, every face of a frame as pixel boxes.

`blazeface` (default) and `blazeface-full` are MediaPipe's BlazeFace SSD models (weights in
models/, Apache-2.0, see models/README.md) run on LiteRT, the runtime edge-fer already uses;
the anchors and boxes are decoded here. `haar` is OpenCV's frontal-face cascade, the fallback
that needs nothing but OpenCV. Nothing is downloaded at run time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge_fer.errors import EdgeFerError, ToolMissingError, UsageError

MODELS_DIR = Path(__file__).resolve().parent / "models"
MIN_SCORE = 0.5
NMS_IOU = 0.3
RAW_SCORE_LIMIT = 80.0  # MediaPipe clips raw scores (at 100) before the sigmoid


@dataclass(frozen=True)
class Box:
    """A face in pixel coordinates of its frame (x1, y1 exclusive) with the detector's score."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float = 1.0

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def iou(self, other: Box) -> float:
        ix = max(0.0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0.0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union > 0 else 0.0

    def crop(self, margins: tuple[float, float, float, float],
             shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """Integer crop (x0, y0, x1, y1) grown by (left, top, right, bottom) fractions of the
        box's side, inside a frame of `shape`."""
        left, top, right, bottom = margins
        h, w = shape[:2]
        return (max(0, round(self.x0 - left * self.width)),
                max(0, round(self.y0 - top * self.height)),
                min(w, round(self.x1 + right * self.width)),
                min(h, round(self.y1 + bottom * self.height)))

    def as_list(self) -> list[int]:
        return [round(v) for v in (self.x0, self.y0, self.x1, self.y1)]


class HaarDetector:
    """OpenCV's Haar cascade: quick, no extra weights, but misses turned and small faces."""

    name = "haar"
    # Haar boxes sit on the face like FER2013's crops do, less the margin preprocess adds.
    margins = (0.1, 0.1, 0.1, 0.1)

    def __init__(self) -> None:
        cascade = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        self._cascade = cv2.CascadeClassifier(str(cascade))
        if self._cascade.empty():
            raise ToolMissingError(f"{cascade}: OpenCV Haar cascade missing (reinstall "
                                   f"opencv-python-headless)")

    def detect(self, bgr: np.ndarray) -> list[Box]:
        gray = bgr if bgr.ndim == 2 else cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        min_side = max(24, min(gray.shape) // 20)
        faces = self._cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                               minSize=(min_side, min_side))
        return [Box(float(x), float(y), float(x + w), float(y + h)) for x, y, w, h in faces]


@dataclass(frozen=True)
class SsdOptions:
    """MediaPipe's SsdAnchorsCalculator options for one BlazeFace model (its .pbtxt graph)."""

    file: str
    size: int                     # square input side
    strides: tuple[int, ...]
    extra_anchor: bool            # interpolated_scale_aspect_ratio 1.0: two anchors per cell


def ssd_anchors(options: SsdOptions) -> np.ndarray:
    """Anchor centres [N, 2] (x, y in [0, 1]); BlazeFace uses fixed-size anchors, so the box
    sizes are regressed relative to the input side and only the centres are needed."""
    centres = []
    layer = 0
    while layer < len(options.strides):
        stride = options.strides[layer]
        per_cell = 0
        while layer < len(options.strides) and options.strides[layer] == stride:
            per_cell += 2 if options.extra_anchor else 1
            layer += 1
        grid = int(np.ceil(options.size / stride))
        ys, xs = np.meshgrid((np.arange(grid) + 0.5) / grid, (np.arange(grid) + 0.5) / grid,
                             indexing="ij")
        cells = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


BLAZEFACE_MODELS = {
    "blazeface": SsdOptions("face_detection_short_range.tflite", 128, (8, 16, 16, 16), True),
    "blazeface-full": SsdOptions("face_detection_full_range_sparse.tflite", 192, (4,), False),
}


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression: each kept box is the score-weighted mean of
    the boxes overlapping it by more than `iou` (steadier boxes than plain NMS)."""
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    kept = []
    remaining = np.ones(len(boxes), bool)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for i in range(len(boxes)):
        if not remaining[i]:
            continue
        x0 = np.maximum(boxes[i, 0], boxes[:, 0])
        y0 = np.maximum(boxes[i, 1], boxes[:, 1])
        x1 = np.minimum(boxes[i, 2], boxes[:, 2])
        y1 = np.minimum(boxes[i, 3], boxes[:, 3])
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        overlap = inter / np.maximum(areas[i] + areas - inter, 1e-9)
        group = remaining & (overlap > iou)
        group[i] = True
        weights = scores[group]
        kept.append(((boxes[group] * weights[:, None]).sum(0) / weights.sum(), float(scores[i])))
        remaining &= ~group
    return kept


class BlazeFaceDetector:
    """BlazeFace on LiteRT: the frame is letterboxed to the model's square input (RGB in
    [-1, 1]), and the 896 (short range) or 2,304 (full range) anchors decoded to boxes."""

    # BlazeFace boxes run from the brows to the chin; FER2013's faces include the forehead. On
    # the 70 sample faces pasted at 160 px the box spans x 0.09-0.90 and y 0.19-0.99 of the
    # FER2013 crop (medians), so these margins give back that framing, square.
    margins = (0.12, 0.25, 0.12, 0.02)

    def __init__(self, name: str, min_score: float = MIN_SCORE) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.name = name
        self.options = BLAZEFACE_MODELS[name]
        path = MODELS_DIR / self.options.file
        if not path.is_file():
            raise ToolMissingError(f"{path}: BlazeFace weights missing from this installation "
                                   f"(reinstall edge-fer, or use --detector haar)")
        self._interpreter = Interpreter(model_path=str(path), num_threads=1)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = sorted(self._interpreter.get_output_details(), key=lambda d: -d["shape"][-1])
        self._boxes, self._scores = outputs[0]["index"], outputs[1]["index"]
        self._anchors = ssd_anchors(self.options)
        self.min_score = min_score

    def detect(self, bgr: np.ndarray) -> list[Box]:
        if bgr.ndim == 2:
            bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
        size = self.options.size
        h, w = bgr.shape[:2]
        scale = size / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        top, left = (size - nh) // 2, (size - nw) // 2
        canvas = np.zeros((size, size, 3), np.uint8)
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        canvas[top:top + nh, left:left + nw] = cv2.resize(bgr, (nw, nh), interpolation=interp)
        tensor = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).astype(np.float32) / 127.5 - 1.0
        self._interpreter.set_tensor(self._input, tensor[None])
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._boxes)[0]
        logits = np.clip(self._interpreter.get_tensor(self._scores)[0, :, 0],
                         -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = scores >= self.min_score
        if not keep.any():
            return []
        raw, anchors, scores = raw[keep], self._anchors[keep], scores[keep]
        cx = raw[:, 0] / size + anchors[:, 0]
        cy = raw[:, 1] / size + anchors[:, 1]
        bw, bh = raw[:, 2] / size, raw[:, 3] / size
        corners = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
        found = []
        for (x0, y0, x1, y1), score in weighted_nms(corners, scores, NMS_IOU):
            # from the letterboxed square back to the frame's pixels
            box = Box((x0 * size - left) / scale, (y0 * size - top) / scale,
                      (x1 * size - left) / scale, (y1 * size - top) / scale, score)
            box = Box(max(0.0, box.x0), max(0.0, box.y0), min(float(w), box.x1),
                      min(float(h), box.y1), score)
            if box.width > 1 and box.height > 1:
                found.append(box)
        return found


DETECTORS = {
    "blazeface": "BlazeFace short range (MediaPipe, LiteRT): faces within ~2 m, webcams, portraits",
    "blazeface-full": "BlazeFace full range, sparse (MediaPipe, LiteRT): smaller faces, groups",
    "haar": "OpenCV Haar cascade: no extra weights; frontal faces only",
}


@functools.lru_cache(maxsize=4)
def load_detector(name: str, min_score: float = MIN_SCORE):
    """The detector called `name` (cached: the interpreter is reused for every frame)."""
    if name not in DETECTORS:
        raise UsageError(f"unknown detector {name!r}; known: {', '.join(DETECTORS)}")
    if name == "haar":
        return HaarDetector()
    try:
        return BlazeFaceDetector(name, min_score)
    except (ValueError, RuntimeError) as exc:
        raise EdgeFerError(f"{name}: LiteRT cannot load the detector ({exc})") from None
