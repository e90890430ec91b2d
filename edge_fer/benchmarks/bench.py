"""Host benchmarks: latency percentiles, throughput, model size, FLOPs and peak memory per model,
runtime, batch and thread count.

Each case (one model file on one runtime, one batch size, one thread count) runs in a fresh
process started with multiprocessing's `spawn`, so one runtime's libraries, thread pools and
allocations never pollute the next one's figures. Inside that process:

- latency: `time.perf_counter()` around each `runner.infer(batch)` call — the runner API every
  command uses — after `warmup` untimed calls; p50/p90/p99 over the timed calls;
- throughput: images in the timed calls / their summed time;
- memory: the process's peak resident set (`VmHWM` in /proc/self/status) at the end, and its
  growth over the resident set measured just before the runtime library was imported and the
  model loaded (`VmRSS` then). The growth is what this runtime + model cost; the peak includes
  the ~Python and NumPy baseline of any process.

Native libraries that print on file descriptor 1 (onnxruntime-qnn's `# LIBNATIVE:` line) are
sent to stderr in the child, so the parent's stdout (the table or `--json -`) stays clean.
"""

from __future__ import annotations

import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edge_fer import reporter, signals
from edge_fer.atomic import atomic_write_text, save_figure
from edge_fer.errors import EdgeFerError, ToolMissingError, UsageError
from edge_fer.files import require_regular
from edge_fer.limits import MAX_BATCH

MEASURED, SKIPPED, FAILED = "measured", "skipped", "failed"
INPUT_SEED = 20240607  # the synthetic faces every case is timed on
MIN_TIMED_CALLS = 5    # a case stops at max_seconds only after this many timed calls


@dataclass(frozen=True)
class BenchCase:
    model: Path
    runtime: str
    batch: int
    threads: int | None  # None: every core (runners.base.available_cores)


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


# ---------------------------------------------------------------------------------------------
# What to run


def parse_int_list(text: str, flag: str, allow_auto: bool = False) -> list[int | None]:
    """'1,32' → [1, 32]; 'auto' (threads) → [None]: every core this process may use."""
    values: list[int | None] = []
    for part in (text or "").replace(" ", "").split(","):
        if not part:
            continue
        if allow_auto and part.lower() == "auto":
            values.append(None)
            continue
        try:
            value = int(part)
        except ValueError:
            raise UsageError(f"{flag} takes comma-separated whole numbers"
                             f"{' or auto' if allow_auto else ''}, not {part!r}") from None
        if value < 1 or value > MAX_BATCH:
            raise UsageError(f"{flag} values must be 1 to {MAX_BATCH:,}, not {value}")
        values.append(value)
    if not values:
        raise UsageError(f"{flag} names no value")
    return list(dict.fromkeys(values))


def _onnx_facts(model: Path) -> tuple[set[str], bool]:
    """The op types of an .onnx (without their domain), and whether its inputs all have a fixed
    batch."""
    from edge_fer.artifacts.formats import describe

    try:
        described = describe(model)
    except (EdgeFerError, ImportError):  # unreadable: the runner reports it when the case runs
        return set(), True
    fixed = all(tensor.dims() and tensor.dims()[0] for tensor in described.inputs)
    return {op.rsplit(".", 1)[-1] for op in described.ops}, fixed


def default_runtimes(model: Path) -> list[str]:
    """The file's default runner; a QDQ `.onnx` with a fixed batch also on qnn (HTP takes static
    shapes only), a compiled `_ctx.onnx` on qnn only."""
    from edge_fer.runners import REGISTRY, runner_for

    runtimes = [runner_for(model).name]
    if model.suffix.lower() == ".onnx" and "qnn" in REGISTRY:
        ops, fixed_batch = _onnx_facts(model)
        if "EPContext" in ops:
            return ["qnn"]
        if {"QuantizeLinear", "DequantizeLinear"} & ops and fixed_batch:
            runtimes.append("qnn")
    return runtimes


