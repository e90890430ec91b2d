"""The Python API: what the commands do, as functions (`import edge_fer`, then
`edge_fer.convert(...)`; re-exported lazily by edge_fer/__init__.py, so importing the package
stays cheap and loads no TensorFlow).

Each function returns the same report its command prints. Messages and warnings go to
`progress` (a callable taking one line of text) when given, else to the `edge_fer` logger —
never straight to the terminal; no progress bars are drawn.

    import edge_fer

    report = edge_fer.convert("model/model.pb", target="tflite", precision="int8")
    edge_fer.raw_inputs("faces", "raws")
    edge_fer.run("model/tflite/model_int8.tflite", "raws/input_list.txt", "out/int8")
    print(edge_fer.classify("out/int8").metrics.accuracy)
    runner = edge_fer.load_runner("model/tflite/model_int8.tflite")
    probs = runner.infer(images)      # float32 [N, 48, 48, 1] in [0, 1] → [N, 7] probabilities
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from edge_fer import reporter

__all__ = ["classify", "convert", "load_runner", "predict", "raw_inputs", "run"]

Progress = Callable[[str], None]


def _reporting(func: Callable) -> Callable:
    """Route the library's messages to the caller's `progress` callback (or logging)."""

    @functools.wraps(func)
    def wrapper(*args, progress: Progress | None = None, **kwargs):
        with reporter.messages_to(progress):
            return func(*args, **kwargs)

    return wrapper


@_reporting
def convert(model: str | Path, target: str = "all", precision: str | None = None,
            out: str | Path | None = None, calib: str | None = None, **options):
    """Convert a frozen graph (.pb) to `target` (dlc, tflite, onnx, qnn or all), each file with
    its manifest, as `edge-fer convert` does; returns the ConvertReport (`.results`: one row
    per file written, planned, skipped or failed). `options`: the other ConvertRequest fields
    (calib_count, verify_count, dry_run, dynamic_batch, htp_socs)."""
    from edge_fer.convert import ConvertRequest, convert_model

    return convert_model(ConvertRequest(model=Path(model), target=target, precision=precision,
                                        calib=calib, out_dir=Path(out) if out else None,
                                        **options))


@_reporting
def raw_inputs(source: str | Path, out: str | Path = "raws", *, usage: str = "PublicTest",
               detect_faces: bool = False, dtype: str = "float32"):
    """Images under a folder (labels from emotion-named folders), or one Usage split of a
    FER2013 CSV (.csv/.csv.gz), → `.raw` files, input_list.txt and manifest.csv in `out`;
    returns the RawInputsResult (`.input_list`, `.written`, `.skipped`)."""
    from edge_fer.tensors.raw_inputs import raw_inputs_from_csv, raw_inputs_from_folder

    source = Path(source)
    if source.is_file() and source.name.lower().endswith((".csv", ".csv.gz")):
        return raw_inputs_from_csv(source, out, usage=usage, dtype=dtype)
    return raw_inputs_from_folder(source, out, detect_faces=detect_faces, dtype=dtype)


def load_runner(model: str | Path, runtime: str | None = None, threads: int | None = None,
                **options):
    """The model loaded on its runtime (tf, tflite, onnx, qnn, snpe; default: from the file
    name) with `threads` CPU threads (default: every core). `runner.infer(images)` takes float32
    [N, 48, 48, 1] in [0, 1] and returns [N, 7] probabilities; `runner.close()` frees it."""
    from edge_fer.runners import load_runner as load

    return load(model, runtime, threads=threads, **options)


@_reporting
def run(model: str | Path, input_list: str | Path, output_dir: str | Path,
        runtime: str | None = None, batch: int = 1, threads: int | None = None, **options):
    """Run every line of an SNPE input list and write `output_dir/Result_<i>/output.raw`, as
    `edge-fer run` does; returns the RunTimings (`.summary()`: mean/p50/p90 ms, images/s)."""
    from edge_fer.tensors.rawio import read_input_list

    runner = load_runner(model, runtime, threads=threads, **options)
    try:
        return runner.run_list(read_input_list(input_list), Path(output_dir), batch=batch)
    finally:
        runner.close()


@_reporting
def classify(output_dir: str | Path, input_list: str | Path | None = None, top_k: int = 3):
    """Label every Result folder of a run (any runner's, snpe-net-run's included); with the
    raw-inputs manifest's labels, also accuracy and the confusion matrix (`.metrics`). Returns
    the ClassifyReport."""
    from edge_fer.analysis.classify import classify_output

    return classify_output(output_dir, input_list, top_k=top_k)


@_reporting
def predict(source: str, model: str | Path | None = None, runtime: str | None = None, **options):
    """Every face in an image, folder, video or camera → its emotion, as `edge-fer predict`
    does (default model: the shipped one); returns the PredictReport."""
    from edge_fer.predict.pipeline import predict as run_predict

    return run_predict(source, Path(model) if model else None, runtime, **options)
