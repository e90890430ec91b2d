"""edge-fer train: metrics, checkpoints as TF1 writes them, resume, and malformed CSV rows."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from edge_fer.cli import app
from edge_fer.training.train import TrainConfig, train

runner = CliRunner()


def test_trained_run_has_tf1_checkpoints_metrics_and_summaries(trained_run):
    for name in ("model.ckpt.meta", "model.ckpt.index"):
        assert (trained_run / "best" / name).is_file()
    assert list((trained_run / "best").glob("model.ckpt.data-*"))
    assert list((trained_run / "tensorboard").glob("events.out.tfevents.*"))
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["arch"] == "seed003" and metrics["epochs_run"] == 3
    assert metrics["val_accuracy"] == max(h["val_accuracy"] for h in metrics["history"])
    # the built-in set is learnable: three short epochs beat chance (1/7) by far
    assert metrics["val_accuracy"] > 0.6
    assert metrics["command"].startswith("edge-fer train --data synthetic --arch seed003")


def test_resume_continues_from_the_last_epoch_with_the_saved_settings(tmp_path):
    """--resume reads config.json: flags left out keep the saved run's values (its data set,
    not the default synthetic faces); more epochs are applied and recorded; a conflicting flag
    is an error naming both values."""
    csv_path = tmp_path / "fer.csv.gz"
    _csv_with_bad_rows(csv_path)
    out = tmp_path / "run"
    first = ["train", "--data", str(csv_path), "--lr", "0.001", "--augment", "none", "--epochs", "1",
             "--out", str(out), "--quiet"]
    assert runner.invoke(app, first).exit_code == 0
    again = runner.invoke(app, first)
    assert again.exit_code == 2 and "--resume" in again.output
    conflict = runner.invoke(app, ["train", "--out", str(out), "--resume", "--data", "synthetic", "-q"])
    assert conflict.exit_code == 2
    assert "--data" in conflict.output and str(csv_path) in conflict.output and "synthetic" in conflict.output
    fewer = runner.invoke(app, ["train", "--out", str(out), "--resume", "--epochs", "0", "-q"])
    assert fewer.exit_code == 2
    link = tmp_path / "same.csv.gz"  # the same file named another way is the same data
    link.symlink_to(csv_path)
    resumed = runner.invoke(app, ["train", "--out", str(out), "--resume", "--data", str(link), "--epochs", "2", "-q"])
    assert resumed.exit_code == 0, resumed.output
    link.unlink()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"].endswith("fer.csv.gz") and metrics["train_split"] == "Training"
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert metrics["history"][1]["steps"] == 2 * metrics["history"][0]["steps"]
    config = json.loads((out / "config.json").read_text())
    assert (config["data"], config["lr"], config["augment"], config["epochs"]) == (str(csv_path), 0.001, "none", 2)
    assert config["resumes"] == [{"after_epoch": 1, "changes": {"epochs": [1, 2]}}]
    # --overwrite trains beside the old run and swaps at its first epoch: the user's file stays,
    # the run is new, and it resumes like any other (its checkpoints name relative paths).
    (out / "notes.txt").write_text("mine")
    assert runner.invoke(app, first + ["--overwrite"]).exit_code == 0
    assert json.loads((out / "state.json").read_text())["epoch"] == 1
    assert (out / "notes.txt").read_text() == "mine"
    assert 'model_checkpoint_path: "model.ckpt"' in (out / "last" / "checkpoint").read_text()
    resumed = runner.invoke(app, ["train", "--out", str(out), "--resume", "--epochs", "2", "-q"])
    assert resumed.exit_code == 0, resumed.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fer.csv.gz", "run"]


def test_checkpoints_are_saved_whole_with_their_records_and_resume_needs_its_state(tmp_path):
    """best/ and last/ each carry the record of their own epoch; without any state.json a
    --resume is one usage error and nothing is overwritten."""
    out = tmp_path / "run"
    args = ["train", "--data", "synthetic", "--synthetic-train", "70", "--synthetic-val", "14",
            "--epochs", "1", "--out", str(out), "-q"]
    assert runner.invoke(app, args).exit_code == 0
    assert json.loads((out / "last" / "state.json").read_text())["epoch"] == 1
    assert json.loads((out / "best" / "best.json").read_text())["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging left
    (out / "state.json").unlink()
    (out / "last" / "state.json").unlink()
    before = {p: p.read_bytes() for p in (out / "best").iterdir()}
    for again in (args[:-3] + ["--epochs", "2", "--out", str(out), "--resume", "-q"], args):
        result = runner.invoke(app, again)
        assert result.exit_code == 2, result.output
        assert "state.json" in result.output or "holds a training run" in result.output
    assert {p: p.read_bytes() for p in (out / "best").iterdir()} == before


def _csv_with_bad_rows(path):
    rng = np.random.default_rng(0)
    lines = ["emotion,pixels,Usage"]
    for i in range(84):
        usage = "Training" if i < 70 else "PublicTest"
        lines.append(f"{i % 7},{' '.join(map(str, rng.integers(0, 256, 2304)))},{usage}")
    lines[5] = "3,1 2 3,Training"                                 # line 6: too few pixels
    lines[9] = f"9,{' '.join(['0'] * 2304)},Training"               # line 10: label outside 0-6
    lines[12] = f"2,{' '.join(['x'] * 2304)},Training"              # line 13: not numbers
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")


def test_csv_with_malformed_rows_trains_on_good_rows_and_names_bad_lines(tmp_path):
    csv_path = tmp_path / "fer.csv.gz"
    _csv_with_bad_rows(csv_path)
    result = runner.invoke(app, ["train", "--data", str(csv_path), "--epochs", "1", "--out",
                                 str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    for line in (":6:", ":10:", ":13:"):
        assert line in result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["n_train"] == 67 and metrics["n_val"] == 14 and metrics["skipped"] == 3
    strict = runner.invoke(app, ["train", "--data", str(csv_path), "--epochs", "1", "--strict",
                                 "--out", str(tmp_path / "strict"), "--quiet"])
    assert strict.exit_code == 1 and ":6:" in strict.output


def test_unknown_arch_and_bad_options_are_usage_errors(tmp_path):
    result = runner.invoke(app, ["train", "--arch", "nope", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "seed003" in result.output
    result = runner.invoke(app, ["train", "--augment", "wild", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2


def test_list_archs_and_help():
    result = runner.invoke(app, ["train", "--list-archs"])
    assert result.exit_code == 0 and "seed003" in result.output and "bn4" in result.output
    help_text = runner.invoke(app, ["--help"]).output
    for command in ("train", "freeze", "inspect"):
        assert command in help_text


def test_precision_auto_follows_the_cpu_and_bad_values_are_usage_errors(monkeypatch):
    from edge_fer.errors import UsageError
    from edge_fer.training import train as training

    monkeypatch.setattr(training, "cpu_has_bf16", lambda: True)
    assert training.resolve_precision("auto") == "bf16"
    monkeypatch.setattr(training, "cpu_has_bf16", lambda: False)
    assert training.resolve_precision("auto") == "fp32"
    assert training.resolve_precision("bf16") == "bf16"
    with pytest.raises(UsageError, match="--precision"):
        training.resolve_precision("fp16")
    rewrite = training.session_config("bf16").graph_options.rewrite_options
    assert rewrite.auto_mixed_precision_onednn_bfloat16 == 1
    assert training.session_config("fp32").graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16 == 0


def test_bf16_training_keeps_fp32_variables_and_freezes_exactly(tmp_path):
    """Mixed precision only changes how the session computes: checkpoints stay fp32 and the frozen
    graph matches the checkpoint's own (fp32) inference path."""
    from edge_fer.training.freeze import freeze_run

    run = tmp_path / "bf16"
    metrics = train(TrainConfig(data="synthetic", arch="resxs", epochs=1, max_steps=4, synthetic_train=256,
                                synthetic_val=70, precision="bf16", out=str(run)))
    assert metrics["precision"] == "bf16"
    assert metrics["onednn"] is True  # the trainer asks for oneDNN's kernels; x86-64 TF has them
    summary = freeze_run(run, tmp_path / "model.pb")
    assert summary["max_abs_diff_vs_checkpoint"] < 1e-4
