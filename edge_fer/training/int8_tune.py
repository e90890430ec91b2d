"""Int8-aware export of a frozen graph, so that its int8 TFLite file gives the float model's labels.

Post-training int8 of the distilled edge models gave the float model's top-1 label on 96.85 % of
PublicTest (tiny4); calibration variants moved it by ±0.6 points (scripts/calibration_study.py).
Two steps work on the weights instead:

- epoch 0, what the zoo's recipes use: the frozen kernels (batch norm already folded in, as the
  converter sees them) are rounded onto the grid TFLite's per-channel int8 stores them on, so the
  converter's weight quantization is exact and the float model is the model int8 approximates
  (tiny4: 96.85 % → 97.91 %);
- epochs 1…N, fine-tuning: the folded weights train in two towers over the same variables, the
  float graph and the same graph with TFLite's int8 rounding simulated (per-channel symmetric
  weights, per-tensor activations at the ranges calibration gives, recomputed every epoch), with a
  consistency loss between them and the input model's own outputs as anchor. Measured on tiny4 it
  did not beat rounding alone (docs/models.md: simulated and TFLite's int8 round a value a step
  apart here and there, and the network amplifies that), so it is there for recipes that set epochs;
- clip_percentile: every candidate's int8 tensors are clipped, in the float graph itself, at that
  percentile of their values on the training faces (edge_fer/training/activation_clip.py), so
  int8's per-tensor grids are finer (tiny4: 97.91 % → 98.89 % at 99.9);
- train_clipped (what `fast` uses): clipped first, then the clipped float graph alone is
  fine-tuned toward the input model's logits, with anchor_mirror averaged over each face and its
  mirror image, so the bounded model learns back what the clip cost and part of what test-time
  mirroring adds (fast5: 68.91 % → 69.41 % float, agreement 98.72 %; docs/models.md).

The output is a frozen graph with the input's nodes and names; only weight and bias values change
(and, with clip_percentile, `<tensor>/clip` nodes are added).
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.atomic import atomic_write_bytes, atomic_write_text
from edge_fer.labels import NUM_CLASSES
from edge_fer.preprocess import INPUT_SIZE, to_model_input
from edge_fer.tensors.graphio import INPUT_NAME, LOGITS_NAME, save_graph_def
from edge_fer.training.activation_clip import clip_activations

# Ops whose weight (input 1) TFLite quantizes per output channel, and that channel's axis in the
# TensorFlow kernel: Conv2D [h, w, in, out], depthwise [h, w, in, 1], MatMul [in, out].
WEIGHT_AXIS = {"Conv2D": 3, "DepthwiseConv2dNative": 2, "MatMul": 1}
# Op outputs TFLite keeps as int8 tensors at their own calibrated range, unless every consumer
# fuses the op into itself.
QUANTIZED_OPS = {"Placeholder", "Conv2D", "DepthwiseConv2dNative", "MatMul", "BiasAdd", "AddV2", "Add",
                 "Relu", "Relu6", "Mean"}
# Ops whose int8 output TFLite requantizes to its input's scale: the average of a 3×3 map is
# rounded at the coarser step of the map itself (measured: 0.0135 for tiny4's AvgPool2D against
# 0.0060 for its own range). MaxPool's output is on its input's grid already.
INPUT_RANGE_OPS = {"AvgPool"}
PASS_THROUGH_OPS = {"MaxPool", "Reshape", "Identity", "AvgPool"}
FUSES = {"Conv2D": {"BiasAdd"}, "DepthwiseConv2dNative": {"BiasAdd"}, "MatMul": {"BiasAdd"},
         "BiasAdd": {"Relu", "Relu6"}, "AddV2": {"Relu", "Relu6"}, "Add": {"Relu", "Relu6"}}
INT8_SUFFIX = "/int8"


@dataclass
class Int8TuneConfig:
    epochs: int = 4
    lr: float = 1e-4               # Adam, cosine to zero over the epochs
    batch_size: int = 64
    consistency: float = 1.0       # weight of KL(float softmax ‖ int8 softmax)
    anchor: float = 1.0            # weight of KL(input model's softmax ‖ each tower's): stay the model it was
    task: float = 0.0              # weight of the training loss (labels and teacher) on each tower
    augment: str = "full"
    label_smoothing: float = 0.1
    distill_alpha: float = 0.7     # as the model's recipe: weight of the teacher's soft targets
    distill_temperature: float = 4.0
    seed: int = 0
    dither: bool = True            # shift each tensor's rounding grid at random every step
    clip_percentile: float = 0.0   # clip each int8 tensor at this percentile of its values (0: not)
    # clip first, then fine-tune the clipped float graph alone (bounds fixed; each epoch's TFLite
    # int8 file is scored, not simulated), so the float model learns its bounded activations
    train_clipped: bool = False
    # the anchor averages the logits of each face and its mirror image (the input model with
    # test-time mirroring), so the tuned model learns what mirroring adds at no cost in FLOPs
    anchor_mirror: bool = False
    # which epoch is kept: "agreement" (highest, then float accuracy), or "accuracy" (highest
    # float accuracy of the epochs whose agreement reaches min_agreement; else highest agreement)
    choose: str = "agreement"
    min_agreement: float = 0.98

    def __post_init__(self):
        if self.choose not in ("agreement", "accuracy"):
            raise ValueError(f"choose must be 'agreement' or 'accuracy', not {self.choose!r}")
        if self.train_clipped and not 0 < self.clip_percentile < 100:
            raise ValueError("train_clipped needs a clip_percentile between 0 and 100")


def _nodes(graph_def) -> dict:
    return {node.name: node for node in graph_def.node}


def _source(name: str) -> str:
    return name.split(":")[0].lstrip("^")


def weight_nodes(graph_def) -> dict[str, int]:
    """Const nodes that are per-channel-quantized kernels: {name: channel axis}."""
    nodes = _nodes(graph_def)
    kernels = {}
    for node in graph_def.node:
        if node.op in WEIGHT_AXIS and len(node.input) > 1:
            const = nodes.get(_source(node.input[1]))
            if const is not None and const.op == "Const":
                kernels[const.name] = WEIGHT_AXIS[node.op]
    return kernels


def bias_nodes(graph_def) -> list[str]:
    nodes = _nodes(graph_def)
    return sorted({_source(n.input[1]) for n in graph_def.node if n.op == "BiasAdd"
                   and nodes.get(_source(n.input[1])) is not None
                   and nodes[_source(n.input[1])].op == "Const"})


def quantized_tensors(graph_def) -> list[str]:
    """Nodes whose output the int8 model stores as an int8 tensor (TFLite's fusions left out)."""
    consumers: dict[str, list] = {}
    for node in graph_def.node:
        for name in node.input:
            consumers.setdefault(_source(name), []).append(node)
    chosen = []
    for node in graph_def.node:
        if node.op not in QUANTIZED_OPS or node.name not in consumers:
            continue
        fused_by = FUSES.get(node.op, set())
        if fused_by and all(c.op in fused_by for c in consumers[node.name]):
            continue
        chosen.append(node.name)
    return chosen


def inherited_ranges(graph_def, tensors: list[str]) -> dict[str, str]:
    """{op output: the quantized tensor whose range it is rounded at} for INPUT_RANGE_OPS, found
    by walking back through ops that keep their input's quantization."""
    nodes = _nodes(graph_def)
    calibrated = set(tensors)
    inherited = {}
    for node in graph_def.node:
        if node.op not in INPUT_RANGE_OPS or not node.input:
            continue
        source = nodes.get(_source(node.input[0]))
        while source is not None and source.name not in calibrated and source.op in PASS_THROUGH_OPS:
            source = nodes.get(_source(source.input[0]))
        if source is not None and source.name in calibrated:
            inherited[node.name] = source.name
    return inherited


def round_to_int8_grid(kernel: np.ndarray, axis: int) -> np.ndarray:
    """The kernel as TFLite's per-channel symmetric int8 stores it (scale max|w| / 127 per
    channel), back in float: quantizing it again gives the same integers exactly."""
    reduce = tuple(i for i in range(kernel.ndim) if i != axis)
    peak = np.abs(kernel.astype(np.float64)).max(axis=reduce, keepdims=True)
    scale = np.where(peak > 0, peak / 127.0, 1.0)
    return (np.round(kernel / scale) * scale).astype(np.float32)


def const_values(graph_def, names) -> dict[str, np.ndarray]:
    from tensorflow.python.framework import tensor_util

    nodes = _nodes(graph_def)
    return {name: tensor_util.MakeNdarray(nodes[name].attr["value"].tensor) for name in names}


def with_values(graph_def, values: dict[str, np.ndarray], snap: bool = True):
    """A copy of graph_def with these Const values; kernels rounded onto their int8 grid."""
    from tensorflow.python.framework import tensor_util

    out = type(graph_def).FromString(graph_def.SerializeToString())
    axes = weight_nodes(out)
    for node in out.node:
        if node.name in values:
            value = values[node.name].astype(np.float32)
            if snap and node.name in axes:
                value = round_to_int8_grid(value, axes[node.name])
            node.attr["value"].tensor.CopyFrom(tensor_util.make_tensor_proto(value))
    return out


def snap_weights(graph_def):
    """graph_def with every per-channel-quantized kernel rounded onto its int8 grid."""
    return with_values(graph_def, const_values(graph_def, weight_nodes(graph_def)))


def _with_fake_quant(graph_def, tensors: list[str]):
    """A copy of graph_def where each of `tensors` is rounded as int8: shifted, passed through
    FakeQuantWithMinMaxVars and shifted back. Its min, max and shift are Const nodes
    `<name>/int8/min|max|shift`, replaced on import (by range variables, and by a random shift
    of up to half a step when dithering)."""
    from tensorflow.core.framework import attr_value_pb2, node_def_pb2
    from tensorflow.python.framework import tensor_util

    out = type(graph_def).FromString(graph_def.SerializeToString())
    wrapped = {reference for name in tensors for reference in (name, f"{name}:0")}  # first outputs
    for node in out.node:
        node.input[:] = [_source(name) + INT8_SUFFIX if name in wrapped else name for name in node.input]
    for name in tensors:
        prefix = name + INT8_SUFFIX
        for end in ("min", "max", "shift"):
            const = node_def_pb2.NodeDef(name=f"{prefix}/{end}", op="Const")
            const.attr["dtype"].type = 1  # DT_FLOAT
            const.attr["value"].tensor.CopyFrom(tensor_util.make_tensor_proto(np.float32(0)))
            out.node.append(const)
        nodes = [node_def_pb2.NodeDef(name=f"{prefix}/shifted", op="AddV2", input=[name, f"{prefix}/shift"]),
                 node_def_pb2.NodeDef(name=f"{prefix}/rounded", op="FakeQuantWithMinMaxVars",
                                      input=[f"{prefix}/shifted", f"{prefix}/min", f"{prefix}/max"]),
                 node_def_pb2.NodeDef(name=prefix, op="Sub", input=[f"{prefix}/rounded", f"{prefix}/shift"])]
        nodes[1].attr["num_bits"].CopyFrom(attr_value_pb2.AttrValue(i=8))
        nodes[1].attr["narrow_range"].CopyFrom(attr_value_pb2.AttrValue(b=False))
        for node in (nodes[0], nodes[2]):
            node.attr["T"].type = 1
        out.node.extend(nodes)
    return out


def _fake_quant_kernel(tf, kernel, axis: int):
    """Per-channel symmetric int8 (narrow range, as TFLite's weights), straight-through gradient."""
    rank = len(kernel.shape)
    order = [i for i in range(rank) if i != axis] + [axis]
    moved = tf.transpose(kernel, order) if axis != rank - 1 else kernel
    peak = tf.stop_gradient(tf.reduce_max(tf.abs(moved), axis=list(range(rank - 1))))
    peak = tf.maximum(peak, 1e-8)
    quantized = tf.quantization.fake_quant_with_min_max_vars_per_channel(
        moved, -peak, peak, num_bits=8, narrow_range=True)
    if axis == rank - 1:
        return quantized
    return tf.transpose(quantized, np.argsort(order).tolist())


def _shift(tf, low, high, dither):
    """Up to half an int8 step (of the range low..high) either way, drawn per step when
    `dither` is on, else 0: training against every placement of the rounding grid, not only
    the one this calibration gives, so what it learns holds for the converter's own ranges."""
    step = (high - low) / 255.0
    return tf.where(dither, tf.random.uniform([], -0.5, 0.5) * step, 0.0)


def _ce_and_distill(tf, logits, labels, soft, config: Int8TuneConfig):
    from edge_fer.training.distill import distillation_loss

    onehot = tf.one_hot(labels, NUM_CLASSES)
    loss = tf.compat.v1.losses.softmax_cross_entropy(onehot, logits, label_smoothing=config.label_smoothing)
    if soft is None:
        return loss
    return (1 - config.distill_alpha) * loss + config.distill_alpha * \
        distillation_loss(logits, soft, config.distill_temperature)


def _kl(tf, reference_logits, logits):
    """KL(softmax(reference) ‖ softmax(logits)), batch mean."""
    return tf.reduce_mean(tf.reduce_sum(tf.nn.softmax(reference_logits) * (
        tf.nn.log_softmax(reference_logits) - tf.nn.log_softmax(logits)), axis=1))


def build_tune_graph(graph_def, config: Int8TuneConfig, with_teacher: bool, anchor_def=None):
    """Both towers over one set of variables; returns (graph, handles). The anchor is graph_def
    as it came in, or `anchor_def` (train_clipped: the graph before its clips)."""
    import tensorflow as tf

    from edge_fer.tensors.graphio import dynamic_batch_graph

    def batched(graph_def):
        batch = int(_nodes(graph_def)[INPUT_NAME].attr["shape"].shape.dim[0].size)
        return dynamic_batch_graph(graph_def, batch)[0] if batch > 0 else graph_def

    graph_def = batched(graph_def)
    anchor_def = batched(anchor_def) if anchor_def is not None else graph_def
    kernels = weight_nodes(graph_def)
    biases = bias_nodes(graph_def)
    tensors = quantized_tensors(graph_def)
    inherited = inherited_ranges(graph_def, tensors)
    initial = const_values(graph_def, [*kernels, *biases])
    quant_def = _with_fake_quant(graph_def, [*tensors, *inherited])
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(config.seed)
        x = tf.compat.v1.placeholder(tf.float32, [None, INPUT_SIZE, INPUT_SIZE, 1], name="x")
        labels = tf.compat.v1.placeholder(tf.int64, [None], name="labels")
        soft = tf.compat.v1.placeholder(tf.float32, [None, NUM_CLASSES], name="teacher") \
            if with_teacher else None
        lr = tf.compat.v1.placeholder(tf.float32, [], name="lr")
        variables = {name: tf.compat.v1.get_variable(name.replace(":", "_") + "_var",
                                                     initializer=value.astype(np.float32))
                     for name, value in initial.items()}
        ranges = {name: (tf.compat.v1.get_variable(f"{name}_min", initializer=np.float32(0), trainable=False),
                         tf.compat.v1.get_variable(f"{name}_max", initializer=np.float32(0), trainable=False))
                  for name in tensors}
        float_map = {f"{INPUT_NAME}:0": x, **{f"{n}:0": v for n, v in variables.items()}}
        float_logits, *float_tensors = tf.import_graph_def(
            graph_def, input_map=float_map, name="float",
            return_elements=[f"{LOGITS_NAME}:0", *(f"{n}:0" for n in tensors)])
        dither = tf.compat.v1.placeholder_with_default(False, [], name="dither")
        quant_map = {f"{INPUT_NAME}:0": x,
                     **{f"{n}:0": _fake_quant_kernel(tf, v, kernels[n]) if n in kernels else v
                        for n, v in variables.items()},
                     **{f"{n}{INT8_SUFFIX}/{end}:0": r for n, pair in ranges.items()
                        for end, r in zip(("min", "max"), pair)},
                     **{f"{n}{INT8_SUFFIX}/{end}:0": r for n, source in inherited.items()
                        for end, r in zip(("min", "max"), ranges[source])},
                     **{f"{n}{INT8_SUFFIX}/shift:0": _shift(tf, *ranges[inherited.get(n, n)], dither)
                        for n in [*tensors, *inherited]}}
        [quant_logits] = [float_logits] if config.train_clipped else tf.import_graph_def(
            quant_def, input_map=quant_map, name="int8", return_elements=[f"{LOGITS_NAME}:0"])
        views = [x, tf.reverse(x, axis=[2])] if config.anchor_mirror else [x]
        input_logits = tf.add_n([tf.import_graph_def(anchor_def, input_map={f"{INPUT_NAME}:0": view},
                                                     name="input", return_elements=[f"{LOGITS_NAME}:0"])[0]
                                 for view in views]) / len(views)
        input_logits = tf.stop_gradient(input_logits)
        agree = _kl(tf, float_logits, quant_logits)
        loss = config.consistency * agree
        if config.anchor:
            loss += config.anchor * (_kl(tf, input_logits, float_logits) + _kl(tf, input_logits, quant_logits))
        if config.task:
            towers = [float_logits] if config.train_clipped else [float_logits, quant_logits]
            loss += config.task * tf.add_n([_ce_and_distill(tf, logits, labels, soft, config) for logits in towers])
        train_op = tf.compat.v1.train.AdamOptimizer(lr).minimize(loss, var_list=list(variables.values()))
        same = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(float_logits, 1), tf.argmax(quant_logits, 1)),
                                      tf.float32))
        range_in = {name: (tf.compat.v1.placeholder(tf.float32, []), tf.compat.v1.placeholder(tf.float32, []))
                    for name in tensors}
        set_ranges = tf.group(*[r.assign(p) for name in tensors
                                for r, p in zip(ranges[name], range_in[name])])
        init = tf.compat.v1.global_variables_initializer()
    handles = {"x": x, "dither": dither, "labels": labels, "soft": soft, "lr": lr, "loss": loss, "agree_kl": agree,
               "same": same, "train_op": train_op, "init": init, "variables": variables,
               "float_tensors": dict(zip(tensors, float_tensors)), "range_in": range_in,
               "set_ranges": set_ranges, "float_logits": float_logits, "quant_logits": quant_logits,
               "anchor_logits": input_logits}
    return graph, handles


