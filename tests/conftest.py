"""Shared fixtures: the shared data folder, and one small model trained and frozen per session.

The model is seed003 trained for three short epochs on the built-in synthetic faces: real enough for
conversion and runner round trips (confident, non-trivial predictions), quick enough for CI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_FER2013 = REPO_ROOT.parent / "shared" / "data" / "fer2013"


@pytest.fixture(scope="session")
def fer2013_dir() -> Path:
    """../shared/data/fer2013 beside the repo (CI has it); skip where it is absent."""
    if not (SHARED_FER2013 / "fer2013.csv.gz").is_file():
        pytest.skip(f"real FER2013 data not found at {SHARED_FER2013} (the shared folder beside the repo)")
    return SHARED_FER2013


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A seed003 run on 4,200 synthetic faces, 3 epochs (about 15 s on 2 cores)."""
    from edge_fer.train import TrainConfig, train

    out = tmp_path_factory.mktemp("run") / "seed003"
    train(TrainConfig(data="synthetic", arch="seed003", epochs=3, synthetic_train=4200,
                      synthetic_val=350, out=str(out)))
    return out


@pytest.fixture(scope="session")
def frozen_model(trained_run) -> Path:
    """The trained run frozen to model.pb (input x [1,48,48,1], output `output`), labels.txt beside it."""
    from edge_fer.freeze import freeze_run

    out = trained_run.parent / "frozen" / "model.pb"
    freeze_run(trained_run, out)
    return out


@pytest.fixture(scope="session")
def synthetic_inputs() -> np.ndarray:
    """200 synthetic faces as model input: float32 [200, 48, 48, 1] in [0, 1] (a seed unseen in training)."""
    from edge_fer.data.synthetic import generate
    from edge_fer.preprocess import to_model_input

    images, _ = generate(200, seed=12345)
    return to_model_input(images)


@pytest.fixture(scope="session")
def reference_probs(frozen_model, synthetic_inputs) -> np.ndarray:
    """The frozen graph's own softmax on synthetic_inputs: the TF reference every runtime is compared with."""
    from edge_fer.freeze import frozen_outputs
    from edge_fer.graphio import load_graph_def

    return frozen_outputs(load_graph_def(frozen_model), synthetic_inputs)
