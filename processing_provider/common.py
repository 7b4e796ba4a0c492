"""What every Speckle2Void algorithm shares: icon, help URL, error and feedback adapters."""

from __future__ import annotations

import os
from contextlib import contextmanager

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingParameterBand,
    QgsProcessingParameterEnum,
    QgsProcessingParameterRasterLayer,
)
from qgis.PyQt.QtGui import QIcon

from ..s2v_plugin.core.domain import DOMAINS
from ..s2v_plugin.core.errors import Cancelled, S2VError
from .qgis_compat import FLAG_ADVANCED

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOMEPAGE = "https://github.com/speckle2void-qgis/speckle2void-qgis"


def plugin_icon() -> QIcon:
    """The plugin icon, loaded by file path (works with Qt5 and Qt6, no compiled resources)."""
    return QIcon(os.path.join(PLUGIN_DIR, "icons", "speckle2void.svg"))


class Speckle2VoidAlgorithm(QgsProcessingAlgorithm):
    """Base class: shared metadata and helpers; subclasses define the parameters and the work."""

    def icon(self):
        return plugin_icon()

    def group(self) -> str:
        return "SAR despeckling"

    def groupId(self) -> str:
        return "sardespeckling"

    def helpUrl(self) -> str:  # noqa: N802
        return f"{HOMEPAGE}#{self.name()}"

    def createInstance(self):  # noqa: N802
        return type(self)()


def feedback_callbacks(feedback, start: float = 0.0, end: float = 100.0):
    """Progress and cancel callables for the engine, mapping a 0..1 fraction to [start, end] %."""

    def progress(fraction: float) -> None:
        if feedback is not None:
            fraction = min(max(float(fraction), 0.0), 1.0)
            feedback.setProgress(start + (end - start) * fraction)

    def is_cancelled() -> bool:
        return feedback is not None and feedback.isCanceled()

    return progress, is_cancelled


@contextmanager
def engine_errors():
    """Turn engine errors into ``QgsProcessingException`` with the same, actionable message.

    A cancelled run is re-raised as an exception too, so that Processing reports it and no
    output is loaded (the engine has already removed partial files).
    """
    try:
        yield
    except Cancelled as exc:
        raise QgsProcessingException(str(exc) or "Cancelled by the user.") from exc
    except S2VError as exc:
        raise QgsProcessingException(str(exc)) from exc
    except MemoryError as exc:
        raise QgsProcessingException(
            "Out of memory: close other programs (or choose a smaller TILE_SIZE where the "
            "algorithm has one), then run again."
        ) from exc


def gdal_raster_path(layer) -> str:
    """The GDAL data source behind a raster layer, or a clear error for other providers."""
    if layer.providerType() != "gdal":
        raise QgsProcessingException(
            f"Layer '{layer.name()}' comes from the '{layer.providerType()}' provider; "
            "Speckle2Void reads rasters through GDAL. Save it as a GeoTIFF first."
        )
    return layer.source()


def add_sar_band_parameters(algorithm: QgsProcessingAlgorithm) -> None:
    """Add the ``INPUT``, ``BAND`` and ``DOMAIN`` parameters shared by the filtering algorithms."""
    algorithm.addParameter(QgsProcessingParameterRasterLayer("INPUT", "Input SAR raster"))
    # Optional with a default: QGIS 3.22 rejects a missing band value even when a default
    # is set, which breaks console and qgis_process calls that leave BAND out.
    algorithm.addParameter(
        QgsProcessingParameterBand(
            "BAND", "Band", defaultValue=1, parentLayerParameterName="INPUT", optional=True
        )
    )
    algorithm.addParameter(
        QgsProcessingParameterEnum(
            "DOMAIN", "Domain of a real band", options=["Intensity", "Amplitude"], defaultValue=0
        )
    )


def sar_band_arguments(algorithm: QgsProcessingAlgorithm, parameters, context) -> dict:
    """Engine arguments ``input_path``, ``band`` and ``domain`` from the shared parameters."""
    layer = algorithm.parameterAsRasterLayer(parameters, "INPUT", context)
    if layer is None:
        raise QgsProcessingException(algorithm.invalidRasterError(parameters, "INPUT"))
    return {
        "input_path": gdal_raster_path(layer),
        "band": algorithm.parameterAsInt(parameters, "BAND", context) or 1,
        "domain": DOMAINS[algorithm.parameterAsEnum(parameters, "DOMAIN", context)],
    }


def add_advanced_parameters(algorithm: QgsProcessingAlgorithm, parameters) -> None:
    """Add parameters flagged as advanced (collapsed in the algorithm dialog)."""
    for parameter in parameters:
        parameter.setFlags(parameter.flags() | FLAG_ADVANCED)
        algorithm.addParameter(parameter)
