"""A kill -9 at every rename: each command is run again and again with EDGE_FER_KILL_AT_RENAME=N
(edge_fer/atomic.py's fault-injection hook: SIGKILL just before the N-th rename or exchange, no
cleanup), N = 1, 2, ... until it completes. After each kill a reader finds the old output or the
new one, whole, and the next command on the same output works.

Both ways of swapping a folder are covered: one exchange (renameat2 RENAME_EXCHANGE, the default
where the file system offers it) and two renames (EDGE_FER_NO_EXCHANGE=1, as on a file system
without it), where a reader settles what a kill between the two left.

Only the killed command runs in its own process; the command after each kill, which shows the
output left behind is usable, runs in this one (invoke_cli: no second start-up per kill).
"""

from __future__ import annotations

import json
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edge_fer.atomic import KILL_ENV, NO_EXCHANGE_ENV
from tests.hostile.conftest import (
    assert_no_leftovers,
    assert_ok,
    cli_env,
    invoke_cli,
    run_cli,
    snapshot,
    write_face_pngs,
    write_tiny_onnx,
)

MODES = {"exchange": "0", "two renames": "1"}
KILLED = -signal.SIGKILL


def kill_at_every_rename(args: list, mode: str, prepare: Callable[[], None],
                         check: Callable[[int], None], timeout: float = 120) -> int:
    """Run `args` killed at its 1st, 2nd, ... rename (prepare() before each) and check(n) after
    each kill; returns how many renames the whole command makes."""
    for number in range(1, 100):
        prepare()
        env = cli_env(**{KILL_ENV: str(number), NO_EXCHANGE_ENV: MODES[mode]})
        result = run_cli(*args, env=env, timeout=timeout)
        if result.code != KILLED:
            assert_ok(result)
            assert number > 1, "the command renamed nothing"
            return number - 1
        check(number)
    pytest.fail("more than 99 renames")


def _results(folder: Path) -> dict[str, bytes]:
    from edge_fer.atomic import settle

    settle(folder)  # what every reader does first
    return {p.name: (p / "output.raw").read_bytes() for p in folder.glob("Result_*")}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill")
    write_face_pngs(root / "old_faces", 12, seed=1)
    write_face_pngs(root / "new_faces", 20, seed=2)
    for name in ("old", "new"):
        assert_ok(invoke_cli("raw-inputs", root / f"{name}_faces", "-o", root / f"{name}_raws",
                             "-q", "--workers", "1"))
    models = [write_tiny_onnx(root / f"m{i}.onnx", seed=i) for i in (1, 2)]
    for number, model in enumerate(models):
        assert_ok(invoke_cli("run", model, "-i", root / "old_raws" / "input_list.txt",
                             "-o", root / f"ref{number}", "-q"))
    return {"root": root, "models": models,
            "refs": [_results(root / f"ref{n}") for n in (0, 1)]}


@pytest.mark.parametrize("mode", MODES)
def test_run(inputs, tmp_path, mode):
    out = tmp_path / "out"
    listing = inputs["root"] / "old_raws" / "input_list.txt"

    def prepare():
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(inputs["root"] / "ref0", out)
        (out / "notes.txt").write_text("the user's")

    def check(number):
        assert _results(out) in inputs["refs"], f"killed at rename {number}: a mix"
        assert (out / "notes.txt").read_text() == "the user's"
        assert_ok(invoke_cli("run", inputs["models"][1], "-i", listing, "-o", out, "-q"))
        assert _results(out) == inputs["refs"][1]
        assert_no_leftovers(tmp_path, out)

    kill_at_every_rename(["run", inputs["models"][1], "-i", listing, "-o", out, "-q"], mode,
                         prepare, check)


@pytest.mark.parametrize("mode", MODES)
def test_raw_inputs(inputs, tmp_path, mode):
    out = tmp_path / "raws"
    root = inputs["root"]
    sets = [snapshot(root / "old_raws"), snapshot(root / "new_raws")]

    def prepare():
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(root / "old_raws", out)

    def check(number):
        from edge_fer.atomic import settle

        settle(out / "input_list.txt")
        assert snapshot(out) in sets, f"killed at rename {number}: a mix of two raw sets"
        # a reader of the list (run) works on it, then the next raw-inputs
        assert_ok(invoke_cli("run", inputs["models"][0], "-i", out / "input_list.txt",
                             "-o", tmp_path / "res", "-q"))
        assert_ok(invoke_cli("raw-inputs", root / "new_faces", "-o", out, "-q", "--workers", "1"))
        assert snapshot(out) == sets[1]
        assert_no_leftovers(tmp_path, out)

    kill_at_every_rename(["raw-inputs", root / "new_faces", "-o", out, "-q", "--workers", "1"],
                         mode, prepare, check)


