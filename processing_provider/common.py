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

from ..s2v_plugin.core.domain import AUTO, DOMAIN_OPTIONS
from ..s2v_plugin.core.errors import Cancelled, S2VError
from ..s2v_plugin.io.input_description import describe_raster
from .qgis_compat import FLAG_ADVANCED

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOMEPAGE = "https://github.com/speckle2void-qgis/speckle2void-qgis"
#: The DOMAIN parameter's labels, by index (index 2, Auto, is the default).
DOMAIN_LABELS = ["Intensity", "Amplitude", "Auto (from metadata and speckle statistics)"]
DOMAIN_DEFAULT = DOMAIN_OPTIONS.index(AUTO)


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
        # README.md has one "### <name>" heading per algorithm; GitHub's anchor is the name.
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
    algorithm.addParameter(domain_parameter("DOMAIN", "Domain of a real band"))


def domain_parameter(key: str, label: str) -> QgsProcessingParameterEnum:
    """The DOMAIN enum: 0 intensity, 1 amplitude, 2 Auto (the default)."""
    return QgsProcessingParameterEnum(
        key, label, options=DOMAIN_LABELS, defaultValue=DOMAIN_DEFAULT
    )


def domain_value(algorithm: QgsProcessingAlgorithm, parameters, context, key="DOMAIN") -> str:
    """The engine's domain (``"intensity"``, ``"amplitude"`` or ``"auto"``) of a DOMAIN enum."""
    return DOMAIN_OPTIONS[algorithm.parameterAsEnum(parameters, key, context)]


def optional_number(algorithm: QgsProcessingAlgorithm, parameters, key, context):
    """A number parameter's value, or None when it is left empty."""
    if parameters.get(key) in (None, ""):
        return None
    return algorithm.parameterAsDouble(parameters, key, context)


def sar_band_arguments(algorithm: QgsProcessingAlgorithm, parameters, context) -> dict:
    """Engine arguments ``input_path``, ``band`` and ``domain`` from the shared parameters."""
    layer = algorithm.parameterAsRasterLayer(parameters, "INPUT", context)
    if layer is None:
        raise QgsProcessingException(algorithm.invalidRasterError(parameters, "INPUT"))
    return {
        "input_path": gdal_raster_path(layer),
        "band": algorithm.parameterAsInt(parameters, "BAND", context) or 1,
        "domain": domain_value(algorithm, parameters, context),
    }


def refusal(algorithm, parameters, context, layer_key="INPUT", band_key="BAND", role=None):
    """The message refusing an input band that cannot be filtered (dB, an I/Q component), or
    None. For ``checkParameterValues``: a refusal there is reported once, before the run.

    It reads only a few patches of the band (:func:`describe_raster`); everything else
    (including unreadable layers) is left to the run."""
    if algorithm.parameterDefinition(layer_key) is None:
        return None
    try:
        layer = algorithm.parameterAsRasterLayer(parameters, layer_key, context)
    except Exception:  # noqa: BLE001 - the run reports unusable layers with QGIS's message
        return None
    if layer is None or layer.providerType() != "gdal":
        return None
    band = algorithm.parameterAsInt(parameters, band_key, context) or 1
    domain = domain_value(algorithm, parameters, context)
    try:
        describe_raster(layer.source(), band, domain, 1.0, role=role or layer_key)
    except S2VError as exc:
        return str(exc)
    return None


def add_advanced_parameters(algorithm: QgsProcessingAlgorithm, parameters) -> None:
    """Add parameters flagged as advanced (collapsed in the algorithm dialog)."""
    for parameter in parameters:
        parameter.setFlags(parameter.flags() | FLAG_ADVANCED)
        algorithm.addParameter(parameter)
