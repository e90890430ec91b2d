"""Hostile inputs, family "good output destroyed": killed commands, foreign files, two writers,
a full disk and a read-only file system. Each case: exit code, one error line, no traceback, and
the old output byte-identical or the new one complete, with no staging left behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.hostile.conftest import (
    REPO_ROOT,
    assert_error,
    assert_no_leftovers,
    assert_ok,
    finish,
    invoke_cli,
    kill_now,
    snapshot,
    staging_leftovers,
    start_cli,
    wait_until,
    write_face_pngs,
    write_tiny_onnx,
)

MANY = 600  # inputs for the kill -9 cases: long enough to be caught at each instant


def _results(folder: Path) -> dict[int, bytes]:
    return {int(p.name.split("_")[1]): (p / "output.raw").read_bytes()
            for p in folder.glob("Result_*")}


def _staging(folder: Path) -> list[Path]:
    """The hidden folders a command builds `folder` in (not its lock file)."""
    return [folder.parent / name for name in staging_leftovers(folder.parent)
            if name.startswith(f".{folder.name}.") and not name.endswith("-lock")]


def _staged_entries(folder: Path) -> int:
    return max((len(os.listdir(p)) for p in _staging(folder) if p.is_dir()), default=0)


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """MANY tiny faces, their raws, two tiny models and each model's complete output."""
    root = tmp_path_factory.mktemp("many")
    write_face_pngs(root / "faces", MANY, seed=1)
    assert_ok(invoke_cli("raw-inputs", root / "faces", "-o", root / "raws", "-q"))
    models = [write_tiny_onnx(root / f"m{i}.onnx", seed=i) for i in (1, 2)]
    outputs = []
    for model in models:
        out = root / f"ref_{model.stem}"
        assert_ok(invoke_cli("run", model, "-i", root / "raws" / "input_list.txt", "-o", out, "-q"))
        outputs.append(_results(out))
    write_face_pngs(root / "few_faces", 20, seed=7)
    assert_ok(invoke_cli("raw-inputs", root / "few_faces", "-o", root / "few_raws", "-q"))
    few = root / "raws" / "few_list.txt"
    few.write_text("".join((root / "raws" / "input_list.txt").read_text().splitlines(True)[:5]))
    return {"root": root, "faces": root / "faces", "raws": root / "raws", "models": models,
            "outputs": outputs, "few": few, "few_faces": root / "few_faces",
            "few_raws": root / "few_raws"}


# The instants a kill -9 hits: building has begun, half the output is staged, it is nearly done.
INSTANTS = {
    "staging begun": lambda folder: bool(_staging(folder)),
    "half staged": lambda folder: _staged_entries(folder) >= MANY // 2,
    "nearly done": lambda folder: _staged_entries(folder) >= MANY * 9 // 10,
}


@pytest.mark.parametrize("instant", INSTANTS)
def test_run_killed_at_any_instant_leaves_the_old_output_or_the_new_one(many, tmp_path, instant):
    out = tmp_path / "out"
    shutil.copytree(many["root"] / "ref_m1", out)
    (out / "cm.png").write_bytes(b"the user's plot")
    old = snapshot(out)
    process = start_cli("run", many["models"][1], "-i", many["raws"] / "input_list.txt",
                        "-o", out, "-q")
    assert wait_until(lambda: INSTANTS[instant](out), process=process), "never built aside"
    kill_now(process)
    results = _results(out)
    assert snapshot(out) == old or results == many["outputs"][1], "a mix of two runs"
    assert (out / "cm.png").read_bytes() == b"the user's plot"
    # The next command on the folder finishes or undoes the swap and clears the staging.
    assert_ok(invoke_cli("run", many["models"][1], "-i", many["few"], "-o", out, "-q"))
    assert sorted(_results(out)) == list(range(5))
    assert (out / "cm.png").read_bytes() == b"the user's plot"
    assert_no_leftovers(tmp_path, out)


@pytest.mark.parametrize("instant", ["staging begun", "half staged"])
def test_raw_inputs_killed_leaves_the_old_raws_or_the_new_ones(many, tmp_path, instant):
    out = tmp_path / "raws"
    shutil.copytree(many["few_raws"], out)
    old = snapshot(out)
    process = start_cli("raw-inputs", many["faces"], "-o", out, "-q", "--workers", "1")
    assert wait_until(lambda: INSTANTS[instant](out), process=process), "never built aside"
    kill_now(process)
    now = snapshot(out)
    assert now == old or now == snapshot(many["raws"]), "a mix of two raw sets"
    assert_ok(invoke_cli("raw-inputs", many["few_faces"], "-o", out, "-q", "--workers", "1"))
    assert snapshot(out) == old
    assert_no_leftovers(tmp_path, out)


