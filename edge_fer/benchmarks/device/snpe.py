"""`device-bench snpe`: a DLC on the device with snpe-net-run, per runtime (see the package
docstring for what is pushed, run and read back)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.benchmarks.device import session
from edge_fer.benchmarks.device.logs import parse_diagview
from edge_fer.benchmarks.device.summary import RuntimeSummary, summarize_diag, write_summary
from edge_fer.errors import EdgeFerError, UsageError
from edge_fer.platform.adb import Device, pick_device
from edge_fer.platform.sdk import require_sdk_tool
from edge_fer.platform.tools import run_tool
from edge_fer.tensors.rawio import InputList, read_input_list
from edge_fer.tensors.results import read_results, write_results

PERF_PROFILES = ("high_performance", "burst", "sustained_high_performance", "balanced",
                 "default", "power_saver", "low_power_saver", "high_power_saver",
                 "system_settings")


@dataclass(frozen=True)
class SnpePlan:
    """What every runtime's runs share: the device and its pushed files, the settings, the host
    side of the label check."""

    device: Device
    diagview: Path
    iterations: int
    perf_profile: str
    env: dict
    remote: str
    parsed: InputList
    input_list: Path
    reference: Path | None
    classes: int


def snpe_device_bench(dlc: Path, input_list: Path, out_dir: Path,
                      runtimes: tuple[str, ...] = ("cpu", "gpu", "dsp"), iterations: int = 10,
                      perf_profile: str = "high_performance", serial: str | None = None,
                      reference: Path | None = None) -> list[RuntimeSummary]:
    """Run the DLC on the device per runtime; summaries written to out_dir (see the package
    docstring)."""
    from edge_fer.runners.model_io import model_spec
    from edge_fer.runners.snpe import RUNTIME_FLAGS, push_snpe_runtime, snpe_android_build

    dlc, input_list, out_dir = Path(dlc), Path(input_list), Path(out_dir)
    if not dlc.is_file():
        raise EdgeFerError(f"{dlc}: no such DLC")
    unknown = [r for r in runtimes if r not in RUNTIME_FLAGS]
    if unknown or perf_profile not in PERF_PROFILES or iterations < 1:
        raise UsageError(f"runtimes are {', '.join(RUNTIME_FLAGS)}; --perf-profile one of "
                         f"{', '.join(PERF_PROFILES)}; --iterations ≥ 1")
    parsed = read_input_list(input_list)
    input_spec, output_spec = model_spec(dlc)  # the DLC's manifest, else edge-fer's own model
    device = pick_device(serial)
    build = snpe_android_build(device)
    diagview = require_sdk_tool("snpe-diagview")
    reference = session.reference_model(dlc, reference)
    out_dir.mkdir(parents=True, exist_ok=True)
    remote, remote_sdk = f"{session.DEVICE_ROOT}/snpe", f"{session.DEVICE_ROOT}/snpe/sdk"
    reporter.info(f"{device.serial}: {build.arch}; DSP skeletons {build.dsp_note}")
    with tempfile.TemporaryDirectory(prefix="snpe-device-", dir=out_dir) as scratch:
        stage = Path(scratch) / "stage"
        session.stage_inputs(parsed, stage, remote, input_spec.name.split(":")[0])
        shutil.copyfile(dlc, stage / "model.dlc")
        device.shell(["rm", "-rf", remote], what="clearing the device folder")
        env = push_snpe_runtime(device, build.net_run, build.lib_dir, build.dsp_dirs, remote_sdk,
                                f"{remote_sdk}/dsp")
        device.push(stage, remote)
        plan = SnpePlan(device, diagview, iterations, perf_profile, env, remote, parsed,
                        input_list, reference, output_spec.classes)
        summaries = session.each_runtime(device, remote, out_dir, runtimes,
                                 lambda local, runtime: _snpe_runtime(local, plan, runtime))
    write_summary(summaries, out_dir, "snpe_device_bench", {
        "device": device.serial, "dlc": str(dlc), "input_list": str(input_list),
        "inputs": len(parsed), "perf_profile": perf_profile, "iterations": iterations,
        "sdk_arch": build.arch, "dsp": build.dsp_note,
        "reference": str(reference) if reference else None})
    return summaries


def _snpe_runtime(local: Path, plan: SnpePlan, runtime: str) -> RuntimeSummary:
    """snpe-net-run `iterations` times on one runtime, its logs read by snpe-diagview on the
    host, its first run's outputs checked against the host reference."""
    from edge_fer.runners.snpe import NET_RUN, RUNTIME_FLAGS, _check_net_run_output

    remote, iterations = plan.remote, plan.iterations
    remote_out = f"{remote}/output/{runtime}"
    try:
        for number in range(iterations):
            argv = [f"{remote}/sdk/bin/{NET_RUN}", "--container", f"{remote}/model.dlc",
                    "--input_list", f"{remote}/input_list.txt",
                    "--output_dir", f"{remote_out}/run_{number}",
                    "--perf_profile", plan.perf_profile, *RUNTIME_FLAGS[runtime]]
            reporter.info(f"{NET_RUN} {runtime} run {number + 1}/{iterations}")
            done = plan.device.shell(argv, env=plan.env, cwd=remote, what=f"{NET_RUN} ({runtime})")
            _check_net_run_output(done, len(plan.parsed))
        (local / "device").mkdir(parents=True)
        plan.device.pull(remote_out, local / "device")
    except EdgeFerError as exc:
        raise session.RuntimeFailed(RuntimeSummary(NET_RUN, runtime, status="failed",
                                           reason=str(exc))) from None
    runs = []
    for number in range(iterations):
        run_dir = local / "device" / f"run_{number}"
        logs = sorted(run_dir.glob("SNPEDiag*.log"))
        if not logs:
            raise session.RuntimeFailed(RuntimeSummary(
                NET_RUN, runtime, status="failed",
                reason=f"{run_dir.relative_to(local.parent)}: snpe-net-run left no "
                       f"SNPEDiag*.log"))
        text = _diagview_text(plan.diagview, logs[0])
        (run_dir / "diagview.txt").write_text(text, encoding="utf-8")
        runs.append(parse_diagview(text))
    summary = summarize_diag(runtime, runs)
    results = local / "results"
    entries = read_results(local / "device" / "run_0", expected=len(plan.parsed))
    missing = [e.index for e in entries if not e.ok]
    if missing:
        summary.reason = f"device results unusable for inputs {missing[:10]}: {entries[missing[0]].problem}"
    write_results(results, [e.probs if e.ok else np.full(plan.classes, np.nan, np.float32)
                            for e in entries])
    session.check_labels(summary, plan.reference, results, plan.input_list)
    return summary


def _diagview_text(diagview: Path, log: Path) -> str:
    return run_tool([diagview, "--input_log", log], f"snpe-diagview on {log}", timeout=600,
                    check=True).stdout
