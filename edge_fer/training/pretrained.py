"""The model shipped with edge-fer (data/pretrained/, installed as package data of edge_fer.data).

It is the default of `convert`, `run` and `evaluate` when no model is named, so a user can
convert and run a FER2013-trained model right after installing, before training anything.
"""

from __future__ import annotations

import json
from pathlib import Path

from edge_fer import reporter
from edge_fer.errors import EdgeFerError

PRETRAINED_DIR = Path(__file__).resolve().parents[2] / "data" / "pretrained"
MODEL_NAME = "model.pb"


def pretrained_dir() -> Path:
    """Folder of the shipped model, in a source checkout or an installed package."""
    from importlib import resources

    installed = Path(str(resources.files("edge_fer.data"))) / "pretrained"
    return installed if (installed / MODEL_NAME).is_file() else PRETRAINED_DIR


def default_model() -> Path:
    """The shipped frozen graph; an error naming the expected path when it is missing."""
    path = pretrained_dir() / MODEL_NAME
    if not path.is_file():
        raise EdgeFerError(f"{path}: no shipped model in this installation; name a model file "
                           f"(train one with edge-fer train, then edge-fer freeze)")
    return path


def model_or_default(model: str | Path | None, note: str = "") -> Path:
    """The model the user named, else the shipped one, said in one info line on stderr (`note`
    added to it); with no shipped model, default_model()'s error (exit 1)."""
    if model is not None:
        return Path(model)
    path = default_model()
    reporter.info(f"no model named: using the shipped model {path}{note}")
    return path


def pretrained_metrics() -> dict:
    path = pretrained_dir() / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else {}