def calibrate_ranges(sess, handles, calibration: np.ndarray, batch: int = 100) -> None:
    """Each simulated int8 tensor's range: min and max over the calibration faces (as the
    converter's calibration takes them, with the current weights)."""
    names = list(handles["float_tensors"])
    low = {n: math.inf for n in names}
    high = {n: -math.inf for n in names}
    for start in range(0, len(calibration), batch):
        values = sess.run([handles["float_tensors"][n] for n in names],
                          {handles["x"]: to_model_input(calibration[start:start + batch])})
        for name, value in zip(names, values):
            low[name] = min(low[name], float(value.min()))
            high[name] = max(high[name], float(value.max()))
    feed = {}
    for name in names:
        lo, hi = min(low[name], 0.0), max(high[name], 0.0)
        if hi - lo < 1e-6:
            hi = lo + 1e-6
        feed[handles["range_in"][name][0]] = lo
        feed[handles["range_in"][name][1]] = hi
    sess.run(handles["set_ranges"], feed)


def fine_tune_for_int8(model: Path, work: Path, images: np.ndarray, labels: np.ndarray,
                       soft_targets: np.ndarray | None, calibration: np.ndarray,
                       score: Callable[[Path], dict], config: Int8TuneConfig) -> dict:
    """Fine-tune `model` (a frozen graph) for int8 and keep the epoch `score` ranks first.

    `score(frozen graph) -> {"agreement", "accuracy", ...}` measures a candidate (the caller
    converts it to int8 and scores both on its validation split); the one with the highest
    agreement (then accuracy) is kept. Epoch 0 is the input with its kernels rounded onto the
    int8 grid; with config.clip_percentile every candidate's activations are clipped before it is
    scored. Writes work/model.pb (the chosen graph) and work/tune.json (settings, the input's
    sha256, every epoch's scores, the chosen one's clip bounds); a re-run with the same input and settings reads them and
    trains nothing. Returns tune.json's record."""
    from edge_fer.files import sha256_file

    work.mkdir(parents=True, exist_ok=True)
    record_path = work / "tune.json"
    settings = {**asdict(config), "input_sha256": sha256_file(model), "images": len(labels)}
    if record_path.is_file() and (work / "model.pb").is_file():
        record = json.loads(record_path.read_text())
        if record.get("settings") == settings:
            reporter.info(f"int8 fine-tuning read from {record_path} (epoch {record['chosen']} chosen)")
            return record
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="edge-fer-int8-tune-") as scratch:
        history = []
        bounds = {}
        for epoch, graph_def in _tuned_graphs(model, images, labels, soft_targets, calibration, config, bounds):
            if config.clip_percentile and not config.train_clipped:
                graph_def, bounds[epoch] = clip_activations(graph_def, images, config.clip_percentile,
                                                            quantized_tensors(graph_def))
            path = save_graph_def(graph_def, Path(scratch) / f"epoch{epoch}.pb")
            history.append({"epoch": epoch, **score(path)})
            reporter.info(f"int8 fine-tuning epoch {epoch}: int8 gives float's label on "
                          f"{history[-1]['agreement']:.2%}; float {history[-1]['accuracy']:.2%}")
        best = max(history, key=lambda row: _rank(row, config))
        atomic_write_bytes(work / "model.pb", (Path(scratch) / f"epoch{best['epoch']}.pb").read_bytes())
    record = {"settings": settings, "history": history, "chosen": best["epoch"],
              "seconds": round(time.perf_counter() - started, 1)}
    if best["epoch"] in bounds:
        record["clip_bounds"] = {name: [round(low, 6), round(high, 6)]
                                 for name, (low, high) in bounds[best["epoch"]].items()}
    atomic_write_text(record_path, json.dumps(record, indent=2) + "\n")
    return record


