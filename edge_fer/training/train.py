"""Train an architecture from the registry as a tf.compat.v1 graph in a Session.

A run folder holds: config.json (what was asked), best/ and last/ checkpoints as TF1 writes them
(.meta/.index/.data-*; each saved as one unit with its record, see checkpoints.py), state.json
(for --resume; its copy in last/ is the one that belongs to last/'s weights), tensorboard/
summaries and metrics.json.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.atomic import StagedOutput, atomic_write_text, staged_output
from edge_fer.errors import UsageError
from edge_fer.files import require_regular
from edge_fer.finite import NonFiniteError
from edge_fer.labels import LABELS, NUM_CLASSES
from edge_fer.parallel import available_cores
from edge_fer.preprocess import INPUT_SIZE, to_model_input
from edge_fer.tensors.graphio import INPUT_NAME, LOGITS_NAME, OUTPUT_NAME
from edge_fer.training.augment import AUGMENTATIONS, augment_batch
from edge_fer.training.bn_stats import BN_STATISTICS, load_statistics, population_statistics
from edge_fer.training.checkpoints import (
    BEST_RECORD,
    has_checkpoint,
    read_record,
    recover_checkpoints,
    save_checkpoint,
)
from edge_fer.training.distill import CACHE_NAME, distillation_loss, teacher_logits
from edge_fer.training.model import Layers, get_architecture
from edge_fer.training.pretrained import model_or_default

# oneDNN's fused CPU kernels, asked for explicitly: TensorFlow reads this once, when it is imported
# (the trainer imports it lazily, after this line). An outside A/B on a 2-core AVX2 machine found
# the unset variable at the `=0` speed although TensorFlow logged oneDNN as on; on an AMX machine
# both ran alike (bench/train_throughput.py). metrics.json records what was in force.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def onednn_enabled() -> bool:
    """Whether the TensorFlow in this process runs oneDNN kernels (read, not assumed)."""
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())

CLASS_WEIGHTINGS = ("none", "balanced", "sqrt")
LR_SCHEDULES = ("constant", "cosine")
PRECISIONS = ("auto", "fp32", "bf16")
CONFIG_NAME = "config.json"
STATE_NAME = "state.json"
METRICS_NAME = "metrics.json"
BEST_DIR, LAST_DIR = "best", "last"
BEST_CKPT = "best/model.ckpt"
LAST_CKPT = "last/model.ckpt"


@dataclass
class TrainConfig:
    data: str = "synthetic"
    arch: str = "seed003"
    epochs: int = 10
    batch_size: int = 64
    lr: float = 3e-4
    lr_schedule: str = "constant"
    warmup_epochs: float = 0.0
    augment: str = "flip"
    class_weights: str = "none"
    label_smoothing: float = 0.0
    dropout_keep: float = 0.5
    seed: int = 0
    strict: bool = False
    max_steps: int = 0            # stop early after this many steps in all (0: no limit); for tests
    synthetic_train: int = 6000
    synthetic_val: int = 1200
    tta_flip: bool = False        # validate with horizontal-flip averaging
    precision: str = "auto"       # bf16 mixed precision on CPUs with native bf16 (AMX/AVX512-BF16)
    bn_statistics: str = "precise"  # after training, recompute batch-norm statistics on clean images
    teacher: str = ""             # frozen graph whose logits the student learns from (distillation)
    distill_alpha: float = 0.5    # weight of the distillation term; 1 − alpha on the labels' cross-entropy
    distill_temperature: float = 4.0
    out: str = "runs/train"
    extra: dict = field(default_factory=dict)

    def command(self) -> str:
        """The `edge-fer train` command line that reproduces this run."""
        defaults = TrainConfig()
        words = ["edge-fer", "train"]
        for key, value in asdict(self).items():
            if key == "extra" or (value == getattr(defaults, key) and key not in ("data", "arch", "epochs", "out", "seed")):
                continue
            if key.startswith("distill_") and not self.teacher:
                continue
            flag = "--" + key.replace("_", "-")
            if isinstance(value, bool):
                words.append(flag if value else "--no-" + key.replace("_", "-"))
            else:
                words += [flag, str(value)]
        return shlex.join(words)


def class_weight_vector(labels: np.ndarray, mode: str) -> np.ndarray:
    """Per-class loss weights (mean 1 over the training samples); disgust is rare in FER2013."""
    counts = np.bincount(labels, minlength=NUM_CLASSES).astype(np.float64)
    if mode == "none":
        return np.ones(NUM_CLASSES, np.float32)
    weights = np.where(counts > 0, counts.sum() / (NUM_CLASSES * np.maximum(counts, 1)), 0.0)
    if mode == "sqrt":
        weights = np.sqrt(weights)
    weights /= (weights[labels].mean() if len(labels) else 1.0)
    return weights.astype(np.float32)


def learning_rate(config: TrainConfig, step: int, total_steps: int, steps_per_epoch: int) -> float:
    warmup = int(config.warmup_epochs * steps_per_epoch)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    if config.lr_schedule == "cosine":
        progress = (step - warmup) / max(1, total_steps - warmup)
        return config.lr * 0.5 * (1 + np.cos(np.pi * min(1.0, progress)))
    return config.lr


def build_training_graph(config: TrainConfig):
    """The training graph; its inference path is x → logits → output with default placeholders."""
    import tensorflow as tf

    arch = get_architecture(config.arch)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(config.seed)
        x = tf.compat.v1.placeholder(tf.float32, [None, INPUT_SIZE, INPUT_SIZE, 1], name=INPUT_NAME)
        labels = tf.compat.v1.placeholder_with_default(tf.zeros([1], tf.int64), [None], name="labels")
        weights = tf.compat.v1.placeholder_with_default(tf.ones([1]), [None], name="sample_weights")
        keep_prob = tf.compat.v1.placeholder_with_default(1.0, [], name="keep_prob")
        lr = tf.compat.v1.placeholder_with_default(config.lr, [], name="learning_rate")
        # Two towers over the same variables: the training tower (batch statistics, dropout) and
        # the inference path x → logits → output (moving averages), with no tf.cond between them
        # so oneDNN can fuse conv + batch norm in both.
        layers = Layers(is_training=True, keep_prob=keep_prob)
        with tf.compat.v1.name_scope("train"):
            train_logits = arch.build(layers, x)
        with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(), reuse=True):
            logits = tf.identity(arch.build(Layers(is_training=False), x), name=LOGITS_NAME)
        output = tf.nn.softmax(logits, name=OUTPUT_NAME)
        onehot = tf.one_hot(labels, NUM_CLASSES)
        data_loss = tf.compat.v1.losses.softmax_cross_entropy(
            onehot, train_logits, weights=weights, label_smoothing=config.label_smoothing)
        soft_targets = None
        if config.teacher:
            soft_targets = tf.compat.v1.placeholder(tf.float32, [None, NUM_CLASSES], name="teacher_logits")
            data_loss = (1.0 - config.distill_alpha) * data_loss + config.distill_alpha * \
                distillation_loss(train_logits, soft_targets, config.distill_temperature)
        decay = arch.weight_decay * tf.add_n([tf.nn.l2_loss(k) for k in layers.regularised]) \
            if arch.weight_decay and layers.regularised else tf.constant(0.0)
        loss = tf.identity(data_loss + decay, name="loss")
        correct = tf.equal(tf.argmax(train_logits, 1), labels)
        global_step = tf.compat.v1.train.get_or_create_global_step()
        with tf.control_dependencies(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)):
            train_op = tf.compat.v1.train.AdamOptimizer(lr).minimize(loss, global_step=global_step)
        params = int(sum(np.prod(v.shape) for v in tf.compat.v1.trainable_variables()))
        init = tf.compat.v1.global_variables_initializer()
        # Relative paths in the `checkpoint` files: a run trained in a staging folder is renamed.
        best_saver = tf.compat.v1.train.Saver(max_to_keep=1, save_relative_paths=True)
        last_saver = tf.compat.v1.train.Saver(max_to_keep=1, save_relative_paths=True)
    return graph, {"x": x, "labels": labels, "weights": weights, "keep_prob": keep_prob, "lr": lr,
                   "train_logits": train_logits, "output": output, "loss": data_loss, "correct": correct,
                   "train_op": train_op, "global_step": global_step, "teacher_logits": soft_targets, "init": init, "best_saver": best_saver,
                   "last_saver": last_saver, "params": params, "batch_norm": layers.batch_norms}


def cpu_has_bf16() -> bool:
    """True when the CPU computes bf16 natively (AMX or AVX512-BF16), where oneDNN's bf16 kernels
    are about twice as fast as fp32; elsewhere bf16 is emulated and slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f" {flag}" in flags for flag in ("amx_bf16", "avx512_bf16"))