def test_a_run_failing_midway_leaves_the_old_results_and_the_users_files(many, tmp_path):
    """The issue's case: `run` into a folder holding a cm.png and notes, failing halfway."""
    out = tmp_path / "out"
    shutil.copytree(many["root"] / "ref_m1", out)
    (out / "cm.png").write_bytes(b"plot")
    (out / "notes").mkdir()
    (out / "notes" / "todo.txt").write_text("mine")
    lines = (many["raws"] / "input_list.txt").read_text().splitlines()
    lines[MANY // 2] = "missing.raw"
    bad_list = many["raws"].parent / "bad_list.txt"
    bad_list.write_text("\n".join(f"raws/{line}" for line in lines) + "\n")
    old = snapshot(out)
    result = invoke_cli("run", many["models"][1], "-i", bad_list, "-o", out, "-q")
    assert_error(result, 1, "missing.raw")
    assert snapshot(out) == old
    assert_no_leftovers(tmp_path, out)


def test_a_shorter_run_leaves_no_results_of_the_longer_one_and_keeps_foreign_files(
        many, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(many["root"] / "ref_m1", out)
    (out / "cm.png").write_bytes(b"plot")
    short = many["raws"] / "short_list.txt"
    short.write_text("".join((many["raws"] / "input_list.txt").read_text().splitlines(True)[:50]))
    assert_ok(invoke_cli("run", many["models"][1], "-i", short, "-o", out, "-q"))
    assert sorted(_results(out)) == list(range(50))
    assert (out / "cm.png").read_bytes() == b"plot"
    assert_ok(invoke_cli("classify", out))  # run.json's list: 50 results, no missing ones


def test_two_concurrent_runs_into_one_folder_never_mix(many, tmp_path):
    """The first run is paused (SIGSTOP) while it builds its output, so the second surely starts
    while the first holds the folder: it refuses; the first, resumed, completes its output."""
    out = tmp_path / "out"
    listing = many["raws"] / "input_list.txt"
    first = start_cli("run", many["models"][0], "-i", listing, "-o", out, "-q")
    assert wait_until(lambda: bool(_staging(out)), process=first)
    os.killpg(first.pid, signal.SIGSTOP)
    try:
        assert _staging(out), "the first run finished before it could be paused"
        second = invoke_cli("run", many["models"][1], "-i", listing, "-o", out, "-q")
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    assert_error(second, 1, out, "another edge-fer command")
    assert finish(first).code == 0
    assert _results(out) == many["outputs"][0]
    assert_no_leftovers(tmp_path, out)


# ---- train --------------------------------------------------------------------------------


def _old_run(folder: Path) -> dict[str, str]:
    """A run folder as training leaves it (its files' contents do not matter here)."""
    (folder / "best").mkdir(parents=True)
    (folder / "best" / "model.ckpt.index").write_bytes(b"old weights")
    (folder / "last").mkdir()
    (folder / "state.json").write_text(json.dumps({"epoch": 3, "best": {}, "history": []}))
    (folder / "metrics.json").write_text("{}")
    (folder / "config.json").write_text(json.dumps({"arch": "seed003"}))
    (folder / "freeze-notes.txt").write_text("the user's")
    return snapshot(folder)


def test_train_overwrite_reads_the_new_data_before_touching_the_old_run(tmp_path):
    """The issue's case: `--overwrite --data missing.csv` left only config.json."""
    run = tmp_path / "run"
    old = _old_run(run)
    result = invoke_cli("train", "--overwrite", "--data", tmp_path / "missing.csv", "--out", run)
    assert result.code != 0 and "missing.csv" in result.output, str(result)
    assert snapshot(run) == old
    assert_no_leftovers(tmp_path)


def test_train_overwrite_killed_before_its_first_epoch_leaves_the_old_run(tmp_path):
    run = tmp_path / "run"
    old = _old_run(run)
    process = start_cli("train", "--overwrite", "--data", "synthetic", "--synthetic-train", "140",
                        "--synthetic-val", "35", "--epochs", "1", "--out", run, "-q")
    assert wait_until(lambda: any((p / "config.json").exists() for p in _staging(run)),
                      process=process)
    kill_now(process)
    assert snapshot(run) == old
    assert _staging(run)  # what the killed command left: the next one removes it
    result = invoke_cli("train", "--overwrite", "--data", tmp_path / "missing.csv", "--out", run)
    assert result.code != 0 and snapshot(run) == old  # refused before it touched anything
    result = invoke_cli("train", "--overwrite", "--data", "synthetic", "--synthetic-train", "140",
                     "--synthetic-val", "35", "--epochs", "1", "--out", run, "-q")
    assert result.code == 0, str(result)
    assert snapshot(run) != old and (run / "state.json").is_file()
    assert_no_leftovers(tmp_path)


# ---- convert ------------------------------------------------------------------------------


def _visible(folder: Path) -> dict[str, str]:
    return {name: digest for name, digest in snapshot(folder).items() if not name.startswith(".")}


def test_convert_killed_leaves_the_old_model_and_no_staging_a_later_convert_keeps(tmp_path):
    """Killed once the new model is written in its staging folder (the latest instant a test
    can catch from outside; a kill at each rename is the next test's and test_kill_anywhere's)."""
    from tests.hostile.test_bad_inputs import write_dense_pb

    model = write_dense_pb(tmp_path / "m.pb", np.random.default_rng(3).normal(0, .05, (2304, 7)))
    folder = tmp_path / "out" / "tflite"
    folder.mkdir(parents=True)
    (folder / "m.tflite").write_bytes(b"the old model")
    (folder / "m.json").write_text('{"artifact": "m.tflite"}')
    old = _visible(folder)

    def reached() -> bool:  # the staging folder is built beside the target folder
        stages = [folder.parent / name for name in staging_leftovers(folder.parent)
                  if name.endswith(".tmp")]
        return any((stage / "m.tflite").exists() for stage in stages)

    process = start_cli("convert", model, "-t", "tflite", "-p", "fp32", "--verify-count", "0",
                        "-o", tmp_path / "out", "-q")
    assert wait_until(reached, timeout=120, process=process), "never staged"
    kill_now(process)
    assert _visible(folder) == old  # no half-written model: the old pair, byte-identical
    assert staging_leftovers(folder.parent)  # what the killed command left
    # A later convert of another file in the folder removes it (the killed one's is not redone).
    assert_ok(invoke_cli("convert", model, "-t", "tflite", "-p", "fp16", "--verify-count", "0",
                      "-o", tmp_path / "out", "-q", timeout=120))
    assert {k: v for k, v in _visible(folder).items() if k in old} == old
    assert (folder / "m_fp16.tflite").stat().st_size > 1000
    assert_no_leftovers(folder, folder.parent)


# A QNN context model and its binary, written by produce() and killed (SIGKILL: no cleanup runs)
# at its n-th rename or exchange by atomic's fault-injection hook. The fake step writes the same
# shape of pair as convert/qnn.py: `m_ctx.onnx` naming its binary, a companion
# `m_ctx_<token>_qnn.bin`.
_PAIR_WRITER = """
import sys
from pathlib import Path
from convert.base import ConvertJob, Step, produce
from edge_fer import atomic

folder, token = Path(sys.argv[1]), sys.argv[2]

def write_pair(staged):
    binary = f"m_ctx_{token}_qnn.bin"
    staged.write_text(binary)
    (staged.parent / binary).write_text(token)
    return {"companions": [binary]}

job = ConvertJob(model=folder.parent / "m.pb", graph_def=None, out_dir=folder.parent,
                 precision="int8")
produce(job, Step("qnn", "int8", folder / "m_ctx.onnx", [], write_pair,
                  companion_glob="m_ctx_*qnn.bin"))
print("renames", atomic._renames[0])
"""


def _write_pair(folder: Path, token: str, die_at: int = 0, **env: str
                ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _PAIR_WRITER, str(folder), token],
                          env={**os.environ, "EDGE_FER_KILL_AT_RENAME": str(die_at), **env},
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False)


def _pair_seen(folder: Path) -> str:
    """The token of the pair a reader finds: the context model and the binary it names agree."""
    from edge_fer.atomic import settle

    settle(folder / "m_ctx.onnx")  # what every reader does first
    binary = folder / (folder / "m_ctx.onnx").read_text()
    assert binary.is_file(), f"the context model names {binary.name}, which is not there"
    token = binary.read_text()
    assert binary.name == f"m_ctx_{token}_qnn.bin"
    return token


@pytest.mark.parametrize("no_exchange", ["0", "1"])
def test_a_qnn_context_pair_is_replaced_whole_at_every_instant_of_a_kill(tmp_path, no_exchange):
    folder = tmp_path / "qnn"
    folder.mkdir()
    (tmp_path / "m.pb").write_bytes(b"graph")
    assert _write_pair(folder, "old", EDGE_FER_NO_EXCHANGE=no_exchange).returncode == 0
    done = _write_pair(folder, "new", EDGE_FER_NO_EXCHANGE=no_exchange)
    total = int(done.stdout.split()[-1])  # the renames a whole write makes
    assert done.returncode == 0 and total >= 1, done.stderr
    seen = set()
    for die_at in range(1, total + 1):
        assert _write_pair(folder, "old", EDGE_FER_NO_EXCHANGE=no_exchange).returncode == 0
        killed = _write_pair(folder, "new", die_at, EDGE_FER_NO_EXCHANGE=no_exchange)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        seen.add(_pair_seen(folder))  # the old pair or the new one, never a mix
        assert_ok_pair = _write_pair(folder, "newer", EDGE_FER_NO_EXCHANGE=no_exchange)
        assert assert_ok_pair.returncode == 0, assert_ok_pair.stderr
        assert _pair_seen(folder) == "newer"
        assert sorted(p.name for p in folder.iterdir()) == [
            "labels.txt", "m_ctx.json", "m_ctx.onnx", "m_ctx_newer_qnn.bin"]
        assert_no_leftovers(tmp_path)
    assert seen == ({"old"} if no_exchange == "0" else {"old", "new"})


# ---- a full disk, a read-only file system ---------------------------------------------------


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 1 MiB tmpfs at tmp_path/disk (root in a container, or a user namespace, may mount)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount failed'}): the "
                    f"full-disk and read-only cases need one")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_is_one_error_and_leaves_the_old_raws(many, small_tmpfs, tmp_path):
    out = small_tmpfs / "raws"
    shutil.copytree(many["few_raws"], out)
    old = snapshot(out)
    result = invoke_cli("raw-inputs", many["faces"], "-o", out, "-q")  # 600 × 9 KiB > 1 MiB
    assert_error(result, 1, out, "no space left on device")
    assert snapshot(out) == old
    assert_no_leftovers(small_tmpfs, out)


