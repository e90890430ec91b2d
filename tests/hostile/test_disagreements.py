"""Hostile family: files that disagree (issue 23). Raws whose spec, dtype or names lie about what
they hold, and manifests and labels that contradict each other: each is a one-line error naming
the file and both values, or a named warning that says what was scored. Never exit 0 with a
figure computed from the mismatch."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from tests.hostile.conftest import (
    CLI,
    assert_error,
    assert_ok,
    cli_env,
    invoke_cli,
    snapshot,
)


@pytest.fixture
def raws(raws_dir, tmp_path):
    """A writable copy of the 300 raws (raws_dir is read-only by convention)."""
    return shutil.copytree(raws_dir, tmp_path / "raws")


def test_raws_normalised_for_another_model_stop_run_and_compare(faces_dir, tiny_onnx, tmp_path):
    raws = tmp_path / "raws05"
    assert_ok(invoke_cli("raw-inputs", faces_dir, "-o", raws, "--mean", "0.5", "--std", "0.5",
                      "-q"))
    listing = raws / "input_list.txt"
    assert_error(invoke_cli("run", tiny_onnx, "-i", listing, "-o", tmp_path / "out"), 1,
                 raws / "input_spec.json", "mean 0.5, std 0.5", "mean 0, std 1")
    assert_error(invoke_cli("compare", tiny_onnx, f"{tiny_onnx}@onnx", "-i", listing), 1,
                 "input_spec.json", "mean 0.5")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("stored, dtype_flag", [("<f8", None), ("u1", None),
                                                ("<f4", "uint8")])
def test_raws_of_another_dtype_are_never_read_as_several_images(raws, tiny_onnx, tmp_path,
                                                                stored, dtype_flag):
    if stored != "<f4":
        for raw in raws.glob("*.raw"):
            (np.fromfile(raw, "<f4") * 255).astype(stored).tofile(raw)
    (raws / "input_spec.json").unlink()  # no record: the sizes alone must tell
    before = snapshot(tmp_path)
    flags = ["--input-dtype", dtype_flag] if dtype_flag else []
    assert_error(invoke_cli("run", tiny_onnx, "-i", raws / "input_list.txt", "-o",
                         tmp_path / "out", *flags), 1, ".raw", "bytes is not one")
    assert snapshot(tmp_path) == before


def test_an_input_the_model_lacks_and_an_output_header_it_does_not_write(raws, tiny_onnx,
                                                                         tmp_path):
    listing = raws / "input_list.txt"
    lines = listing.read_text().split()
    listing.write_text("".join(f"x:={line} y:={line}\n" for line in lines))
    assert_error(invoke_cli("run", tiny_onnx, "-i", listing, "-o", tmp_path / "out"), 1,
                 f"{listing}:1", "'y'", "'x'")
    listing.write_text("%logits\n" + "".join(f"{line}\n" for line in lines))
    assert_error(invoke_cli("run", tiny_onnx, "-i", listing, "-o", tmp_path / "out"), 1,
                 "'logits'", "'output'")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flag, value", [("--std", "-1"), ("--std", "0"), ("--mean", "nan"),
                                         ("--std", "1e400")])
def test_raw_inputs_refuses_values_that_write_nan_raws(faces_dir, tmp_path, flag, value):
    assert_error(invoke_cli("raw-inputs", faces_dir, "-o", tmp_path / "raws", flag, value), 2,
                 flag, "finite number")
    assert not (tmp_path / "raws").exists()


def test_classify_with_contradicting_manifests_and_labels(raws, tiny_onnx, tmp_path):
    listing = raws / "input_list.txt"
    out = tmp_path / "out"
    assert_ok(invoke_cli("run", tiny_onnx, "-i", listing, "-o", out, "-q"))
    manifest = raws / "manifest.csv"
    original = manifest.read_text()
    rows = original.splitlines()

    def relabel(label) -> str:  # the manifest with each row's label (its last field) replaced
        return "\n".join([rows[0]] + [f"{r.rsplit(',', 1)[0]},{label(r.rsplit(',', 1)[1])}"
                                       for r in rows[1:]]) + "\n"

    # capitalised true labels: matched, every result scored
    manifest.write_text(relabel(str.upper))
    result = assert_ok(invoke_cli("classify", out, "-q"))
    assert "over 300 of 300 results" in result.stdout and "warning" not in result.stderr
    # half the rows gone: said, and the accuracy says over how many
    manifest.write_text("\n".join(rows[:151]) + "\n")
    result = assert_ok(invoke_cli("classify", out))
    assert "150 of 300 lines" in result.stderr and "over 150 of 300 results" in result.stdout
    # the same raw with another label: which one is true?
    first = rows[1].rsplit(",", 1)[0]
    manifest.write_text(original + f"{first},sad_or_not\n")
    assert_error(invoke_cli("classify", out), 1, "manifest.csv", "row 301", "row 1")
    # labels nobody can match: a warning naming them, no accuracy
    manifest.write_text(relabel(lambda _: "joy"))
    result = assert_ok(invoke_cli("classify", out))
    assert "300 true labels match none" in result.stderr and "0 of 300 results scored" in \
        result.stderr
    assert "accuracy 0" not in result.stdout


def test_classify_json_into_a_closed_stdout_is_an_error(raws, tiny_onnx, tmp_path):
    out = tmp_path / "out"
    assert_ok(invoke_cli("run", tiny_onnx, "-i", raws / "input_list.txt", "-o", out, "-q"))
    done = subprocess.run(["bash", "-c", '"$@" >&-', "bash", *CLI, "classify", str(out),
                           "--json"], capture_output=True, text=True, env=cli_env(),
                          timeout=60, check=False)
    assert done.returncode == 1 and "standard output is closed" in done.stderr


def test_a_summary_of_300_results_fits_the_screen(raws, tiny_onnx, tmp_path):
    out = tmp_path / "out"
    assert_ok(invoke_cli("run", tiny_onnx, "-i", raws / "input_list.txt", "-o", out, "-q"))
    result = assert_ok(invoke_cli("classify", out, env=cli_env(COLUMNS="80")))
    lines = result.stdout.splitlines()
    assert len(lines) <= 40 and max(len(line) for line in lines) <= 80, result.stdout
