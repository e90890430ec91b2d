"""Family: files named like a model container that are not one (docs/trust.md). `inspect` reads
`.dlc` and Keras files as data; bytes that are no DLC zip, no `.keras` zip or no Keras HDF5 file
are one error line naming the file, exit 1, never a traceback."""

from __future__ import annotations

import zipfile

import pytest

from tests.hostile.conftest import assert_error, run_cli

FOREIGN = {
    "elf": b"\x7fELF\x02\x01\x01" + b"\0" * 57,
    "empty": b"",
    "zip_bomb_header": b"PK\x03\x04" + b"\xff" * 26,
    "text": b"model = load('/etc/passwd')\n",
}


@pytest.mark.parametrize("content", FOREIGN.values(), ids=FOREIGN)
@pytest.mark.parametrize("suffix", [".dlc", ".keras", ".h5"])
def test_a_foreign_file_named_like_a_container_is_one_line(tmp_path, suffix, content):
    model = tmp_path / f"model{suffix}"
    model.write_bytes(content)
    assert_error(run_cli("inspect", model), 1, model)


def test_a_zip_posing_as_a_dlc_or_keras_file_is_one_line(tmp_path):
    for name, problem in (("m.dlc", "no 'model' member"), ("m.keras", "no config.json")):
        model = tmp_path / name
        with zipfile.ZipFile(model, "w") as archive:
            archive.writestr("../../evil.txt", "owned")
        assert_error(run_cli("inspect", model), 1, model, problem)
    assert not (tmp_path.parent / "evil.txt").exists()
