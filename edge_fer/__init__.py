"""edge-fer: train a TF1-style FER CNN and take it to Snapdragon edge runtimes."""

import os

# TensorFlow's C++ start-up chatter (CPU feature notes, oneDNN, MLIR passes) is not the user's
# concern; warnings and errors still show. Set before any module imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
