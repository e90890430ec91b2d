"""Faces followed from frame to frame by box overlap, their probabilities smoothed so labels do
not flicker when an expression sits between two classes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edge_fer.prediction.detect import Box

MIN_IOU = 0.3          # a box overlapping a track's last box this much continues it
MAX_MISSED = 15        # frames a track survives without a face before it is dropped
# A face the detector lost for a few frames may have moved past any overlap with the track's
# last box: a box whose centre is within REACH track-box diagonals of it (more for every frame
# missed) and of a similar size (within SIZE_RATIO) continues the track too.
REACH, REACH_PER_MISSED, SIZE_RATIO = 0.5, 0.25, 2.0


@dataclass
class Track:
    id: int
    box: Box
    probs: np.ndarray | None = None       # smoothed probabilities (None until classified)
    last_probs: np.ndarray | None = None  # the latest classification, unsmoothed
    classified_at: int = -1               # frame of the latest classification
    missed: int = 0

    def due(self, frame: int, every: int) -> bool:
        """Whether this face is classified again at `frame` (every `every` frames)."""
        return self.last_probs is None or frame - self.classified_at >= every


@dataclass
class Tracker:
    """Greedy IoU matching (best overlaps first) and exponential smoothing of probabilities:
    smoothed = smooth × previous + (1 − smooth) × this frame's."""

    smooth: float = 0.6
    tracks: list[Track] = field(default_factory=list)
    next_id: int = 0

    def assign(self, boxes: list[Box]) -> list[Track]:
        """The track of each box of this frame (a new one for a face not seen before); tracks
        not seen for more than MAX_MISSED frames are dropped."""
        pairs = sorted(((box.iou(track.box), b, t) for b, box in enumerate(boxes)
                        for t, track in enumerate(self.tracks)), reverse=True)
        matched: dict[int, Track] = {}
        used: set[int] = set()
        for overlap, b, t in pairs:
            if overlap < MIN_IOU:
                break
            if b in matched or t in used:
                continue
            matched[b] = self.tracks[t]
            used.add(t)
        for b, t in self._near(boxes, matched, used):
            matched[b] = self.tracks[t]
            used.add(t)
        for t, track in enumerate(self.tracks):
            track.missed = 0 if t in used else track.missed + 1
        self.tracks = [track for track in self.tracks if track.missed <= MAX_MISSED]
        assigned = []
        for b, box in enumerate(boxes):
            track = matched.get(b)
            if track is None:
                track = Track(self.next_id, box)
                self.next_id += 1
                self.tracks.append(track)
            track.box = box
            assigned.append(track)
        return assigned

    def _near(self, boxes: list[Box], matched: dict[int, Track], used: set[int]):
        """(box, track) pairs left by the overlap round whose centres are close and whose sizes
        are alike (closest first): a face that moved while it was not detected."""
        pairs = []
        for b, box in enumerate(boxes):
            if b in matched:
                continue
            for t, track in enumerate(self.tracks):
                if t in used:
                    continue
                last = track.box
                diagonal = float(np.hypot(last.width, last.height)) or 1.0
                ratio = (box.width * box.height) / max(last.width * last.height, 1e-9)
                distance = float(np.hypot((box.x0 + box.x1 - last.x0 - last.x1) / 2,
                                          (box.y0 + box.y1 - last.y0 - last.y1) / 2)) / diagonal
                if distance <= REACH + REACH_PER_MISSED * track.missed and \
                        1 / SIZE_RATIO <= ratio <= SIZE_RATIO:
                    pairs.append((distance, b, t))
        taken_boxes, taken_tracks = set(), set()
        for _, b, t in sorted(pairs):
            if b not in taken_boxes and t not in taken_tracks:
                taken_boxes.add(b)
                taken_tracks.add(t)
                yield b, t

    def observe(self, track: Track, probs: np.ndarray, frame: int) -> np.ndarray:
        """Fold a new classification into the track's smoothed probabilities."""
        probs = probs.astype(np.float32)
        track.probs = probs if track.probs is None else \
            self.smooth * track.probs + (1.0 - self.smooth) * probs
        track.last_probs, track.classified_at = probs, frame
        return track.probs