def resolve_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "bf16" if cpu_has_bf16() else "fp32"
    return precision


def session_config(precision: str = "fp32"):
    """Threads for this machine; `bf16` turns on grappler's oneDNN mixed-precision rewrite
    (variables, loss and softmax stay fp32; convolutions and matmuls run in bf16)."""
    import tensorflow as tf
    from tensorflow.core.protobuf import rewriter_config_pb2

    cores = available_cores()  # the process's affinity mask: taskset and cgroup cpusets count
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=cores, inter_op_parallelism_threads=2)
    if precision == "bf16":
        config.graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16 = \
            rewriter_config_pb2.RewriterConfig.ON
    return config


def evaluate(sess, t, images: np.ndarray, labels: np.ndarray, tta_flip: bool = False,
             batch: int = 256) -> dict:
    """Loss, accuracy, per-class recall and predictions on one split (inference path)."""
    probs = []
    for start in range(0, len(images), batch):
        chunk = images[start:start + batch]
        p = sess.run(t["output"], {t["x"]: to_model_input(chunk)})
        if tta_flip:
            p = 0.5 * (p + sess.run(t["output"], {t["x"]: to_model_input(chunk[:, :, ::-1])}))
        probs.append(p)
    probs = np.concatenate(probs) if probs else np.zeros((0, NUM_CLASSES), np.float32)
    predicted = probs.argmax(1)
    loss = float(-np.mean(np.log(probs[np.arange(len(labels)), labels] + 1e-12))) if len(labels) else 0.0
    recall = {LABELS[c]: float(np.mean(predicted[labels == c] == c)) if np.any(labels == c) else None
              for c in range(NUM_CLASSES)}
    return {"loss": loss, "accuracy": float(np.mean(predicted == labels)) if len(labels) else 0.0,
            "per_class_recall": recall}


