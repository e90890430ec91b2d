"""Training throughput: `edge-fer train` (TF1 graph + Session) against the same network in Keras
`model.fit`, measured in one process on the same data.

Both sides train the same architecture (seed003 by default: 3 × conv3×3 SAME + ReLU + maxpool 2
SAME at 32/64/64 filters, FC 1024 + ReLU + dropout 0.5, FC 7; or resxs, the shipped residual
network with batch norm and weight decay; softmax cross-entropy; Adam at the same learning rate;
batch 64; He-normal / Glorot initialisation as edge-fer's) on the same synthetic faces, scaled to
[0, 1], no augmentation (`--augment none` on the edge-fer side), at the same precision
(`--precision fp32`, or `bf16`: edge-fer's oneDNN mixed precision against Keras's
`mixed_bfloat16` policy).

- edge-fer: `edge_fer.training.train.train()` itself — the function behind `edge-fer train` — for
  1 + `--epochs` epochs; its own per-epoch `images_per_second` (the training loop only: feeding,
  `sess.run(train_op)`, progress; not validation or checkpoints). Epoch 1 is the warm-up.
- Keras: `model.fit(x, y, batch_size, epochs=1 + --epochs, shuffle=True)` with a callback that
  times each epoch; epoch 1 is the warm-up (tracing/compilation).

Sides alternate (`--repeats` rounds) so a change in machine load hits both; the median of the
timed epochs is reported, with the ratio and the load average.

    python bench/train_throughput.py [--arch seed003|resxs|tiny|tiny4|fast|fast5|tinyx] [--precision fp32|bf16]
                                     [--images 4200] [--epochs 2] [--repeats 2] [--breakdown STEPS]

tiny, fast and tinyx are the edge networks (depthwise-separable, batch norm, weight decay 5e-5);
their Keras twins have the same layers and parameter counts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def keras_seed003(keep_prob: float):
    """seed003 (edge_fer.training.model) in Keras layers: same shapes, padding, init and dropout."""
    import keras
    from keras import layers

    inputs = keras.Input((48, 48, 1))
    h = inputs
    for filters in (32, 64, 64):
        h = layers.Conv2D(filters, 3, padding="same", activation="relu",
                          kernel_initializer=keras.initializers.VarianceScaling(
                              2.0, "fan_in", "truncated_normal"))(h)
        h = layers.MaxPooling2D(2, 2, padding="same")(h)
    h = layers.Flatten()(h)
    h = layers.Dense(1024, activation="relu", kernel_initializer="glorot_uniform")(h)
    h = layers.Dropout(1.0 - keep_prob)(h)
    outputs = layers.Dense(7, kernel_initializer="glorot_uniform")(h)
    return keras.Model(inputs, outputs)


def keras_resxs(keep_prob: float):
    """resxs (edge_fer.training.model) in Keras layers: conv without bias before batch norm (momentum 0.99,
    epsilon 1e-3), the same weight decay (edge-fer adds 1e-4 · Σ w²/2), dropout and shortcuts."""
    import keras
    from keras import layers

    decay = keras.regularizers.L2(1e-4 / 2)
    he = keras.initializers.VarianceScaling(2.0, "fan_in", "truncated_normal")

    def conv_bn(h, size, filters, relu=True):
        h = layers.Conv2D(filters, size, padding="same", use_bias=False, kernel_initializer=he,
                          kernel_regularizer=decay)(h)
        h = layers.BatchNormalization(momentum=0.99, epsilon=1e-3)(h)
        return layers.ReLU()(h) if relu else h

    inputs = keras.Input((48, 48, 1))
    h = conv_bn(inputs, 3, 32)
    rate = 0.1 * (1.0 - keep_prob) / 0.5
    for stage, filters in enumerate((32, 64, 128, 256), start=1):
        if stage > 1:
            h = layers.MaxPooling2D(2, 2, padding="same")(h)
        shortcut = h if h.shape[-1] == filters else conv_bn(h, 1, filters, relu=False)
        out = conv_bn(conv_bn(h, 3, filters), 3, filters, relu=False)
        h = layers.Dropout(rate)(layers.ReLU()(layers.Add()([out, shortcut])))
    h = layers.Dropout(1.0 - keep_prob)(layers.GlobalAveragePooling2D()(h))
    outputs = layers.Dense(7, kernel_initializer="glorot_uniform", kernel_regularizer=decay,
                           dtype="float32")(h)
    return keras.Model(inputs, outputs)


def _keras_blocks(weight_decay: float):
    """Layer helpers matching edge_fer.training.model.Layers: conv / separable without bias before
    batch norm (momentum 0.99, epsilon 1e-3), He-normal kernels, weight decay wd · Σ w²/2 on every
    kernel (depthwise and pointwise included), max-pool 2 SAME."""
    import keras
    from keras import layers

    decay = keras.regularizers.L2(weight_decay / 2)
    he = keras.initializers.VarianceScaling(2.0, "fan_in", "truncated_normal")

    def finish(h, relu):
        h = layers.BatchNormalization(momentum=0.99, epsilon=1e-3)(h)
        return layers.ReLU()(h) if relu else h

    def conv(h, size, filters, relu=True, stride=1):
        return finish(layers.Conv2D(filters, size, stride, padding="same", use_bias=False,
                                    kernel_initializer=he, kernel_regularizer=decay)(h), relu)

    def separable(h, filters, relu=True):
        h = layers.DepthwiseConv2D(3, padding="same", use_bias=False, depthwise_initializer=he,
                                   depthwise_regularizer=decay)(h)
        return finish(layers.Conv2D(filters, 1, use_bias=False, kernel_initializer=he,
                                    kernel_regularizer=decay)(h), relu)

    def head(h, keep_prob, dropout=True):
        h = layers.GlobalAveragePooling2D()(h)
        if dropout:
            h = layers.Dropout(1.0 - keep_prob)(h)
        return layers.Dense(7, kernel_initializer="glorot_uniform", kernel_regularizer=decay,
                            dtype="float32")(h)

    return conv, separable, head


def keras_separable(stem: int, widths: tuple[int, ...], blocks: tuple[int, ...], pool_stem: bool):
    """edge_fer.training.model.separable_network (fast, tiny) in Keras layers."""
    def build(keep_prob: float):
        import keras
        from keras import layers

        conv, separable, head = _keras_blocks(5e-5)
        inputs = keras.Input((48, 48, 1))
        h = conv(inputs, 3, stem)
        if pool_stem:
            h = layers.MaxPooling2D(2, 2, padding="same")(h)
        rate = 0.1 * (1.0 - keep_prob) / 0.5
        for stage, (filters, count) in enumerate(zip(widths, blocks, strict=True), start=1):
            if stage > 1:
                h = layers.MaxPooling2D(2, 2, padding="same")(h)
            h = separable(h, filters)
            for _ in range(count):
                out = separable(separable(h, filters), filters, relu=False)
                h = layers.ReLU()(layers.Add()([out, h]))
            h = layers.Dropout(rate)(h)
        return keras.Model(inputs, head(h, keep_prob))
    return build


def keras_tinyx(keep_prob: float):
    """edge_fer.training.model.tinyx (mini-Xception's layout at 48×48) in Keras layers."""
    import keras
    from keras import layers

    conv, separable, head = _keras_blocks(5e-5)
    inputs = keras.Input((48, 48, 1))
    h = conv(conv(inputs, 3, 8), 3, 8)
    for filters in (16, 32, 64, 128):
        shortcut = conv(h, 1, filters, relu=False, stride=2)
        h = separable(separable(h, filters), filters, relu=False)
        h = layers.Add()([layers.MaxPooling2D(3, 2, padding="same")(h), shortcut])
    return keras.Model(inputs, head(h, keep_prob, dropout=False))


KERAS_ARCHS = {"seed003": keras_seed003, "resxs": keras_resxs,
               "tiny": keras_separable(16, (32, 64, 128), (1, 1, 1), pool_stem=True),
               "tiny4": keras_separable(16, (32, 64, 128, 256), (1, 1, 1, 1), pool_stem=True),
               "fast": keras_separable(32, (32, 64, 128, 256), (0, 1, 1, 1), pool_stem=False),
               "fast5": keras_separable(32, (32, 64, 128, 256, 512), (0, 1, 1, 1, 1), pool_stem=False),
               "tinyx": keras_tinyx}


def edge_fer_epochs(arch: str, images: int, epochs: int, batch: int, lr: float,
                    keep_prob: float, work: Path, seed: int, precision: str) -> tuple[list[float], int]:
    """images/s of each epoch of edge_fer.training.train.train (first epoch included), and the params."""
    from edge_fer.training.train import TrainConfig, train

    metrics = train(TrainConfig(data="synthetic", arch=arch, epochs=epochs, batch_size=batch,
                                lr=lr, augment="none", dropout_keep=keep_prob, seed=seed,
                                synthetic_train=images, synthetic_val=64, precision=precision,
                                out=str(work)),
                    overwrite=True)
    return [epoch["images_per_second"] for epoch in metrics["history"]], metrics["params"]


def keras_epochs(arch: str, x: np.ndarray, y: np.ndarray, epochs: int, batch: int, lr: float,
                 keep_prob: float, seed: int, precision: str) -> tuple[list[float], int, str]:
    """images/s of each epoch of model.fit (first epoch included), trainable params, jit mode."""
    import keras

    keras.utils.set_random_seed(seed)
    previous_policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bf16" else "float32")
    try:
        return _fit_timed(arch, x, y, epochs, batch, lr, keep_prob)
    finally:  # the policy is process-wide: a caller's later Keras models must not turn bf16
        keras.mixed_precision.set_global_policy(previous_policy)


def _fit_timed(arch: str, x: np.ndarray, y: np.ndarray, epochs: int, batch: int, lr: float,
               keep_prob: float) -> tuple[list[float], int, str]:
    import keras

    model = KERAS_ARCHS[arch](keep_prob)
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    times: list[float] = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.started)

    model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=True, verbose=0,
              callbacks=[EpochTimer()])
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    return [len(x) / t for t in times], trainable, str(model.jit_compile)


