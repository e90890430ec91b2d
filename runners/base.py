"""What every runner is, and the one driver that feeds an input list through it.

A runner only loads a model and maps a float32 batch [k, *input image shape] to its class scores
[k, C]; reading raws, checking them against the model's input spec, batching, timing, progress
and writing Result folders happen once, here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, TypeVar

import numpy as np

from edge_fer import reporter
from edge_fer.atomic import atomic_write_text, staged_dir
from edge_fer.errors import EdgeFerError, UsageError
from edge_fer.files import require_regular
from edge_fer.finite import require_finite
from edge_fer.parallel import available_cores
from edge_fer.tensors.rawio import InputList, read_image_raw, read_input_list
from edge_fer.tensors.results import RESULT_DIR_PATTERN, write_results
from edge_fer.tensors.spec import InputSpec, OutputSpec, RecordedSpec, read_recorded_spec

RUN_INFO_NAME = "run.json"
T = TypeVar("T")


@dataclass
class RunTimings:
    """Wall-clock figures of one pass over an input list (seconds)."""

    load_s: float = 0.0
    total_s: float = 0.0
    batch_sizes: list[int] = field(default_factory=list)       # images per predict call
    batch_latencies_s: list[float] = field(default_factory=list)  # one per predict call
    note: str = ""  # how the figures were measured when not per call (e.g. one snpe-net-run)

    @property
    def images(self) -> int:
        return sum(self.batch_sizes)

    def __repr__(self) -> str:  # not one float per call: a run of thousands would fill a screen
        return (f"RunTimings(images={self.images}, calls={len(self.batch_sizes)}, "
                f"load_s={self.load_s:.3f}, total_s={self.total_s:.3f})")

    @property
    def per_image_ms(self) -> list[float]:
        """Latency per inference: each call's time shared among its images."""
        return [1000.0 * t / n for t, n in zip(self.batch_latencies_s, self.batch_sizes) if n]

    def summary(self) -> dict:
        per_image = self.per_image_ms
        quantiles = statistics.quantiles(per_image, n=10) if len(per_image) > 1 else per_image * 9
        return {
            "images": self.images,
            "calls": len(self.batch_sizes),
            "load_s": round(self.load_s, 4),
            "total_s": round(self.total_s, 4),
            "mean_ms": round(statistics.fmean(per_image), 4) if per_image else None,
            "p50_ms": round(statistics.median(per_image), 4) if per_image else None,
            "p90_ms": round(quantiles[8], 4) if per_image else None,
            "images_per_s": round(self.images / sum(self.batch_latencies_s), 2)
            if sum(self.batch_latencies_s) > 0 else None,
            "note": self.note,
        }


