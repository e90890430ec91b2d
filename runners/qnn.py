"""QDQ `.onnx` and compiled `_ctx.onnx` models on Qualcomm's QNN HTP backend (onnxruntime-qnn).

On x86_64 the backend is Qualcomm's emulator of the Hexagon NPU: its outputs are the NPU's, its
latency (about 100 ms per inference here) says nothing about a device. CPU fallback is off, so a
model holding an op HTP cannot take does not load (the error names the op). With `profile`
(`edge-fer run --profile`) QNN's own timing is recorded: its CSV and binary log are kept in the
output folder (`qnn_profile.csv`, `qnn_profile_qnn.log`), and the execute time per inference
goes into `qnn_profile.json` and the run summary.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.atomic import atomic_write_text
from edge_fer.errors import EdgeFerError, failure_reason
from edge_fer.platform import qnn
from edge_fer.runners.base import Runner, RunTimings, finish_output_dir, run_input_list
from edge_fer.tensors.rawio import InputList

PROFILE_NAME = "qnn_profile"
PROFILE_LEVEL = "basic"
EXECUTE_EVENT = "QNN (execute) time"
ACCELERATOR_EVENT = "Accelerator (execute) time"
_MICROSECONDS = {"US": 1.0, "MS": 1000.0, "NS": 0.001}


def unavailable_reason() -> str | None:
    return qnn.unavailable_reason()


@dataclass
class QnnProfile:
    """QNN's profiling CSV, read: one execute time per inference (µs), and at the `detailed`
    level the cycles of each op summed over the inferences."""

    execute_us: list[float] = field(default_factory=list)
    accelerator_us: list[float] = field(default_factory=list)
    node_cycles: dict[str, int] = field(default_factory=dict)
    other_us: dict[str, float] = field(default_factory=dict)   # finalize, load binary, ...

    def summary(self) -> dict:
        ms = [t / 1000.0 for t in self.execute_us]
        return {
            "inferences": len(ms),
            "execute_mean_ms": round(statistics.fmean(ms), 3) if ms else None,
            "execute_p50_ms": round(statistics.median(ms), 3) if ms else None,
            "execute_min_ms": round(min(ms), 3) if ms else None,
            "execute_max_ms": round(max(ms), 3) if ms else None,
            "execute_ms": [round(t, 3) for t in ms],
            "accelerator_ms": [round(t / 1000.0, 3) for t in self.accelerator_us],
            **({"node_cycles": self.node_cycles} if self.node_cycles else {}),
            **({"other_us": self.other_us} if self.other_us else {}),
        }


def read_profile(path: str | Path) -> QnnProfile:
    """Parse the CSV the QNN EP writes for `profiling_file_path` (columns: Msg Timestamp, Message,
    Time, Unit of Measurement, Timing Source, Event Level, Event Identifier)."""
    path = Path(path)
    profile = QnnProfile()
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise EdgeFerError(f"{path}: cannot read QNN profile ({failure_reason(exc)})") from None
    if not rows or [c.strip() for c in rows[0][:3]] != ["Msg Timestamp", "Message", "Time"]:
        raise EdgeFerError(f"{path}: not a QNN profiling CSV (header {rows[0][:3] if rows else []})")
    for row in rows[1:]:
        if len(row) < 7:
            continue
        message, value, unit, identifier = row[1], row[2], row[3].strip().upper(), ",".join(row[6:])
        try:
            number = float(value)
        except ValueError:
            continue
        if unit == "CYCLES" and message == "NODE":
            name = identifier.removesuffix(" (cycles)")
            profile.node_cycles[name] = profile.node_cycles.get(name, 0) + int(number)
            continue
        if unit not in _MICROSECONDS:
            continue
        micros = number * _MICROSECONDS[unit]
        if message == "EXECUTE" and identifier == EXECUTE_EVENT:
            profile.execute_us.append(micros)
        elif identifier == ACCELERATOR_EVENT:
            profile.accelerator_us.append(micros)
        elif identifier.startswith("QNN ("):
            profile.other_us[identifier] = profile.other_us.get(identifier, 0.0) + micros
    return profile


class QnnRunner(Runner):
    name = "qnn"
    options = ("profile",)

    def __init__(self, model_path: Path, threads: int | None = None,
                 profile: bool = False) -> None:
        self.model_path = model_path
        self.threads = threads
        self.profile = bool(profile)
        self._session = None
        self._open()

    def _open(self, provider_options: dict[str, str] | None = None) -> None:
        from edge_fer.artifacts.facts import pick_output

        session = qnn.open_session(self.model_path, provider_options, threads=self.threads)
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise EdgeFerError(f"{self.model_path}: expected one input, found "
                               f"{', '.join(i.name for i in inputs)}")
        try:
            self._output = pick_output([o.name for o in session.get_outputs()])
        except EdgeFerError as exc:
            raise EdgeFerError(f"{self.model_path}: {exc}") from None
        self._input = inputs[0].name
        batch_dim = inputs[0].shape[0] if inputs[0].shape else None
        self.max_batch = batch_dim if isinstance(batch_dim, int) else None
        self._session = session

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if self._session is None:
            self._open()
        try:
            return self._session.run([self._output], {self._input: batch})[0]
        except Exception as exc:  # noqa: BLE001 - onnxruntime's EPFail/Fail
            raise EdgeFerError(f"{self.model_path}: QNN HTP failed to run it "
                               f"({qnn._first_line(exc)})") from None

    def close(self) -> None:
        """Release the session (QNN writes its profiling CSV when the session goes)."""
        self._session = None

    def write_list(self, input_list: InputList, output_dir: Path, batch: int = 1,
                   input_dtype: str | None = None) -> RunTimings:
        if not self.profile:
            return super().write_list(input_list, output_dir, batch, input_dtype)
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        staged = output_dir / f".{PROFILE_NAME}.{os.getpid()}.csv"
        staged_log = staged.with_name(f"{staged.stem}_qnn.log")
        try:
            self.close()
            self._open({"profiling_level": PROFILE_LEVEL, "profiling_file_path": str(staged)})
            try:
                timings = run_input_list(self, input_list, output_dir, batch=batch,
                                         input_dtype=input_dtype, into_fresh=True)
            finally:
                self.close()
            profile = read_profile(staged)
            os.replace(staged, output_dir / f"{PROFILE_NAME}.csv")
            if staged_log.is_file():
                os.replace(staged_log, output_dir / f"{PROFILE_NAME}_qnn.log")
        finally:
            for leftover in (staged, staged_log):
                leftover.unlink(missing_ok=True)
        summary = profile.summary()
        if summary["inferences"] != len(timings.batch_sizes):
            reporter.warn(f"{PROFILE_NAME}.csv holds {summary['inferences']} execute times for "
                          f"{len(timings.batch_sizes)} inference calls")
        atomic_write_text(output_dir / f"{PROFILE_NAME}.json", json.dumps(
            {"model": str(self.model_path.resolve()), "level": PROFILE_LEVEL,
             "csv": f"{PROFILE_NAME}.csv", **summary}, indent=2) + "\n")
        if summary["inferences"]:
            timings.note = (f"QNN execute time {summary['execute_mean_ms']:.2f} ms mean, "
                            f"{summary['execute_p50_ms']:.2f} ms median per inference over "
                            f"{summary['inferences']} ({PROFILE_NAME}.csv"
                            f"{'; HTP emulator, not device timing' if qnn.is_emulator() else ''})")
            reporter.info(f"qnn profile: {timings.note}")
        finish_output_dir(output_dir, self, input_list, batch, timings)  # run.json with the note
        return timings


RUNNER = QnnRunner
