"""The models shipped with edge-fer, by name (data/pretrained/<name>/, installed as package data
of edge_fer.data): each folder holds model.pb, labels.txt and metrics.json (recipe, PublicTest
scores, sha256 of model.pb).

Wherever a command takes a model file it also takes a shipped model's name (`best`, `fast`,
`tiny`), and with no model named it uses `best`, so a user can convert and run a FER2013-trained
model right after installing, before training anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from edge_fer import reporter
from edge_fer.errors import EdgeFerError

PRETRAINED_DIR = Path(__file__).resolve().parents[2] / "data" / "pretrained"
MODEL_NAME = "model.pb"
METRICS_NAME = "metrics.json"
DEFAULT_NAME = "best"


@dataclass(frozen=True)
class ShippedModel:
    name: str
    summary: str


SHIPPED: dict[str, ShippedModel] = {model.name: model for model in (
    ShippedModel("best", "the most accurate: resm (residual CNN) with mirror averaging; the default"),
    ShippedModel("fast", "≤ 60 MFLOP per face: depthwise-separable residual network, distilled from best"),
    ShippedModel("tiny", "≤ 15 MFLOP per face: depthwise-separable residual network, distilled from best"),
)}


def pretrained_dir(name: str = DEFAULT_NAME) -> Path:
    """Folder of a shipped model, in a source checkout or an installed package."""
    from importlib import resources

    installed = Path(str(resources.files("edge_fer.data"))) / "pretrained" / name
    return installed if (installed / MODEL_NAME).is_file() else PRETRAINED_DIR / name


def shipped_model(name: str = DEFAULT_NAME) -> Path:
    """The frozen graph of a shipped model; an error naming the expected path when it is missing."""
    if name not in SHIPPED:
        raise EdgeFerError(f"{name}: not a shipped model; shipped models are {', '.join(SHIPPED)}")
    path = pretrained_dir(name) / MODEL_NAME
    if not path.is_file():
        raise EdgeFerError(f"{path}: no shipped model {name!r} in this installation; name a model "
                           f"file (train one with edge-fer train, then edge-fer freeze)")
    return path


def default_model() -> Path:
    return shipped_model(DEFAULT_NAME)


def shipped_names() -> list[str]:
    """The registered names whose files are present."""
    return [name for name in SHIPPED if (pretrained_dir(name) / MODEL_NAME).is_file()]


def names_shipped_model(model: str | Path | None) -> bool:
    """True when `model` stands for a shipped model: none given, or a shipped model's name that
    is not also a file or folder here."""
    return model is None or (str(model) in SHIPPED and not Path(model).exists())


def model_or_default(model: str | Path | None, note: str = "") -> Path:
    """The model the user named: an existing file, else a shipped model's name (said in one info
    line on stderr, `note` added to it); no model: the shipped `best`. Anything else is returned
    as given, for the command to report as a missing file."""
    if not names_shipped_model(model):
        return Path(model)
    name = str(model) if model is not None else DEFAULT_NAME
    path = shipped_model(name)
    said = "using the shipped model" if model is not None else "no model named: using the shipped model"
    reporter.info(f"{said} {path}{note}")
    return path


def pretrained_metrics(name: str = DEFAULT_NAME) -> dict:
    path = pretrained_dir(name) / METRICS_NAME
    return json.loads(path.read_text()) if path.is_file() else {}


def describe_shipped() -> list[dict]:
    """One record per registered model, from its metrics.json: what `edge-fer models` shows.
    Registered models whose files are absent are listed with `shipped: False`."""
    rows = []
    for name, spec in SHIPPED.items():
        metrics = pretrained_metrics(name)
        path = pretrained_dir(name) / MODEL_NAME
        if not path.is_file() or not metrics:
            rows.append({"name": name, "shipped": False, "summary": spec.summary})
            continue
        scores = metrics.get("public_test", {})
        rows.append({
            "name": name, "shipped": True, "summary": spec.summary, "path": str(path),
            "arch": metrics.get("arch"), "parameters": metrics.get("parameters"),
            "mflop_per_face": round(metrics["flops_per_image"] / 1e6, 1) if metrics.get("flops_per_image") else None,
            "bytes": path.stat().st_size, "sha256": metrics.get("sha256"),
            "public_test_float": scores.get("float", {}).get("accuracy"),
            "public_test_int8": scores.get("int8", {}).get("accuracy"),
            "int8_agreement": metrics.get("int8_agreement"),  # int8's top-1 is float's (PublicTest)
            "int8_tflite_latency_ms": metrics.get("int8_tflite_latency", {}).get("p50_ms"),
            "recipe": metrics.get("command"),
        })
    return rows
