"""The runtimes a model can run on: one table, one module per runtime.

Adding a runtime means adding `runners/<name>.py` (a `Runner` subclass named `RUNNER` and an
`unavailable_reason()` function) and a row here. A model file's default runner is the row with
the longest suffix its name ends with (so `_ctx.onnx`, a compiled QNN context model, goes to qnn
while a plain `.onnx` goes to onnx; the first row wins a tie); others are chosen by name
(`--runtime`).

Wing 5 of the layout (see edge_fer/__init__.py): imports the root modules, data, tensors,
platform and training.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from edge_fer.errors import EdgeFerError, ToolMissingError, UsageError
from edge_fer.files import require_regular


@dataclass(frozen=True)
class RunnerSpec:
    name: str
    module: str                 # edge_fer.runners.<module>
    suffixes: tuple[str, ...]   # name endings of the model files it takes, e.g. ".onnx", "_ctx.onnx"
    summary: str

    def matched_suffix(self, model_path: str | Path) -> str:
        """The longest of `suffixes` the file name ends with ("" when none does)."""
        name = Path(model_path).name.lower()
        return max((s for s in self.suffixes if name.endswith(s)), key=len, default="")

    def _module(self):
        return importlib.import_module(f"edge_fer.runners.{self.module}")

    def runner_class(self):
        return self._module().RUNNER

    def unavailable_reason(self) -> str | None:
        """Why this runtime cannot run here (what is missing and how to get it), or None."""
        return self._module().unavailable_reason()

    def load(self, model_path: str | Path, threads: int | None = None,
             labels_file: str | Path | None = None, input_flags: dict | None = None, **options):
        """Open model_path on this runtime (its spec read by model_io, labels from
        `labels_file` when given, `input_flags` over the input spec); exit 3 when the runtime
        is missing."""
        model_path = Path(model_path)
        if not self.matched_suffix(model_path):
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
        require_regular(model_path, "a model file")
        if not model_path.is_file():
            raise EdgeFerError(f"{model_path}: no such model file")
        return runner_class.load(model_path, threads=threads, labels_file=labels_file,
                                 input_flags=input_flags, **given)


RUNNERS: tuple[RunnerSpec, ...] = (
    RunnerSpec("tf", "tf", (".pb",), "frozen TensorFlow graph, tf.compat.v1.Session (reference)"),
    RunnerSpec("tflite", "tflite", (".tflite",), "LiteRT Interpreter (fp32, fp16, int8 models)"),
    RunnerSpec("onnx", "onnx", (".onnx",), "ONNX Runtime, CPU execution provider"),
    RunnerSpec("snpe", "snpe", (".dlc",),
               "snpe-net-run from the SNPE SDK, on this host or a device over adb"),
    RunnerSpec("qnn", "qnn", ("_ctx.onnx", ".onnx"), "QNN HTP backend via onnxruntime-qnn, CPU "
               "fallback off (compiled _ctx.onnx; QDQ .onnx with --runtime qnn; x86_64: "
               "Qualcomm's HTP emulator)"),
)
REGISTRY: dict[str, RunnerSpec] = {spec.name: spec for spec in RUNNERS}


def runner_for(model_path: str | Path, runtime: str | None = None) -> RunnerSpec:
    """The runner named by `runtime`, else the one whose suffix matches most of the file name
    (`m_ctx.onnx` → qnn, `m.onnx` → onnx: the first row wins a tie)."""
    if runtime is not None:
        try:
            return REGISTRY[runtime]
        except KeyError:
            raise UsageError(f"unknown runtime {runtime!r}; known: {', '.join(REGISTRY)}") from None
    best = max(REGISTRY.values(), key=lambda spec: len(spec.matched_suffix(model_path)))
    if best.matched_suffix(model_path):
        return best  # max keeps the first of equally long matches
    suffix = Path(model_path).suffix.lower()
    known = ", ".join(f"{s} ({spec.name})" for spec in REGISTRY.values() for s in spec.suffixes)
    raise UsageError(f"{model_path}: no runner takes {suffix or 'files without a suffix'}; "
                     f"known: {known}")


def load_runner(model_path: str | Path, runtime: str | None = None, threads: int | None = None,
                labels_file: str | Path | None = None, input_flags: dict | None = None, **options):
    """runner_for(...).load(...): the loaded Runner ready to predict or run a list."""
    return runner_for(model_path, runtime).load(model_path, threads=threads, labels_file=labels_file,
                                                input_flags=input_flags, **options)
