"""The main job end to end on the built-in data, as a user would run it step by step.

train → freeze → convert (every available target, fp32 and int8) → render test faces →
raw-inputs → run on every available runtime → classify → one summary table. Each step calls the
same library function as its command, so the demo proves the commands fit together.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.errors import EdgeFerError


@dataclass
class DemoRow:
    """One model file on one runtime, scored on the rendered faces."""

    model: str
    runtime: str
    precision: str
    bytes: int
    accuracy: float | None
    agreement: float | None        # top-1 agreement with the TF reference (the frozen .pb)
    max_abs_dp: float | None       # max |Δp| against the TF reference
    ms_per_image: float | None
    problem: str = ""


def _precision(model: Path) -> str:
    name = model.stem
    for tag in ("int8", "fp16", "qnn"):
        if tag in name:
            return "int8" if tag == "qnn" else tag
    return "fp32"


def _runs_for(model: Path) -> list[str]:
    """The runtime a converted file is run on: its default runner; QNN's own QDQ model on qnn."""
    from edge_fer.runners import REGISTRY, runner_for

    if model.suffix == ".onnx" and "_qnn" in model.stem and "qnn" in REGISTRY:
        return ["qnn"]
    return [runner_for(model).name]


def _run_one(spec, model: Path, input_list: Path, output_dir: Path):
    from edge_fer.tensors.rawio import read_input_list

    runner = spec.load(model)
    try:
        return runner.run_list(read_input_list(input_list), output_dir, batch=1)
    finally:
        runner.close()


def failures(summary: dict) -> list[str]:
    """What failed (not what was skipped for lack of a tool): conversions and runs."""
    failed = [f"convert {c['target']} {c['precision']}: {c['reason']}"
              for c in summary["conversions"] if c["status"] == "failed"]
    failed += [f"{row['model']} on {row['runtime']}: {row['problem'].removeprefix('failed: ')}"
               for row in summary["rows"] if row["problem"].startswith("failed")]
    return failed


