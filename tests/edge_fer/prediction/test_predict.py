"""predict: real FER2013 sample faces pasted into larger frames at known places (a short video
with 1-3 faces per frame, photos with several faces, one stored with an EXIF orientation) →
detection recall against the known boxes, labels equal to raw-inputs → run → classify on the
same crops, an annotated video OpenCV reads back, and the summary's numbers."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from edge_fer.cli import app
from edge_fer.prediction.detect import Box, load_detector
from edge_fer.prediction.pipeline import predict
from edge_fer.prediction.scenes import background, moving_faces, paste, sample_faces, write_video

REPO_ROOT = Path(__file__).resolve().parents[3]
SAMPLE_DIR = REPO_ROOT.parent / "shared" / "data" / "fer2013" / "sample"
FRAMES, FPS = 12, 4.0


@pytest.fixture(scope="module")
def faces() -> list[np.ndarray]:
    if not SAMPLE_DIR.is_dir():
        pytest.skip(f"the FER2013 sample faces are not at {SAMPLE_DIR} (the shared folder "
                    f"beside the repo)")
    return sample_faces(SAMPLE_DIR)


def recall(known: list[tuple[int, int, int, int]], found: list[Box]) -> tuple[int, int]:
    hits = sum(any(Box(*box).iou(f) > 0.3 for f in found) for box in known)
    return hits, len(known)


@pytest.fixture(scope="module")
def video_run(faces, frozen_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("video")
    scene = moving_faces(faces, FRAMES, switch_every=4, seed=1)
    clip = write_video(scene, folder / "clip.mp4", FPS)
    report = predict(str(clip), frozen_model, "tf", out_dir=folder / "out")
    return scene, report, folder / "out"


def test_video_faces_are_found_where_they_were_pasted(video_run):
    scene, report, _ = video_run
    hits = total = 0
    for index, known in enumerate(scene.boxes):
        found = [row.box for row in report.rows if row.frame == index]
        h, n = recall(known, found)
        hits, total = hits + h, total + n
    assert total == sum(len(b) for b in scene.boxes) and hits / total >= 0.8, (hits, total)
    # nothing found where no face was pasted
    assert all(any(Box(*k).iou(row.box) > 0.3 for k in scene.boxes[row.frame])
               for row in report.rows)


def test_annotated_video_plays_back_with_every_frame_and_the_summary_adds_up(video_run):
    scene, report, out = video_run
    capture = cv2.VideoCapture(str(out / "clip_annotated.mp4"))
    assert capture.isOpened()
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
    read = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        assert frame.shape == scene.frames[0].shape
        read += 1
    assert read == FRAMES
    summary = json.loads((out / "summary.json").read_text())
    frames_with_faces = len({row.frame for row in report.rows})
    assert summary["frames"] == FRAMES and summary["frames_failed"] == 0
    assert summary["faces"] == len(report.rows) == sum(summary["labels"].values())
    assert summary["frames_without_face"] == FRAMES - frames_with_faces
    assert summary["frames_per_s"] > 0
    plot = cv2.imread(str(out / "clip_emotions.png"))
    assert plot is not None and plot.shape[0] > 200
    rows = (out / "predictions.csv").read_text().splitlines()
    assert len(rows) == 1 + len(report.rows) and rows[0].startswith("source,frame,time_s")
    assert not [p for p in out.parent.rglob("*") if ".tmp" in p.name or "partial" in p.name]


def test_tracks_follow_each_face_and_smooth_its_probabilities(video_run):
    _, report, _ = video_run
    tracks = {row.track for row in report.rows}
    assert 1 <= len(tracks) <= 5  # three people, perhaps a lost-and-found one
    by_track = {}
    for row in report.rows:
        by_track.setdefault(row.track, []).append(row)
    for rows in by_track.values():
        np.testing.assert_allclose(rows[0].smoothed, rows[0].probs, atol=1e-6)
        for before, now in itertools.pairwise(rows):
            np.testing.assert_allclose(now.smoothed, 0.6 * before.smoothed + 0.4 * now.probs,
                                       atol=1e-5)


@pytest.fixture(scope="module")
def photos(faces, tmp_path_factory) -> tuple[Path, dict[str, list]]:
    """Two photos with three faces each; the second stored sideways with EXIF orientation 6."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("photos") / "in"
    folder.mkdir()
    known = {}
    for number, name in enumerate(("group.png", "phone.jpg")):
        frame = background(480, 640, seed=number)
        boxes = [paste(frame, faces[(number * 23 + k * 11) % len(faces)], x, y, s)
                 for k, (x, y, s) in enumerate([(30, 60, 170), (240, 200, 150), (430, 40, 160)])]
        known[name] = boxes
        if name == "phone.jpg":  # stored as a phone does: pixels turned, EXIF says turn back
            exif = Image.Exif()
            exif[0x0112] = 6
            stored = np.rot90(frame, 1)[:, :, ::-1]
            Image.fromarray(np.ascontiguousarray(stored)).save(folder / name, quality=95,
                                                               exif=exif.tobytes())
        else:
            cv2.imwrite(str(folder / name), frame)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return folder, known


