"""Faces followed from frame to frame by box overlap, their probabilities smoothed so labels do
not flicker when an expression sits between two classes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edge_fer.predict.detect import Box

MIN_IOU = 0.3          # a box overlapping a track's last box this much continues it
MAX_MISSED = 5         # frames a track survives without a face before it is dropped


@dataclass
class Track:
    id: int
    box: Box
    probs: np.ndarray
    missed: int = 0


@dataclass
class Tracker:
    """Greedy IoU matching (best overlaps first) and exponential smoothing of probabilities:
    smoothed = smooth × previous + (1 − smooth) × this frame's."""

    smooth: float = 0.6
    tracks: list[Track] = field(default_factory=list)
    next_id: int = 0

    def update(self, boxes: list[Box], probs: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """(track id, smoothed probabilities) for each box of this frame, in the boxes' order."""
        pairs = sorted(((box.iou(track.box), b, t) for b, box in enumerate(boxes)
                        for t, track in enumerate(self.tracks)), reverse=True)
        matched_boxes: dict[int, int] = {}
        used_tracks: set[int] = set()
        for overlap, b, t in pairs:
            if overlap < MIN_IOU:
                break
            if b in matched_boxes or t in used_tracks:
                continue
            matched_boxes[b] = t
            used_tracks.add(t)
        results = []
        for b, box in enumerate(boxes):
            if b in matched_boxes:
                track = self.tracks[matched_boxes[b]]
                track.probs = self.smooth * track.probs + (1.0 - self.smooth) * probs[b]
                track.box, track.missed = box, 0
            else:
                track = Track(self.next_id, box, probs[b].astype(np.float32))
                self.next_id += 1
                self.tracks.append(track)
                used_tracks.add(len(self.tracks) - 1)
            results.append((track.id, track.probs.astype(np.float32)))
        for t, track in enumerate(self.tracks):
            if t not in used_tracks:
                track.missed += 1
        self.tracks = [track for track in self.tracks if track.missed <= MAX_MISSED]
        return results
