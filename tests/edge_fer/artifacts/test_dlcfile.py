"""The DLC reader (edge_fer/artifacts/dlcfile.py): a DLC's container read as far as it goes —
version, metadata, members — and anything else named `.dlc` refused in one line."""

from __future__ import annotations

import zipfile

import pytest

from edge_fer.artifacts.facts import facts_of
from edge_fer.artifacts.formats import describe
from edge_fer.errors import EdgeFerError

METADATA = b"model-version=1.0\nconverter-command=snpe-tensorflow-to-dlc x\nconverter-version=2.22\n"


def _dlc(path, version: int = 4, model: bytes | None = None, stored_zero_crc: bool = False,
         metadata_name: str = "dlc.metadata"):
    """A DLC-shaped zip: a `model` whose 8-byte header says the version, then a flatbuffer with
    the NETD identifier (its body is not read)."""
    model = model if model is not None else \
        bytes([0xD5, 0x0A, version, 0, 0, 0, 0, 0]) + b"\x10\0\0\0NETD" + b"\0" * 24
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("model", model)
        archive.writestr("model.params", b"\0" * 40)
        archive.writestr(metadata_name, METADATA)
    if stored_zero_crc:  # as the QNN IR backend writes them: every CRC field 0
        data = bytearray(path.read_bytes())
        for archive_info in zipfile.ZipFile(path).infolist():
            crc = archive_info.CRC.to_bytes(4, "little")
            data = data.replace(crc, b"\0\0\0\0")
        path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(("version", "sdk"), [(4, "SNPE 2.x / QAIRT"), (3, "SNPE 1.x")])
def test_the_container_is_read_and_the_graph_is_said_unread(tmp_path, version, sdk):
    described = describe(_dlc(tmp_path / "m.dlc", version))
    assert described.facts["dlc_version"] == version and described.facts["sdk"] == sdk
    assert described.facts["metadata"]["converter-version"] == "2.22"
    assert set(described.facts["members"]) == {"model", "model.params", "dlc.metadata"}
    assert "unpublished" in described.facts["not_read"]
    assert described.inputs == [] and described.tensors_from_file is False
    assert facts_of(described) is None  # its manifest is the source (runners/model_io.py)


def test_a_zip_with_zero_crcs_and_a_versioned_metadata_name_is_read(tmp_path):
    path = _dlc(tmp_path / "m.dlc", stored_zero_crc=True, metadata_name="dlc.metadata2.3.0")
    assert describe(path).facts["metadata"]["model-version"] == "1.0"


@pytest.mark.parametrize(("make", "problem"), [
    (lambda p: p.write_bytes(b"not a real dlc"), "not a DLC"),
    (lambda p: p.write_bytes(b""), "not a DLC"),
    (lambda p: p.write_bytes(b"PK\x05\x06" + b"\0" * 18), "no 'model' member"),
    (lambda p: zipfile.ZipFile(p, "w").writestr("x.txt", "x"), "no 'model' member"),
    (lambda p: _dlc(p, model=b"GIF89a" + b"\0" * 20), "no DLC header"),
    (lambda p: p.write_bytes(_dlc(p).read_bytes()[:60]), "not a DLC"),
])
def test_a_fake_or_foreign_dlc_is_one_line(tmp_path, make, problem):
    path = tmp_path / "m.dlc"
    make(path)
    with pytest.raises(EdgeFerError, match=problem) as caught:
        describe(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_inspect_of_a_foreign_dlc_is_one_error_line(tmp_path):
    from typer.testing import CliRunner

    from edge_fer.cli import app

    path = tmp_path / "m.dlc"
    path.write_bytes(b"\x7fELF" + b"\0" * 64)
    done = CliRunner().invoke(app, ["inspect", str(path)])
    assert done.exit_code == 1, done.output
    assert "not a DLC" in done.output and "Traceback" not in done.output
    good = _dlc(tmp_path / "good.dlc")
    done = CliRunner().invoke(app, ["inspect", str(good), "--json"])
    assert done.exit_code == 0, done.output
    assert '"dlc_version": 4' in done.output