def test_photos_every_face_upright_and_labels_equal_classify_on_the_same_crops(photos, frozen_model,
                                                                             tmp_path):
    from edge_fer.analysis.classify import classify_output
    from edge_fer.preprocess import load_image, to_color_uint8
    from edge_fer.runners import load_runner
    from edge_fer.tensors.raw_inputs import raw_inputs_from_folder
    from edge_fer.tensors.rawio import read_input_list

    folder, known = photos
    report = predict(str(folder), frozen_model, "tf", out_dir=tmp_path / "out")
    assert (report.frames, report.frames_failed) == (2, 1)
    assert report.failures[0][0].endswith("broken.jpg")
    for name, boxes in known.items():
        found = [row.box for row in report.rows if Path(row.source).name == name]
        hits, total = recall(boxes, found)
        assert hits == total == 3, (name, found)  # the EXIF photo is searched upright
        annotated = cv2.imread(str(tmp_path / "out" / "annotated" / name))
        assert annotated.shape == (480, 640, 3)
    # the crops predict classified, through the pipeline's other road
    crops = tmp_path / "crops"
    crops.mkdir()
    detector = load_detector("blazeface")
    for number, row in enumerate(report.rows):
        image = to_color_uint8(load_image(row.source), "bgr")
        x0, y0, x1, y1 = row.box.crop(detector.margins, image.shape)
        cv2.imwrite(str(crops / f"{number:03d}.png"), image[y0:y1, x0:x1])
    raws = raw_inputs_from_folder(crops, tmp_path / "raws", workers=1)
    load_runner(frozen_model, "tf").run_list(read_input_list(raws.input_list), tmp_path / "res")
    classified = classify_output(tmp_path / "res", raws.input_list)
    assert [p.label for p in classified.predictions] == [r["label"] for r in report.row_dicts()]


def test_the_command_line_json_csv_and_bad_sources(photos, frozen_model, tmp_path, monkeypatch):
    folder, _ = photos
    monkeypatch.chdir(tmp_path)  # without -o, predict writes a new runs/predict/exp<N> here
    runner = CliRunner()
    model = str(frozen_model)
    shown = runner.invoke(app, ["predict", str(folder / "group.png"), model, "--json"])
    assert shown.exit_code == 0, shown.output
    summary = json.loads(shown.stdout)
    assert (summary["frames"], summary["faces"]) == (1, 3) and summary["frames_per_s"] > 0
    shown = runner.invoke(app, ["predict", str(folder / "group.png"), model, "-f", "csv", "-q"])
    assert shown.stdout.splitlines()[0].startswith("source,frame,time_s,face,track,x0")
    assert len(shown.stdout.splitlines()) == 4
    made = sorted(p.name for p in (tmp_path / "runs" / "predict").iterdir())
    assert made == ["exp", "exp2"] and (tmp_path / "runs/predict/exp2/annotated/group.png").is_file()
    (tmp_path / "bad.mp4").write_bytes(b"\x00" * 4096)
    for args, code, words in (([str(tmp_path / "bad.mp4")], 1, "bad.mp4"),
                              ([str(folder / "broken.jpg")], 1, "broken.jpg"),
                              ([str(tmp_path / "absent.mp4")], 1, "no such file"),
                              (["7"], 3, "camera 7")):
        shown = runner.invoke(app, ["predict", *args, model, "-o", str(tmp_path / "o")])
        assert shown.exit_code == code, shown.output
        lines = [line for line in shown.output.splitlines() if line.strip()]
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in shown.output
    assert not (tmp_path / "o").exists()


def test_tracker_keeps_ids_across_overlapping_boxes_and_classify_every_reuses_results():
    from edge_fer.prediction.track import MAX_MISSED, Tracker

    tracker = Tracker(smooth=0.5)
    first = tracker.assign([Box(0, 0, 10, 10), Box(50, 50, 60, 60)])
    assert [t.id for t in first] == [0, 1] and all(t.due(0, 3) for t in first)
    np.testing.assert_allclose(tracker.observe(first[0], np.array([1.0, 0.0]), 0), [1.0, 0.0])
    again = tracker.assign([Box(51, 51, 61, 61), Box(1, 0, 11, 10), Box(200, 200, 220, 220)])
    assert [t.id for t in again] == [1, 0, 2]
    assert not again[1].due(2, 3) and again[1].due(3, 3)
    np.testing.assert_allclose(tracker.observe(again[1], np.array([0.0, 1.0]), 3), [0.5, 0.5])
    for _ in range(MAX_MISSED + 1):
        tracker.assign([])
    assert tracker.tracks == []


