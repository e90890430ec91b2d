"""The one description every model reader returns (edge_fer/artifacts/formats.py picks the reader):
what the file says about its tensors, ops, size and cost, so `inspect`, the runners' spec
resolution (facts.py), convert's manifests and bench all read a model once and agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Tensor:
    """An input or output as the file states it."""

    name: str
    shape: list | None                 # as written: a free dimension is None, -1 or its name
    dtype: str                         # numpy's name where there is one (float32, int8, …)
    quantization: dict | None = None   # {"scale", "zero_point"[, "quantized_dimension"]}
    softmax: bool | None = None        # made by a Softmax (None: the file cannot tell)

    def dims(self) -> list[int | None]:
        """The shape with every free or unknown dimension as None ([] when the rank is unknown)."""
        return [int(d) if isinstance(d, (int, np.integer)) and int(d) > 0 else None
                for d in self.shape or []]

    def report(self) -> dict:
        facts = {"name": self.name, "shape": self.shape, "dtype": self.dtype}
        if self.quantization:
            facts["quantization"] = self.quantization
        return facts


@dataclass
class Description:
    """One model file, read once.

    `picked` is the (image input, class-score output) the format's own rules choose (a frozen
    graph: graph_io_names), None to choose among `inputs`/`outputs` (facts.py); `problem` is
    why no runner may take the file (TensorFlow ops in a .tflite) or why the choice failed —
    `inspect` still reports the rest. `tensors_from_file` is False when the file's graph is not
    readable here (a .dlc): its manifest is the source of its tensors."""

    path: Path
    format: str
    bytes: int
    inputs: list[Tensor] = field(default_factory=list)
    outputs: list[Tensor] = field(default_factory=list)
    ops: dict[str, int] = field(default_factory=dict)
    parameters: int | None = None
    flops: int | None = None           # 2 × multiply-adds of one forward pass (None: not counted)
    facts: dict = field(default_factory=dict)   # the format's own: opset, metadata, versions…
    picked: tuple[str, str] | None = None
    problem: str | None = None
    tensors_from_file: bool = True

    def output(self, name: str) -> Tensor | None:
        return next((t for t in self.outputs if t.name == name), None)

    def report(self) -> dict:
        """The `inspect --json` report (and what converters record in their manifests)."""
        return {"path": str(self.path), "format": self.format, "bytes": self.bytes,
                "inputs": [t.report() for t in self.inputs],
                "outputs": [t.report() for t in self.outputs],
                "ops": dict(sorted(self.ops.items())),
                "parameters": self.parameters, "flops": self.flops,
                **self.facts}


def product(dims) -> int:
    """The element count of a shape, a free (≤ 0) dimension counted as 1."""
    return int(np.prod([max(1, int(d)) for d in dims])) if len(dims) else 1
