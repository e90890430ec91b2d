"""The Python API: what the commands do, as functions returning typed results (docs/api.md).

`import edge_fer`, then `edge_fer.convert(...)`, `edge_fer.raw_inputs(...)`, `edge_fer.run(...)`,
`edge_fer.classify(...)`, `edge_fer.predict(...)`, `edge_fer.load_runner(...)`; they are
re-exported lazily by edge_fer/__init__.py, so importing the package loads no TensorFlow. No
subpackage shares a name with them (the converters live in `edge_fer.converters`, the predict
loop in `edge_fer.prediction`), so each name stays the function however many times and in
whatever order they are called.

Every function is quiet like the CLI: messages and warnings go to `progress` (a callable taking
one line of text) when given, else to the `edge_fer` logger; no progress bar is drawn, and what
the native libraries print (LiteRT's XNNPACK line, the TFLite converter's `fully_quantize` lines,
TensorFlow's start-up notices) is swallowed unless `verbose=True`.

Results are dataclasses of plain Python values (str, int, float, tuples, lists, dicts; never
NumPy scalars) with a short repr, `to_dict()` and `to_json()`; the library's own report is kept
in `.report` (not shown in the repr) for whoever needs more.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from edge_fer import reporter

__all__ = ["Classification", "Conversion", "ConvertedFile", "Face", "ImageResult", "Predictions",
           "RawInputs", "RunResult", "classify", "convert", "load_runner", "predict",
           "raw_inputs", "run"]

Progress = Callable[[str], None]


# ---------------------------------------------------------------------------------------------
# results

def _plain(value):
    """JSON-ready plain values: paths as text, NumPy scalars and arrays as Python ones, NaN as
    None."""
    if isinstance(value, _Result):
        return value.to_dict()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _Result:
    """to_dict() / to_json() for every result: the dataclass's fields, `report` left out."""

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)
                if f.name != "report"}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


class _Items:
    """len(), iteration and indexing over a result's list (faces, results)."""

    def _items(self) -> list:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self) -> Iterator:
        return iter(self._items())

    def __getitem__(self, index: int):
        return self._items()[index]


def _ratio(value: float | None) -> str:
    return "None" if value is None else f"{value:.4f}"


@dataclass(repr=False)
class Face(_Result):
    """One face of one frame: `.label`, `.probability`, `.probabilities` (label → p), `.box`
    (x0, y0, x1, y1 in pixels of its frame, x1/y1 exclusive)."""

    label: str
    probability: float
    probabilities: dict[str, float]
    box: tuple[int, int, int, int]
    score: float                   # the face detector's confidence
    source: str
    frame: int
    time_s: float | None = None    # videos and cameras
    track: int | None = None       # videos with tracking: the same face across frames
    smoothed_label: str | None = None  # the track's smoothed label

    def __repr__(self) -> str:
        where = self.source if self.time_s is None else f"{self.source} @ {self.time_s:.2f} s"
        track = "" if self.track is None else f", track={self.track}"
        return (f"Face(label={self.label!r}, probability={self.probability:.4f}, "
                f"box={self.box}{track}, source={where!r})")


@dataclass(repr=False)
class Predictions(_Result, _Items):
    """What predict found: `.faces` (a list of Face, also by iterating or indexing the result),
    `.label` (the first face's, None without a face), `.counts` (label → faces)."""

    source: str
    model: str
    runtime: str
    faces: list[Face]
    frames: int
    frames_failed: int
    frames_without_face: int
    frames_per_s: float | None
    counts: dict[str, int]
    outputs: dict[str, str]
    report: object = field(default=None, compare=False)

    @property
    def label(self) -> str | None:
        return self.faces[0].label if self.faces else None

    def _items(self) -> list[Face]:
        return self.faces

    def __repr__(self) -> str:
        counts = {k: v for k, v in self.counts.items() if v}
        return (f"Predictions(source={self.source!r}, faces={len(self.faces)}, "
                f"frames={self.frames}, counts={counts})")


