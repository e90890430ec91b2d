"""Host benchmarks: latency percentiles, throughput, model size, FLOPs and peak memory per model,
runtime, batch and thread count.

The run, in order: plan the cases (cases), state each row's file facts (facts), time each case
in its own process (measure), collect the rows (report); the command prints them as a table
(table), JSON (report) or a chart (plot).
"""

from __future__ import annotations

import functools
from pathlib import Path

from edge_fer import reporter
from edge_fer.benchmarks.cases import BenchCase, plan_cases
from edge_fer.benchmarks.facts import (
    flops_per_image,
    host_facts,
    load_average,
    precision_of,
    source_graph,
)
from edge_fer.benchmarks.measure import in_process, isolated, synthetic_faces
from edge_fer.benchmarks.report import MEASURED, SKIPPED, BenchReport, BenchRow, BenchSettings
from edge_fer.errors import UsageError


def run_bench(models: list[Path], runtimes: list[str] | None = None, batches: list[int] = (1,),
              threads: list[int | None] = (None,), settings: BenchSettings | None = None,
              isolate: bool = True) -> BenchReport:
    """Benchmark every case; a runtime missing here is a skipped row, a failure a failed row."""
    from edge_fer.runners import REGISTRY

    settings = settings or BenchSettings()
    if settings.iterations < 1 or settings.warmup < 0 or settings.max_seconds <= 0:
        raise UsageError("--iterations must be ≥ 1, --warmup ≥ 0 and --max-seconds > 0")
    cases = plan_cases([Path(m) for m in models], runtimes, list(batches), list(threads))
    images = synthetic_faces(max(case.batch for case in cases))
    measure = isolated if isolate else in_process
    # one read of each model file and each source graph, however many cases share it
    precision, flops = functools.cache(precision_of), functools.cache(flops_per_image)
    report = BenchReport([], settings, host_facts())
    for number, case in enumerate(cases, start=1):
        row = _facts_row(case, precision, flops)
        why_not = REGISTRY[case.runtime].unavailable_reason()
        if why_not:
            row.status, row.reason = SKIPPED, f"{case.runtime} runner unavailable: {why_not}"
        else:
            reporter.info(f"[{number}/{len(cases)}] {case.model.name} on {case.runtime}, batch "
                          f"{case.batch}, threads {case.threads or 'auto'}")
            for key, value in measure(case, images, settings).items():
                setattr(row, key, value)
        if row.status != MEASURED:
            reporter.warn(f"{case.model.name} on {case.runtime}: {row.status}: {row.reason}")
        report.rows.append(row)
    report.host["load_average_end"] = load_average()
    return report


def _facts_row(case: BenchCase, precision, flops) -> BenchRow:
    """The case's row before timing: its file's size, precision (`precision(model, runtime)`)
    and FLOPs (`flops(source graph)`)."""
    row = BenchRow(str(case.model), case.runtime, precision(case.model, case.runtime),
                   case.batch, case.threads, bytes=case.model.stat().st_size)
    graph = source_graph(case.model)
    if graph is not None:
        row.flops_per_image = flops(graph)
    return row
