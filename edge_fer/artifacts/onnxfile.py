"""Read an `.onnx` file as data: its protobuf parsed once, and its external data confined to the
model's own folder before ONNX or ONNX Runtime follows a path out of it (docs/trust.md).

A tensor may keep its bytes in another file (`external_data` `location`, relative to the model's
folder). A location that is absolute, climbs with `..`, or resolves (through a symlink) outside
the folder is refused in one line; so is a missing or too short data file. Nothing is loaded
from the external files here: they are only checked to exist and be long enough.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from edge_fer.errors import EdgeFerError
from edge_fer.files import not_regular, read_regular

EXTERNAL = 1  # onnx.TensorProto.EXTERNAL


def _tensors_of_graph(graph) -> Iterator:
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        yield from _tensors_of_node(node)


def _tensors_of_node(node) -> Iterator:
    for attribute in node.attribute:
        if attribute.HasField("t"):
            yield attribute.t
        yield from attribute.tensors
        if attribute.HasField("sparse_tensor"):
            yield attribute.sparse_tensor.values
            yield attribute.sparse_tensor.indices
        for sparse in attribute.sparse_tensors:
            yield sparse.values
            yield sparse.indices
        if attribute.HasField("g"):
            yield from _tensors_of_graph(attribute.g)
        for graph in attribute.graphs:
            yield from _tensors_of_graph(graph)


def all_tensors(model) -> Iterator:
    """Every TensorProto of the model: initializers, constants, subgraphs', functions'."""
    yield from _tensors_of_graph(model.graph)
    for function in model.functions:
        for node in function.node:
            yield from _tensors_of_node(node)


def _external_field(tensor, key: str) -> str | None:
    return next((entry.value for entry in tensor.external_data if entry.key == key), None)


_DRIVE = re.compile(r"^[A-Za-z]:")


def confined(folder: Path, location: str, what: str) -> Path:
    """`location` (a path the model file names, relative to its folder) resolved, refused unless
    it is a regular file inside `folder` (no absolute path, no `..`, no symlink out of it)."""
    if os.path.isabs(location) or location.startswith(("/", "\\")) or _DRIVE.match(location):
        raise EdgeFerError(f"{what} {location!r}, an absolute path; refused: the files a model "
                           f"names must lie in its folder")
    if ".." in re.split(r"[\\/]", location):
        raise EdgeFerError(f"{what} {location!r}, which climbs out with '..'; refused: the "
                           f"files a model names must lie in its folder")
    target = (folder / location).resolve()
    if not target.is_relative_to(folder):
        raise EdgeFerError(f"{what} {location!r}, which leads to {target} outside the model's "
                           f"folder (a symlink); refused")
    if not target.exists():
        raise EdgeFerError(f"{what} {location!r}, which is missing (expected {target})")
    kind = not_regular(target)
    if kind:
        raise EdgeFerError(f"{what} {location!r}, which is {kind}, not a data file")
    return target


def check_context_binaries(model, path: Path) -> list[Path]:
    """The QNN context binaries a compiled `_ctx.onnx` names (EPContext, embed_mode 0), each
    confined to the model's folder like external data."""
    folder = path.parent.resolve()
    files = []
    for node in model.graph.node:
        if node.op_type != "EPContext":
            continue
        attributes = {a.name: a for a in node.attribute}
        embed = attributes.get("embed_mode")
        if embed is not None and embed.i == 1:
            continue
        cache = attributes.get("ep_cache_context")
        location = cache.s.decode("utf-8", "replace") if cache is not None else ""
        what = f"{path}: EPContext node {node.name!r} keeps its compiled graph in"
        if not location:
            raise EdgeFerError(f"{what} a file, but names none")
        files.append(confined(folder, location, what))
    return files


def check_external_data(model, path: str | Path) -> list[Path]:
    """Every external data file the model names, each checked to lie inside the model's folder,
    exist and hold the bytes its tensors ask for; returns them."""
    path = Path(path)
    folder = path.parent.resolve()
    files: list[Path] = []
    for tensor in all_tensors(model):
        if tensor.data_location != EXTERNAL:
            continue
        what = f"{path}: tensor {tensor.name!r} keeps its data in"
        location = _external_field(tensor, "location")
        if not location:
            raise EdgeFerError(f"{what} an external file, but names none")
        target = confined(folder, location, what)
        try:
            offset = int(_external_field(tensor, "offset") or 0)
            length = _external_field(tensor, "length")
            length = None if length is None else int(length)
        except ValueError:
            raise EdgeFerError(f"{what} {location!r} at an offset or length that is no "
                               f"number") from None
        size = target.stat().st_size
        if offset < 0 or (length is not None and (length < 0 or offset + length > size)):
            raise EdgeFerError(f"{what} {location!r} at bytes {offset}..{offset + (length or 0)}"
                               f", but the file holds {size:,} bytes")
        files.append(target)
    return files


def read_onnx(path: str | Path):
    """The ModelProto of an `.onnx` file (external data not loaded, but checked): an empty,
    non-ONNX or truncated file, or external data outside the model's folder, is one line."""
    from google.protobuf.message import DecodeError
    from onnx import ModelProto

    path = Path(path)
    data = read_regular(path, "an ONNX model", "the model")
    if not data:
        raise EdgeFerError(f"{path}: empty file, not an ONNX model")
    model = ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise EdgeFerError(f"{path}: not an ONNX model (protobuf: {exc})") from None
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.node:
        raise EdgeFerError(f"{path}: not an ONNX model (no graph with nodes in it)")
    check_external_data(model, path)
    check_context_binaries(model, path)
    return model