@dataclass(repr=False)
class ImageResult(_Result):
    """One input of a run: `.label`, `.probability`, `.probabilities` (label → p, best first),
    `.true_label` (from the raw-inputs manifest, None when unknown), `.problem` (why there is
    no result, else None)."""

    index: int
    source: str
    label: str | None
    probability: float | None
    probabilities: dict[str, float]
    true_label: str | None
    problem: str | None = None

    @property
    def correct(self) -> bool | None:
        return None if self.label is None or self.true_label is None else \
            self.label == self.true_label

    def __repr__(self) -> str:
        if self.problem:
            return f"ImageResult(index={self.index}, source={self.source!r}, problem={self.problem!r})"
        return (f"ImageResult(index={self.index}, label={self.label!r}, "
                f"probability={_ratio(self.probability)}, true_label={self.true_label!r}, "
                f"source={self.source!r})")


@dataclass(repr=False)
class Classification(_Result, _Items):
    """classify's result: `.results` (an ImageResult per input, also by iterating or
    indexing), `.accuracy` (over `.scored` inputs with a known true label; None without any),
    `.recall` (label → recall), `.confusion` (rows true, columns predicted, in `.labels`
    order), `.problems` (inputs without a result)."""

    output_dir: str
    labels: tuple[str, ...]
    results: list[ImageResult]
    scored: int
    correct: int
    accuracy: float | None
    recall: dict[str, float | None]
    confusion: list[list[int]] | None
    report: object = field(default=None, compare=False)

    @property
    def problems(self) -> list[ImageResult]:
        return [r for r in self.results if r.problem]

    def _items(self) -> list[ImageResult]:
        return self.results

    def __repr__(self) -> str:
        return (f"Classification(output_dir={self.output_dir!r}, images={len(self.results)}, "
                f"scored={self.scored}, accuracy={_ratio(self.accuracy)}, "
                f"problems={len(self.problems)})")


@dataclass(repr=False)
class RunResult(_Result):
    """run's result: where the Result folders went and how long it took (`.p50_ms` etc.: per
    image, each call's time shared among its images)."""

    output_dir: str
    runtime: str
    images: int
    calls: int
    load_s: float
    total_s: float
    mean_ms: float | None
    p50_ms: float | None
    p90_ms: float | None
    images_per_s: float | None
    note: str = ""
    report: object = field(default=None, compare=False)

    def __repr__(self) -> str:
        return (f"RunResult(output_dir={self.output_dir!r}, runtime={self.runtime!r}, "
                f"images={self.images}, p50_ms={self.p50_ms}, images_per_s={self.images_per_s})")


@dataclass(repr=False)
class ConvertedFile(_Result):
    """One row of convert's table: a file converted (`.path`, its manifest beside it), planned
    (dry run, or the SDK is missing: `.commands`), skipped or failed (`.reason`)."""

    target: str
    precision: str
    status: str                    # converted | planned | skipped | failed
    path: str | None
    bytes: int | None
    seconds: float | None
    reason: str | None
    commands: list[str]
    checks: dict | None

    def __repr__(self) -> str:
        where = self.path if self.status == "converted" else self.reason
        return f"ConvertedFile({self.target} {self.precision}: {self.status}, {where!r})"


@dataclass(repr=False)
class Conversion(_Result):
    """convert's result: `.files` (a ConvertedFile per target and precision), `.converted`
    (the paths written)."""

    model: str
    out_dir: str | None
    files: list[ConvertedFile]
    report: object = field(default=None, compare=False)

    @property
    def converted(self) -> list[str]:
        return [f.path for f in self.files if f.status == "converted" and f.path]

    def __iter__(self) -> Iterator[ConvertedFile]:
        return iter(self.files)

    def __repr__(self) -> str:
        statuses = {}
        for item in self.files:
            statuses[item.status] = statuses.get(item.status, 0) + 1
        return f"Conversion(model={self.model!r}, out_dir={self.out_dir!r}, files={statuses})"


@dataclass(repr=False)
class RawInputs(_Result):
    """raw-inputs' result: the input list to give `run`, how many raws were written (and
    labelled), what was skipped and why."""

    out_dir: str
    input_list: str
    manifest: str
    written: int
    labelled: int
    skipped: list[tuple[str, str]]
    seconds: float
    report: object = field(default=None, compare=False)

    def __repr__(self) -> str:
        return (f"RawInputs(input_list={self.input_list!r}, written={self.written}, "
                f"labelled={self.labelled}, skipped={len(self.skipped)})")


# ---------------------------------------------------------------------------------------------
# quiet like the CLI

