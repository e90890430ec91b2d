"""The one preprocessing function: any decodable image → float32 48×48 in [0, 1]."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge_fer.preprocess import ImageError, load_image, preprocess, preprocess_file, to_model_input


@pytest.mark.parametrize("image", [
    np.full((48, 48), 255, np.uint8),                       # gray, already 48×48
    np.full((300, 400, 3), 255, np.uint8),                  # BGR, shrinks with INTER_AREA
    np.full((30, 20, 4), 255, np.uint8),                    # BGRA, enlarges
    np.full((64, 64), 65535, np.uint16),                    # 16-bit
])
def test_preprocess_gives_48x48_float_in_unit_range(image):
    out = preprocess(image)
    assert out.shape == (48, 48) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() == pytest.approx(1.0)


def test_preprocess_scales_by_255_exactly():
    image = np.arange(48 * 48, dtype=np.uint32).reshape(48, 48).astype(np.uint8)
    np.testing.assert_array_equal(preprocess(image), image.astype(np.float32) / 255.0)
    np.testing.assert_array_equal(to_model_input(image[None])[0, :, :, 0], preprocess(image))


def test_bgr_uses_opencv_gray_weights():
    bgr = np.zeros((48, 48, 3), np.uint8)
    bgr[..., 2] = 200  # red
    assert preprocess(bgr)[0, 0] == pytest.approx(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)[0, 0] / 255.0)


def test_bad_files_raise_image_error_naming_the_file(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "text.png"
    text.write_text("not an image")
    for path in (empty, text, tmp_path / "missing.png"):
        with pytest.raises(ImageError, match=path.name):
            preprocess_file(path)


def test_load_image_round_trips_png(tmp_path):
    image = (np.arange(48 * 48) % 256).astype(np.uint8).reshape(48, 48)
    cv2.imwrite(str(tmp_path / "a.png"), image)
    np.testing.assert_array_equal(load_image(tmp_path / "a.png"), image)


def test_face_crop_falls_back_to_whole_image_without_face():
    image = np.full((100, 100), 128, np.uint8)
    assert preprocess(image, detect_faces=True).shape == (48, 48)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_pillow_applies_it(tmp_path, orientation):
    from PIL import Image, ImageOps

    rng = np.random.default_rng(orientation)
    rgb = np.kron(rng.integers(0, 256, (5, 8, 3), np.uint8), np.ones((8, 8, 1), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "phone.jpg"
    Image.fromarray(rgb).save(path, quality=100, exif=exif.tobytes())
    with Image.open(path) as picture:
        upright = np.asarray(ImageOps.exif_transpose(picture).convert("RGB"))[:, :, ::-1]
    loaded = load_image(path)
    assert loaded.shape == upright.shape == ((64, 40, 3) if orientation >= 5 else (40, 64, 3))
    assert np.abs(loaded.astype(int) - upright).max() <= 3