def plan_cases(models: list[Path], runtimes: list[str] | None, batches: list[int],
               threads: list[int | None]) -> list[BenchCase]:
    """Every (model, runtime, batch, threads); `runtimes` restricts or chooses the runners (a
    runtime that does not take a model's suffix is left out for that model)."""
    from edge_fer.artifacts.check import check_model_data
    from edge_fer.runners import REGISTRY

    if not models:
        raise UsageError("bench needs at least one model file")
    for runtime in runtimes or ():
        if runtime not in REGISTRY:
            raise UsageError(f"unknown runtime {runtime!r}; known: {', '.join(REGISTRY)}")
    cases = []
    for model in models:
        model = Path(model)
        require_regular(model, "a model file")
        if not model.is_file():
            raise EdgeFerError(f"{model}: no such model file")
        check_model_data(model)  # a refused graph or external data stops here, not per case
        if runtimes:
            chosen = [r for r in runtimes if model.suffix.lower() in REGISTRY[r].suffixes]
            if not chosen:
                reporter.warn(f"{model}: none of --runtime {','.join(runtimes)} takes "
                              f"{model.suffix} files; left out")
        else:
            chosen = default_runtimes(model)
        cases += [BenchCase(model, runtime, batch, thread)
                  for runtime in chosen for batch in batches for thread in threads]
    if not cases:
        raise UsageError("nothing to benchmark: no model matches --runtime")
    return cases


# ---------------------------------------------------------------------------------------------
# Facts read from the files


def precision_of(model: Path, runtime: str) -> str:
    """From the manifest when there is one, else from the file's own tensors (a model from
    elsewhere), else from the file name (edge-fer's naming)."""
    from edge_fer.artifacts.manifest import read_manifest

    manifest = read_manifest(model) or {}
    if manifest.get("precision"):
        return str(manifest["precision"])
    held = file_precision(model)
    if held:
        return held
    stem = model.stem.lower()
    for tag in ("int8", "fp16"):
        if tag in stem:
            return tag
    if runtime == "qnn":
        return "int8"
    return "fp32"


def file_precision(model: Path) -> str | None:
    """What a TFLite or ONNX file computes in, read from its tensors and ops: int8 (quantised
    activations), int8w (int8 weights, float activations: "dynamic range"), fp16 (float16
    weights), fp32; None when the file cannot be read here."""
    from edge_fer.artifacts.formats import describe

    try:
        if model.suffix.lower() == ".tflite":
            dtypes = describe(model).facts["tensor_dtypes"]
            integer = dtypes.get("int8", 0) + dtypes.get("uint8", 0) + dtypes.get("int16", 0)
            if integer:
                return "int8" if integer >= dtypes.get("float32", 0) else "int8w"
            return "fp16" if dtypes.get("float16") else "fp32"
        if model.suffix.lower() == ".onnx":
            ops = describe(model).ops
            if "QuantizeLinear" in ops or any(op.startswith("QLinear") for op in ops):
                return "int8"
            return "int8w" if "DynamicQuantizeLinear" in ops else "fp32"
    except (EdgeFerError, KeyError, ImportError):
        return None
    return None


def source_graph(model: Path) -> Path | None:
    """The frozen `.pb` a model came from: itself, or its manifest's source model."""
    from edge_fer.artifacts.manifest import read_manifest

    if model.suffix.lower() == ".pb":
        return model
    source = ((read_manifest(model) or {}).get("source_model") or {}).get("path")
    if source and Path(source).is_file():
        return Path(source)
    return None


def flops_per_image(graph_path: Path) -> int | None:
    """2 × multiply-adds of one image through the frozen graph (edge_fer.artifacts.pbfile)."""
    from edge_fer.artifacts.formats import describe

    try:
        described = describe(graph_path)
    except EdgeFerError as exc:
        reporter.warn(f"FLOPs unknown: {exc}")
        return None
    image = next((t for t in described.inputs
                  if described.picked and t.name == described.picked[0]), None)
    batch = (image.dims() or [None])[0] if image is not None and described.flops else None
    return described.flops // batch if batch and batch > 1 else described.flops


def synthetic_faces(size: int, seed: int = INPUT_SEED) -> np.ndarray:
    """`size` built-in synthetic faces, uint8 [size, 48, 48]: each case makes them into its
    model's own input (size, colour, layout, normalisation; tensors.spec.model_inputs)."""
    from edge_fer.data.synthetic import generate

    return generate(size, seed)[0]


# ---------------------------------------------------------------------------------------------
# One case, in its own process


def _memory_kib() -> dict[str, int]:
    """VmRSS and VmHWM of this process in KiB (/proc), or ru_maxrss where /proc is absent."""
    found = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(value.split()[0])
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        found = {"VmRSS": peak, "VmHWM": peak}
    return found


def _stdout_to_stderr() -> None:
    """Native libraries print on fd 1; in a bench child that belongs to stderr."""
    try:
        os.dup2(2, 1)
    except OSError:
        pass