def test_a_read_only_file_system_is_one_error_and_leaves_the_old_output(many, small_tmpfs):
    out = small_tmpfs / "out"
    few = many["few"]
    assert_ok(invoke_cli("run", many["models"][0], "-i", few, "-o", out, "-q"))
    old = snapshot(out)
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    result = invoke_cli("run", many["models"][1], "-i", few, "-o", out, "-q")
    assert_error(result, 1, out, "read-only file system")
    report = small_tmpfs / "report.csv"
    assert_error(invoke_cli("classify", out, "--format", "csv", "--out", report), 1, report,
                 "read-only file system")
    assert snapshot(out) == old and not report.exists()


def test_an_output_path_that_is_a_file_is_one_error(many, tmp_path):
    out = tmp_path / "out"
    out.write_text("not a folder")
    result = invoke_cli("run", many["models"][0], "-i", many["raws"] / "input_list.txt", "-o", out)
    assert_error(result, 1, out, "not a folder")
    assert out.read_text() == "not a folder"
    assert np.array_equal(sorted(p.name for p in tmp_path.iterdir()), ["out"])


def test_a_full_disk_while_training_is_one_line_and_leaves_no_half_checkpoint(small_tmpfs):
    """TensorFlow's saver fails inside the graph ('Graph execution error' before): the one line
    names the file system and the file; no staging or half checkpoint stays."""
    run = small_tmpfs / "run"
    result = invoke_cli("train", "--data", "synthetic", "--synthetic-train", "70",
                     "--synthetic-val", "14", "--epochs", "1", "--out", run, "-q", timeout=180)
    line = assert_error(result, 1, "no space left on device", small_tmpfs)
    assert "Graph execution error" not in line
    assert not (run / "best").exists() and not (run / "last").exists()
    assert_no_leftovers(small_tmpfs, run)


def test_an_output_that_is_or_holds_a_mount_point_is_refused_before_any_work(many, small_tmpfs):
    """`-o` naming a mounted volume, or a folder with a volume mounted inside: one line naming the
    mount, nothing moved, nothing left that blocks a later command."""
    (small_tmpfs / "data.bin").write_text("the volume's")
    listing = many["few"]
    result = invoke_cli("run", many["models"][0], "-i", listing, "-o", small_tmpfs, "-q")
    assert_error(result, 1, small_tmpfs, "is a mount point")
    out = small_tmpfs.parent
    result = invoke_cli("run", many["models"][0], "-i", listing, "-o", out, "-q")
    assert_error(result, 1, small_tmpfs, "mount point inside the output folder")
    assert (small_tmpfs / "data.bin").read_text() == "the volume's"
    assert sorted(p.name for p in small_tmpfs.iterdir()) == ["data.bin"]
    assert_no_leftovers(out)
    assert_ok(invoke_cli("run", many["models"][0], "-i", listing, "-o", small_tmpfs / "out", "-q"))