def _rank(row: dict, config: Int8TuneConfig) -> tuple:
    if config.choose == "accuracy":
        agrees = row["agreement"] >= config.min_agreement
        return (agrees, row["accuracy"] if agrees else row["agreement"])
    return (row["agreement"], row["accuracy"])


def _tuned_graphs(model: Path, images: np.ndarray, labels: np.ndarray, soft_targets: np.ndarray | None,
                  calibration: np.ndarray, config: Int8TuneConfig, bounds: dict):
    """Yields (epoch, frozen graph): 0 for the input with its kernels on the int8 grid, then one
    per epoch of fine-tuning. With config.train_clipped the input is clipped first (its bounds
    go into `bounds` under every epoch) and each graph keeps those clips."""
    import tensorflow as tf

    from edge_fer.tensors.graphio import load_graph_def
    from edge_fer.training.augment import augment_batch
    from edge_fer.training.train import session_config

    source = anchor = load_graph_def(model)
    if config.train_clipped:
        source, clip = clip_activations(anchor, images, config.clip_percentile, quantized_tensors(anchor))
        bounds.update({epoch: clip for epoch in range(config.epochs + 1)})
    yield 0, snap_weights(source)
    if config.epochs < 1:
        return
    graph, t = build_tune_graph(source, config, soft_targets is not None and config.task > 0, anchor)
    steps_per_epoch = int(np.ceil(len(labels) / config.batch_size))
    total = steps_per_epoch * config.epochs
    step = 0
    with tf.compat.v1.Session(graph=graph, config=session_config("fp32")) as sess:
        sess.run(t["init"])
        for epoch in range(1, config.epochs + 1):
            if not config.train_clipped:  # no simulated int8 tower to calibrate
                calibrate_ranges(sess, t, calibration)
            rng = np.random.default_rng([config.seed, epoch, 8])
            order = rng.permutation(len(labels))
            same = seen = total_loss = 0.0
            with reporter.make_progress() as bar:
                task = bar.add_task(f"int8 fine-tuning {epoch}/{config.epochs}", total=steps_per_epoch,
                                    status="")
                for first in range(0, len(order), config.batch_size):
                    chosen = order[first:first + config.batch_size]
                    lr = config.lr * 0.5 * (1 + math.cos(math.pi * step / total))
                    feed = {t["x"]: to_model_input(augment_batch(images[chosen], rng, config.augment)),
                            t["labels"]: labels[chosen], t["lr"]: lr, t["dither"]: config.dither}
                    if t["soft"] is not None:
                        feed[t["soft"]] = soft_targets[chosen]
                    _, agreed, loss = sess.run([t["train_op"], t["same"], t["loss"]], feed)
                    step += 1
                    same += float(agreed) * len(chosen)
                    total_loss += float(loss) * len(chosen)
                    seen += len(chosen)
                    # train_clipped has no int8 tower: its agreement is TFLite's, scored per epoch
                    bar.update(task, advance=1, status=f"loss {total_loss / seen:.4f}" if config.train_clipped
                               else f"float = int8 {same / seen:.3f}")
            values = dict(zip(t["variables"], sess.run(list(t["variables"].values()))))
            yield epoch, with_values(source, values)
