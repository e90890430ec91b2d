"""A stand-in for Qualcomm AI Hub's client at its API boundary, so no test reaches the service.

It has the names and signatures of `qai_hub` 0.56.0 that edge-fer uses (REAL_SIGNATURES, read
from the package's source; test_hub.py checks the stand-in against them, and against the
installed package when there is one): Client.get_devices / upload_model / submit_compile_job /
submit_inference_job, Device, and jobs with wait / get_status / get_target_model /
download_output_data / download_profile, returning what the real ones return (a list of Device,
a JobStatus with success/message, DatasetEntries {output name: [array per input]}, a profile dict
with execution_summary and execution_detail). Its "device" runs the model on this machine (LiteRT
or onnxruntime), so outputs are real and classify can check them.
"""

from __future__ import annotations

import itertools
import socket
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

# qai_hub 0.56.0 (client.py): the parameters of what edge-fer calls, in order.
REAL_SIGNATURES = {
    "Client.__init__": ["self", "config", "profile", "default_project_id", "client_mode"],
    "Client.get_devices": ["self", "name", "os", "attributes"],
    "Client.set_verbose": ["self", "verbose"],
    "Client.upload_model": ["self", "model", "name", "project"],
    "Client.submit_compile_job": ["self", "model", "device", "name", "input_specs", "options",
                                  "single_compile", "calibration_data", "retry", "project"],
    "Client.submit_inference_job": ["self", "model", "device", "inputs", "name", "options",
                                    "retry", "profile", "project"],
    "Job.wait": ["self", "timeout"],
    "CompileJob.get_target_model": ["self"],
    "InferenceJob.download_output_data": ["self", "filename"],
    "InferenceJob.download_profile": ["self", "filename"],
}

DEVICES = [
    ("Samsung Galaxy S24 (Family)", "14", ["chipset:qualcomm-snapdragon-8gen3", "framework:tflite",
                                           "framework:qnn", "framework:onnx", "os:android"]),
    ("Snapdragon 8 Elite QRD", "15", ["chipset:qualcomm-snapdragon-8-elite", "framework:tflite",
                                      "framework:qnn", "os:android"]),
]


@dataclass
class Device:
    name: str = ""
    os: str = ""
    attributes: str | list[str] = field(default_factory=list)


@dataclass
class JobStatus:
    code: str
    message: str | None = None

    @property
    def success(self) -> bool:
        return self.code == "SUCCESS"

    @property
    def failure(self) -> bool:
        return self.code == "FAILED"

    @property
    def finished(self) -> bool:
        return self.success or self.failure


@dataclass
class Model:
    model_id: str
    path: Path
    runtime: str


class Job:
    _ids = itertools.count(1)

    def __init__(self, owner, prefix: str, status: JobStatus, name: str | None):
        self._owner = owner
        self.job_id = f"{prefix}{next(Job._ids):05d}"
        self.name = name or ""
        self._status = status

    @property
    def url(self) -> str:
        return f"https://hub.invalid/jobs/{self.job_id}/"

    def get_status(self) -> JobStatus:
        return self._status

    def wait(self, timeout: int | None = None) -> JobStatus:
        if self._owner.behaviour.get("timeout"):
            raise TimeoutError(f"Waiting for job ({self.job_id}) completion timed out after {timeout} seconds.")
        return self._status


class CompileJob(Job):
    def __init__(self, owner, model: Model, status: JobStatus, name, options, input_specs):
        super().__init__(owner, "jc", status, name)
        self.options, self.input_specs, self._model = options, input_specs, model

    def get_target_model(self) -> Model | None:
        return self._model if self._status.success else None


class InferenceJob(Job):
    def __init__(self, owner, model: Model, status: JobStatus, name, inputs, profiling):
        super().__init__(owner, "ji", status, name)
        self._model, self._inputs, self.profiling = model, inputs, profiling

    def download_output_data(self, filename: str | None = None):
        if not self._status.success:
            return None
        arrays, = self._inputs.values()
        return {"output_0": [_run_locally(self._model, array) for array in arrays]}

    def download_profile(self, filename: str | None = None) -> dict:
        layers = [{"name": "conv1", "type": "Conv2d", "compute_unit": "NPU", "execution_time": 120},
                  {"name": "matmul", "type": "FullyConnected", "compute_unit": "NPU", "execution_time": 40},
                  {"name": "softmax", "type": "Softmax", "compute_unit": "CPU", "execution_time": 15}]
        return {"execution_summary": {"estimated_inference_time": 180,
                                      "estimated_inference_peak_memory": 3 * 2**20,
                                      "first_load_time": 52000,
                                      "all_inference_times": [175, 180, 182, 190, 178]},
                "execution_detail": layers}


