"""Freeze a training run into an inference-only `.pb` (CONVENTIONS: the model's tensors).

The architecture is rebuilt for export from the checkpoint's values (batch norm folded, no
dropout, fixed batch), then checked against the checkpoint's own inference path on random
inputs, so the frozen graph provably computes what was trained.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from edge_fer.atomic import settle
from edge_fer.errors import EdgeFerError, failure_reason
from edge_fer.files import require_regular
from edge_fer.finite import require_finite
from edge_fer.labels import NUM_CLASSES, write_labels
from edge_fer.preprocess import INPUT_SIZE
from edge_fer.tensors.graphio import (
    INPUT_NAME,
    LOGITS_NAME,
    OUTPUT_NAME,
    check_snpe_ops,
    save_graph_def,
)
from edge_fer.training.model import Layers, get_architecture
from edge_fer.training.train import BEST_CKPT, CONFIG_NAME, LAST_CKPT, session_config

FREEZE_TOLERANCE = 1e-4


def find_checkpoint(run: Path, which: str = "best") -> Path:
    prefix = run / (BEST_CKPT if which == "best" else LAST_CKPT)
    settle(prefix)  # a checkpoint folder a killed training left between two renames
    if not Path(f"{prefix}.index").is_file():
        raise EdgeFerError(f"{run}: no {which} checkpoint ({prefix}.index); train first with edge-fer train --out {run}")
    return prefix


def read_run_config(run: Path) -> dict:
    path = run / CONFIG_NAME
    require_regular(path, "a run's configuration")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise EdgeFerError(f"{path}: cannot read the run's configuration ({failure_reason(exc)})") from None


def checkpoint_values(prefix: Path) -> dict[str, np.ndarray]:
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(str(prefix))
        values = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
    except (tf.errors.OpError, ValueError, IndexError) as exc:  # IndexError: a short .data file
        raise EdgeFerError(f"{prefix}: cannot read the checkpoint, truncated or corrupt "
                           f"({failure_reason(exc)})") from None
    for name, value in values.items():  # a NaN weight makes every output NaN: name it here
        if np.issubdtype(np.asarray(value).dtype, np.floating):
            require_finite(value, str(prefix), f"checkpoint variable {name}")
    return values


def mirrored(x, batch: int | None):
    """Horizontal flip as Reshape → MatMul by the anti-identity → Reshape: ops SNPE takes."""
    import tensorflow as tf

    flip = tf.constant(np.eye(INPUT_SIZE, dtype=np.float32)[::-1].copy(), name="flip/J")
    rows = tf.reshape(x, [-1, INPUT_SIZE])
    shape = [batch if batch is not None else -1, INPUT_SIZE, INPUT_SIZE, 1]
    return tf.reshape(tf.linalg.matmul(rows, flip), shape, name="flip/x")


def export_graph_def(arch_name: str | list[str], weights: dict[str, np.ndarray] | list[dict[str, np.ndarray]],
                     batch: int | None = 1, tta_flip: bool = False):
    """Inference graph x [batch,48,48,1] → logits → output with weights as constants.

    Several members (lists of architectures and weights, one per training run) make an ensemble:
    each network sits under its own name scope `m<i>/` and `output` is the mean of their softmaxes.
    tta_flip: every network also runs on the mirror image of x (sharing its weights) and its
    softmax joins the mean — test-time augmentation inside the graph, so every runtime and device
    gets it without extra code.
    """
    import tensorflow as tf

    arch_names = [arch_name] if isinstance(arch_name, str) else list(arch_name)
    member_weights = [weights] if isinstance(weights, dict) else list(weights)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [batch, INPUT_SIZE, INPUT_SIZE, 1], name=INPUT_NAME)
        views = [x, mirrored(x, batch)] if tta_flip else [x]
        logits = []
        for i, (name, values) in enumerate(zip(arch_names, member_weights, strict=True)):
            arch, layers = get_architecture(name), Layers(weights=values)
            with tf.compat.v1.name_scope(f"m{i}" if len(arch_names) > 1 else None):
                logits += [arch.build(layers, view) for view in views]
        if len(logits) == 1:
            tf.nn.softmax(tf.identity(logits[0], name=LOGITS_NAME), name=OUTPUT_NAME)
        else:
            # chained AddV2 and one Mul: ops every converter takes (AddN is not on SNPE's list)
            scale = np.float32(1 / len(logits))
            tf.multiply(_sum(logits), scale, name=LOGITS_NAME)
            tf.multiply(_sum([tf.nn.softmax(z) for z in logits]), scale, name=OUTPUT_NAME)
    graph_def = graph.as_graph_def()
    for node in graph_def.node:
        node.device = ""
    return graph_def


def _sum(tensors: list):
    import tensorflow as tf

    total = tensors[0]
    for tensor in tensors[1:]:
        total = tf.add(total, tensor)
    return total


def reference_outputs(prefix: Path, inputs: np.ndarray) -> np.ndarray:
    """Softmax of the checkpoint's own training graph on its inference path."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph, config=session_config()) as sess:
        saver = tf.compat.v1.train.import_meta_graph(f"{prefix}.meta", clear_devices=True)
        saver.restore(sess, str(prefix))
        return sess.run(f"{OUTPUT_NAME}:0", {f"{INPUT_NAME}:0": inputs})


