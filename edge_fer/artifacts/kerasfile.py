"""The Keras reader (`.keras`, `.h5`, `.hdf5`): the model's config JSON and its weights' shapes,
read as data — no layer is built, nothing is deserialised, no code runs (Lambda layers and
classes from outside Keras are listed, never loaded; convert loads Keras files in safe mode).

A `.keras` file is a zip of `config.json`, `metadata.json` and `model.weights.h5`; a legacy
`.h5` keeps the config in its `model_config` attribute and the weights under `model_weights`.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
import zlib
from collections import Counter
from pathlib import Path

from edge_fer.artifacts.description import Description, Tensor
from edge_fer.errors import EdgeFerError
from edge_fer.files import read_regular

FORMAT = "keras"
SUFFIXES = (".keras", ".h5", ".hdf5")
_JSON_LIMIT = 64 << 20        # a config this large is no model's
_PASS_THROUGH = ("Dropout", "Activation", "Softmax", "ActivityRegularization")


def _json(path: Path, data: bytes | str, where: str) -> dict:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EdgeFerError(f"{path}: {where} is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise EdgeFerError(f"{path}: {where} is not a JSON object")
    return value


def _parameters(h5file, group: str | None) -> int | None:
    """Elements of every weight array (the optimizer's left out); only shapes are read, no
    data, and HDF5's soft and external links are not followed."""
    import h5py

    with h5py.File(h5file, "r") as h5:
        root = h5[group] if group and group in h5 else (None if group else h5)
        if root is None:
            return None
        total = 0

        def visit(name: str, item) -> None:
            nonlocal total
            if isinstance(item, h5py.Dataset) and not name.startswith("optimizer"):
                total += int(item.size)

        root.visititems(visit)
        return total


def _from_zip(path: Path, data: io.BytesIO) -> tuple[dict, dict, int | None]:
    with zipfile.ZipFile(data) as archive:
        members = {info.filename: info for info in archive.infolist()}
        if "config.json" not in members:
            raise EdgeFerError(f"{path}: a zip, but not a Keras model (no config.json in it)")
        found = {}
        for name in ("config.json", "metadata.json"):
            if name in members:
                if members[name].file_size > _JSON_LIMIT:
                    raise EdgeFerError(f"{path}: {name} says it holds "
                                       f"{members[name].file_size:,} bytes; refused")
                found[name] = _json(path, archive.read(name), name)
        weights = members.get("model.weights.h5")
        parameters = None
        if weights is not None:
            with archive.open(weights) as h5file:
                parameters = _parameters(h5file, None)
    metadata = found.get("metadata.json", {})
    return found["config.json"], {"keras_version": metadata.get("keras_version")}, parameters


def _from_h5(path: Path, data: io.BytesIO) -> tuple[dict, dict, int | None]:
    import h5py

    with h5py.File(data, "r") as h5:
        raw = h5.attrs.get("model_config")
        if raw is None:
            raise EdgeFerError(f"{path}: HDF5 without a model config (Keras weights only?); "
                               f"nothing describes its layers")
        config = _json(path, raw.decode() if isinstance(raw, bytes) else str(raw),
                       "its model_config")
        facts = {key: (value.decode() if isinstance(value, bytes) else str(value))
                 for key in ("keras_version", "backend") if (value := h5.attrs.get(key))
                 is not None}
    return config, facts, _parameters(data, "model_weights")


def _name(layer: dict) -> str:
    return str(layer.get("name") or layer["config"].get("name"))


def _dtype(config: dict) -> str:
    dtype = config.get("dtype", "float32")
    if isinstance(dtype, dict):  # Keras 3: a DTypePolicy
        dtype = dtype.get("config", {}).get("name", "float32")
    return str(dtype)


def _first_names(spec) -> list[str]:
    """`input_layers`/`output_layers`: [[name, 0, 0], …], or one [name, 0, 0]."""
    if spec and isinstance(spec[0], str):
        return [spec[0]]
    return [str(entry[0]) for entry in spec or []]


def _inputs(model: dict, layers: list[dict]) -> list[Tensor]:
    config = model["config"]
    by_name = {_name(layer): layer for layer in layers}
    names = _first_names(config.get("input_layers")) or \
        [_name(layer) for layer in layers if layer["class_name"] == "InputLayer"]
    inputs = []
    for name in names:
        layer = by_name[name]["config"]
        shape = layer.get("batch_shape", layer.get("batch_input_shape"))
        inputs.append(Tensor(name, list(shape) if shape is not None else None, _dtype(layer)))
    if not inputs and config.get("build_input_shape"):  # a Sequential built without an Input
        inputs.append(Tensor(_name(layers[0]), list(config["build_input_shape"]),
                             _dtype(layers[0]["config"])))
    return inputs


def _output(model: dict, layers: list[dict]) -> Tensor:
    """The output layer; its class count and softmax from the Dense it ends with (through
    dropout and activation layers)."""
    names = _first_names(model["config"].get("output_layers")) or [_name(layers[-1])]
    index = max(i for i, layer in enumerate(layers) if _name(layer) == names[0])
    units, softmax = None, False
    for layer in reversed(layers[:index + 1]):
        kind, config = layer["class_name"], layer["config"]
        softmax = softmax or kind == "Softmax" or config.get("activation") == "softmax"
        if kind == "Dense":
            units = int(config["units"])
            break
        if kind not in _PASS_THROUGH:
            break
    return Tensor(names[0], [None, units] if units else None,
                  _dtype(layers[index]["config"]), softmax=softmax)


def _conv_side(side: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(side / stride)
    return (side - dilation * (kernel - 1) - 1) // stride + 1


def _flops(layers: list[dict]) -> int | None:
    """Multiply-adds × 2 of Conv2D, DepthwiseConv2D and Dense, counted like the frozen graph's,
    from each layer's recorded input shape (Keras 3's build_config; None without it)."""
    try:
        return _counted_flops(layers)
    except (KeyError, TypeError, ValueError):  # a config written otherwise: not counted
        return None


def _counted_flops(layers: list[dict]) -> int | None:
    flops = 0
    for layer in layers:
        kind, config = layer["class_name"], layer["config"]
        if kind not in ("Conv2D", "DepthwiseConv2D", "Dense"):
            continue
        shape = (layer.get("build_config") or {}).get("input_shape")
        if not shape or any(d is None for d in shape[1:]):
            return None
        if kind == "Dense":
            flops += 2 * math.prod(shape[1:-1]) * int(shape[-1]) * int(config["units"])
            continue
        first = config.get("data_format") == "channels_first"
        height, width, channels = (shape[2], shape[3], shape[1]) if first else shape[1:4]
        (kh, kw), (sh, sw) = config["kernel_size"], config["strides"]
        dh, dw = config.get("dilation_rate", (1, 1))
        out = _conv_side(height, kh, sh, dh, config["padding"]) * \
            _conv_side(width, kw, sw, dw, config["padding"])
        per_pixel = channels // int(config.get("groups", 1)) * int(config["filters"]) \
            if kind == "Conv2D" else channels * int(config.get("depth_multiplier", 1))
        flops += 2 * out * kh * kw * per_pixel
    return flops


def _walk(layers: list[dict]):
    for layer in layers:
        yield layer
        nested = layer["config"].get("layers")
        if isinstance(nested, list):
            yield from _walk(nested)


def _describe(path: Path, size: int, model: dict, facts: dict,
              parameters: int | None) -> Description:
    layers = model["config"]["layers"]
    if not layers:
        raise ValueError("no layers")
    every = list(_walk(layers))
    code = [_name(layer) for layer in every if layer["class_name"] == "Lambda"]
    foreign = sorted({str(layer.get("module")) for layer in every
                      if layer.get("module") and not str(layer["module"]).startswith("keras")})
    facts = {"model_class": str(model.get("class_name")), **facts}
    if code:
        facts["lambda_layers"] = code          # Python code: refused by safe mode
    if foreign:
        facts["modules_outside_keras"] = foreign  # classes safe mode does not know
    return Description(path, FORMAT, size, _inputs(model, layers),
                       [_output(model, layers)], dict(Counter(layer["class_name"] for layer in every)),
                       parameters, _flops(layers), facts)


def describe_keras(path: Path) -> Description:
    data = io.BytesIO(read_regular(path, "a Keras model", "the model"))
    try:
        if zipfile.is_zipfile(data):
            model, facts, parameters = _from_zip(path, data)
        else:
            model, facts, parameters = _from_h5(path, data)
    except EdgeFerError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError, KeyError,
            ValueError) as exc:  # h5py's errors are OSError, KeyError and ValueError
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise EdgeFerError(f"{path}: not a readable Keras model (neither a .keras zip nor a "
                           f"Keras HDF5 file: {reason})") from None
    try:
        return _describe(path, len(data.getbuffer()), model, facts, parameters)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise EdgeFerError(f"{path}: its Keras config is not one edge-fer can read "
                           f"({type(exc).__name__}: {exc})") from None