def test_a_face_lost_for_a_few_frames_keeps_its_track_though_it_moved():
    from edge_fer.prediction.track import MAX_MISSED, Tracker

    tracker = Tracker()
    ids = [t.id for t in tracker.assign([Box(100, 100, 200, 200), Box(400, 100, 500, 200)])]
    for _ in range(4):  # the first face is not detected for 4 frames while it moves right
        tracker.assign([Box(400, 100, 500, 200)])
    back = tracker.assign([Box(190, 110, 290, 210), Box(402, 100, 502, 200)])
    assert [t.id for t in back] == ids  # no overlap with its last box, but near and alike
    stranger = tracker.assign([Box(190, 110, 290, 210), Box(402, 100, 502, 200),
                               Box(20, 20, 60, 60)])
    assert stranger[2].id not in ids  # a small face far away is someone new
    assert MAX_MISSED >= 10

def test_blazeface_anchor_tables_match_the_models_outputs():
    from edge_fer.prediction.detect import BLAZEFACE_MODELS, ssd_anchors

    assert len(ssd_anchors(BLAZEFACE_MODELS["blazeface"])) == 896
    assert len(ssd_anchors(BLAZEFACE_MODELS["blazeface-full"])) == 2304
    for name in BLAZEFACE_MODELS:
        assert load_detector(name).detect(np.full((240, 320, 3), 128, np.uint8)) == []


def test_the_shipped_model_is_converted_once_and_then_taken_from_the_cache(tmp_path, monkeypatch):
    from edge_fer.files import sha256_file
    from edge_fer.prediction import model as predict_model
    from edge_fer.training.pretrained import default_model

    monkeypatch.setenv("EDGE_FER_CACHE", str(tmp_path))
    converted = []

    def fake_convert(request):  # the real conversion takes ~50 s; its own tests cover it
        converted.append(request)
        path = request.out_dir / "tflite" / "model_int8.tflite"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"tflite")
        path.with_suffix(".json").write_text(json.dumps({"sha256": sha256_file(path)}))

    monkeypatch.setattr("edge_fer.converters.convert_model", fake_convert)
    first, runtime = predict_model.resolve_model(None, None)
    again, _ = predict_model.resolve_model(None, "tflite")
    assert first == again and runtime == "tflite" and len(converted) == 1
    assert first.is_relative_to(tmp_path / "predict")
    request = converted[0]
    assert (request.target, request.precision, request.dynamic_batch) == ("tflite", "int8", True)
    assert predict_model.resolve_model(None, "tf") == (default_model(), "tf")
    # The shipped model named by name runs as the same cached int8 TFLite, not on tf.
    assert predict_model.resolve_model("best", None) == (first, "tflite") and len(converted) == 1
    first.write_bytes(b"tflite, damaged")  # fails its sha256 check: converted again
    assert predict_model.resolve_model(None, None) == (first, "tflite") and len(converted) == 2
    assert first.read_bytes() == b"tflite"