class Runner:
    """A loaded model on one runtime. Subclasses set `name`, load in `__init__`, and `predict`."""

    name: ClassVar[str] = ""
    # Options beyond model/threads that this runner takes (e.g. the snpe runner's device).
    options: ClassVar[tuple[str, ...]] = ()
    # The runner hands the input list to a tool that reads the DLC's input names and the
    # list's output headers itself (snpe-net-run); others check them against the model here.
    tool_reads_list: ClassVar[bool] = False

    model_path: Path
    load_s: float = 0.0
    max_batch: int | None = None  # None: any batch in one call; 1: a batch-1 model, looped
    # What the model takes and gives (runners/model_io.py); edge-fer's own model by default.
    input_spec: InputSpec = InputSpec()
    output_spec: OutputSpec = OutputSpec()

    threads: int | None = None    # CPU threads it was loaded with

    @classmethod
    def load(cls, model_path: str | Path, threads: int | None = None,
             labels_file: str | Path | None = None, input_flags: dict | None = None,
             **options) -> Runner:
        """Open the model on `threads` CPU threads (default: every core this process may use —
        LiteRT alone would take one) and read its input/output spec (`input_flags`: what the
        user said of its input where neither file nor manifest does, e.g. mean and std, as
        InputSpec.with_overrides takes them); the time it took is kept as `load_s`."""
        from edge_fer.runners.model_io import model_spec

        threads = threads or available_cores()
        start = time.perf_counter()
        input_spec, output_spec = model_spec(model_path, labels_file=labels_file,
                                             **(input_flags or {}))
        runner = cls(Path(model_path), threads=threads, **options)
        runner.input_spec, runner.output_spec = input_spec, output_spec
        runner.load_s = time.perf_counter() - start
        runner.threads = threads
        return runner

    def __init__(self, model_path: Path, threads: int | None = None, **options) -> None:
        raise NotImplementedError

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """float32 [k, *input_spec.image_shape] (normalised as the spec says) → float32 class
        scores [k, C] (probabilities or logits, as the model gives them)."""
        raise NotImplementedError

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """predict() in pieces no larger than the model takes; checks the shape that comes back."""
        step = self.max_batch or len(batch)
        try:
            parts = [self.predict(batch[i:i + step]) for i in range(0, len(batch), step)]
        except Exception as exc:  # narrowed to the runtimes' own errors below
            if not _is_runtime_error(exc):
                raise
            raise EdgeFerError(f"{self.model_path}: {self.name} cannot run inputs of shape "
                               f"{_shape_text(batch.shape)} (what the raws hold): "
                               f"{_one_line(exc)}") from None
        probs = np.concatenate(parts).astype(np.float32, copy=False)
        probs = probs.reshape(len(batch), -1) if probs.size and len(batch) else probs
        classes = self.output_spec.classes
        if probs.shape != (len(batch), classes):
            raise EdgeFerError(f"{self.model_path}: {self.name} returned shape {probs.shape} for "
                               f"{len(batch)} images, expected ({len(batch)}, {classes}) for "
                               f"{classes} labels")
        return probs

    def run_list(self, input_list: InputList, output_dir: Path, batch: int = 1,
                 input_dtype: str | None = None) -> RunTimings:
        """Run every line of the list into output_dir, replaced whole when the run succeeds (a
        failed or killed run leaves the old output as it was; the user's files in it stay)."""
        with staged_dir(output_dir, is_run_output) as folder:
            return self.write_list(input_list, folder, batch=batch, input_dtype=input_dtype)

    def write_list(self, input_list: InputList, folder: Path, batch: int = 1,
                   input_dtype: str | None = None) -> RunTimings:
        """Write every line's Result folder and run.json into a new, empty folder (overridden by
        whole-list tools)."""
        return run_input_list(self, input_list, folder, batch=batch, input_dtype=input_dtype,
                              into_fresh=True)

    def close(self) -> None:
        """Free the session (most runtimes need nothing)."""

    def run_info(self) -> dict:
        """What run.json records beyond the common fields (a hosted device's jobs, say)."""
        return {}


# Errors a runtime raises for inputs its model does not take (TF's ValueError "Cannot feed value
# of shape ...", onnxruntime's InvalidArgument, LiteRT's ValueError/RuntimeError).
_RUNTIME_MODULES = ("tensorflow", "onnxruntime", "ai_edge_litert", "tflite_runtime")


def _is_runtime_error(exc: Exception) -> bool:
    module = type(exc).__module__
    return isinstance(exc, (ValueError, RuntimeError)) or module.startswith(_RUNTIME_MODULES)


