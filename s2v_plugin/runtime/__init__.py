"""ONNX model card and the lazily imported onnxruntime session."""
