"""Annotated frames: each face's panel sits beside it, covers no face and no other panel when
the frame has room, is framed in its box's colour, and its text is legible at the picture's own
size; the emotions plot has a panel for every track."""

from __future__ import annotations

import numpy as np

from edge_fer.labels import LABELS
from edge_fer.prediction.annotate import (
    MIN_TEXT_PX,
    Face,
    _overlap,
    _place,
    _Style,
    color_of,
    draw_faces,
)
from edge_fer.prediction.detect import Box


def _layout(frame_shape, boxes):
    h, w = frame_shape
    style = _Style.for_frame(h, w, LABELS)
    placed = []
    for i, box in enumerate(boxes):
        others = [b for j, b in enumerate(boxes) if j != i]
        placed.append(_place(box, style.size, (w, h), others, placed, style.gap))
    return style, placed


def test_panels_cover_no_face_and_no_other_panel_and_stay_in_the_frame():
    boxes = [(32, 55, 199, 222), (255, 172, 387, 304), (462, 115, 570, 223)]  # three faces, 640×480
    style, panels = _layout((480, 640), boxes)
    for i, panel in enumerate(panels):
        assert 0 <= panel[0] and 0 <= panel[1] and panel[2] <= 640 and panel[3] <= 480
        assert all(_overlap(panel, box) == 0 for box in boxes), (panel, boxes)
        assert all(_overlap(panel, other) == 0 for j, other in enumerate(panels) if j != i)
        # beside its own face: within a gap of it
        x0, y0, x1, y1 = boxes[i]
        grown = (x0 - style.gap - 1, y0 - style.gap - 1, x1 + style.gap + 1, y1 + style.gap + 1)
        assert _overlap(panel, grown) > 0


def test_text_is_legible_at_the_source_size():
    import cv2

    for h, w in ((240, 320), (480, 640), (1080, 1920)):
        style = _Style.for_frame(h, w, LABELS)
        text_h = cv2.getTextSize("Hg", cv2.FONT_HERSHEY_SIMPLEX, style.scale, style.thick)[0][1]
        assert text_h >= MIN_TEXT_PX and text_h >= min(h, w) / 45


def test_the_panel_is_framed_in_its_box_colour():
    frame = np.full((480, 640, 3), 128, np.uint8)
    probs = np.array([0.05, 0.05, 0.05, 0.7, 0.05, 0.05, 0.05], np.float32)
    draw_faces(frame, [Face(Box(40, 40, 200, 200), probs, track=3)], LABELS)
    happy = np.array(color_of(3), np.uint8)
    _, (panel,) = _layout((480, 640), [(40, 40, 200, 200)])
    assert (frame[41, 40] == happy).all()                  # the box
    assert (frame[panel[3] - 1, panel[0] + 20] == happy).all()  # the panel's frame


def test_the_emotions_plot_has_a_panel_for_every_track(tmp_path, monkeypatch):
    from edge_fer import atomic
    from edge_fer.prediction import annotate

    figures = []
    monkeypatch.setattr(atomic, "save_figure", lambda figure, path: figures.append(figure) or path)
    xs = [0.0, 0.5, 1.0]
    series = {track: (xs, np.full((3, 7), 1 / 7)) for track in range(7)}
    annotate.plot_emotions(series, LABELS, tmp_path / "e.png", "time (s)", "clip")
    titles = [axis.get_title() for axis in figures[0].axes if axis.get_visible()]
    assert titles == [f"face #{track}" for track in range(7)]