def _shape_text(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _one_line(exc: Exception, limit: int = 400) -> str:
    """The runtime's message on one line (its shapes are often on the second)."""
    text = " ".join(str(getattr(exc, "message", None) or exc).split())
    return (text[:limit] + " …" if len(text) > limit else text) or type(exc).__name__


def _line_chunks(raw_paths: list[Path], batch: int, input_dtype: str, spec: InputSpec,
                 model: str | None = None, per_raw: int | None = None
                 ) -> Iterator[tuple[int, list[np.ndarray]]]:
    """(first line index, images of each line) for groups of lines holding about `batch` images
    (`per_raw` images in each raw when given), each raw read with one open (a raw of another
    size is an error naming it and `model`). The raws' folders are checked once per group: one
    rewritten under the run (raw-inputs swaps its folder whole) stops it."""
    start, pending, images = 0, [], 0
    folders = {path.parent for path in raw_paths}
    recorded = {folder: _identity(folder) for folder in folders}  # before any raw is read
    for number, path in enumerate(raw_paths):
        array = read_image_raw(path, input_dtype, spec, per_raw, model)
        if pending and images + len(array) > batch:
            _check_unchanged(recorded)
            yield start, pending
            start, pending, images = number, [], 0
        pending.append(array)
        images += len(array)
    if pending:
        _check_unchanged(recorded)
        yield start, pending


def _check_unchanged(recorded: dict[Path, tuple | None]) -> None:
    for folder, identity in recorded.items():
        if _identity(folder) != identity:
            raise EdgeFerError(f"{folder}: changed while this run read its inputs (rewritten by "
                               f"another command, e.g. raw-inputs); stopped, the old output "
                               f"kept: run again once the inputs are written")


def _identity(folder: Path) -> tuple[int, int] | None:
    """What says a folder is still the one a run started with: raw-inputs replaces its folder
    whole (renamed in, so a new inode at the path). Not the mtime: a run may write its own output
    folder inside the raws' one."""
    try:
        info = os.stat(folder)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _read_ahead(chunks: Iterator[T]) -> Iterator[T]:
    """The chunks, each next one read on a second thread while the caller works on the current
    one (file reading overlaps inference and writing); a reading error is raised in its turn."""
    with ThreadPoolExecutor(1, thread_name_prefix="edge-fer-raws") as reader:
        coming = reader.submit(next, chunks, None)
        while (chunk := coming.result()) is not None:
            coming = reader.submit(next, chunks, None)
            yield chunk


def _require_finite_inputs(stacked: np.ndarray, arrays: list[np.ndarray], first: int,
                           raw_paths: list[Path], input_list: InputList | None) -> None:
    """A raw holding NaN or infinity is an error naming it (and its line of the list); one check
    per batch, the culprit looked for only when the batch fails it."""
    if np.isfinite(stacked).all():
        return
    for number, array in enumerate(arrays, start=first):
        where = f" ({input_list.where(number)})" if input_list is not None else ""
        require_finite(array, str(raw_paths[number]), f"raw input{where}")


def run_input_list(runner: Runner, input_list: str | Path | InputList, output_dir: str | Path,
                   batch: int = 1, input_dtype: str | None = None, warmup: int = 0,
                   write: bool = True, into_fresh: bool = False) -> RunTimings:
    """Feed every raw of the list through `runner` in batches and write Result_<i>/output.raw.

    Returns the timings of each predict call (warm-up calls excluded) so `bench` can reuse this
    loop; `write=False` times without touching output_dir. output_dir is replaced whole (see
    `atomic.staged_dir`) unless `into_fresh` says it is a new folder being built already.
    """
    if batch < 1:
        raise UsageError(f"--batch must be at least 1, not {batch}")
    if not isinstance(input_list, InputList):
        input_list = read_input_list(input_list)
    output_dir = Path(output_dir)
    raw_paths = input_list.raw_paths(runner.input_spec.name)
    input_dtype, per_raw = check_input_list(runner, input_list, raw_paths, input_dtype)
    timings = RunTimings(load_s=runner.load_s)
    with contextlib.ExitStack() as stack:
        folder = output_dir
        if write and not into_fresh:
            folder = stack.enter_context(staged_dir(output_dir, is_run_output))
        # Result folders of one batch are written on a second thread while the next batch is
        # read and inferred (file creation and inference both release the GIL).
        writer = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="edge-fer-results"))
        writing = None
        start_all = time.perf_counter()
        with reporter.make_progress() as bar:
            task = bar.add_task(f"{runner.name} {runner.model_path.name}", total=len(raw_paths),
                                status="")
            chunks = _line_chunks(raw_paths, batch, input_dtype, runner.input_spec,
                                  f"{runner.model_path.name} ({remake_hint(runner)})", per_raw)
            for first, arrays in _read_ahead(chunks):
                stacked = np.concatenate(arrays)
                _require_finite_inputs(stacked, arrays, first, raw_paths, input_list)
                for _ in range(warmup):
                    runner.infer(stacked)
                warmup = 0
                started = time.perf_counter()
                probs = runner.infer(stacked)
                timings.batch_latencies_s.append(time.perf_counter() - started)
                _require_finite_outputs(runner, probs, arrays, first, raw_paths, input_list)
                timings.batch_sizes.append(len(stacked))
                if write:
                    rows, offset = probs, 0  # one image per line: row i is Result i
                    if len(arrays) != len(stacked):
                        rows = []  # a line holding k images gets k rows in its one Result
                        for array in arrays:
                            rows.append(probs[offset:offset + len(array)])
                            offset += len(array)
                    if writing is not None:
                        writing.result()
                    writing = writer.submit(write_results, folder, rows, start_index=first,
                                            atomic=False)
                bar.advance(task, len(arrays))
            if writing is not None:
                writing.result()
        timings.total_s = time.perf_counter() - start_all
        if write:
            finish_output_dir(folder, runner, input_list, batch, timings)
    return timings