def test_a_video_frame_that_fails_to_decode_is_skipped_and_counted(frozen_model, tmp_path):
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(tmp_path / "m.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5,
                             (160, 120))
    for _ in range(6):
        writer.write(rng.integers(0, 255, (120, 160, 3), np.uint8))
    writer.release()
    data = bytearray((tmp_path / "m.avi").read_bytes())
    third = [i for i in range(len(data) - 1) if data[i:i + 2] == b"\xff\xd8"][2]
    data[third:third + 600] = bytes(600)  # the third frame's JPEG header is gone
    (tmp_path / "bad.avi").write_bytes(bytes(data))
    report = predict(str(tmp_path / "bad.avi"), frozen_model, "tf", out_dir=tmp_path / "out")
    summary = report.summary()
    assert (summary["frames"], summary["frames_failed"], summary["faces"]) == (5, 1, 0)
    assert summary["failed"][0]["source"].endswith("bad.avi frame 2")
    capture = cv2.VideoCapture(str(tmp_path / "out" / "bad_annotated.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 5


def test_the_table_fits_80_columns_and_keeps_file_names_whole(photos, frozen_model, tmp_path):
    folder, _ = photos
    deep = tmp_path / ("a-folder-with-a-long-name-" * 3) / "and-another-level"
    deep.mkdir(parents=True)
    (deep / "group_photo_2026.png").write_bytes((folder / "group.png").read_bytes())
    shown = CliRunner().invoke(app, ["predict", str(deep), str(frozen_model), "-o",
                                     str(tmp_path / "o"), "-q", "--rows"], env={"COLUMNS": "80"})
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, shown.stdout
    faces = [line for line in lines if ".png" in line]  # the folder is cut, the name stays whole
    assert len(faces) == 3 and all(line.startswith("…") and "/group_photo_2026.png " in line
                                   for line in faces), shown.stdout
    assert "3 faces" in shown.stdout


def test_mean_and_std_given_for_the_model_reach_it(photos, frozen_model, tmp_path, monkeypatch):
    """--mean/--std (a model brought without a manifest): the same faces, fed (x - 0.5) / 0.5."""
    folder, _ = photos
    plain = predict(str(folder), frozen_model, "tf")
    given = predict(str(folder), frozen_model, "tf", input_flags={"mean": "0.5", "std": "0.5"})
    assert [r.box.as_list() for r in plain.rows] == [r.box.as_list() for r in given.rows]
    assert not np.allclose([r.probs for r in plain.rows], [r.probs for r in given.rows], atol=1e-3)
    monkeypatch.chdir(tmp_path)  # its default output folder goes under runs/ here
    done = CliRunner().invoke(app, ["predict", str(folder), str(frozen_model), "--mean", "0.5",
                                    "--std", "0.5", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["faces"] == len(given.rows)


def test_two_sources_never_share_an_annotated_name_and_an_output_inside_the_input_is_refused(
        photos, frozen_model, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    image = cv2.imread(str(photos[0] / "group.png"))
    cv2.imwrite(str(folder / "a.png"), image)
    _, gif = cv2.imencode(".png", image)  # OpenCV writes no GIF: a PNG under a .gif name
    (folder / "a.gif").write_bytes(gif.tobytes())
    predict(str(folder), frozen_model, "tf", out_dir=tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out" / "annotated").iterdir()) == [
        "a.gif.png", "a.png"]
    shown = CliRunner().invoke(app, ["predict", str(folder), str(frozen_model), "-o",
                                     str(folder / "out")])
    assert shown.exit_code == 1 and "is inside the input folder" in shown.output, shown.output
    assert sorted(p.name for p in folder.iterdir()) == ["a.gif", "a.png"]


def test_a_second_first_use_of_the_cache_waits_for_the_conversion_under_way(tmp_path,
                                                                           monkeypatch):
    import threading

    from edge_fer.atomic import output_lock
    from edge_fer.files import sha256_file
    from edge_fer.prediction import model as predict_model
    from edge_fer.training.pretrained import default_model

    monkeypatch.setenv("EDGE_FER_CACHE", str(tmp_path))
    converted = []
    monkeypatch.setattr("edge_fer.converters.convert_model", converted.append)
    entry = tmp_path / "predict" / sha256_file(default_model())[:16]
    entry.parent.mkdir(parents=True)
    found = []
    with output_lock(entry.parent / f"{entry.name}-tflite"):  # another predict converting
        waiting = threading.Thread(target=lambda: found.append(
            predict_model.converted_model(default_model(), "tflite")))
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive() and not found  # it waits instead of failing
        model = entry / "tflite" / "model_int8.tflite"
        model.parent.mkdir(parents=True)
        model.write_bytes(b"converted by the other")
        model.with_suffix(".json").write_text(json.dumps({"sha256": sha256_file(model)}))
    waiting.join(30)
    assert found == [model] and converted == []  # the other's conversion is taken as it is


def test_a_summary_by_default_rows_on_request_and_names_shown_escaped(photos, frozen_model,
                                                                       tmp_path, monkeypatch):
    import shutil

    folder, _ = photos
    evil = tmp_path / "evil\x1b[31m.png"  # a name holding a terminal escape sequence
    shutil.copy(folder / "group.png", evil)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    shown = runner.invoke(app, ["predict", evil.name, str(frozen_model)])
    assert shown.exit_code == 0, shown.output
    assert "\x1b" not in shown.output and "evil\\x1b[31m.png: 1 image, 3 faces" in shown.output
    assert "box x0" not in shown.output and re.search(r"label +faces +share", shown.stdout)
    listed = runner.invoke(app, ["predict", evil.name, str(frozen_model), "--rows"])
    rows = [line for line in listed.stdout.splitlines() if "\\x1b[31m.png" in line]
    assert len(rows) == 3 and "\x1b" not in listed.output
