"""Calibration draws from a data set's training split and checks from its validation split."""

from __future__ import annotations

import numpy as np

from edge_fer.converters.calibration import load_calibration, load_check_samples
from edge_fer.data.synthetic import render_png_folder


def test_real_data_set_calibrates_on_train_and_checks_on_validation(tmp_path):
    render_png_folder(tmp_path / "faces" / "train", 6, seed=1)
    render_png_folder(tmp_path / "faces" / "test", 3, seed=2)
    spec = str(tmp_path / "faces")
    calibration = load_calibration(spec, 20)
    checks = load_check_samples(spec, 10, 20)
    assert calibration.describe()["split"] == "train" and len(calibration) == 20
    assert checks.describe()["split"] == "test" and len(checks) == 10
    assert calibration.images.shape[1:] == (48, 48, 1) and calibration.images.dtype == np.float32
    # no check input is a calibration input
    flat = {image.tobytes() for image in calibration.images}
    assert not any(image.tobytes() in flat for image in checks.images)