def settle_batch_norm(graph, t, run: Path, config: TrainConfig, train_split, val_split, best: dict,
                      last: dict) -> dict:
    """Precise batch-norm statistics, recomputed in fp32 over the clean training images, for the
    best checkpoint (kept when they validate better than its moving averages) and for the last
    one (`last`: its history record), which becomes the best when it then validates better still.

    Why the last one too: epochs are selected by their moving-average accuracy while training
    (`selection_accuracy`, so a resumed run compares like with like), but the moving averages
    follow augmented batches and rank the final epochs of an annealed schedule by noise; on fast5
    the moving averages chose epoch 91 (68.93 % with precise statistics) over the annealed epoch
    100 (69.04 %). Done once per end of training (`settled_after_epoch`)."""
    import tensorflow as tf

    def precise_accuracy(sess) -> dict:
        load_statistics(sess, t, population_statistics(sess, t, train_split.images))
        return evaluate(sess, t, val_split.images, val_split.labels, config.tta_flip)

    with tf.compat.v1.Session(graph=graph, config=session_config("fp32")) as sess:
        settled = best
        if "bn_statistics" not in best:  # not yet decided for this checkpoint
            t["best_saver"].restore(sess, str(run / BEST_CKPT))
            moving = evaluate(sess, t, val_split.images, val_split.labels, config.tta_flip)
            precise = precise_accuracy(sess)
            kept = precise["accuracy"] > moving["accuracy"]
            chosen = precise if kept else moving
            settled = {**best, "val_accuracy": chosen["accuracy"], "val_loss": chosen["loss"],
                       "per_class_recall": chosen["per_class_recall"],
                       "selection_accuracy": best.get("selection_accuracy", best["val_accuracy"]),
                       "bn_statistics": "precise" if kept else "moving-average",
                       "val_accuracy_moving_average": moving["accuracy"],
                       "val_accuracy_precise": precise["accuracy"]}
            if kept:
                save_checkpoint(t["best_saver"], sess, run / BEST_DIR, {BEST_RECORD: settled})
            reporter.info(f"batch-norm statistics of epoch {best['epoch']} recomputed on "
                          f"{len(train_split.labels)} clean training images: validation accuracy "
                          f"{moving['accuracy']:.4f} (moving averages) → {precise['accuracy']:.4f}; "
                          f"{'precise statistics' if kept else 'moving averages'} kept")
        if last["epoch"] != settled["epoch"]:
            t["last_saver"].restore(sess, str(run / LAST_CKPT))
            precise = precise_accuracy(sess)
            taken = precise["accuracy"] > settled["val_accuracy"]
            reporter.info(f"last epoch {last['epoch']} with precise statistics: validation accuracy "
                          f"{precise['accuracy']:.4f} vs {settled['val_accuracy']:.4f} of epoch "
                          f"{settled['epoch']}; {'the last epoch' if taken else 'epoch ' + str(settled['epoch'])} kept")
            if taken:
                settled = {"epoch": last["epoch"], "val_accuracy": precise["accuracy"],
                           "val_loss": precise["loss"], "per_class_recall": precise["per_class_recall"],
                           "selection_accuracy": last["val_accuracy"], "bn_statistics": "precise",
                           "val_accuracy_moving_average": last["val_accuracy"],
                           "val_accuracy_precise": precise["accuracy"],
                           "instead_of": {"epoch": settled["epoch"], "val_accuracy": settled["val_accuracy"]}}
        settled = {**settled, "settled_after_epoch": last["epoch"]}
        if settled["epoch"] == last["epoch"] != best["epoch"]:
            save_checkpoint(t["best_saver"], sess, run / BEST_DIR, {BEST_RECORD: settled})
        else:  # the best checkpoint's weights as they are: only their record changes
            atomic_write_text(run / BEST_DIR / BEST_RECORD, json.dumps(settled, indent=2))
    return settled


