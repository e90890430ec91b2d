"""Scenes with faces at known places: face images pasted into larger frames, moving.

The tests check detection recall, labels and the annotated video against these known boxes, and
scripts/predict_demo.py makes the README's pictures and the frames/s figure from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge_fer.errors import EdgeFerError
from edge_fer.preprocess import load_image, to_color_uint8


@dataclass
class Scene:
    frames: list[np.ndarray]                           # BGR uint8
    boxes: list[list[tuple[int, int, int, int]]]       # per frame: (x0, y0, x1, y1) per face
    faces: list[list[int]]                             # per frame: index into the face images


def background(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A soft coloured gradient with some texture (a flat colour is too easy for a detector)."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([90 + 60 * xs / width, 110 + 40 * ys / height,
                     130 - 50 * xs / width], axis=2)
    noise = cv2.GaussianBlur(rng.normal(0, 18, (height, width, 3)).astype(np.float32), (0, 0), 3)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def paste(frame: np.ndarray, face: np.ndarray, x: int, y: int, size: int) -> tuple[int, int, int, int]:
    """Paste `face` (any decoded image) resized to size × size at (x, y); its box."""
    patch = cv2.resize(to_color_uint8(face, "bgr"), (size, size), interpolation=cv2.INTER_LINEAR)
    frame[y:y + size, x:x + size] = patch
    return (x, y, x + size, y + size)


def moving_faces(images: list[np.ndarray], frames: int, height: int = 480, width: int = 640,
                 people: int = 3, size: int = 150, switch_every: int = 10, seed: int = 0) -> Scene:
    """`people` faces swaying in their lanes of the frame, each showing the next of `images` every
    `switch_every` frames (so expressions change over time); the first person alone for the
    first fifth of the clip, so a clip holds 1 to `people` faces per frame."""
    if len(images) < people:
        raise EdgeFerError(f"a scene of {people} people needs at least {people} face images")
    rng = np.random.default_rng(seed)
    lane = width // people
    size = min(size, lane - 10, height - 20)
    phases = rng.uniform(0, 2 * np.pi, (people, 2))
    periods = rng.uniform(40, 80, (people, 2))  # frames per swing, across and up/down
    base = background(height, width, seed)
    scene = Scene([], [], [])
    for t in range(frames):
        frame = base.copy()
        boxes, shown = [], []
        visible = 1 if t < frames // 5 else people
        for p in range(visible):
            # each person sways inside its own lane, so faces never overlap
            swing = 0.5 + 0.45 * np.sin(2 * np.pi * t / periods[p] + phases[p])
            x = p * lane + int(swing[0] * (lane - size))
            y = int(swing[1] * (height - size))
            index = (p * 7 + t // switch_every) % len(images)
            boxes.append(paste(frame, images[index], x, y, size))
            shown.append(index)
        scene.frames.append(frame)
        scene.boxes.append(boxes)
        scene.faces.append(shown)
    return scene


def sample_faces(folder: Path) -> list[np.ndarray]:
    """The face images under folder (e.g. FER2013's sample/<emotion>/*.jpg), sorted."""
    paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".jpg", ".png"))
    if not paths:
        raise EdgeFerError(f"{folder}: no face images (.jpg, .png)")
    return [load_image(p) for p in paths]


def write_video(scene: Scene, path: Path, fps: float) -> Path:
    """The scene as an mp4v video (what a phone or webcam recording would be)."""
    height, width = scene.frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise EdgeFerError(f"{path}: OpenCV cannot write mp4v video here")
    for frame in scene.frames:
        writer.write(frame)
    writer.release()
    return path
