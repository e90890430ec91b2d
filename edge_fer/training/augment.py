"""Training-time augmentation of uint8 [N, 48, 48] batches (numpy + OpenCV, off the TF graph).

Kept out of the graph so the exported model holds no random ops and the freezer has nothing to strip.
"""

from __future__ import annotations

import cv2
import numpy as np

AUGMENTATIONS = ("none", "flip", "full")


def augment_batch(images: np.ndarray, rng: np.random.Generator, mode: str = "flip") -> np.ndarray:
    """Return an augmented copy: `flip` mirrors half the faces; `full` adds small rotations,
    scale, shifts, brightness/contrast jitter and a random erased patch."""
    if mode == "none":
        return images
    out = images.copy()
    flip = rng.random(len(out)) < 0.5
    out[flip] = out[flip, :, ::-1]
    if mode == "flip":
        return out
    size = out.shape[1]
    centre = (size / 2 - 0.5, size / 2 - 0.5)
    angles = rng.uniform(-12, 12, len(out))
    scales = rng.uniform(0.9, 1.12, len(out))
    shifts = rng.uniform(-4, 4, (len(out), 2))
    for i in range(len(out)):
        matrix = cv2.getRotationMatrix2D(centre, angles[i], scales[i])
        matrix[:, 2] += shifts[i]
        out[i] = cv2.warpAffine(out[i], matrix, (size, size), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
    gain = rng.uniform(0.8, 1.2, (len(out), 1, 1))
    bias = rng.uniform(-20, 20, (len(out), 1, 1))
    mean = out.mean(axis=(1, 2), keepdims=True)
    out = np.clip((out - mean) * gain + mean + bias, 0, 255).astype(np.uint8)
    erase = np.nonzero(rng.random(len(out)) < 0.25)[0]
    for i in erase:
        h, w = rng.integers(8, 20, 2)
        y, x = rng.integers(0, size - h), rng.integers(0, size - w)
        out[i, y:y + h, x:x + w] = rng.integers(0, 256)
    return out
