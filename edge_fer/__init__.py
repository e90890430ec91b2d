"""edge-fer: train a TF1-style FER CNN and take it to Snapdragon edge runtimes.

Layout, one wing per stage; a module imports only from its own wing and the wings listed before it
(tests/test_layout.py walks every import to keep it so):

  0 root         labels, errors, reporter, atomic, files, preprocess (the one preprocessing function)
  1 data         data sets: FER2013 CSV, image folders, synthetic faces  (folder data/)
  2 tensors      raws and input lists, Result folders, frozen-graph I/O, images → raws
    artifacts    model files read as data: the op allowlist, ONNX external data (docs/trust.md)
  3 platform     the Qualcomm SDK tools and onnxruntime-qnn
  4 training     networks, training, batch-norm statistics, freezing, the shipped models
  5 runners      one module per runtime, and doctor                       (folder runners/)
  6 analysis     classify, compare, evaluate, inspect
  7 convert      one module per target; checks what it writes with runners and analysis
                                                                         (folder convert/)
  8 benchmarks   host and on-device benchmarks; hub: Qualcomm AI Hub's hosted devices
  9 predict      photos, folders, videos, cameras → faces (BlazeFace / Haar) → expressions
 10 top          demo (the whole pipeline), api (the Python API), cli and commands/ (typer)

(The converters are the package `edge_fer.converters`, the predict loop `edge_fer.prediction`:
no subpackage may share a name with an API function, or importing it would rebind that name.)

The Python API (edge_fer/api.py, docs/api.md) is re-exported here by name and imported only when
first used, so `import edge_fer` loads no TensorFlow and the root imports nothing above it:

    import edge_fer
    edge_fer.convert("model/model.pb", target="tflite", precision="int8")
    edge_fer.raw_inputs("faces", "raws")
    edge_fer.run("model/tflite/model_int8.tflite", "raws/input_list.txt", "out/int8")
    print(edge_fer.classify("out/int8").accuracy)
    for face in edge_fer.predict("group.jpg"):
        print(face.label, face.box)
"""

import os

from edge_fer import signals

if signals.is_command_line():  # the `edge-fer` command: its signals handled from its first moment
    signals.install()

# TensorFlow's C++ start-up chatter (CPU feature notes, oneDNN, MLIR passes) is not the user's
# concern; warnings and errors still show. Set before any module imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

API = ("convert", "raw_inputs", "run", "classify", "load_runner", "predict")  # from edge_fer.api
RESULTS = ("Classification", "Conversion", "ConvertedFile", "Face", "ImageResult", "Predictions",
           "RawInputs", "RunResult")  # the API's result types, also from edge_fer.api
__all__ = ["Classification", "Conversion", "ConvertedFile", "Face", "ImageResult", "Predictions",
           "RawInputs", "RunResult", "__version__", "classify", "convert", "load_runner",
           "predict", "raw_inputs", "run"]


def __getattr__(name: str):
    if name in API or name in RESULTS:
        import importlib

        return getattr(importlib.import_module("edge_fer.api"), name)
    raise AttributeError(f"module 'edge_fer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *API, *RESULTS])
