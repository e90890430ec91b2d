"""TF1-style graph CNNs (tf.nn ops + tf.compat.v1.get_variable) and their registry.

Each architecture is one function `arch(layers, x) -> logits` written against `Layers`, which builds
the same network in two ways:
- for training: variables, batch statistics, dropout, update ops for batch-norm moving averages;
- for export: constants read from a checkpoint, batch norm folded into the preceding conv/dense,
  no dropout — so the frozen graph holds only ops SNPE's TensorFlow converter takes.
Writing the network once keeps the trained and the exported model the same model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

BN_EPSILON = 1e-3
BN_MOMENTUM = 0.99


class Layers:
    """Layer vocabulary of the architectures. `weights=None` builds on variables: the training tower
    (`is_training=True`: batch statistics, dropout) or the inference tower over the same variables
    (moving averages); with `weights` it builds the export graph from constants."""

    def __init__(self, weights: dict[str, np.ndarray] | None = None, is_training: bool = False,
                 keep_prob=None):
        import tensorflow as tf

        self.tf = tf
        self.weights = weights
        self.is_training = is_training
        self.keep_prob = keep_prob
        self.regularised: list = []  # kernels that take weight decay
        self.batch_norms: dict = {}  # training tower: per layer, its batch statistics and moving averages
        self._constants: dict = {}   # export: one Const per weight, shared by repeated towers

    @property
    def exporting(self) -> bool:
        return self.weights is not None

    def _const(self, name: str, value: np.ndarray):
        if name not in self._constants:
            self._constants[name] = self.tf.constant(value, name=name)
        return self._constants[name]

    # parameters -----------------------------------------------------------------------------
    def _param(self, name: str, shape, init: str, regularise: bool = False):
        tf = self.tf
        if self.exporting:
            value = self.weights[name]
            if tuple(value.shape) != tuple(shape):
                raise ValueError(f"checkpoint tensor {name} has shape {value.shape}, expected {shape}")
            return value
        initializers = {
            "he": tf.compat.v1.initializers.variance_scaling(2.0, "fan_in", "truncated_normal"),
            "glorot": tf.compat.v1.initializers.glorot_uniform(),
            "zeros": tf.compat.v1.initializers.zeros(),
            "ones": tf.compat.v1.initializers.ones(),
        }
        var = tf.compat.v1.get_variable(name, shape, tf.float32, initializers[init])
        if regularise:
            self.regularised.append(var)
        return var

    def _bn_params(self, name: str, channels: int):
        tf = self.tf
        gamma = self._param(f"{name}/bn/gamma", [channels], "ones")
        beta = self._param(f"{name}/bn/beta", [channels], "zeros")
        if self.exporting:
            return gamma, beta, self.weights[f"{name}/bn/moving_mean"], self.weights[f"{name}/bn/moving_variance"]
        mean = tf.compat.v1.get_variable(f"{name}/bn/moving_mean", [channels], tf.float32,
                                         tf.compat.v1.initializers.zeros(), trainable=False)
        var = tf.compat.v1.get_variable(f"{name}/bn/moving_variance", [channels], tf.float32,
                                        tf.compat.v1.initializers.ones(), trainable=False)
        return gamma, beta, mean, var

    def _batch_norm(self, h, name: str, axes: list[int]):
        """Training-time batch norm: batch statistics in the training tower (which also updates
        the moving averages), moving averages in the evaluation tower. Conv maps use the fused
        kernel, which oneDNN fuses with the convolution (about 2× faster than tf.nn.moments)."""
        tf = self.tf
        channels = int(h.shape[-1])
        gamma, beta, moving_mean, moving_var = self._bn_params(name, channels)
        if not self.is_training:
            if axes == [0, 1, 2]:
                return tf.compat.v1.nn.fused_batch_norm(h, gamma, beta, moving_mean, moving_var,
                                                        epsilon=BN_EPSILON, is_training=False)[0]
            return tf.nn.batch_normalization(h, moving_mean, moving_var, beta, gamma, BN_EPSILON)
        if axes == [0, 1, 2]:
            h, batch_mean, batch_var = tf.compat.v1.nn.fused_batch_norm(h, gamma, beta, epsilon=BN_EPSILON,
                                                                        is_training=True)
        else:
            batch_mean, batch_var = tf.nn.moments(h, axes=axes)
            h = tf.nn.batch_normalization(h, batch_mean, batch_var, beta, gamma, BN_EPSILON)
        self.batch_norms[name] = {"batch_mean": batch_mean, "batch_variance": batch_var,
                                  "moving_mean": moving_mean, "moving_variance": moving_var}
        for moving, batch in ((moving_mean, batch_mean), (moving_var, batch_var)):
            tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.UPDATE_OPS, tf.compat.v1.assign(
                moving, moving * BN_MOMENTUM + batch * (1 - BN_MOMENTUM)))
        return h

    def _kernel_and_bias(self, name: str, kernel_name: str, shape: list[int], init: str, bn: bool):
        """The layer's last kernel and its bias. Training: variables (no bias under batch norm,
        whose beta takes its place). Export: constants with batch norm folded in — the kernel
        scaled along its output axis, the bias shifted — so BN leaves no op in the graph."""
        kernel = self._param(f"{name}/{kernel_name}", shape, init, regularise=True)
        bias = None if bn else self._param(f"{name}/b", [shape[-1]], "zeros")
        if not self.exporting:
            return kernel, bias
        if bn:
            gamma, beta, mean, var = self._bn_params(name, shape[-1])
            scale = gamma / np.sqrt(var + BN_EPSILON)
            kernel = (kernel * scale).astype(np.float32)
            bias = (beta - mean * scale).astype(np.float32)
        return self._const(f"{name}/{kernel_name}", kernel), bias

    def _finish(self, h, name: str, bias, bn: bool, relu: bool, axes: list[int]):
        tf = self.tf
        if self.exporting:
            h = tf.nn.bias_add(h, self._const(f"{name}/b", bias), name=f"{name}/BiasAdd")
        elif bn:
            h = self._batch_norm(h, name, axes)
        else:
            h = tf.nn.bias_add(h, bias)
        return tf.nn.relu(h, name=f"{name}/Relu") if relu else h

    # layers ---------------------------------------------------------------------------------
    def conv(self, h, name: str, size: int, filters: int, stride: int = 1, bn: bool = False,
             relu: bool = True):
        tf = self.tf
        shape = [size, size, int(h.shape[-1]), filters]
        kernel, bias = self._kernel_and_bias(name, "w", shape, "he", bn)
        h = tf.nn.conv2d(h, kernel, [1, stride, stride, 1], "SAME", name=f"{name}/Conv2D")
        return self._finish(h, name, bias, bn, relu, [0, 1, 2])

    def separable(self, h, name: str, filters: int, size: int = 3, bn: bool = True, relu: bool = True):
        """Depthwise size×size then pointwise 1×1; batch norm folds into the pointwise conv."""
        tf = self.tf
        channels = int(h.shape[-1])
        depthwise = self._param(f"{name}/dw", [size, size, channels, 1], "he", regularise=True)
        if self.exporting:
            depthwise = self._const(f"{name}/dw", depthwise)
        pointwise, bias = self._kernel_and_bias(name, "pw", [1, 1, channels, filters], "he", bn)
        h = tf.nn.depthwise_conv2d(h, depthwise, [1, 1, 1, 1], "SAME", name=f"{name}/depthwise")
        h = tf.nn.conv2d(h, pointwise, [1, 1, 1, 1], "SAME", name=f"{name}/pointwise")
        return self._finish(h, name, bias, bn, relu, [0, 1, 2])

    def dense(self, h, name: str, units: int, bn: bool = False, relu: bool = True):
        tf = self.tf
        kernel, bias = self._kernel_and_bias(name, "w", [int(h.shape[-1]), units], "glorot", bn)
        h = tf.linalg.matmul(h, kernel, name=f"{name}/MatMul")
        return self._finish(h, name, bias, bn, relu, [0])

    def max_pool(self, h, size: int = 2, stride: int = 2):
        return self.tf.nn.max_pool2d(h, size, stride, "SAME")

    def global_avg_pool(self, h):
        """AvgPool over the whole map + Reshape: SNPE-friendly global average pooling."""
        tf = self.tf
        height, width = int(h.shape[1]), int(h.shape[2])
        h = tf.nn.avg_pool2d(h, [height, width], [height, width], "VALID")
        return self.flatten(h)

    def flatten(self, h):
        size = int(np.prod([int(d) for d in h.shape[1:]]))
        batch = h.shape[0]
        return self.tf.reshape(h, [int(batch) if batch is not None else -1, size])

    def dropout(self, h, rate: float):
        """Dropout driven by the keep-probability placeholder scaled to this layer's rate."""
        if self.exporting or not self.is_training or rate <= 0:
            return h
        tf = self.tf
        keep = 1.0 - rate * (1.0 - self.keep_prob) / 0.5  # keep_prob 0.5 → this layer's rate
        return tf.nn.dropout(h, rate=1.0 - keep)

    def add(self, a, b):
        return self.tf.add(a, b)