def check_input_list(runner: Runner, input_list: InputList, raw_paths: list[Path],
                     input_dtype: str | None = None) -> tuple[str, int]:
    """Before anything runs or is written, the raws were made for this model's input, else one
    line naming both sides: the input names on the list's lines and the outputs its `#`/`%`
    headers ask for exist in the model; the spec raw-inputs recorded beside the list
    (input_spec.json: size, colour, layout, mean, std, storage dtype) is the model's; every raw
    holds exactly the model's batch of images (one for a model of any batch: a raw of 18,432
    bytes is a float64 image, not two float32 ones; checked as each is read). Returns the raws' storage dtype
    (`input_dtype`, else the recorded one, else float32) and the images per raw."""
    model = runner.model_path
    remake = remake_hint(runner)
    if not runner.tool_reads_list:
        check_list_names(input_list, runner.input_spec.name, runner.output_spec.name, model.name)
    recorded = read_recorded_spec(input_list.path.parent)
    if recorded is not None:
        differences = runner.input_spec.differences(recorded.input)
        if differences:
            theirs = ", ".join(f"{what} {value}" for what, value, _ in differences)
            ours = ", ".join(f"{what} {value}" for what, _, value in differences)
            sayable = recorded.input.channels == runner.input_spec.channels and \
                all(what in ("mean", "std", "color") for what, _, _ in differences)
            hint = " or, if the model takes theirs, say so with --mean/--std/--color" \
                if sayable else ""
            raise EdgeFerError(f"{recorded.path}: the raws ({recorded.input.describe()}) have "
                               f"{theirs} but {model.name} takes {ours}; {remake}{hint}")
    input_dtype = raw_dtype_of(input_dtype, recorded)
    per_raw = runner.input_spec.batch or 1  # checked as each raw is read (one open, no stat)
    return input_dtype, per_raw


def flags_for_raws(input_list: InputList, model: str | Path, given: dict) -> dict:
    """`input_flags` for loading `model` to run these raws: what the user told
    `raw-inputs --model` of this very model's input (colour, mean, std: a model file cannot hold
    them) stands, unless said again now (`given`). Raws made for another model, or without
    --model, carry nothing over: their spec is checked against the model's instead."""
    recorded = read_recorded_spec(input_list.path.parent)
    if recorded is None or not recorded.model:
        return given
    try:
        same = Path(recorded.model).resolve() == Path(model).resolve()
    except (OSError, ValueError):
        same = False
    if not same:
        return given
    spec = recorded.input
    carried = {"mean": ",".join(repr(v) for v in spec.mean),
               "std": ",".join(repr(v) for v in spec.std)}
    if spec.color != "gray":
        carried["color"] = spec.color
    return {**carried, **given}


