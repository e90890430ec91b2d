"""The runtimes a model can run on: one table, one module per runtime.

Adding a runtime means adding `runners/<name>.py` (a `Runner` subclass named `RUNNER` and an
`unavailable_reason()` function) and a row here. The first row whose suffix matches a model file
is its default runner; others are chosen by name (`--runtime`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from edge_fer.errors import EdgeFerError, ToolMissingError, UsageError


@dataclass(frozen=True)
class RunnerSpec:
    name: str
    module: str                 # edge_fer.runners.<module>
    suffixes: tuple[str, ...]   # model files it takes
    summary: str

    def _module(self):
        return importlib.import_module(f"edge_fer.runners.{self.module}")

    def runner_class(self):
        return self._module().RUNNER

    def unavailable_reason(self) -> str | None:
        """Why this runtime cannot run here (what is missing and how to get it), or None."""
        return self._module().unavailable_reason()

    def load(self, model_path: str | Path, threads: int | None = None, **options):
        """Open model_path on this runtime; exit 3 when the runtime is missing."""
        model_path = Path(model_path)
        if Path(model_path).suffix.lower() not in self.suffixes:
            raise UsageError(f"{model_path}: the {self.name} runner takes "
                             f"{', '.join(self.suffixes)} files")
        runner_class = self.runner_class()
        given = {key: value for key, value in options.items() if value is not None}
        foreign = sorted(set(given) - set(runner_class.options))
        if foreign:
            flags = ", ".join("--" + key.replace("_", "-") for key in foreign)
            raise UsageError(f"{flags} does not apply to the {self.name} runner")
        reason = self.unavailable_reason()
        if reason:
            raise ToolMissingError(f"{self.name} runner unavailable: {reason}")
        if not model_path.is_file():
            raise EdgeFerError(f"{model_path}: no such model file")
        return runner_class.load(model_path, threads=threads, **given)


RUNNERS: tuple[RunnerSpec, ...] = (
    RunnerSpec("tf", "tf", (".pb",), "frozen TensorFlow graph, tf.compat.v1.Session (reference)"),
    RunnerSpec("tflite", "tflite", (".tflite",), "LiteRT Interpreter (fp32, fp16, int8 models)"),
    RunnerSpec("onnx", "onnx", (".onnx",), "ONNX Runtime, CPU execution provider"),
    RunnerSpec("snpe", "snpe", (".dlc",),
               "snpe-net-run from the SNPE SDK, on this host or a device over adb"),
    RunnerSpec("qnn", "qnn", (".onnx",), "QNN HTP backend via onnxruntime-qnn, CPU fallback off "
               "(QDQ .onnx or compiled _ctx.onnx; x86_64: Qualcomm's HTP emulator)"),
)
REGISTRY: dict[str, RunnerSpec] = {spec.name: spec for spec in RUNNERS}


def runner_for(model_path: str | Path, runtime: str | None = None) -> RunnerSpec:
    """The runner named by `runtime`, else the first one taking the model file's suffix."""
    if runtime is not None:
        try:
            return REGISTRY[runtime]
        except KeyError:
            raise UsageError(f"unknown runtime {runtime!r}; known: {', '.join(REGISTRY)}") from None
    suffix = Path(model_path).suffix.lower()
    for spec in REGISTRY.values():
        if suffix in spec.suffixes:
            return spec
    known = ", ".join(f"{s} ({spec.name})" for spec in REGISTRY.values() for s in spec.suffixes)
    raise UsageError(f"{model_path}: no runner takes {suffix or 'files without a suffix'}; "
                     f"known: {known}")


def load_runner(model_path: str | Path, runtime: str | None = None, threads: int | None = None,
                **options):
    """runner_for(...).load(...): the loaded Runner ready to predict or run a list."""
    return runner_for(model_path, runtime).load(model_path, threads=threads, **options)