def _pair(folder: Path, name: str) -> str:
    """The sha256 a reader finds for the model, checked against the manifest beside it."""
    from edge_fer.atomic import settle
    from edge_fer.files import sha256_file

    settle(folder / name)
    manifest = json.loads((folder / name).with_suffix(".json").read_text())
    found = sha256_file(folder / name)
    assert manifest["sha256"] == found, "a model paired with another version's manifest"
    return found


@pytest.mark.parametrize("mode", MODES)
def test_convert(tmp_path, mode):
    from tests.hostile.test_bad_inputs import write_dense_pb

    rng = np.random.default_rng(5)
    old_pb = write_dense_pb(tmp_path / "old" / "m.pb", rng.normal(0, .05, (2304, 7)))
    new_pb = write_dense_pb(tmp_path / "new" / "m.pb", rng.normal(0, .05, (2304, 7)))
    out = tmp_path / "out"
    args = ["-t", "tflite", "-p", "fp32", "--verify-count", "0", "-o", out, "-q"]
    assert_ok(invoke_cli("convert", old_pb, *args))
    assert_ok(invoke_cli("convert", old_pb, "-t", "tflite", "-p", "fp16", "--verify-count", "0",
                         "-o", out, "-q"))
    saved = tmp_path / "saved"
    shutil.copytree(out, saved)
    old = _pair(out / "tflite", "m.tflite")
    assert_ok(invoke_cli("convert", new_pb, *args))
    new = _pair(out / "tflite", "m.tflite")
    other = _pair(out / "tflite", "m_fp16.tflite")

    def prepare():
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(saved, out)

    def check(number):
        assert _pair(out / "tflite", "m.tflite") in (old, new), f"killed at rename {number}"
        assert _pair(out / "tflite", "m_fp16.tflite") == other  # the folder's other model stays
        assert_ok(invoke_cli("convert", new_pb, *args))
        assert _pair(out / "tflite", "m.tflite") == new
        assert_no_leftovers(out, out / "tflite")

    kill_at_every_rename(["convert", new_pb, *args], mode, prepare, check)


def test_predict(inputs, tmp_path):
    root = inputs["root"]
    out = tmp_path / "out"
    model = inputs["models"][0]
    names = [sorted(p.relative_to(root / f"{n}_faces").as_posix()
                    for p in (root / f"{n}_faces").rglob("*.png")) for n in ("old", "new")]

    def annotated() -> list[str]:
        from edge_fer.atomic import settle

        settle(out)
        return sorted(p.relative_to(out / "annotated").as_posix()
                      for p in (out / "annotated").rglob("*.png"))

    def prepare():
        shutil.rmtree(out, ignore_errors=True)
        assert_ok(invoke_cli("predict", root / "old_faces", model, "-o", out, "-q"))

    def check(number):
        assert annotated() in names, f"killed at rename {number}: a mix"
        assert_ok(invoke_cli("predict", root / "new_faces", model, "-o", out, "-q"))
        assert annotated() == names[1]
        assert_no_leftovers(tmp_path, out)

    kill_at_every_rename(["predict", root / "new_faces", model, "-o", out, "-q"], "two renames",
                         prepare, check)


def test_train(tmp_path):
    import tensorflow as tf

    run = tmp_path / "run"
    base = ["train", "--data", "synthetic", "--synthetic-train", "70", "--synthetic-val", "14",
            "--out", run, "-q"]
    assert_ok(invoke_cli(*base, "--epochs", "1"))
    saved = tmp_path / "saved"
    shutil.copytree(run, saved)

    def prepare():
        shutil.rmtree(run, ignore_errors=True)
        shutil.copytree(saved, run)

    def check(number):
        from edge_fer.atomic import settle

        for folder in ("best", "last"):
            settle(run / folder)
            reader = tf.train.load_checkpoint(str(run / folder / "model.ckpt"))  # whole
            assert reader.get_variable_to_shape_map(), f"killed at rename {number}: {folder}/"
        epoch = json.loads((run / "last" / "state.json").read_text())["epoch"]
        step = tf.train.load_checkpoint(str(run / "last" / "model.ckpt")).get_tensor(
            "global_step")
        assert epoch in (1, 2) and step == epoch * 2, "last/'s record is another epoch's"
        assert_ok(invoke_cli(*base, "--resume", "--epochs", "3"))
        assert json.loads((run / "state.json").read_text())["epoch"] == 3
        assert_no_leftovers(tmp_path, run)

    kill_at_every_rename([*base, "--resume", "--epochs", "2"], "two renames", prepare, check,
                         timeout=180)
