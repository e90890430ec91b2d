"""What a bench run found: one row per case, the run's settings and host, and the JSON of it
(`--json`, `--out`). The row is also the hub profile's (edge_fer.hub.runner), so both print and
save alike."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edge_fer.atomic import atomic_write_text

MEASURED, SKIPPED, FAILED = "measured", "skipped", "failed"


@dataclass
class BenchSettings:
    iterations: int = 200        # timed calls per case (fewer when max_seconds runs out)
    warmup: int = 10             # untimed calls before timing
    max_seconds: float = 20.0    # time budget of the timed calls per case


@dataclass
class BenchRow:
    """One case's figures (latencies in ms per call of `batch` images)."""

    model: str
    runtime: str
    precision: str
    batch: int
    threads: int | None                  # CPU threads the runtime used (asked for, or every core)
    status: str = MEASURED
    reason: str = ""
    bytes: int | None = None
    flops_per_image: int | None = None   # 2 × multiply-adds of Conv2D/MatMul (edge_fer.artifacts.pbfile)
    calls: int = 0
    load_s: float | None = None
    first_call_ms: float | None = None   # the first infer() after loading (the first warm-up call)
    mean_ms: float | None = None
    std_ms: float | None = None          # sample standard deviation of the timed calls
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    images_per_s: float | None = None    # batch / mean_ms (images per call / mean latency)
    model_batch: int | None = None       # images per invoke the model takes (None: any)
    peak_rss_mib: float | None = None    # VmHWM of the case's own process
    rss_growth_mib: float | None = None  # VmHWM − VmRSS before runtime import and model load

    @property
    def per_image_p50_ms(self) -> float | None:
        return None if self.p50_ms is None else self.p50_ms / self.batch

    @property
    def gflops_per_s(self) -> float | None:
        if self.flops_per_image is None or not self.images_per_s:
            return None
        return self.flops_per_image * self.images_per_s / 1e9

    def to_dict(self) -> dict:
        data = asdict(self)
        data["per_image_p50_ms"] = _round(self.per_image_p50_ms, 5)
        data["gflops_per_s"] = _round(self.gflops_per_s, 3)
        return data


@dataclass
class BenchReport:
    rows: list[BenchRow]
    settings: BenchSettings
    host: dict = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 all measured or skipped with others measured; 1 any failed; 3 nothing could run."""
        if any(row.status == FAILED for row in self.rows):
            return 1
        if not any(row.status == MEASURED for row in self.rows):
            return 3
        return 0

    def to_dict(self) -> dict:
        return {"host": self.host, "settings": asdict(self.settings),
                "memory": "peak_rss_mib = VmHWM of a fresh process that loaded only this model; "
                          "rss_growth_mib = that peak minus the process's VmRSS before the "
                          "runtime library was imported and the model loaded",
                "latency": "ms per runner.infer() call of `batch` images (perf_counter), after "
                           "`warmup` untimed calls; first_call_ms = the first call after loading "
                           "(the first warm-up call); std_ms = sample standard deviation of the "
                           "timed calls; per_image_p50_ms = p50_ms / batch; images_per_s = batch "
                           "/ mean_ms (images per call / mean latency); gflops_per_s = "
                           "flops_per_image × images_per_s",
                "rows": [row.to_dict() for row in self.rows]}


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def format_json(report: BenchReport) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def write_json(report: BenchReport, path: str | Path) -> Path:
    return atomic_write_text(path, format_json(report))