def _run_locally(model: Model, array: np.ndarray) -> np.ndarray:
    """What the hosted device would compute: the model file on this machine's runtime."""
    if model.path.suffix == ".tflite":
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(model.path))
        interpreter.allocate_tensors()
        detail = interpreter.get_input_details()[0]
        assert array.dtype == detail["dtype"], f"sent {array.dtype}, model takes {detail['dtype']}"
        interpreter.set_tensor(detail["index"], array)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    import onnxruntime

    session = onnxruntime.InferenceSession(str(model.path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: array})[0]


class Client:
    """The stand-in service; `behaviour` switches failures on (compile_fails, inference_fails, timeout)."""

    behaviour: ClassVar[dict] = {}
    calls: ClassVar[list] = []

    def __init__(self, config=None, profile=None, default_project_id=None, client_mode="library"):
        self._models = itertools.count(1)

    def set_verbose(self, verbose: bool = True) -> None:
        self.verbose = verbose

    def get_devices(self, name: str = "", os: str = "", attributes: str | list[str] | None = None):
        wanted = [attributes] if isinstance(attributes, str) else list(attributes or [])
        Client.calls.append(("get_devices", name, tuple(wanted)))
        return [Device(n, o, list(a)) for n, o, a in DEVICES
                if (not name or n == name) and all(w in a for w in wanted)]

    def upload_model(self, model, name=None, project=None) -> Model:
        Client.calls.append(("upload_model", str(model)))
        path = Path(model)
        return Model(f"m{next(self._models):05d}", path, path.suffix.lstrip("."))

    def submit_compile_job(self, model, device, name=None, input_specs=None, options="",
                           single_compile=True, calibration_data=None, retry=True, project=None):
        assert isinstance(device, Device) and input_specs, (device, input_specs)
        Client.calls.append(("submit_compile_job", str(model), options, input_specs))
        status = JobStatus("FAILED", "Op type not supported: WriteFile") \
            if self.behaviour.get("compile_fails") else JobStatus("SUCCESS")
        target = Model(f"m{next(self._models):05d}", Path(model), options.split()[-1])
        return CompileJob(self, target, status, name, options, input_specs)

    def submit_inference_job(self, model, device, inputs=None, name=None, options="", retry=True,
                             profile=True, project=None):
        assert isinstance(model, Model) and isinstance(device, Device)
        Client.calls.append(("submit_inference_job", model.model_id, profile,
                             {k: len(v) for k, v in inputs.items()}))
        status = JobStatus("FAILED", "device ran out of memory") \
            if self.behaviour.get("inference_fails") else JobStatus("SUCCESS")
        return InferenceJob(self, model, status, name, inputs, profile)


def stand_in_module() -> types.ModuleType:
    module = types.ModuleType("qai_hub")
    module.__version__ = "0.56.0"
    for value in (Client, Device, JobStatus, Model, Job, CompileJob, InferenceJob):
        setattr(module, value.__name__, value)
    return module


@pytest.fixture
def listening_port():
    """A port on this machine that accepts connections (the 'service' is reachable)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.fixture
def hub_client(tmp_path, monkeypatch, listening_port):
    """The stand-in installed as `qai_hub`, a client.ini with a token, the service reachable."""
    ini = tmp_path / "client.ini"
    ini.write_text(f"[api]\napi_token = test-token\napi_url = http://127.0.0.1:{listening_port}\n"
                   f"web_url = https://hub.invalid\n")
    monkeypatch.setenv("QAIHUB_CLIENT_INI", str(ini))
    monkeypatch.setitem(sys.modules, "qai_hub", stand_in_module())
    monkeypatch.setattr(Client, "behaviour", {})
    monkeypatch.setattr(Client, "calls", [])
    return Client


@pytest.fixture
def stand_in_api():
    """(the real client's signatures, the stand-in module) for the signature test."""
    return REAL_SIGNATURES, stand_in_module()
