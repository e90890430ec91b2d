"""SNPE DLCs through Qualcomm's `snpe-net-run`, on this host or on a device over adb.

snpe-net-run runs a whole input list in one call and writes `Result_<i>/output:0.raw`; we run it
into a temporary folder, read that through results.py and write our own `output.raw` layout, so
its output is indistinguishable from every other runner's. On a device (`device=SERIAL`) the SDK's
Android binaries, the DLC, the raws and a rewritten input list go to /data/local/tmp/edge-fer,
and the Result folders come back with `adb pull`.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.errors import EdgeFerError, ToolMissingError, UsageError
from edge_fer.platform.adb import Device
from edge_fer.platform.sdk import SDK_HINT, require_sdk_tool, sdk_info
from edge_fer.platform.tools import ToolRun, run_tool
from edge_fer.runners.base import Runner, RunTimings, check_input_list, finish_output_dir
from edge_fer.tensors.rawio import InputList, read_raw
from edge_fer.tensors.results import read_results, write_results

NET_RUN = "snpe-net-run"
# --snpe-runtime → snpe-net-run's flag (CPU is its default and has none).
RUNTIME_FLAGS: dict[str, tuple[str, ...]] = {
    "cpu": (),
    "gpu": ("--use_gpu",),
    "dsp": ("--use_dsp",),
    "aip": ("--use_aip",),
}
DEVICE_ROOT = "/data/local/tmp/edge-fer"
# Where Android looks for DSP skeletons besides our own folder (SNPE docs, DSP runtime setup;
# /vendor/dsp/cdsp on recent devices).
DEVICE_DSP_PATHS = ("/vendor/dsp/cdsp", "/vendor/lib/rfsa/adsp", "/system/lib/rfsa/adsp",
                    "/system/vendor/lib/rfsa/adsp", "/dsp")


def unavailable_reason() -> str | None:
    if sdk_info() is None:
        return f"{NET_RUN} not found: {SDK_HINT}"
    return None


# Device ABI (getprop ro.product.cpu.abi) → the SDK's Android folder prefix under bin/ and lib/
# (e.g. $SNPE_ROOT/bin/aarch64-android/snpe-net-run, $SNPE_ROOT/lib/aarch64-android/libSNPE.so;
# SNPE 1.x names them aarch64-android-clang8.0 etc., hence the prefix match).
ABI_SDK_PREFIX = {"arm64-v8a": "aarch64-android", "armeabi-v7a": "arm-android"}


@dataclass
class SnpeAndroidBuild:
    """The SDK's files for one device: snpe-net-run, its libraries and the DSP skeletons."""

    arch: str
    net_run: Path
    lib_dir: Path
    dsp_dirs: list[Path]
    dsp_note: str


def snpe_android_build(device: Device) -> SnpeAndroidBuild:
    """$SNPE_ROOT/bin/<arch>/snpe-net-run, lib/<arch>/ and lib/hexagon-v<NN>/unsigned/ for the
    device's ABI and (when its SoC is in edge_fer.platform.qnn's table) its Hexagon version."""
    from edge_fer.platform.qnn import SOC_TABLE

    abi, soc_model = device.getprop("ro.product.cpu.abi"), device.getprop("ro.soc.model")
    info = sdk_info()
    if info is None or info.root is None:
        raise ToolMissingError(f"running on a device needs the SDK folder's Android build: "
                               f"{SDK_HINT} (SNPE_ROOT, not just PATH)")
    prefix = ABI_SDK_PREFIX.get(abi)
    if prefix is None:
        raise ToolMissingError(f"device ABI {abi or 'unknown'!r}: the SNPE SDK has Android "
                               f"builds for {', '.join(ABI_SDK_PREFIX)} only")
    binaries = sorted((info.root / "bin").glob(f"{prefix}*/{NET_RUN}"))
    if not binaries:
        raise ToolMissingError(f"{info.root}/bin/{prefix}*/{NET_RUN} not found: the SDK at "
                               f"{info.root} lacks the Android build for {abi}")
    arch = binaries[-1].parent.name
    lib_dir = info.root / "lib" / arch
    if not lib_dir.is_dir():
        raise ToolMissingError(f"{lib_dir} not found: the SDK lacks its {arch} libraries")
    every = sorted(p for p in (info.root / "lib").glob("hexagon-v*/unsigned") if p.is_dir())
    soc = SOC_TABLE.get(soc_model.strip().lower())
    chosen = [p for p in every if soc and p.parent.name == f"hexagon-v{soc.htp_arch}"]
    if chosen:
        note = f"{soc.name} ({soc.marketing_name}): hexagon-v{soc.htp_arch}"
    else:
        chosen = every
        note = (f"SoC {soc_model or 'unknown'} not in edge_fer.platform.qnn's table: pushed every "
                f"hexagon-v*/unsigned ({', '.join(p.parent.name for p in every) or 'none'})")
    return SnpeAndroidBuild(arch, binaries[-1], lib_dir, chosen, note)