def raw_dtype_of(given: str | None, recorded: RecordedSpec | None) -> str:
    """How the raws are stored: as asked (`--input-dtype`), which must be what raw-inputs
    recorded; else as recorded; else float32."""
    if given and recorded is not None and recorded.raw_dtype and given != recorded.raw_dtype:
        raise UsageError(f"--input-dtype {given}: the raws are {recorded.raw_dtype} "
                         f"({recorded.path}); leave --input-dtype out or make them again")
    return given or (recorded.raw_dtype if recorded is not None else None) or "float32"


def _tensor_name(name: str) -> str:
    """`x:0` and `x` are one tensor (TensorFlow's output index; snpe-net-run keeps it)."""
    return name.removesuffix(":0")


def check_list_names(input_list: InputList, input_name: str, output_name: str,
                     model: str) -> None:
    """Every `name:=path` on the list names the model's input, and every output its `#` layer
    or `%` tensor header asks for is the model's output (the one a runner writes); otherwise one
    line naming the list's line and the model's names (a bare path is the model's one input)."""
    wanted = _tensor_name(input_name)
    for number, entry in enumerate(input_list.entries):
        for name in entry:
            if name and _tensor_name(name) != wanted:
                raise EdgeFerError(f"{input_list.where(number)}: input {name!r} is not an input "
                                   f"of {model} (its input: {input_name!r})")
    for mark, names in (("#", input_list.output_layers), ("%", input_list.output_tensors)):
        for name in names:
            if _tensor_name(name) != _tensor_name(output_name):
                raise EdgeFerError(f"{input_list.path}: the {mark!r} header asks for output "
                                   f"{name!r}, but running {model} writes only its output "
                                   f"{output_name!r} (name that one or drop the line)")


def remake_hint(runner: Runner) -> str:
    return f"make raws for it with: edge-fer raw-inputs IMAGES --model {runner.model_path}"


def _require_finite_outputs(runner: Runner, probs: np.ndarray, arrays: list[np.ndarray],
                            first: int, raw_paths: list[Path], input_list: InputList) -> None:
    """NaN outputs are never written: name the first input line that produced one."""
    finite_rows = np.isfinite(probs).all(axis=1)
    if finite_rows.all():
        return
    offset = 0
    for number, array in enumerate(arrays, start=first):
        if not finite_rows[offset:offset + len(array)].all():
            require_finite(probs[offset:offset + len(array)], str(raw_paths[number]),
                           f"{runner.name} output of {runner.model_path.name} for this input "
                           f"({input_list.where(number)}); nothing written")
        offset += len(array)


def is_run_output(path: Path) -> bool:
    """What a runner leaves in its output folder (so the folder may be replaced whole)."""
    if path.name == RUN_INFO_NAME or path.name.startswith(("qnn_profile", "SNPEDiag")):
        return path.is_file()
    return bool(RESULT_DIR_PATTERN.match(path.name)) and path.is_dir()


def finish_output_dir(output_dir: Path, runner: Runner, input_list: InputList, batch: int,
                      timings: RunTimings) -> None:
    """Record in run.json what produced the Result folders of this (new) output folder."""
    info = {
        "model": str(runner.model_path.resolve()),
        "runtime": runner.name,
        "input_list": str(input_list.path.resolve()),
        "input_list_sha256": input_list_digest(input_list.path),
        "inputs": len(input_list),
        "batch": batch,
        "input_spec": runner.input_spec.to_dict(),
        "output_spec": runner.output_spec.to_dict(),
        "timings": timings.summary(),
        **runner.run_info(),
    }
    atomic_write_text(output_dir / RUN_INFO_NAME, json.dumps(info, indent=2) + "\n")


def input_list_digest(path: Path) -> str | None:
    """sha256 of the list's bytes (classify and compare notice a list rewritten since the run)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def read_run_info(output_dir: str | Path) -> dict | None:
    """The run.json a runner left in output_dir (absent for snpe-net-run's own folders)."""
    path = Path(output_dir) / RUN_INFO_NAME
    require_regular(path, "a run's run.json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