def step_breakdown(arch: str, images: np.ndarray, labels: np.ndarray, batch: int, precision: str,
                   augment: str, steps: int, seed: int) -> dict[str, float]:
    """Milliseconds per training step in each part of edge-fer's loop, timed one after the other
    (the trainer overlaps the first three with the session call in a prefetch thread):
    augmentation, batch assembly (gather, scaling to [0, 1], labels and weights), the feed dict
    and learning rate, and the session call (forward, backward, Adam, batch-norm updates)."""
    import tensorflow as tf

    from edge_fer.preprocess import to_model_input
    from edge_fer.training.augment import augment_batch
    from edge_fer.training.train import TrainConfig, build_training_graph, session_config

    graph, t = build_training_graph(TrainConfig(arch=arch, batch_size=batch, seed=seed))
    rng = np.random.default_rng(seed)
    totals = dict.fromkeys(("augmentation", "batch assembly", "feed", "session call"), 0.0)
    ones = np.ones(7, np.float32)
    with tf.compat.v1.Session(graph=graph, config=session_config(precision)) as sess:
        sess.run(t["init"])
        for step in range(steps + 3):  # three warm-up steps
            marks = [time.perf_counter()]
            indices = rng.integers(0, len(images), batch)
            augmented = augment_batch(images[indices], rng, augment)
            marks.append(time.perf_counter())
            x, y = to_model_input(augmented), labels[indices]
            w = ones[y]
            marks.append(time.perf_counter())
            feed = {t["x"]: x, t["labels"]: y, t["weights"]: w, t["keep_prob"]: 0.5, t["lr"]: 1e-3}
            marks.append(time.perf_counter())
            sess.run([t["train_op"], t["loss"], t["correct"]], feed)
            marks.append(time.perf_counter())
            if step >= 3:
                for name, begin, end in zip(totals, marks, marks[1:]):
                    totals[name] += (end - begin) * 1000
    return {name: total / steps for name, total in totals.items()}