def frozen_outputs(graph_def, inputs: np.ndarray, input_name: str = INPUT_NAME,
                   output_name: str = OUTPUT_NAME) -> np.ndarray:
    """The graph's output for `inputs`, fed in pieces of its fixed batch (all at once when free)."""
    import tensorflow as tf

    from edge_fer.tensors.graphio import import_graph

    feed, fetch = f"{input_name}:0", f"{output_name}:0"
    with tf.compat.v1.Session(graph=import_graph(graph_def), config=session_config()) as sess:
        shape = sess.graph.get_tensor_by_name(feed).shape
        batch = shape[0] if shape.rank else None
        if batch is None:
            return sess.run(fetch, {feed: inputs})
        return np.concatenate([sess.run(fetch, {feed: inputs[i:i + batch]})
                               for i in range(0, len(inputs), batch)])


def freeze_run(run: str | Path | list, out: str | Path, which: str = "best", batch: int | None = 1,
               checks: int = 8, tta_flip: bool = False) -> dict:
    """Freeze a run's checkpoint (or several runs' as one ensemble) to `out`; returns a summary
    (ops, max |Δp| against the mean of the checkpoints' own inference paths)."""
    from edge_fer.tensors.graphio import op_histogram

    runs = [Path(r) for r in (run if isinstance(run, (list, tuple)) else [run])]
    out = Path(out)
    archs, prefixes, member_weights = [], [], []
    for member in runs:
        archs.append(read_run_config(member)["arch"])
        prefixes.append(find_checkpoint(member, which))
        member_weights.append(checkpoint_values(prefixes[-1]))
    try:
        graph_def = export_graph_def(archs, member_weights, batch, tta_flip)
    except KeyError as exc:
        raise EdgeFerError(f"{', '.join(map(str, prefixes))}: checkpoint lacks tensor {exc} "
                           f"needed by {'+'.join(archs)}") from None
    check_snpe_ops(graph_def, out)
    inputs = np.random.default_rng(0).random((checks, INPUT_SIZE, INPUT_SIZE, 1), dtype=np.float32)
    views = np.concatenate([inputs, inputs[:, :, ::-1]]) if tta_flip else inputs
    # one restore per checkpoint, every view in one batch; the mean over checkpoints and views
    reference = np.mean([reference_outputs(prefix, views).reshape(-1, checks, NUM_CLASSES)
                         for prefix in prefixes], axis=(0, 1))
    require_finite(reference, ", ".join(map(str, prefixes)), "checkpoint output on the check inputs")
    frozen = frozen_outputs(graph_def, inputs)
    require_finite(frozen, str(out), "frozen graph output on the check inputs; not written")
    delta = float(np.abs(reference - frozen).max())
    if not delta <= FREEZE_TOLERANCE:
        raise EdgeFerError(f"{out}: frozen graph differs from checkpoint {', '.join(map(str, prefixes))} "
                           f"by {delta:.2e} (> {FREEZE_TOLERANCE}); not written")
    save_graph_def(graph_def, out)
    write_labels(out.parent / "labels.txt")
    return {"path": str(out), "arch": "+".join(archs), "checkpoint": ", ".join(map(str, prefixes)),
            "members": len(runs), "batch": batch, "tta_flip": tta_flip,
            "bytes": out.stat().st_size, "ops": dict(op_histogram(graph_def)),
            "max_abs_diff_vs_checkpoint": delta}
