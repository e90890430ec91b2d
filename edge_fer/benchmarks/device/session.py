"""What the SNPE and TFLite flows share around the adb Device (edge_fer.platform.adb): the
device folder, the raws staged for it, one local folder per runtime that replaces the old one
only when the runtime succeeds, and the label check against the host."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from edge_fer import reporter
from edge_fer.atomic import staged_dir
from edge_fer.benchmarks.device.summary import RuntimeSummary
from edge_fer.errors import EdgeFerError
from edge_fer.platform.adb import Device
from edge_fer.tensors.rawio import InputList

DEVICE_ROOT = "/data/local/tmp/edge-fer-bench"
# What device-bench writes in OUT/<runtime>/: replaced whole when a new run succeeds; anything
# else there (the user's notes) is carried over untouched.
RUNTIME_OUTPUTS = ("device", "results", "outputs", "benchmark_model.log")


def reference_model(model: Path, reference: Path | None) -> Path | None:
    """The host reference for the label check: --reference, else the model's source `.pb`."""
    from edge_fer.benchmarks.facts import source_graph

    if reference is not None:  # a model file, or a folder of Result_<i> (as edge-fer compare)
        if not Path(reference).exists():
            raise EdgeFerError(f"{reference}: no such reference model or output folder")
        return Path(reference)
    return source_graph(model)


def check_labels(summary: RuntimeSummary, reference: Path | None, results: Path,
                 input_list: Path) -> None:
    """Top-1 agreement of the device's Result folders with the reference run on the host."""
    from edge_fer.analysis.compare import compare

    if reference is None:
        summary.reason = "no host reference (pass --reference MODEL, e.g. the source .pb)"
        return
    rows = compare([str(reference), str(results)], input_list)
    summary.agreement, summary.compared = rows[1].agreement, rows[1].compared
    summary.max_abs_dp = rows[1].max_abs_dp
    reporter.info(f"labels: {summary.runtime} agrees with {reference.name} on "
                  f"{summary.compared - len(rows[1].disagreements)}/{summary.compared} inputs "
                  f"(edge-fer compare {reference} {results} -i {input_list})")


def stage_inputs(input_list: InputList, stage: Path, remote: str, input_name: str,
                 count: int | None = None) -> list[tuple[Path, str]]:
    """Copy the list's raws (of the model's input `input_name`) to stage/raws and write
    stage/input_list.txt with device paths; (source raw, staged name) per line."""
    (stage / "raws").mkdir(parents=True, exist_ok=True)
    lines, staged = [], []
    for number, raw in enumerate(input_list.raw_paths(input_name)[:count]):
        name = f"{number:06d}_{raw.name}"
        shutil.copyfile(raw, stage / "raws" / name)
        lines.append(f"{remote}/raws/{name}")
        staged.append((raw, name))
    (stage / "input_list.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return staged


class RuntimeFailed(Exception):
    """A runtime's work stopped: its summary says why, and its old folder stays."""

    def __init__(self, summary: RuntimeSummary) -> None:
        super().__init__(summary.reason)
        self.summary = summary


def _is_runtime_output(path: Path) -> bool:
    return path.name in RUNTIME_OUTPUTS or (path.name.startswith("label_check_")
                                            and path.suffix == ".sh")


def in_runtime_folder(folder: Path, work: Callable[[Path], RuntimeSummary]) -> RuntimeSummary:
    """`work(stage)` in a staging folder that becomes OUT/<runtime>/ only when it returns; when
    it raises RuntimeFailed, the old folder stays and the failure is the runtime's summary."""
    try:
        with staged_dir(folder, _is_runtime_output) as stage:
            return work(stage)
    except RuntimeFailed as failed:
        return failed.summary


def each_runtime(device: Device, remote: str, out_dir: Path, names: tuple[str, ...],
                 work: Callable[[Path, str], RuntimeSummary]) -> list[RuntimeSummary]:
    """`work(local, name)` per runtime, each in its own OUT/<name>/ (in_runtime_folder); the
    device folder is removed afterwards whatever happened."""
    summaries = []
    try:
        for name in names:
            summaries.append(in_runtime_folder(out_dir / name,
                                               lambda local, name=name: work(local, name)))
    finally:
        device.remove_quietly(remote)
    return summaries
