"""What the device tools print, parsed: snpe-diagview's statistics of an SNPEDiag log, and
LiteRT benchmark_model's log. Pure text in, figures out, so each format is tested on its own."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from edge_fer.errors import EdgeFerError


@dataclass
class DiagStats:
    """What snpe-diagview printed for one SNPEDiag log: each statistic in microseconds."""

    version: str = ""
    values_us: dict[str, float] = field(default_factory=dict)

    @property
    def total_inference_us(self) -> float | None:
        return self.values_us.get("Total Inference Time")

    @property
    def init_us(self) -> float | None:
        return self.values_us.get("Init")


_DIAG_STAT = re.compile(r"^\s*(?P<key>[A-Za-z][A-Za-z0-9 ()/\[\]-]*?)\s*:\s*"
                        r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>us|ms|NONE)?\s*$")
_DIAG_STOP = ("Layer Times", "Per-Layer Execution Times", "Per-Subnet Execution Times")
_UNIT_US = {"us": 1.0, "ms": 1000.0}


def parse_diagview(text: str) -> DiagStats:
    """The text `snpe-diagview --input_log SNPEDiag_0.log` prints.

    Format as read by Qualcomm's own benchmark (SNPE SDK `benchmarks/snpebm/snpebm_parser.py`,
    `DroidTimingLogParser`): one "<statistic>: <N> us" line per figure — "Load", "Deserialize",
    "Create", "Init", "De-Init", "Create Network(s)", "RPC Init Time", ..., then "Total
    Inference Time", "Forward Propagate Time", "RPC Execute Time", "Accelerator Time" — under
    "Dnn Runtime Load/Deserialize/Create/De-Init Statistics:" and "Average SNPE Statistics:"
    (SNPE 2.9) or the indented "SNPE Create Statistics:" / "SNPE Execute Statistics (Averaged):"
    (SNPE 2.37), and "Software library version: ...". Zeros print with no unit or "NONE".
    Per-layer and per-subnet times (which may be in cycles) follow and are not read.
    """
    stats = DiagStats()
    for line in text.splitlines():
        if any(marker in line for marker in _DIAG_STOP):
            break
        if line.strip().startswith("Software library version:"):
            stats.version = line.split(":", 1)[1].strip()
            continue
        match = _DIAG_STAT.match(line)
        if not match:
            continue
        key, value, unit = match["key"].strip(), float(match["value"]), match["unit"]
        if unit in _UNIT_US:
            stats.values_us.setdefault(key, value * _UNIT_US[unit])
        elif value == 0:  # "RPC Init Time: 0 NONE" / "RPC Execute Time: 0 "
            stats.values_us.setdefault(key, 0.0)
    return stats


@dataclass
class BenchmarkModelStats:
    """What LiteRT's benchmark_model printed for one run (times in microseconds, memory MB)."""

    init_us: float
    first_us: float
    warmup_avg_us: float
    avg_us: float
    count: int | None = None
    min_us: float | None = None
    max_us: float | None = None
    std_us: float | None = None
    median_us: float | None = None
    memory_init_mb: float | None = None
    memory_overall_mb: float | None = None
    peak_memory_mb: float | None = None


_NUMBER = r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_TIMINGS = re.compile(rf"Inference timings in us: Init: (?P<init>{_NUMBER}), First inference: "
                      rf"(?P<first>{_NUMBER}), Warmup \(avg\): (?P<warmup>{_NUMBER}), "
                      rf"Inference \(avg\): (?P<avg>{_NUMBER})")
_COUNT = re.compile(rf"\bcount=(?P<count>\d+)(?P<rest>(?:\s+\w+={_NUMBER})*)")
_PAIR = re.compile(rf"(\w+)=({_NUMBER})")
_FOOTPRINT = re.compile(rf"Memory footprint delta from the start of the tool \(MB\): "
                        rf"init=(?P<init>{_NUMBER}) overall=(?P<overall>{_NUMBER})")
_PEAK = re.compile(rf"Overall peak memory footprint \(MB\) via periodic monitoring: "
                   rf"(?P<peak>{_NUMBER})")


def parse_benchmark_model(text: str) -> BenchmarkModelStats:
    """The log of LiteRT's `benchmark_model` (stdout and stderr; "INFO: " or logcat prefixes
    are fine).

    Formats: "Inference timings in us: Init: 5685, First inference: 18535, Warmup (avg):
    14462.3, Inference (avg): 14575.2" as documented in TensorFlow Lite's
    `tensorflow/lite/tools/benchmark/README.md` and the LiteRT performance-measurement guide
    (`g3doc/performance/measurement.md`); before it, one statistics line per phase from
    `benchmark_model.cc` — "count=50 first=... curr=... min=... max=... avg=... std=..."
    (newer builds add "p5=... median=... p95=..."), warm-up first, timed runs last; after it
    "Memory footprint delta from the start of the tool (MB): init=... overall=..." and, with
    --report_peak_memory_footprint, "Overall peak memory footprint (MB) via periodic
    monitoring: ...". Numbers may be in exponent form (2.95034e+06).
    """
    timings = None
    last_count = None
    for line in text.splitlines():
        found = _TIMINGS.search(line)
        if found:
            timings = found
            break
        counted = _COUNT.search(line)
        if counted:
            last_count = counted
    if timings is None:
        errors = [line.strip() for line in text.splitlines()
                  if "ERROR" in line or "failed" in line.lower()]
        reason = errors[-1] if errors else (text.strip().splitlines() or ["no output"])[-1]
        raise EdgeFerError(f"benchmark_model printed no 'Inference timings' line: {reason}")
    stats = BenchmarkModelStats(float(timings["init"]), float(timings["first"]),
                                float(timings["warmup"]), float(timings["avg"]))
    if last_count is not None:
        pairs = {key: float(value) for key, value in _PAIR.findall(last_count["rest"])}
        stats.count = int(last_count["count"])
        stats.min_us, stats.max_us = pairs.get("min"), pairs.get("max")
        stats.std_us, stats.median_us = pairs.get("std"), pairs.get("median")
    footprint = _FOOTPRINT.search(text)
    if footprint:
        stats.memory_init_mb = float(footprint["init"])
        stats.memory_overall_mb = float(footprint["overall"])
    peak = _PEAK.search(text)
    if peak:
        stats.peak_memory_mb = float(peak["peak"])
    return stats