def measure_case(case: BenchCase, images: np.ndarray, settings: BenchSettings) -> dict:
    """Load the model, warm up, time `settings.iterations` calls; the figures as a dict.

    Runs in the bench child process; also callable in-process (memory figures are then the
    calling process's, polluted by whatever it loaded before).
    """
    from edge_fer.runners import REGISTRY
    from edge_fer.tensors.spec import model_inputs

    before = _memory_kib()["VmRSS"]
    spec = REGISTRY[case.runtime]
    runner = spec.load(case.model, threads=case.threads)
    try:
        faces = np.resize(images, (case.batch, *images.shape[1:]))
        batch = np.ascontiguousarray(model_inputs(faces, runner.input_spec))
        started = time.perf_counter()
        runner.infer(batch)  # the first call (often slower: allocation, kernel selection)
        first_call_ms = (time.perf_counter() - started) * 1000.0
        for _ in range(settings.warmup - 1):  # the first call was the first warm-up call
            runner.infer(batch)
        latencies = []
        deadline = time.perf_counter() + settings.max_seconds
        for _ in range(settings.iterations):
            started = time.perf_counter()
            runner.infer(batch)
            latencies.append(time.perf_counter() - started)
            if len(latencies) >= MIN_TIMED_CALLS and time.perf_counter() > deadline:
                break
    finally:
        runner.close()
    memory = _memory_kib()
    ms = np.asarray(latencies) * 1000.0
    return {
        "calls": len(latencies), "load_s": runner.load_s, "model_batch": runner.max_batch,
        "threads": runner.threads, "first_call_ms": first_call_ms,
        "mean_ms": float(ms.mean()), "std_ms": float(ms.std(ddof=1)) if len(ms) > 1 else 0.0,
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)), "p99_ms": float(np.percentile(ms, 99)),
        "min_ms": float(ms.min()), "max_ms": float(ms.max()),
        "images_per_s": case.batch / float(np.mean(latencies)),  # images per call / mean latency
        "peak_rss_mib": memory["VmHWM"] / 1024.0,
        "rss_growth_mib": (memory["VmHWM"] - before) / 1024.0,
    }


def _child(case: BenchCase, images: np.ndarray, settings: BenchSettings) -> dict:
    """measure_case in the bench child, with our errors turned into a status the parent shows."""
    _stdout_to_stderr()
    return _measure_or_reason(case, images, settings)


def _in_process(case: BenchCase, images: np.ndarray, settings: BenchSettings) -> dict:
    from edge_fer.reporter import native_stdout_to_stderr

    with native_stdout_to_stderr():
        return _measure_or_reason(case, images, settings)


def _measure_or_reason(case: BenchCase, images: np.ndarray, settings: BenchSettings) -> dict:
    try:
        return {"status": MEASURED, **measure_case(case, images, settings)}
    except ToolMissingError as exc:
        return {"status": SKIPPED, "reason": str(exc)}
    except EdgeFerError as exc:
        return {"status": FAILED, "reason": str(exc)}


def _run_isolated(case: BenchCase, images: np.ndarray, settings: BenchSettings) -> dict:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=context,
                                 initializer=signals.die_with_parent,
                                 initargs=(os.getpid(),)) as pool:
            return pool.submit(_child, case, images, settings).result()
    except BrokenProcessPool:
        return {"status": FAILED, "reason": f"the {case.runtime} process died (crashed in "
                                            f"native code?) while running {case.model.name}"}
    except Exception as exc:  # noqa: BLE001 - an unexpected error in the child: report, go on
        return {"status": FAILED, "reason": f"{type(exc).__name__}: {exc}"}


# ---------------------------------------------------------------------------------------------
# The whole run


