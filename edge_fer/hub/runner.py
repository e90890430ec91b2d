"""HubRunner: a runner whose predict() is one AI Hub inference job on a hosted device.

runners.base does the rest as for every runtime (reading and checking the raws, Result_<i>
folders written whole, run.json), so `edge-fer classify` and `compare` read a hosted device's
results like any other runner's. The model is uploaded (or compiled for the asked runtime) once,
on the first predict, when its input spec is known.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge_fer.errors import EdgeFerError
from edge_fer.hub import connection, jobs
from edge_fer.runners.base import Runner

INPUTS_PER_JOB = 1000  # inputs one inference job carries (the driver's batch)


def tflite_io(model: Path) -> tuple[dict | None, dict | None]:
    """The .tflite file's input and output details (dtype, quantisation) read locally, so an int8
    model's inputs are quantised and its outputs dequantised here as the LiteRT runner does."""
    if model.suffix.lower() != ".tflite":
        return None, None
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(model_path=str(model))
    except (ValueError, RuntimeError) as exc:
        raise EdgeFerError(f"{model}: LiteRT cannot read it ({str(exc).splitlines()[0]})") from None
    return interpreter.get_input_details()[0], interpreter.get_output_details()[0]


class HubRunner(Runner):
    name = "hub"
    options = ("device", "hub_runtime", "timeout", "client")

    def __init__(self, model_path: Path, threads: int | None = None, device: str = "",
                 hub_runtime: str | None = None, timeout: float = jobs.DEFAULT_TIMEOUT_S,
                 client=None) -> None:
        self.model_path = model_path
        self.runtime = hub_runtime or jobs.default_runtime(model_path)
        self.must_compile = jobs.check_model_for_runtime(model_path, self.runtime)
        self.timeout = timeout
        self._module = connection.client_module()
        self._client = client if client is not None else connection.open_client()
        self._device = jobs.device_for(self._module, self._client, device)
        self._input_detail, self._output_detail = tflite_io(model_path)
        self._target: jobs.DeviceModel | None = None
        self.job_ids: list[str] = []

    def target(self) -> jobs.DeviceModel:
        if self._target is None:
            self._target = jobs.prepare(self._client, self._module, self.model_path, self.runtime,
                                        self._device, self.input_spec, self.timeout)
        return self._target

    def predict(self, batch: np.ndarray) -> np.ndarray:
        from edge_fer.runners.tflite import dequantize, quantize

        images = quantize(batch, self._input_detail) if self._input_detail else batch
        outputs, job = jobs.infer(self._client, self.target(), self._device, self.input_spec,
                                  images, self.timeout)
        self.job_ids.append(job.job_id)
        if outputs.dtype.kind in "iu":
            if self._output_detail is None or not self._output_detail["quantization"][0]:
                raise EdgeFerError(f"{self.model_path}: AI Hub returned {outputs.dtype} outputs "
                                   f"without their quantisation; convert with float outputs")
            outputs = dequantize(outputs, self._output_detail)
        return outputs.astype(np.float32, copy=False)

    def run_info(self) -> dict:
        """What run.json records of the hosted run: device, runtime, jobs, the compile."""
        target = self._target
        return {"hub": {"device": jobs.device_label(self._device), "runtime": self.runtime,
                        "inference_jobs": self.job_ids,
                        "compile": target.compile_record if target else {}}}


RUNNER = HubRunner


def profile_row(runner: HubRunner, images: np.ndarray):
    """One inference job with profiling on `images` (model input, float) → a bench row (the same
    table and JSON as `edge-fer bench`: latency per call of one image, peak memory) and the
    hosted device's own figures (compute units, the ten slowest layers)."""
    from edge_fer.benchmarks.facts import precision_of
    from edge_fer.benchmarks.report import MEASURED, BenchRow
    from edge_fer.runners.tflite import quantize

    images = quantize(images, runner._input_detail) if runner._input_detail else images
    _, job = jobs.infer(runner._client, runner.target(), runner._device, runner.input_spec,
                        images[:1], runner.timeout, profile=True)
    runner.job_ids.append(job.job_id)
    profile = job.download_profile()
    figures = jobs.profile_summary(profile or {})
    device = jobs.device_label(runner._device)
    row = BenchRow(model=str(runner.model_path), runtime=f"hub {runner.runtime}",
                   precision=precision_of(runner.model_path, runner.runtime), batch=1, threads=None,
                   status=MEASURED, bytes=runner.model_path.stat().st_size, calls=figures["calls"],
                   first_call_ms=figures["first_load_ms"], mean_ms=figures["mean_ms"],
                   std_ms=figures["std_ms"], p50_ms=figures["p50_ms"], min_ms=figures["min_ms"],
                   max_ms=figures["max_ms"], images_per_s=1000.0 / figures["mean_ms"]
                   if figures["mean_ms"] else None, model_batch=1,
                   peak_rss_mib=figures["peak_memory_mib"])
    hosted = {"device": device, "compute_units": figures["compute_units"],
              "top_layers": figures["top_layers"], "inference_job": job.job_id, "url": job.url,
              **({"compile": runner.target().compile_record} if runner.target().compile_record else {})}
    return row, hosted