@contextlib.contextmanager
def _quiet(progress: Progress | None, verbose: bool) -> Iterator[None]:
    """The CLI's quiet, for one call: messages to `progress` (or logging), the libraries'
    Python warnings and native prints swallowed unless `verbose`. The caller's logger levels
    and warning filters are restored afterwards."""
    import logging

    with contextlib.ExitStack() as stack:
        stack.enter_context(reporter.messages_to(progress))
        if not verbose:
            stack.enter_context(warnings.catch_warnings())
            warnings.filterwarnings("ignore", category=UserWarning)
            warnings.filterwarnings("ignore", category=FutureWarning)
            loggers = [logging.getLogger(name) for name in reporter.THIRD_PARTY_LOGGERS if name]
            levels = [logger.level for logger in loggers]
            for logger in loggers:
                logger.setLevel(logging.ERROR)
            stack.callback(lambda: [lg.setLevel(lv) for lg, lv in zip(loggers, levels)])
            stack.enter_context(reporter.quiet_native())
        yield


def _reporting(func: Callable) -> Callable:
    """Adds `progress=` and `verbose=` to an API function and runs it quietly."""

    @functools.wraps(func)
    def wrapper(*args, progress: Progress | None = None, verbose: bool = False, **kwargs):
        with _quiet(progress, verbose):
            return func(*args, **kwargs)

    return wrapper


# ---------------------------------------------------------------------------------------------
# the functions

@_reporting
def convert(model: str | Path | None = None, target: str = "all", precision: str | None = None,
            out: str | Path | None = None, calib: str | None = None, **options) -> Conversion:
    """Convert a model (a frozen .pb, a Keras file, a SavedModel folder or a shipped model's
    name) to `target` (dlc, tflite, onnx, qnn or all), each file with its manifest, as
    `edge-fer convert` does. `options`: the other ConvertRequest fields (calib_count,
    verify_count, dry_run, dynamic_batch, htp_socs, ...). No model: the shipped `best`, converted
    into `out` or the current folder. Returns a Conversion."""
    from edge_fer.converters import ConvertRequest, convert_model
    from edge_fer.training.pretrained import model_or_default, names_shipped_model

    if names_shipped_model(model) and out is None:  # not beside it: that is the installed package
        out = Path.cwd()
    report = convert_model(ConvertRequest(model=model_or_default(model), target=target,
                                          precision=precision,
                                          calib=calib, out_dir=Path(out) if out else None,
                                          **options))
    files = [ConvertedFile(r.target, r.precision, r.status, str(r.path) if r.path else None,
                           r.size, None if r.seconds is None else round(r.seconds, 3),
                           r.reason or None, list(r.commands), _plain(r.checks))
             for r in report.results]
    return Conversion(str(report.model), str(report.out_dir) if report.out_dir else None, files,
                      report=report)


@_reporting
def raw_inputs(source: str | Path, out: str | Path | None = None, *, usage: str = "PublicTest",
               detect_faces: bool = False, dtype: str = "float32") -> RawInputs:
    """Images under a folder (labels from emotion-named folders), or one Usage split of a
    FER2013 CSV (.csv/.csv.gz), → `.raw` files, input_list.txt and manifest.csv in `out`
    (default: a new runs/raw-inputs/exp<N>), as `edge-fer raw-inputs` does. Returns a RawInputs
    (`.input_list` is what `run` takes)."""
    from edge_fer.outputs import output_dir
    from edge_fer.tensors.raw_inputs import raw_inputs_from_csv, raw_inputs_from_folder

    out = output_dir(Path(out) if out is not None else None, "raw-inputs")
    source = Path(source)
    if source.is_file() and source.name.lower().endswith((".csv", ".csv.gz")):
        made = raw_inputs_from_csv(source, out, usage=usage, dtype=dtype)
    else:
        made = raw_inputs_from_folder(source, out, detect_faces=detect_faces, dtype=dtype)
    return RawInputs(str(made.out_dir), str(made.input_list), str(made.manifest), made.written,
                     made.labelled, [(str(s), str(r)) for s, r in made.skipped],
                     round(made.seconds, 3), report=made)


def load_runner(model: str | Path, runtime: str | None = None, threads: int | None = None,
                verbose: bool = False, **options):
    """The model (a file, or a shipped model's name) loaded on its runtime (tf, tflite, onnx,
    qnn, snpe; default: from the file name) with `threads` CPU threads (default: every core). `runner.infer(images)` takes the
    model's input batch (edge-fer's models: float32 [N, 48, 48, 1] in [0, 1]) and returns its
    output ([N, 7] probabilities); `runner.close()` frees it."""
    from edge_fer.runners import load_runner as load
    from edge_fer.training.pretrained import model_or_default

    with _quiet(None, verbose):
        return load(model_or_default(model), runtime, threads=threads, **options)