def _load_state(run: Path) -> dict | None:
    """The state --resume continues from: the copy saved with last/ (its weights' own), else
    the run folder's (runs trained before checkpoints carried it); `best` is best/'s own record."""
    state = read_record(run / LAST_DIR, STATE_NAME) or read_record(run, STATE_NAME)
    best = read_record(run / BEST_DIR, BEST_RECORD)
    if state and best:
        state["best"] = best  # best/'s own (after a kill between best/ and last/: a newer epoch)
    return state


def _state(epoch: int, best: dict, history: list, wall_seconds: float) -> dict:
    return {"epoch": epoch, "best": best, "history": history, "wall_seconds": wall_seconds}


def _save_state(run: Path, state: dict) -> None:
    atomic_write_text(run / STATE_NAME, json.dumps(state, indent=2))


# Settings a resumed run may change: more epochs continue it (a cosine schedule is recomputed
# over the new total: a warm restart); the others change how, not what, it trains.
RESUME_CHANGEABLE = ("epochs", "max_steps", "precision", "bn_statistics", "strict")
NOT_COMPARED = ("out", "extra")
PATH_FIELDS = ("data", "teacher")  # the same file named another way (relative, a link) is no change


def recorded_spellings(run: Path, config: TrainConfig) -> TrainConfig:
    """`config` with each path the saved run names another way spelled as the run recorded it."""
    from dataclasses import replace

    saved = saved_config(run)
    return replace(config, **{name: getattr(saved, name) for name in PATH_FIELDS
                              if same_file(getattr(saved, name), getattr(config, name))})


def same_file(recorded: str, given: str) -> bool:
    """Whether two spellings name one existing file or folder."""
    try:
        return bool(recorded) and bool(given) and os.path.samefile(recorded, given)
    except OSError:  # either is gone, or not a path (`synthetic`, a shipped model's name)
        return False


def saved_config(run: str | Path) -> TrainConfig:
    """The configuration the run in `run` was trained with (its config.json)."""
    path = Path(run) / CONFIG_NAME
    require_regular(path, "a run's configuration")
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read the run's configuration ({exc})") from None
    known = {name: saved[name] for name in TrainConfig.__dataclass_fields__ if name in saved}
    return TrainConfig(**{**known, "out": str(run)})