ArchFn = Callable[[Layers, object], object]


@dataclass(frozen=True)
class Architecture:
    name: str
    build: ArchFn
    weight_decay: float
    description: str


ARCHITECTURES: dict[str, Architecture] = {}


def register(name: str, weight_decay: float, description: str):
    def decorator(build: ArchFn) -> ArchFn:
        ARCHITECTURES[name] = Architecture(name, build, weight_decay, description)
        return build
    return decorator


def get_architecture(name: str) -> Architecture:
    from edge_fer.errors import UsageError

    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise UsageError(f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURES)}") from None


@register("seed003", 0.0, "3 × (conv3×3 + ReLU + maxpool) 32/64/64, FC 1024 + dropout, FC 7")
def seed003(layers: Layers, x):
    h = x
    for i, filters in enumerate((32, 64, 64), start=1):
        h = layers.max_pool(layers.conv(h, f"conv{i}", 3, filters))
    h = layers.dropout(layers.dense(layers.flatten(h), "fc1", 1024), 0.5)
    return layers.dense(h, "fc2", 7, relu=False)


@register("seed002", 5e-4, "conv5×5×32, conv3×3×64, FC 256 + dropout, L2 regularisation")
def seed002(layers: Layers, x):
    h = layers.max_pool(layers.conv(x, "conv1", 5, 32))
    h = layers.max_pool(layers.conv(h, "conv2", 3, 64))
    h = layers.dropout(layers.dense(layers.flatten(h), "fc1", 256), 0.5)
    return layers.dense(h, "fc2", 7, relu=False)


