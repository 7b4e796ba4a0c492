"""Domain errors whose messages a GIS user can act on.

The QGIS layer turns every :class:`S2VError` into a ``QgsProcessingException`` with the same
message, so messages say what is wrong and what to do about it.
"""

from __future__ import annotations


class S2VError(Exception):
    """Base class of every error the engine raises on purpose."""


class InputError(S2VError):
    """The input raster, band or a parameter value cannot be processed."""


class ModelError(S2VError):
    """The ONNX model file is missing, corrupt or breaks the model contract."""


class RuntimeUnavailable(S2VError):
    """onnxruntime, or the requested execution provider, is not usable."""


class OutputError(S2VError):
    """The output raster cannot be created or written."""


class Cancelled(S2VError):
    """The user cancelled the operation; partial outputs have been removed."""
