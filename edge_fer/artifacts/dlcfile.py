"""The DLC reader (`.dlc`): only as far as its container goes. A DLC is a zip holding `model` (the
graph), `model.params` (the weights) and `dlc.metadata…` (`key=value` lines: converter command
and version, model version). The graph and weights are flatbuffers in a schema Qualcomm does not
publish (read by the SNPE SDK's snpe-dlc-info), so their tensors and ops are not read here: the
description says so, and the manifest edge-fer writes beside a converted `.dlc` is the source of
its input and output (runners/model_io.py). The container's own facts are read: the DLC version
from `model`'s 8-byte header (3: SNPE 1.x, 4: SNPE 2.x / QAIRT), the metadata and member sizes.

The QNN IR backend writes stored zips whose CRC fields are 0, so members are read raw."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

from edge_fer.artifacts.description import Description
from edge_fer.errors import EdgeFerError
from edge_fer.files import read_regular

FORMAT = "snpe dlc"
_METADATA_LIMIT = 1 << 20
_HEADER = b"\xd5\x0a"         # then the version byte and five zeros
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature … file name length, extra field length
UNREAD = ("its graph and weights are in Qualcomm's unpublished format, read only by the SNPE "
          "SDK (snpe-dlc-info); its inputs and outputs come from its manifest")


def _member(path: Path, handle, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The first `limit` bytes of a member: stored ones read raw (no CRC check), deflated ones
    through zipfile."""
    if info.compress_type != zipfile.ZIP_STORED:
        with zipfile.ZipFile(handle).open(info) as member:
            return member.read(limit)
    handle.seek(info.header_offset)
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(handle.read(30))
    if signature != b"PK\x03\x04":
        raise EdgeFerError(f"{path}: damaged zip (member {info.filename!r} has no header)")
    handle.seek(info.header_offset + 30 + name_length + extra_length)
    return handle.read(min(limit, info.compress_size))


def _version(header: bytes) -> int | None:
    if len(header) >= 8 and header[:2] == _HEADER and header[3:8] == b"\0" * 5:
        return header[2]
    return 3 if header[4:8] == b"NETD" else None  # the oldest: a bare flatbuffer


def _metadata(text: str) -> dict:
    facts = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            break
        facts[key.strip()] = value.strip()
    return facts


def describe_dlc(path: Path) -> Description:
    data = read_regular(path, "a DLC model", "the model")
    with io.BytesIO(data) as handle:
        try:
            members = {info.filename: info for info in zipfile.ZipFile(handle).infolist()}
        except (zipfile.BadZipFile, EOFError, ValueError, struct.error) as exc:
            raise EdgeFerError(f"{path}: not a DLC (a DLC is a zip archive; this is not: "
                               f"{exc})") from None
        if "model" not in members:
            raise EdgeFerError(f"{path}: a zip, but not a DLC (no 'model' member; it holds "
                               f"{', '.join(sorted(members)[:5]) or 'nothing'})")
        try:
            version = _version(_member(path, handle, members["model"], 16))
            listed = sorted(n for n in members if n.startswith("dlc.metadata")
                            and "history" not in n)
            metadata = _metadata(_member(path, handle, members[listed[0]], _METADATA_LIMIT)
                                 .decode("utf-8", "replace")) if listed else {}
        except (zipfile.BadZipFile, EOFError, OSError, struct.error, NotImplementedError) as exc:
            raise EdgeFerError(f"{path}: damaged DLC ({exc})") from None
    if version is None:
        raise EdgeFerError(f"{path}: a zip, but its 'model' member is no DLC graph (no DLC "
                           f"header)")
    facts = {"dlc_version": version,
             "sdk": {3: "SNPE 1.x", 4: "SNPE 2.x / QAIRT"}.get(version, "unknown"),
             "members": {name: info.file_size for name, info in sorted(members.items())},
             "metadata": metadata, "not_read": UNREAD}
    return Description(path, FORMAT, len(data), facts=facts, ops={},
                       tensors_from_file=False)