@register("bn4", 0.0, "4 conv blocks with batch norm 64/128/512/512, FC 256/512 with batch norm")
def bn4(layers: Layers, x):
    h = x
    for i, (size, filters) in enumerate(((3, 64), (5, 128), (3, 512), (3, 512)), start=1):
        h = layers.max_pool(layers.conv(h, f"conv{i}", size, filters, bn=True))
        h = layers.dropout(h, 0.25)
    h = layers.flatten(h)
    h = layers.dropout(layers.dense(h, "fc1", 256, bn=True), 0.25)
    h = layers.dropout(layers.dense(h, "fc2", 512, bn=True), 0.25)
    return layers.dense(h, "fc3", 7, relu=False)


@register("vggbn", 1e-4, "VGG-style 2×conv3×3+BN per stage 32/64/128/256, global avg pool, FC 7")
def vggbn(layers: Layers, x):
    h = x
    for stage, filters in enumerate((32, 64, 128, 256), start=1):
        h = layers.conv(h, f"s{stage}a", 3, filters, bn=True)
        h = layers.conv(h, f"s{stage}b", 3, filters, bn=True)
        h = layers.max_pool(h)
        h = layers.dropout(h, 0.1 * stage)
    h = layers.global_avg_pool(h)
    h = layers.dropout(h, 0.5)
    return layers.dense(h, "fc", 7, relu=False)


def residual_network(layers: Layers, x, widths: tuple[int, ...], blocks: tuple[int, ...]):
    """Stem conv, then per stage (max-pool between stages) `blocks` residual blocks of two
    conv3×3+BN with a skip (a 1×1 conv+BN projection where the width changes), GAP, FC 7."""
    h = layers.conv(x, "stem", 3, widths[0], bn=True)
    for stage, (filters, count) in enumerate(zip(widths, blocks, strict=True), start=1):
        if stage > 1:
            h = layers.max_pool(h)
        for block in range(count):
            name = f"s{stage}" if block == 0 else f"s{stage}b{block + 1}"  # resxs's names for block 1
            shortcut = h if int(h.shape[-1]) == filters else \
                layers.conv(h, f"{name}proj", 1, filters, bn=True, relu=False)
            h = layers.conv(h, f"{name}a", 3, filters, bn=True)
            h = layers.conv(h, f"{name}b", 3, filters, bn=True, relu=False)
            h = layers.tf.nn.relu(layers.add(h, shortcut))
        h = layers.dropout(h, 0.1)
    h = layers.global_avg_pool(h)
    h = layers.dropout(h, 0.5)
    return layers.dense(h, "fc", 7, relu=False)


@register("resxs", 1e-4, "residual CNN: stem conv + 4 stages of two conv3×3+BN with a skip, GAP, FC 7")
def resxs(layers: Layers, x):
    return residual_network(layers, x, (32, 64, 128, 256), (1, 1, 1, 1))


@register("resm", 1e-4, "deeper resxs: two residual blocks in stages 2 and 3 (widths 32/64/128/256)")
def resm(layers: Layers, x):
    return residual_network(layers, x, (32, 64, 128, 256), (1, 2, 2, 1))


