"""QGIS-free engine of the Speckle2Void plugin: numpy/scipy core, GDAL I/O and ONNX runtime."""

__version__ = "0.1.0"