@_reporting
def run(model: str | Path, input_list: str | Path, output_dir: str | Path,
        runtime: str | None = None, batch: int = 1, threads: int | None = None,
        **options) -> RunResult:
    """Run `model` (a file, or a shipped model's name such as "best") on every line of an SNPE
    input list and write `output_dir/Result_<i>/output.raw`, as
    `edge-fer run` does. Returns a RunResult (latency per image, images/s)."""
    from edge_fer.runners import load_runner as load
    from edge_fer.tensors.rawio import read_input_list
    from edge_fer.training.pretrained import model_or_default

    runner = load(model_or_default(model), runtime, threads=threads, **options)
    try:
        timings = runner.run_list(read_input_list(input_list), Path(output_dir), batch=batch)
    finally:
        runner.close()
    s = timings.summary()
    return RunResult(str(output_dir), runner.name, s["images"], s["calls"], s["load_s"],
                     s["total_s"], s["mean_ms"], s["p50_ms"], s["p90_ms"], s["images_per_s"],
                     s["note"], report=timings)


@_reporting
def classify(output_dir: str | Path, input_list: str | Path | None = None,
             labels: tuple[str, ...] | None = None) -> Classification:
    """Label every Result folder of a run (any runner's, snpe-net-run's included), as
    `edge-fer classify` does; with the raw-inputs manifest's labels, also the accuracy, recall
    and confusion matrix. Returns a Classification."""
    from edge_fer.analysis.classify import classify_output

    report = classify_output(output_dir, input_list, top_k=10**6,
                             labels=tuple(labels) if labels else None)
    results = [ImageResult(p.index, str(p.source), p.label,
                           round(float(p.top[0][1]), 6) if p.top else None,
                           {name: round(float(prob), 6) for name, prob in p.top},
                           p.true_label or None, p.problem) for p in report.predictions]
    metrics = report.metrics
    names = tuple(metrics.labels) if metrics else _labels_of(results)
    if metrics is not None and metrics.count:
        return Classification(str(output_dir), names, results, metrics.count, metrics.correct,
                              float(metrics.accuracy),
                              {k: None if v is None else round(v, 6)
                               for k, v in metrics.recall().items()},
                              metrics.confusion.tolist(), report=report)
    return Classification(str(output_dir), names, results, 0, 0, None, {}, None, report=report)


def _labels_of(results: list[ImageResult]) -> tuple[str, ...]:
    for result in results:
        if result.probabilities:
            return tuple(result.probabilities)
    return ()


@_reporting
def predict(source: str | Path, model: str | Path | None = None, runtime: str | None = None,
            out: str | Path | None = None, **options) -> Predictions:
    """Every face in an image, folder, video or camera (an index such as "0") → its emotion,
    as `edge-fer predict` does (default model: the shipped one, converted once to int8 TFLite
    and cached). With `out`, the annotated images or video, the plot, predictions.csv and
    summary.json are written there. `options`: detector, track, smooth, max_frames, threads,
    min_score, classify_every. Returns a Predictions (`.faces`: a Face each)."""
    from edge_fer.prediction.pipeline import predict as run_predict

    report = run_predict(str(source), Path(model) if model else None, runtime,
                         out_dir=Path(out) if out else None, **options)
    faces = []
    for row in report.rows:
        probs = [float(p) for p in row.probs]
        best = max(range(len(probs)), key=probs.__getitem__)
        box = tuple(round(float(v)) for v in (row.box.x0, row.box.y0, row.box.x1, row.box.y1))
        faces.append(Face(report.labels[best], round(probs[best], 6),
                          {name: round(p, 6) for name, p in zip(report.labels, probs)},
                          box, round(float(row.box.score), 4), str(row.source), int(row.frame),
                          None if row.time_s is None else round(float(row.time_s), 3),
                          None if row.track is None else int(row.track),
                          None if row.smoothed is None
                          else report.labels[max(range(len(row.smoothed)),
                                                 key=lambda i: row.smoothed[i])]))
    summary = report.summary()
    return Predictions(report.source, report.model, report.runtime, faces, report.frames,
                       report.frames_failed, report.frames_without_face, summary["frames_per_s"],
                       dict(summary["labels"]), dict(report.outputs), report=report)