def host_facts() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (None, None, None)
    return {"machine": platform.machine(), "system": platform.system(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "load_average_start": [round(v, 2) for v in load if v is not None]}


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
    flops_cache: dict[Path, int | None] = {}
    report = BenchReport([], settings, host_facts())
    for number, case in enumerate(cases, start=1):
        row = BenchRow(str(case.model), case.runtime, precision_of(case.model, case.runtime),
                       case.batch, case.threads, bytes=case.model.stat().st_size)
        graph = source_graph(case.model)
        if graph is not None:
            if graph not in flops_cache:
                flops_cache[graph] = flops_per_image(graph)
            row.flops_per_image = flops_cache[graph]
        why_not = REGISTRY[case.runtime].unavailable_reason()
        if why_not:
            row.status, row.reason = SKIPPED, f"{case.runtime} runner unavailable: {why_not}"
        else:
            reporter.info(f"[{number}/{len(cases)}] {case.model.name} on {case.runtime}, batch "
                          f"{case.batch}, threads {case.threads or 'auto'}")
            outcome = (_run_isolated if isolate else _in_process)(case, images, settings)
            for key, value in outcome.items():
                setattr(row, key, value)
        if row.status != MEASURED:
            reporter.warn(f"{case.model.name} on {case.runtime}: {row.status}: {row.reason}")
        report.rows.append(row)
    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    report.host["load_average_end"] = [round(v, 2) for v in load]
    return report


# ---------------------------------------------------------------------------------------------
# Output


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


# (key, header, right-aligned, in the narrow table); each header says which statistic it shows
TABLE_COLUMNS = (("model", "model", False, True), ("runtime", "runtime", False, True),
                 ("prec", "prec", False, True), ("batch", "batch", True, True),
                 ("thr", "thr", True, True), ("mib", "MiB", True, True),
                 ("p50", "p50\nms", True, True), ("p99", "p99\nms", True, False),
                 ("std", "std\nms", True, True), ("first", "1st\nms", True, True),
                 ("per_image", "ms/img\n(p50)", True, True),
                 ("images_per_s", "img/s\n(mean)", True, True),
                 ("peak", "peak\nMiB", True, False), ("growth", "+MiB", True, False))
WIDE_TABLE = 120  # terminal columns from which p99 and the memory columns are shown too


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


def qnn_emulated() -> bool:
    from edge_fer.platform.qnn import is_emulator

    return is_emulator()


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


def print_table(report: BenchReport, console=None) -> None:
    """The cases as a rich table that fits the terminal (below WIDE_TABLE columns without p99
    and the memory figures, which --json always has; model names shortened with an ellipsis,
    never broken mid-word), then the notes."""
    from rich.table import Table

    console = console or reporter.new_console(highlight=False)
    wide = console.width >= WIDE_TABLE
    columns = [column for column in TABLE_COLUMNS if wide or column[3]]
    rows = table_rows(report)
    widths = {key: max([len(line) for line in header.split("\n")]
                       + [len(cells.get(key, "")) for cells in rows]) for key, header, *_ in columns}
    # the model column takes what the figures leave (one space between columns)
    model_width = max(8, console.width - sum(widths.values()) + widths["model"] - len(columns))
    table = Table(box=None, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold")
    for key, header, right, _ in columns:
        table.add_column(header, justify="right" if right else "left", no_wrap=True,
                         overflow="ellipsis", min_width=widths[key] if key != "model" else None,
                         max_width=model_width if key == "model" else None)
    for cells in rows:
        table.add_row(*(cells.get(key, "") for key, *_ in columns))
    console.print(table)
    console.print()
    for note in table_notes(report):
        console.print(note, markup=False)
    if not wide:
        console.print(f"(p99 and memory columns from {WIDE_TABLE} terminal columns; all figures "
                      f"with --json)", markup=False)


def format_json(report: BenchReport) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def write_json(report: BenchReport, path: str | Path) -> Path:
    return atomic_write_text(path, format_json(report))


def plot_report(report: BenchReport, path: str | Path) -> Path:
    """Two bar charts (per-image p50 latency, images/s; log scale) of the measured cases, PNG
    or any format matplotlib takes from the suffix, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    rows = [row for row in report.rows if row.status == MEASURED]
    if not rows:
        raise EdgeFerError(f"{path}: no measured case to plot")
    names = display_names([r.model for r in rows])
    labels = [f"{names[r.model]} · {r.runtime} · b{r.batch} · t{r.threads or 'all'}" for r in rows]
    runtimes = sorted({r.runtime for r in rows})
    palette = plt.get_cmap("tab10")
    colours = [palette(runtimes.index(r.runtime) % 10) for r in rows]
    height = max(3.0, 0.42 * len(rows) + 1.8)  # room for one 8-point label per bar
    figure, (left, right) = plt.subplots(1, 2, figsize=(14, height), dpi=110, sharey=True)
    positions = np.arange(len(rows))
    for axes, values, title in (
            (left, [r.per_image_p50_ms for r in rows], "p50 latency per image (ms, log)"),
            (right, [r.images_per_s for r in rows], "throughput: batch / mean latency (images/s, log)")):
        axes.barh(positions, values, color=colours)
        axes.set_xscale("log")
        axes.set_title(title, fontsize=10)
        axes.grid(axis="x", which="both", alpha=0.3)
        for y, value in zip(positions, values):
            axes.text(value, y, f" {value:,.0f}" if value >= 100 else f" {value:.3g}",
                      va="center", fontsize=7)
    left.set_yticks(positions, labels, fontsize=8)
    host = report.host
    figure.suptitle(f"edge-fer bench on {host.get('cpu_count')} CPUs ({host.get('machine')}), "
                    f"load {host.get('load_average_start')}", fontsize=10)
    left.set_ylim(len(rows) - 0.5, -0.5)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.5 / height))  # room for the title
    return save_figure(figure, path)