def run_demo(out: str | Path = "runs/demo", epochs: int = 3, faces_per_class: int = 30,
             seed: int = 0) -> dict:
    """Run the whole pipeline in `out`; returns the summary (also written to out/summary.json)."""
    import json

    from edge_fer.analysis.classify import classify_output
    from edge_fer.atomic import atomic_write_text
    from edge_fer.converters import ConvertRequest, Result, convert_model
    from edge_fer.data.synthetic import render_png_folder
    from edge_fer.runners import REGISTRY
    from edge_fer.tensors.raw_inputs import raw_inputs_from_folder
    from edge_fer.tensors.results import read_results, stack_probs
    from edge_fer.training.freeze import freeze_run
    from edge_fer.training.train import TrainConfig, train

    out = Path(out)
    started = time.perf_counter()
    steps: dict[str, float] = {}

    def step(name: str):
        steps[name] = round(time.perf_counter() - started - sum(steps.values()), 2)

    reporter.info("[bold]1/7 train[/bold] seed003 on the built-in synthetic faces")
    metrics = train(TrainConfig(data="synthetic", arch="seed003", epochs=epochs, seed=seed,
                                synthetic_train=4200, synthetic_val=700, out=str(out / "run")),
                    overwrite=True)
    step("train")
    reporter.info("[bold]2/7 freeze[/bold]")
    model_dir = out / "model"
    frozen = model_dir / "model.pb"
    freeze_run(out / "run", frozen)
    step("freeze")

    reporter.info("[bold]3/7 convert[/bold] every target whose tools are here, fp32 and int8")
    artifacts: list[Path] = [frozen]
    conversions: dict[tuple[str, str, str], dict] = {}
    # int8 of every target (onnx and dlc write the fp32 file they quantize, so it is written
    # once), then the float TFLite file, the only fp32 model the int8 pass does not make
    results = []
    for target, precision in (("all", "int8"), ("tflite", "fp32")):
        try:
            results += convert_model(ConvertRequest(model=frozen, target=target, precision=precision,
                                                    out_dir=model_dir, verify_count=0)).results
        except EdgeFerError as exc:  # one target failing does not stop the others
            results.append(Result(target, precision, "failed", reason=str(exc)))
            reporter.warn(f"convert {target} {precision}: {exc}")
    for result in sorted(results, key=lambda r: (r.target, r.precision != "fp32")):
        if result.status == "converted" or result.tool_missing or result.status == "failed":
            conversions.setdefault((result.target, result.precision, result.variant), result.as_dict())
        runnable = result.path and result.path.suffix in (".tflite", ".onnx")
        if result.status == "converted" and runnable and result.path not in artifacts:
            artifacts.append(result.path)
    step("convert")

    reporter.info("[bold]4/7 render[/bold] a folder of test faces (a seed unseen in training)")
    faces = out / "faces"
    shutil.rmtree(faces, ignore_errors=True)  # no faces left from a run with other settings
    render_png_folder(faces, faces_per_class, seed=seed + 1000)
    step("render")
    reporter.info("[bold]5/7 raw-inputs[/bold]")
    raws = raw_inputs_from_folder(faces, out / "raws")
    input_list = out / "raws" / "input_list.txt"
    step("raw-inputs")

    reporter.info("[bold]6/7 run[/bold] on every available runtime")
    rows: list[DemoRow] = []
    reference = None
    for model in artifacts:
        for runtime in _runs_for(model):
            spec = REGISTRY[runtime]
            size = model.stat().st_size
            why_not = spec.unavailable_reason()
            if why_not:
                rows.append(DemoRow(model.name, runtime, _precision(model), size, None, None, None,
                                    None, f"skipped: {why_not}"))
                continue
            output_dir = out / "output" / f"{model.name}@{runtime}"
            try:
                timings = _run_one(spec, model, input_list, output_dir)
            except EdgeFerError as exc:  # one runtime failing does not stop the others
                rows.append(DemoRow(model.name, runtime, _precision(model), size, None, None,
                                    None, None, f"failed: {exc}"))
                reporter.warn(f"{model.name} on {runtime}: {exc}")
                continue
            probs = stack_probs(read_results(output_dir))
            if reference is None:
                reference = probs
            report = classify_output(output_dir, input_list)
            diff = np.abs(probs - reference)
            latency = timings.summary().get("mean_ms")
            rows.append(DemoRow(model.name, runtime, _precision(model), size,
                                report.metrics.accuracy if report.metrics else None,
                                float(np.mean(probs.argmax(1) == reference.argmax(1))),
                                float(np.nanmax(diff)), latency))
    step("run+classify")

    summary = {
        "out": str(out), "train": {"val_accuracy": metrics["val_accuracy"], "epochs": metrics["epochs_run"],
                                   "params": metrics["params"]},
        "faces": {"written": raws.written, "skipped": len(raws.skipped)},
        "conversions": list(conversions.values()), "rows": [asdict(row) for row in rows],
        "seconds": steps, "total_seconds": round(time.perf_counter() - started, 1),
    }
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, default=str) + "\n")
    return summary


def format_summary(summary: dict, width: int | None = None) -> str:
    """The one table a user reads at the end (fits `width`, default the terminal's): accuracy
    per runtime, agreement, latency; then what was skipped or failed and the training line."""
    width = width or reporter.terminal_width()

    def num(value, fmt):
        return format(value, fmt) if isinstance(value, (int, float)) else "-"

    rows, notes = [], []
    for row in summary["rows"]:
        if row["problem"]:
            rows.append([row["model"], row["runtime"], row["precision"],
                         reporter.mib(row["bytes"], unit=False) or "-", "-", "-", "-", "-"])
            notes.append(f"{row['model']} on {row['runtime']}: {row['problem']}")
            continue
        rows.append([row["model"], row["runtime"], row["precision"],
                     reporter.mib(row["bytes"], unit=False) or "-",
                     num(row["accuracy"], ".3f"), num(row["agreement"], ".3f"),
                     num(row["max_abs_dp"], ".1e"), num(row["ms_per_image"], ".3f")])
    text = reporter.table_text(["model", "runtime", "prec", "MiB", "accuracy", "agree",
                                "max|Δp|", "ms/img"], rows, shrink=0, right=(3, 4, 5, 6, 7),
                               width=width)
    for conversion in summary["conversions"]:
        if conversion["status"] != "converted":
            notes.append(f"convert {conversion['target']} {conversion['precision']}: "
                         f"{conversion['status']} — {conversion['reason']}")
    train = summary["train"]
    seconds = ", ".join(f"{name} {value:.1f} s" for name, value in summary["seconds"].items())
    notes.append(f"trained seed003 ({train['params']:,} parameters, {train['epochs']} epochs): "
                 f"validation accuracy {train['val_accuracy']:.3f}; {summary['faces']['written']} "
                 f"test faces; {summary['total_seconds']:.0f} s in all ({seconds})")
    return text + "\n".join(reporter.wrapped(note, width, indent="  ") for note in notes)