def separable_network(layers: Layers, x, stem: int, widths: tuple[int, ...], blocks: tuple[int, ...],
                      pool_stem: bool = False):
    """Edge network: a conv3×3+BN stem (max-pooled when `pool_stem`), then per stage (max-pool
    between stages) a separable conv to the stage's width and `blocks` residual blocks of two
    separable convs (depthwise 3×3 → pointwise 1×1 + BN) with an identity skip, GAP, FC 7.
    Depthwise-separable convs cost about 1/9 of a 3×3 conv and identity skips cost one Add, so
    the FLOPs go to width and depth; every op is one SNPE and HTP run natively."""
    h = layers.conv(x, "stem", 3, stem, bn=True)
    if pool_stem:
        h = layers.max_pool(h)
    for stage, (filters, count) in enumerate(zip(widths, blocks, strict=True), start=1):
        if stage > 1:
            h = layers.max_pool(h)
        h = layers.separable(h, f"s{stage}", filters)
        for block in range(1, count + 1):
            shortcut = h
            h = layers.separable(h, f"s{stage}b{block}a", filters)
            h = layers.separable(h, f"s{stage}b{block}b", filters, relu=False)
            h = layers.tf.nn.relu(layers.add(h, shortcut))
        h = layers.dropout(h, 0.1)
    h = layers.global_avg_pool(h)
    h = layers.dropout(h, 0.5)
    return layers.dense(h, "fc", 7, relu=False)


@register("fast", 5e-5, "edge: stem conv3×3×32, separable stages 32/64/128/256 at 48²…6² with residual "
          "separable blocks (0/1/1/1), GAP, FC 7; ≈ 46 MFLOP per face")
def fast(layers: Layers, x):
    return separable_network(layers, x, 32, (32, 64, 128, 256), (0, 1, 1, 1))


@register("tiny", 5e-5, "edge: stem conv3×3×16 + max-pool, separable stages 32/64/128 at 24²…6² with "
          "residual separable blocks (1/1/1), GAP, FC 7; ≈ 11 MFLOP per face")
def tiny(layers: Layers, x):
    return separable_network(layers, x, 16, (32, 64, 128), (1, 1, 1), pool_stem=True)


@register("tiny4", 5e-5, "edge: tiny with a fourth separable stage (256 at 3²) and its residual block: "
          "capacity at almost no cost in FLOPs; ≈ 14 MFLOP per face")
def tiny4(layers: Layers, x):
    """`tiny` trained for 224 epochs reached 65.59 % on PublicTest while still learning at the
    end (train accuracy above validation only by the augmentation's margin); a 3²×256 stage
    adds 174k parameters for 3 MFLOP (11.0 → 14.0), the most capacity the 15-MFLOP budget buys."""
    return separable_network(layers, x, 16, (32, 64, 128, 256), (1, 1, 1, 1), pool_stem=True)


@register("fast5", 5e-5, "edge: fast with a fifth separable stage (512 at 3²) and its residual block: "
          "capacity where it costs least; ≈ 58 MFLOP per face")
def fast5(layers: Layers, x):
    """`fast` after 80 epochs (two cosine cycles) reached 67.37 % on PublicTest, the restart adding
    only 0.8 points; as `tiny4` did for `tiny` (+0.8 points at equal epochs), a 3²×512 stage adds
    the most parameters (672k) the 60-MFLOP budget leaves room for (45.7 → 57.7 MFLOP)."""
    return separable_network(layers, x, 32, (32, 64, 128, 256, 512), (0, 1, 1, 1, 1))


def xception_network(layers: Layers, x, stem: int, widths: tuple[int, ...]):
    """mini-Xception's layout (Arriaga et al., the `fer` package's model) at 48×48: two conv3×3+BN
    stems at full resolution, then per module two separable convs (the second without ReLU) and
    a 3×3/2 max-pool, added to a strided 1×1 conv+BN shortcut; GAP, FC 7. Unlike `tiny`, the first
    module still sees 48² (no pooled stem). Measured with tiny's recipe (distilled from best, 14
    epochs): 57.70 % on PublicTest, the same as `tiny` after 14 epochs, while training at about
    205 images/s against tiny's 360 here (full-resolution depthwise layers), so `tiny` stays the
    shipped model's architecture."""
    h = layers.conv(x, "stem1", 3, stem, bn=True)
    h = layers.conv(h, "stem2", 3, stem, bn=True)
    for module, filters in enumerate(widths, start=1):
        shortcut = layers.conv(h, f"m{module}skip", 1, filters, stride=2, bn=True, relu=False)
        h = layers.separable(h, f"m{module}a", filters)
        h = layers.separable(h, f"m{module}b", filters, relu=False)
        h = layers.add(layers.max_pool(h, 3, 2), shortcut)
    h = layers.global_avg_pool(h)
    return layers.dense(h, "fc", 7, relu=False)


@register("tinyx", 5e-5, "edge: mini-Xception's layout at 48×48: 2 × conv3×3×8 stems, 4 modules "
          "16/32/64/128 (2 separable convs + max-pool 3×3/2, strided 1×1 shortcut), GAP, FC 7; "
          "≈ 13 MFLOP per face")
def tinyx(layers: Layers, x):
    return xception_network(layers, x, 8, (16, 32, 64, 128))

