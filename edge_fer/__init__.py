"""edge-fer: train a TF1-style FER CNN and take it to Snapdragon edge runtimes."""

__version__ = "0.1.0"