def print_breakdown(arch: str, parts: dict[str, float], batch: int) -> None:
    step = sum(parts.values())
    print(f"{arch}: one step of {batch} images, parts timed one after the other "
          f"({batch / step * 1000:,.0f} images/s if nothing overlapped):")
    for name, ms in parts.items():
        print(f"  {name:<15} {ms:8.2f} ms  {ms / step:6.1%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="seed003", choices=sorted(KERAS_ARCHS))
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--images", type=int, default=4200, help="Training images per epoch.")
    parser.add_argument("--epochs", type=int, default=2, help="Timed epochs (after 1 warm-up).")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--repeats", type=int, default=2, help="Alternating rounds per side.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--breakdown", type=int, default=0, metavar="STEPS",
                        help="also time STEPS steps part by part (augmentation 'full', as the zoo trains)")
    args = parser.parse_args(argv)

    from edge_fer import reporter
    from edge_fer.data.synthetic import synthetic_dataset
    from edge_fer.preprocess import to_model_input

    reporter.set_quiet(True)
    keep_prob = 0.5
    # The very faces edge_fer.training.train loads for data="synthetic" with this seed and size.
    train_split = synthetic_dataset(args.images, 64, seed=args.seed).train
    x, y = to_model_input(train_split.images), train_split.labels
    breakdown = step_breakdown(args.arch, train_split.images, y, args.batch, args.precision, "full",
                               args.breakdown, args.seed) if args.breakdown else None
    load_start = os.getloadavg()
    ours, theirs = [], []
    with tempfile.TemporaryDirectory(prefix="edge-fer-train-bench-") as scratch:
        for round_number in range(args.repeats):
            rates, params = edge_fer_epochs(args.arch, args.images, 1 + args.epochs, args.batch,
                                            args.lr, keep_prob, Path(scratch) / "run", args.seed, args.precision)
            ours += rates[1:]
            krates, kparams, jit = keras_epochs(args.arch, x, y, 1 + args.epochs, args.batch,
                                                args.lr, keep_prob, args.seed, args.precision)
            theirs += krates[1:]
            print(f"round {round_number + 1}: edge-fer train {', '.join(f'{r:.0f}' for r in rates)}"
                  f" images/s per epoch; keras fit {', '.join(f'{r:.0f}' for r in krates)} "
                  f"(first epoch of each is warm-up)", flush=True)
    load_end = os.getloadavg()
    mine, keras_rate = statistics.median(ours), statistics.median(theirs)
    import tensorflow as tf

    print(f"{args.arch} ({args.precision}): {params:,} parameters (edge-fer) / {kparams:,} (Keras); batch "
          f"{args.batch}, {args.images} images per epoch, TF {tf.__version__}, Keras jit_compile "
          f"{jit}; {os.cpu_count()} CPUs, load average {', '.join(f'{v:.2f}' for v in load_start)}"
          f" at start, {', '.join(f'{v:.2f}' for v in load_end)} at end")
    print(f"edge-fer train: {mine:,.0f} images/s; Keras model.fit: {keras_rate:,.0f} images/s; "
          f"ratio {mine / keras_rate:.2f}x (median of {len(ours)} timed epochs each)")
    if breakdown:
        print_breakdown(args.arch, breakdown, args.batch)
    if params != kparams:
        print(f"warning: parameter counts differ ({params} vs {kparams})", file=sys.stderr)
    if args.json:
        from edge_fer.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps({
            "arch": args.arch, "precision": args.precision, "params": params, "keras_params": kparams,
            "batch": args.batch,
            "images_per_epoch": args.images, "edge_fer_images_per_s": ours,
            "keras_images_per_s": theirs, "edge_fer_median": mine, "keras_median": keras_rate,
            "ratio": mine / keras_rate, "keras_jit_compile": jit, "cpu_count": os.cpu_count(),
            "load_average_start": load_start, "load_average_end": load_end,
            "step_breakdown_ms": breakdown}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
