"""edge-fer: train a TF1-style FER CNN and take it to Snapdragon edge runtimes.

Layout, one wing per stage; a module imports only from its own wing and the wings listed before it
(tests/test_layout.py walks every import to keep it so):

  0 root         labels, errors, reporter, atomic, files, preprocess (the one preprocessing function)
  1 data         data sets: FER2013 CSV, image folders, synthetic faces  (folder data/)
  2 tensors      raws and input lists, Result folders, frozen-graph I/O, images → raws
  3 platform     the Qualcomm SDK tools and onnxruntime-qnn
  4 training     networks, training, batch-norm statistics, freezing, the shipped models
  5 runners      one module per runtime, and doctor                       (folder runners/)
  6 analysis     classify, compare, evaluate, inspect
  7 convert      one module per target; checks what it writes with runners and analysis
                                                                         (folder convert/)
  8 benchmarks   host and on-device benchmarks
  9 predict      photos, folders, videos, cameras → faces (BlazeFace / Haar) → expressions
 10 top          demo (the whole pipeline), cli and commands/ (the thin typer layer)
"""

import os

# TensorFlow's C++ start-up chatter (CPU feature notes, oneDNN, MLIR passes) is not the user's
# concern; warnings and errors still show. Set before any module imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
