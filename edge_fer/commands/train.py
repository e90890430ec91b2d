"""`edge-fer train`: train an architecture from the registry on FER2013, image folders or synthetic data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from edge_fer.commands import reports_errors
from edge_fer.commands.options import (
    AUGMENTATIONS,
    BATCH_LIMIT,
    BN_STATISTICS,
    CLASS_WEIGHTINGS,
    LR_SCHEDULES,
    TRAIN_PRECISIONS,
    choice,
    finite,
    plain,
)

LrSchedule = choice("LrSchedule", LR_SCHEDULES)
Augment = choice("Augment", AUGMENTATIONS)
ClassWeights = choice("ClassWeights", CLASS_WEIGHTINGS)
Precision = choice("Precision", TRAIN_PRECISIONS)
BnStatistics = choice("BnStatistics", BN_STATISTICS)


def _from_command_line(context: typer.Context, name: str) -> bool:
    source = context.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


EPILOG = """
Examples:

  edge-fer train --data fer2013.csv --arch resm --epochs 45 --out runs/train/fer

  edge-fer train --data synthetic --epochs 3 --out runs/train/syn

  edge-fer train --resume --epochs 90 --out runs/train/fer    (more epochs: a warm restart)

--data: 'synthetic' (built-in drawn faces), a FER2013 CSV (.csv or .csv.gz: trains on Training,
validates on PublicTest) or an image folder (<root>/<emotion>/*, or <root>/{train,test}/<emotion>/*).

--bn-statistics precise: after training, the best checkpoint's batch-norm statistics are
recomputed on the clean training images and kept if they validate better; the last checkpoint,
with such statistics too, becomes the best when it validates better still.

--teacher: knowledge distillation from a frozen graph with a `logits` tensor, or a shipped
model's name; its logits on the training faces are computed once and cached in the run folder.

--resume continues with the run's saved settings (config.json); a flag given again must agree
with them, except --epochs (more), --max-steps, --precision, --bn-statistics and --strict,
which are applied and recorded.
"""


def register(app: typer.Typer) -> None:
    @app.command("train", epilog=EPILOG)
    @reports_errors
    def train(
        context: typer.Context,
        data: str = typer.Option("synthetic", help="'synthetic', a FER2013 CSV (.csv/.csv.gz) or an image folder."),
        arch: str = typer.Option("seed003", help="Architecture from the registry (see --list-archs)."),
        epochs: int = typer.Option(10, min=1),
        batch_size: int = typer.Option(64, min=1, max=BATCH_LIMIT),
        lr: float = typer.Option(3e-4, callback=finite(0, low_open=True), help="Adam learning rate."),
        lr_schedule: LrSchedule = typer.Option("constant", help="Learning-rate schedule."),
        warmup_epochs: float = typer.Option(0.0, callback=finite(0), help="Linear learning-rate warm-up length."),
        augment: Augment = typer.Option("flip", help="full: flip, rotation, scale, shift, jitter, erase."),
        class_weights: ClassWeights = typer.Option("none", help="balanced, sqrt: weight rare classes up."),
        label_smoothing: float = typer.Option(0.0, callback=finite(0.0, 0.5)),
        dropout_keep: float = typer.Option(0.5, callback=finite(0.05, 1.0), help="Keep probability fed to dropout."),
        seed: int = typer.Option(0, help="Seed for initialisation, shuffling and augmentation."),
        strict: bool = typer.Option(False, help="Fail on the first malformed CSV row instead of skipping it."),
        max_steps: int = typer.Option(0, min=0, help="Stop after this many steps in all (0: no limit)."),
        synthetic_train: int = typer.Option(6000, min=7, max=200_000, help="Synthetic training images."),
        synthetic_val: int = typer.Option(1200, min=7, max=200_000, help="Synthetic validation images."),
        tta_flip: bool = typer.Option(False, help="Validate with horizontal-flip averaging."),
        precision: Precision = typer.Option("auto", help="bf16: mixed precision; auto: bf16 where the CPU "
                                      "has AMX or AVX512-BF16)."),
        bn_statistics: BnStatistics = typer.Option("precise", help="Batch-norm statistics of the "
                                                   "best checkpoint (see below)."),
        teacher: str = typer.Option("", help="Distil from this frozen graph or shipped model "
                                    "(e.g. best; see below)."),
        distill_alpha: float = typer.Option(0.5, callback=finite(0.0, 1.0), help="Weight of the distillation term (1 − alpha on the labels)."),
        distill_temperature: float = typer.Option(4.0, callback=finite(0, low_open=True), help="Softmax temperature of the distillation term."),
        out: Path = typer.Option(None, "--out", "-o", show_default=False, help="Folder of the run "
                                 "(default: a new runs/train/exp<N>)."),
        resume: bool = typer.Option(False, help="Continue the run in --out from its last "
                                    "checkpoint, with its saved settings (see below)."),
        overwrite: bool = typer.Option(False, help="Replace a run already in --out."),
        list_archs: bool = typer.Option(False, "--list-archs", help="List the architectures and exit."),
    ) -> None:
        """Train a TF1-style graph CNN; keeps the best checkpoint by validation accuracy."""
        from edge_fer.training.model import ARCHITECTURES

        if list_archs:
            for name, spec in ARCHITECTURES.items():
                typer.echo(f"{name:10s} {spec.description}")
            return
        from edge_fer.commands.preflight import require_data, require_output_folder
        from edge_fer.errors import UsageError
        from edge_fer.outputs import output_dir
        from edge_fer.training.train import CONFIG_NAME, TrainConfig, saved_config
        from edge_fer.training.train import train as run_training

        if resume and out is None:
            raise UsageError("--resume needs --out RUN: the run folder to continue")
        require_output_folder(out)
        require_data(data)
        out = output_dir(out, "train")
        lr_schedule, augment, class_weights = plain(lr_schedule), plain(augment), plain(class_weights)
        precision, bn_statistics = plain(precision), plain(bn_statistics)
        given = {"data": data, "arch": arch, "epochs": epochs, "batch_size": batch_size, "lr": lr,
                 "lr_schedule": lr_schedule, "warmup_epochs": warmup_epochs, "augment": augment,
                 "class_weights": class_weights, "label_smoothing": label_smoothing,
                 "dropout_keep": dropout_keep, "seed": seed, "strict": strict,
                 "max_steps": max_steps, "synthetic_train": synthetic_train,
                 "synthetic_val": synthetic_val, "tta_flip": tta_flip, "precision": precision,
                 "bn_statistics": bn_statistics, "teacher": teacher,
                 "distill_alpha": distill_alpha, "distill_temperature": distill_temperature,
                 "out": str(out)}
        config = TrainConfig(**given)
        if resume and (out / CONFIG_NAME).is_file():
            # the saved run's settings, except the flags given on this command line (which
            # train() checks against the saved ones: a conflict is an error naming both)
            explicit = {name: value for name, value in given.items()
                        if _from_command_line(context, name)}
            config = dataclasses.replace(saved_config(out), **explicit)
        metrics = run_training(config, resume=resume, overwrite=overwrite)
        best = metrics["best"]
        typer.echo(f"best {metrics['val_split']} accuracy {best['val_accuracy']:.4f} at epoch {best['epoch']} "
                   f"({metrics['params']:,} parameters, {metrics['wall_seconds']:.0f} s); "
                   f"metrics: {out / 'metrics.json'}")
