"""The bench table on screen: one line per case fitted to the terminal by the reporter's
table_text (as every command's table), then notes saying what each figure is, the FLOPs, why a
row was not measured, and the host's load."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from edge_fer import reporter
from edge_fer.benchmarks.report import MEASURED, BenchReport


class Column(NamedTuple):
    key: str
    header: str     # says which statistic the column shows
    right: bool     # right-aligned (a figure)
    narrow: bool    # shown below WIDE_TABLE terminal columns too


TABLE_COLUMNS = (Column("model", "model", False, True), Column("runtime", "runtime", False, True),
                 Column("prec", "prec", False, True), Column("batch", "batch", True, True),
                 Column("thr", "thr", True, True), Column("mib", "MiB", True, True),
                 Column("p50", "p50\nms", True, True), Column("p99", "p99\nms", True, False),
                 Column("std", "std\nms", True, True), Column("first", "1st\nms", True, True),
                 Column("per_image", "ms/img\n(p50)", True, True),
                 Column("images_per_s", "img/s\n(mean)", True, True),
                 Column("peak", "peak\nMiB", True, False), Column("growth", "+MiB", True, False))
WIDE_TABLE = 120  # terminal columns from which p99 and the memory columns are shown too


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def display_names(models: list[str]) -> dict[str, str]:
    """Each model's file name, or as many trailing path parts as make it unique in the table."""
    paths = list(dict.fromkeys(models))
    names = {}
    for path in paths:
        parts = Path(path).parts
        for depth in range(1, len(parts) + 1):
            tail = parts[-depth:]
            if sum(Path(other).parts[-depth:] == tail for other in paths) == 1:
                break
        names[path] = "/".join(tail)
    return names


def qnn_emulated() -> bool:
    from edge_fer.platform.qnn import is_emulator

    return is_emulator()


def table_rows(report: BenchReport) -> list[dict[str, str]]:
    names = display_names([row.model for row in report.rows])
    rows = []
    for row in report.rows:
        looped = row.model_batch is not None and row.model_batch < row.batch
        runtime = row.runtime + ("*" if row.runtime == "qnn" and qnn_emulated() else "")
        cells = {"model": names[row.model], "runtime": runtime, "prec": row.precision,
                 "batch": f"{row.batch}*" if looped else str(row.batch),
                 "thr": str(row.threads or "all"),
                 "mib": _fmt(row.bytes / 2**20 if row.bytes else None, ".2f")}
        if row.status != MEASURED:
            cells["p50"] = row.status.upper()  # the reason is a note under the table
        else:
            cells.update(p50=_fmt(row.p50_ms, ".3f"), p99=_fmt(row.p99_ms, ".3f"),
                         std=_fmt(row.std_ms, ".3f"), first=_fmt(row.first_call_ms, ".2f"),
                         per_image=_fmt(row.per_image_p50_ms, ".4f"),
                         images_per_s=_fmt(row.images_per_s, ",.0f"),
                         peak=_fmt(row.peak_rss_mib, ".0f"), growth=_fmt(row.rss_growth_mib, ".0f"))
        rows.append(cells)
    return rows


def table_notes(report: BenchReport) -> list[str]:
    """What the table's figures are, the FLOPs, and why a row was not measured."""
    shown_as = display_names([row.model for row in report.rows])
    notes = [f"{shown_as[row.model]} on {row.runtime}, batch {row.batch}: {row.status}: {row.reason}"
             for row in report.rows if row.status != MEASURED]
    by_flops: dict[int, list[str]] = {}
    for row in report.rows:
        names = by_flops.setdefault(row.flops_per_image, []) if row.flops_per_image else []
        if row.flops_per_image and shown_as[row.model] not in names:
            names.append(shown_as[row.model])
    if by_flops:
        shown = "; ".join(f"{value / 1e6:.1f} MFLOP ({', '.join(names)})"
                          for value, names in by_flops.items())
        notes.append(f"FLOPs per image (2 x multiply-adds of Conv2D/MatMul of the source graph): "
                     f"{shown}")
    if any(r.runtime == "qnn" for r in report.rows) and qnn_emulated():
        notes.append("qnn* = Qualcomm's HTP emulator on this x86_64 host: its latency is the "
                     "emulator's and says nothing about a device's NPU")
    if any(r.model_batch is not None and r.model_batch < r.batch for r in report.rows):
        notes.append("batch N* = the model takes fewer images per invoke (a frozen graph pins "
                     "batch 1), so one call is N invokes")
    settings = report.settings
    notes.append(f"{settings.iterations} timed calls per case (fewer past {settings.max_seconds:g}"
                 f" s) after {settings.warmup} warm-up calls. p50/p99/std: ms per call of `batch` "
                 f"images; 1st: the first call after loading; ms/img = p50 / batch; img/s = batch / "
                 f"mean latency; peak = VmHWM of the case's own process, +MiB = its growth over "
                 f"the RSS before the runtime and model were loaded; thr = CPU threads")
    host = report.host
    def loads(key: str) -> str:
        values = host.get(key)
        return " ".join(f"{v:.2f}" for v in values) if isinstance(values, (list, tuple)) else "?"

    notes.append(f"host: {host.get('cpu_count')} CPUs ({host.get('machine')}), load average "
                 f"(1, 5, 15 min) {loads('load_average_start')} at start, "
                 f"{loads('load_average_end')} at end")
    return notes


def table_text(report: BenchReport, width: int | None = None) -> str:
    """The cases as a table that fits `width` (default: the terminal's; below WIDE_TABLE
    without p99 and the memory figures, which --json always has), then the notes."""
    width = width or reporter.terminal_width()
    wide = width >= WIDE_TABLE
    columns = [column for column in TABLE_COLUMNS if wide or column.narrow]
    cells = [[row.get(column.key, "") for column in columns] for row in table_rows(report)]
    table = reporter.table_text([column.header for column in columns], cells, shrink=0,
                                right=tuple(i for i, c in enumerate(columns) if c.right),
                                width=width, gap=1)
    notes = table_notes(report)
    if not wide:
        notes.append(f"(p99 and memory columns from {WIDE_TABLE} terminal columns; all figures "
                     f"with --json)")
    return table + "\n" + "".join(reporter.wrapped(note, width) + "\n" for note in notes)
