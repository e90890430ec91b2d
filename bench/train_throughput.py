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

    python bench/train_throughput.py [--arch seed003|resxs] [--precision fp32|bf16] [--images 4200]
                                     [--epochs 2] [--repeats 2]
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


KERAS_ARCHS = {"seed003": keras_seed003, "resxs": keras_resxs}


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
    args = parser.parse_args(argv)

    from edge_fer import reporter
    from edge_fer.data.synthetic import synthetic_dataset
    from edge_fer.preprocess import to_model_input

    reporter.set_quiet(True)
    keep_prob = 0.5
    # The very faces edge_fer.training.train loads for data="synthetic" with this seed and size.
    train_split = synthetic_dataset(args.images, 64, seed=args.seed).train
    x, y = to_model_input(train_split.images), train_split.labels
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
            "load_average_start": load_start, "load_average_end": load_end}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
