"""Model files from elsewhere, read as data: the checks a TensorFlow graph or an ONNX model passes
before any runtime sees it (docs/trust.md)."""
