"""Timing one bench case: in a fresh process started with multiprocessing's `spawn`, so one
runtime's libraries, thread pools and allocations never pollute the next one's figures.
Inside that process:

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

import os
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from edge_fer import signals
from edge_fer.benchmarks.cases import BenchCase
from edge_fer.benchmarks.report import FAILED, MEASURED, SKIPPED, BenchSettings
from edge_fer.errors import EdgeFerError, ToolMissingError

INPUT_SEED = 20240607  # the synthetic faces every case is timed on
MIN_TIMED_CALLS = 5    # a case stops at max_seconds only after this many timed calls


def synthetic_faces(size: int, seed: int = INPUT_SEED) -> np.ndarray:
    """`size` built-in synthetic faces, uint8 [size, 48, 48]: each case makes them into its
    model's own input (size, colour, layout, normalisation; tensors.spec.model_inputs)."""
    from edge_fer.data.synthetic import generate

    return generate(size, seed)[0]


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


def _measure_or_reason(case: BenchCase, images: np.ndarray, settings: BenchSettings) -> dict:
    try:
        return {"status": MEASURED, **measure_case(case, images, settings)}
    except ToolMissingError as exc:
        return {"status": SKIPPED, "reason": str(exc)}
    except EdgeFerError as exc:
        return {"status": FAILED, "reason": str(exc)}


def in_process(case: BenchCase, images: np.ndarray, settings: BenchSettings) -> dict:
    """The case in this process (tests; memory figures are this process's)."""
    from edge_fer.reporter import native_stdout_to_stderr

    with native_stdout_to_stderr():
        return _measure_or_reason(case, images, settings)


def isolated(case: BenchCase, images: np.ndarray, settings: BenchSettings) -> dict:
    """The case in a fresh spawned process that dies with this one; a crash is a failed row."""
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
