"""Training, export and evaluation of Speckle2Void models (PyTorch).

Nothing in the plugin (``s2v_plugin``, ``processing_provider``) may import this package: the plugin
runs exported ONNX files with onnxruntime only.
"""