def saved_resumes(run: Path) -> list[dict]:
    """The resumes config.json records: [{after_epoch, changes}], oldest first."""
    path = run / CONFIG_NAME
    return json.loads(path.read_text()).get("resumes", []) if path.is_file() else []


def resume_changes(run: Path, config: TrainConfig, state: dict) -> dict:
    """What `config` changes in the saved run: {field: [saved, new]}, only RESUME_CHANGEABLE ones.

    Any other difference is a usage error naming both values, so a resumed run never silently
    trains on another data set or with other settings."""
    saved = saved_config(run)
    changes = {}
    for name in TrainConfig.__dataclass_fields__:
        before, now = getattr(saved, name), getattr(config, name)
        if name in NOT_COMPARED or before == now:
            continue
        flag = "--" + name.replace("_", "-")
        if name not in RESUME_CHANGEABLE:
            raise UsageError(f"{run}: was trained with {flag} {before}; cannot resume it with {flag} "
                             f"{now} (leave {flag} out to keep {before}, or --overwrite to start again)")
        if name == "epochs" and now < state["epoch"]:
            raise UsageError(f"{run}: has trained {state['epoch']} epochs already; --epochs {now} "
                             f"cannot continue it (ask for more than {state['epoch']})")
        changes[name] = [before, now]
    return changes


def prepare_run_dir(run: Path, config: TrainConfig, resume: bool,
                    overwrite: bool) -> tuple[dict | None, TrainConfig]:
    """Refuse to clobber a run unless asked; return the saved state when resuming (with
    `changes`: the settings the resume changes, see resume_changes) and the configuration to
    train with (its paths spelled as the run recorded them)."""
    state = _load_state(run)
    if state and resume:
        config = recorded_spellings(run, config)
        return {**state, "changes": resume_changes(run, config, state)}, config
    checkpoint = has_checkpoint(run / LAST_DIR) or has_checkpoint(run / BEST_DIR)
    if resume and checkpoint:
        raise UsageError(f"{run}: holds checkpoints but no {STATE_NAME} (the epoch and history "
                         f"they belong to), so it cannot be resumed; pass --overwrite to start "
                         f"again (best/ and last/ are replaced only after the first epoch)")
    if (state or checkpoint) and not overwrite:
        raise UsageError(f"{run}: holds a training run; pass --resume to continue it or --overwrite to start again")
    return None, config


def _is_run_output(path: Path) -> bool:
    """What training writes in its folder (an --overwrite replaces these; other files stay)."""
    return path.name in ("best", "last", "tensorboard", CONFIG_NAME, STATE_NAME, METRICS_NAME,
                         CACHE_NAME)


def train(config: TrainConfig, resume: bool = False, overwrite: bool = False) -> dict:
    """Train per `config`; returns the metrics written to metrics.json."""
    if config.augment not in AUGMENTATIONS:
        raise UsageError(f"--augment must be one of {', '.join(AUGMENTATIONS)}")
    if config.class_weights not in CLASS_WEIGHTINGS:
        raise UsageError(f"--class-weights must be one of {', '.join(CLASS_WEIGHTINGS)}")
    if config.lr_schedule not in LR_SCHEDULES:
        raise UsageError(f"--lr-schedule must be one of {', '.join(LR_SCHEDULES)}")
    if config.bn_statistics not in BN_STATISTICS:
        raise UsageError(f"--bn-statistics must be one of {', '.join(BN_STATISTICS)}")
    if config.teacher and not (0.0 <= config.distill_alpha <= 1.0 and config.distill_temperature > 0):
        raise UsageError("--distill-alpha must be in [0, 1] and --distill-temperature > 0")
    for name, value, low in (("--lr", config.lr, 0.0), ("--warmup-epochs", config.warmup_epochs, None)):
        if not math.isfinite(value) or (low is not None and value <= low) or value < 0:
            raise UsageError(f"{name} must be a finite number{' > 0' if low is not None else ' ≥ 0'}, "
                             f"not {value!r}")
    get_architecture(config.arch)
    precision = resolve_precision(config.precision)
    with staged_output(config.out, _is_run_output) as output:
        recover_checkpoints(output.path, (BEST_DIR, LAST_DIR))  # what a killed training left
        state, config = prepare_run_dir(output.path, config, resume, overwrite)
        if state or not (_load_state(output.path) or has_checkpoint(output.path / LAST_DIR)
                         or has_checkpoint(output.path / BEST_DIR)):  # resume, or a new run: in place
            output.in_place()
        # An --overwrite trains in the staging folder; the old run stays until the new one has
        # its first epoch saved (then it is swapped in, and --resume works on it).
        return _train(config, output, state, precision)