def push_snpe_runtime(device: Device, net_run: Path, lib_dir: Path, dsp_dirs: list[Path],
                      remote_sdk: str, remote_dsp: str, also_create: tuple[str, ...] = ()
                      ) -> dict[str, str]:
    """Push snpe-net-run, its libraries and the DSP skeletons to the device; return the
    environment it runs with there (shared by `run --device` and the device benchmark)."""
    device.shell(["mkdir", "-p", *also_create, f"{remote_sdk}/bin", f"{remote_sdk}/lib", remote_dsp],
                 what="creating the device folders")
    device.push(net_run, f"{remote_sdk}/bin/{NET_RUN}")
    device.push(lib_dir, f"{remote_sdk}/lib")
    for dsp_dir in dsp_dirs:
        device.push(dsp_dir, remote_dsp)
    device.shell(["chmod", "755", f"{remote_sdk}/bin/{NET_RUN}"], what="chmod snpe-net-run")
    return {"LD_LIBRARY_PATH": f"{remote_sdk}/lib",
            "ADSP_LIBRARY_PATH": ";".join((remote_dsp, *DEVICE_DSP_PATHS))}


class SnpeRunner(Runner):
    name = "snpe"
    options = ("snpe_runtime", "device")
    tool_reads_list = True   # snpe-net-run checks input names and output headers on the DLC

    def __init__(self, model_path: Path, threads: int | None = None, snpe_runtime: str = "cpu",
                 device: str | None = None) -> None:
        if snpe_runtime not in RUNTIME_FLAGS:
            raise UsageError(f"unknown SNPE runtime {snpe_runtime!r}; known: "
                             f"{', '.join(RUNTIME_FLAGS)}")
        self.model_path = model_path
        self.snpe_runtime = snpe_runtime
        self.device: Device | None = None
        if device:
            self.device = Device(device)
            self.android = snpe_android_build(self.device)
        else:
            self.net_run = require_sdk_tool(NET_RUN)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        raise EdgeFerError(f"{NET_RUN} runs whole input lists; use run_list (edge-fer run)")

    def write_list(self, input_list: InputList, output_dir: Path, batch: int = 1,
                   input_dtype: str | None = None) -> RunTimings:
        if batch != 1:
            raise UsageError("a DLC's batch is fixed when it is converted; for SNPE batch N each "
                             "raw holds N images, so --batch does not apply to the snpe runner")
        input_dtype, _ = check_input_list(self, input_list,
                                          input_list.raw_paths(self.input_spec.name), input_dtype)
        if input_dtype != "float32":
            raise UsageError("the snpe runner feeds float32 raws (snpe-net-run's default input)")
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".snpe-net-run.", dir=output_dir))
        try:
            started = time.perf_counter()
            if self.device is None:
                self._run_on_host(input_list, scratch / "output")
            else:
                self._run_on_device(input_list, scratch)
            wall = time.perf_counter() - started
            self._adopt_results(scratch / "output", input_list, output_dir)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        timings = RunTimings(load_s=0.0, total_s=wall, batch_sizes=[len(input_list)],
                             batch_latencies_s=[wall],
                             note=f"one {NET_RUN} call over the whole list, model load included")
        finish_output_dir(output_dir, self, input_list, batch, timings)
        return timings

    def net_run_args(self, container: str, input_list: str, output_dir: str) -> list[str]:
        return ["--container", container, "--input_list", input_list, "--output_dir", output_dir,
                *RUNTIME_FLAGS[self.snpe_runtime]]

    def _run_on_host(self, input_list: InputList, output: Path) -> None:
        # snpe-net-run resolves relative raw paths from its working folder: the list's folder.
        argv = [str(self.net_run), *self.net_run_args(str(self.model_path.resolve()),
                                                      str(input_list.path.resolve()), str(output))]
        reporter.info(f"{NET_RUN} ({self.snpe_runtime}) on {len(input_list)} inputs")
        done = run_tool(argv, NET_RUN, cwd=input_list.path.resolve().parent, check=True)
        _check_net_run_output(done, len(input_list))

    def _run_on_device(self, input_list: InputList, scratch: Path) -> None:
        device, sdk = self.device, self.android
        remote = f"{DEVICE_ROOT}/run"
        remote_sdk = f"{DEVICE_ROOT}/sdk/{sdk.arch}"
        stage = scratch / "stage"
        (stage / "raws").mkdir(parents=True)
        lines = [f"#{' '.join(input_list.output_layers)}"] if input_list.output_layers else []
        if input_list.output_tensors:
            lines.append(f"%{' '.join(input_list.output_tensors)}")
        for number, entry in enumerate(input_list.entries):
            words = []
            for name, path in entry.items():
                staged = f"{number:06d}_{len(words)}_{path.name}"
                shutil.copyfile(path, stage / "raws" / staged)
                words.append(f"{name}:={remote}/raws/{staged}" if name else f"{remote}/raws/{staged}")
            lines.append(" ".join(words))
        (stage / "input_list.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        shutil.copyfile(self.model_path, stage / "model.dlc")

        reporter.info(f"pushing SNPE ({sdk.arch}; DSP skeletons {sdk.dsp_note}), model and "
                      f"{len(input_list)} raws to {device.serial}:{DEVICE_ROOT}")
        device.shell(["rm", "-rf", remote], what="clearing the device folder")
        env = push_snpe_runtime(device, sdk.net_run, sdk.lib_dir, sdk.dsp_dirs, remote_sdk,
                                f"{DEVICE_ROOT}/sdk/dsp", also_create=(remote,))
        device.push(stage, remote)
        argv = [f"{remote_sdk}/bin/{NET_RUN}", *self.net_run_args(
            f"{remote}/model.dlc", f"{remote}/input_list.txt", f"{remote}/output")]
        reporter.info(f"{NET_RUN} ({self.snpe_runtime}) on {device.serial}")
        try:
            done = device.shell(argv, env=env, cwd=remote, what=f"{NET_RUN} on {device.serial}")
            _check_net_run_output(done, len(input_list))
            (scratch / "output").mkdir()
            device.pull(f"{remote}/output", scratch / "output")
        finally:
            device.remove_quietly(remote)

    def _adopt_results(self, produced: Path, input_list: InputList, output_dir: Path) -> None:
        """Rewrite snpe-net-run's Result folders in our layout; keep its diagnostic logs."""
        if not produced.is_dir():
            raise EdgeFerError(f"{NET_RUN} exited 0 but wrote no output folder")
        entries = read_results(produced, expected=len(input_list))
        missing = [e.index for e in entries if e.problem == "missing Result folder"
                   or (e.problem and not e.path.is_file())]
        if missing:
            raise EdgeFerError(f"{NET_RUN} wrote no usable output for input(s) "
                               f"{_index_list(missing)}: {entries[missing[0]].problem}")
        for entry in entries:
            if entry.problem:  # short or NaN: kept as written so classify reports it by index
                reporter.warn(f"{NET_RUN} result {entry.index}: {entry.problem}")
            values = entry.probs if entry.ok else read_raw(entry.path, "float32")
            write_results(output_dir, [values], start_index=entry.index)
        for log in produced.glob("SNPEDiag*.log"):
            shutil.copyfile(log, output_dir / log.name)


def _check_net_run_output(done: ToolRun, inputs: int) -> None:
    """Exit code 0 is not enough: the tool reports each input it processed on stdout."""
    processed = done.stdout.lower().count("processing dnn input")
    if processed and processed < inputs:
        raise EdgeFerError(f"{NET_RUN} processed {processed} of {inputs} inputs: "
                           f"{done.stdout.strip().splitlines()[-1]}")


def _index_list(indices: list[int], shown: int = 10) -> str:
    text = ", ".join(str(i) for i in indices[:shown])
    return text + (f" and {len(indices) - shown} more" if len(indices) > shown else "")


RUNNER = SnpeRunner