def _train(config: TrainConfig, output: StagedOutput, state: dict | None, precision: str) -> dict:
    from edge_fer.data import load_dataset

    run = output.folder

    dataset = load_dataset(config.data, strict=config.strict, seed=config.seed,
                           synthetic_size=(config.synthetic_train, config.synthetic_val))
    for problem in dataset.problems[:20]:
        reporter.warn(f"skipped {problem}")
    if dataset.problems:
        reporter.warn(f"skipped {len(dataset.problems)} bad rows/files in {dataset.source}")
    train_split, val_split = dataset.train, dataset.val
    if len(train_split.labels) == 0:
        raise UsageError(f"{dataset.source}: no training examples in split {dataset.train_split!r}")
    class_weights = class_weight_vector(train_split.labels, config.class_weights)
    soft_targets, teacher_record = teacher_logits(
        model_or_default(config.teacher), train_split.images, run / CACHE_NAME, session_config()) \
        if config.teacher else (None, None)
    resumes = saved_resumes(run) if state else []
    if state:
        resumes.append({"after_epoch": state["epoch"], "changes": state["changes"]})
        for name, (before, now) in state["changes"].items():
            reporter.info(f"resuming with {name.replace('_', '-')} {now} (was {before})")
    atomic_write_text(run / CONFIG_NAME, json.dumps(
        {**asdict(config), "command": config.command(), **({"resumes": resumes} if resumes else {})},
        indent=2))
    import tensorflow as tf  # after the data is read: a bad --data fails in a second

    graph, t = build_training_graph(config)
    steps_per_epoch = int(np.ceil(len(train_split.labels) / config.batch_size))
    total_steps = steps_per_epoch * config.epochs
    history = state["history"] if state else []
    best = state["best"] if state else {"epoch": 0, "val_accuracy": -1.0, "val_loss": None}
    start_epoch = state["epoch"] + 1 if state else 1
    elapsed_before = state.get("wall_seconds", 0.0) if state else 0.0
    started = time.perf_counter()
    with graph.as_default():
        writer = tf.compat.v1.summary.FileWriter(str(run / "tensorboard"), graph if not state else None)

    with tf.compat.v1.Session(graph=graph, config=session_config(precision)) as sess, \
            ThreadPoolExecutor(max_workers=1) as prefetch:
        if state:
            t["last_saver"].restore(sess, str(run / LAST_CKPT))
            reporter.info(f"resumed {run} after epoch {state['epoch']} (best {best['val_accuracy']:.4f})")
        else:
            sess.run(t["init"])
        step = int(sess.run(t["global_step"]))
        reporter.info(f"training {config.arch} ({t['params']:,} parameters) on {dataset.source}: "
                      f"{len(train_split.labels)} {dataset.train_split} / {len(val_split.labels)} "
                      f"{dataset.val_split}, {config.epochs} epochs, {precision}")
        for epoch in range(start_epoch, config.epochs + 1):
            if config.max_steps and step >= config.max_steps:
                break
            rng = np.random.default_rng([config.seed, epoch])
            order = rng.permutation(len(train_split.labels))
            batches = [order[i:i + config.batch_size] for i in range(0, len(order), config.batch_size)]

            def make_batch(indices, rng=rng):
                images = augment_batch(train_split.images[indices], rng, config.augment)
                labels = train_split.labels[indices]
                soft = soft_targets[indices] if soft_targets is not None else None
                return to_model_input(images), labels, class_weights[labels], soft

            epoch_start = time.perf_counter()
            losses, corrects, seen = 0.0, 0, 0
            pending = prefetch.submit(make_batch, batches[0])
            with reporter.make_progress() as bar:
                task = bar.add_task(f"epoch {epoch}/{config.epochs}", total=len(batches), status="")
                for b in range(len(batches)):
                    x, y, w, soft = pending.result()
                    if b + 1 < len(batches):
                        pending = prefetch.submit(make_batch, batches[b + 1])
                    lr = learning_rate(config, step, total_steps, steps_per_epoch)
                    feed = {t["x"]: x, t["labels"]: y, t["weights"]: w, t["keep_prob"]: config.dropout_keep,
                            t["lr"]: lr}
                    if soft is not None:
                        feed[t["teacher_logits"]] = soft
                    _, loss, correct = sess.run([t["train_op"], t["loss"], t["correct"]], feed)
                    step += 1
                    if not math.isfinite(float(loss)):
                        raise NonFiniteError(
                            f"{run}: training loss became {float(loss)} at step {step} (epoch {epoch}, "
                            f"learning rate {lr:g}); stopped, no checkpoint of this epoch written. "
                            f"Try a smaller --lr")
                    losses += float(loss) * len(y)
                    corrects += int(correct.sum())
                    seen += len(y)
                    bar.update(task, advance=1, status=f"loss {losses / seen:.3f} acc {corrects / seen:.3f}")
                    if config.max_steps and step >= config.max_steps:
                        break
            train_seconds = time.perf_counter() - epoch_start
            val = evaluate(sess, t, val_split.images, val_split.labels, config.tta_flip)
            record = {"epoch": epoch, "steps": step, "lr": lr, "train_loss": losses / seen,
                      "train_accuracy": corrects / seen, "val_loss": val["loss"],
                      "val_accuracy": val["accuracy"], "seconds": round(train_seconds, 2),
                      "images_per_second": round(seen / train_seconds, 1)}
            history.append(record)
            if val["accuracy"] > best.get("selection_accuracy", best["val_accuracy"]):
                best = {"epoch": epoch, "val_accuracy": val["accuracy"], "val_loss": val["loss"],
                        "per_class_recall": val["per_class_recall"], "selection_accuracy": val["accuracy"]}
                save_checkpoint(t["best_saver"], sess, run / BEST_DIR, {BEST_RECORD: best})
            wall = elapsed_before + time.perf_counter() - started
            state_now = _state(epoch, best, history, wall)
            save_checkpoint(t["last_saver"], sess, run / LAST_DIR, {STATE_NAME: state_now})
            summary = tf.compat.v1.Summary(value=[
                tf.compat.v1.Summary.Value(tag=k, simple_value=float(record[k]))
                for k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "images_per_second")])
            writer.add_summary(summary, epoch)
            writer.flush()
            _save_state(run, state_now)
            if not output.committed:
                output.commit()
                run = output.folder
            reporter.info(f"epoch {epoch}: train loss {record['train_loss']:.4f} acc "
                          f"{record['train_accuracy']:.4f} | {dataset.val_split} loss {val['loss']:.4f} "
                          f"acc {val['accuracy']:.4f} | {record['images_per_second']:.0f} img/s")
    writer.close()
    output.commit()
    run = output.folder

    if config.bn_statistics == "precise" and t["batch_norm"] and best["epoch"] and len(val_split.labels) \
            and best.get("settled_after_epoch") != history[-1]["epoch"]:  # once per end of training
        best = settle_batch_norm(graph, t, run, config, train_split, val_split, best, history[-1])
        _save_state(run, _state(history[-1]["epoch"], best, history,
                                elapsed_before + time.perf_counter() - started))
    wall = elapsed_before + time.perf_counter() - started
    metrics = {
        "arch": config.arch, "params": t["params"], "data": dataset.source,
        "train_split": dataset.train_split, "val_split": dataset.val_split,
        "n_train": len(train_split.labels), "n_val": len(val_split.labels),
        "skipped": len(dataset.problems), "epochs_run": len(history), "precision": precision,
        "onednn": onednn_enabled(),
        "val_accuracy": best["val_accuracy"], "best": best, "history": history,
        "wall_seconds": round(wall, 1), "command": config.command(),
    }
    if teacher_record:
        metrics["distillation"] = {**teacher_record, "alpha": config.distill_alpha,
                                   "temperature": config.distill_temperature,
                                   "soft_targets": "the teacher's logits on the clean face each augmented face "
                                                   "came from (cached once)"}
    atomic_write_text(run / METRICS_NAME, json.dumps(metrics, indent=2))
    return metrics
