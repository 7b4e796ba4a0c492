"""Processing algorithm ``speckle2void:classicfilter``: a thin layer over
:func:`s2v_plugin.classic.classic_filter_raster`."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
)

from ..s2v_plugin.classic import DEFAULT_TILE_SIZE, MIN_TILE_SIZE, classic_filter_raster
from ..s2v_plugin.core.classic_filters import FILTERS, FROST_DAMPING
from .common import (
    Speckle2VoidAlgorithm,
    add_advanced_parameters,
    add_sar_band_parameters,
    engine_errors,
    feedback_callbacks,
    optional_number,
    refusal,
    sar_band_arguments,
)
from .qgis_compat import NUMBER_DOUBLE, NUMBER_INTEGER


class ClassicFilterAlgorithm(Speckle2VoidAlgorithm):
    """Filter speckle with Lee, Refined Lee, Lee Sigma, Frost, Gamma-MAP, Kuan or boxcar."""

    INPUT = "INPUT"
    BAND = "BAND"
    DOMAIN = "DOMAIN"
    FILTER = "FILTER"
    WINDOW_SIZE = "WINDOW_SIZE"
    LOOKS = "LOOKS"
    DAMPING = "DAMPING"
    SIGMA = "SIGMA"
    TILE_SIZE = "TILE_SIZE"
    OUTPUT = "OUTPUT"

    def name(self) -> str:
        return "classicfilter"

    def displayName(self) -> str:
        return "Classic speckle filter"

    def tags(self):
        return [
            "sar", "speckle", "despeckling", "filter", "lee", "refined lee", "lee sigma",
            "frost", "gamma map", "kuan", "boxcar", "radar",
        ]  # fmt: skip

    def shortDescription(self) -> str:
        return (
            "Filters speckle from a SAR band with a classic adaptive filter (Lee, Refined Lee, "
            "Lee Sigma, Frost, Gamma-MAP, Kuan or boxcar)."
        )

    def shortHelpString(self) -> str:
        return (
            "Filters speckle from one band of a SAR raster with a classic local-statistics "
            "filter, the baselines of SNAP and the Orfeo ToolBox, and a fast CPU fallback for "
            "Despeckle (Speckle2Void). The raster is processed in tiles with the filter's "
            "halo, so the result is seamless and memory stays bounded.\n\n"
            "Input: a raster band in linear intensity or amplitude (not dB: convert with "
            "10^(dB/10) first), or a complex SLC band (converted to intensity).\n"
            "Band: the band to filter.\n"
            "Domain: whether a real band holds intensity (power) or amplitude; filters "
            "always work on intensity. Auto (default) reads the plugin's own metadata, the "
            "band's unit and description, then the speckle statistics; an explicit choice "
            "always wins.\n"
            "Filter: Lee (1980), Refined Lee (Lee 1981, edge-aligned windows), Lee Sigma "
            "(improved, Lee et al. 2009, keeps point targets), Frost (1982), Gamma-MAP (Lopes et "
            "al. 1990), Kuan (1985) or boxcar (moving average).\n"
            "Window size: odd size of the moving window in pixels; larger smooths more "
            "(7 is usual, 9 for Lee Sigma).\n"
            "Number of looks: equivalent number of looks L of the input; sets the speckle "
            "level Cu = 1/sqrt(L) the adaptive filters compare against. Empty: 1 for complex "
            "data, else the ENL measured over homogeneous areas (logged).\n"
            "Frost damping (advanced): K in exp(-K Ci^2 |t|), the Orfeo ToolBox's 'deramp' "
            "(default 0.1, as there); larger keeps more detail.\n"
            "Lee Sigma level (advanced): probability mass of the sigma range (0.9).\n"
            "Tile size (advanced): pixels per tile; changes speed and memory, never the "
            "result.\n\n"
            "Output: the filtered band as float32 in the input's units (intensity in, "
            "intensity out; amplitude in, amplitude out; complex in, intensity out). Nodata "
            "stays nodata; georeferencing is copied."
        )

    def initAlgorithm(self, config=None) -> None:
        add_sar_band_parameters(self)
        self.addParameter(
            QgsProcessingParameterEnum(
                self.FILTER,
                "Filter",
                options=[spec.label for spec in FILTERS],
                defaultValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.WINDOW_SIZE,
                "Window size (pixels, odd)",
                type=NUMBER_INTEGER,
                defaultValue=7,
                minValue=3,
                maxValue=101,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.LOOKS,
                "Number of looks (empty: 1 for complex data, else estimated)",
                type=NUMBER_DOUBLE,
                minValue=0.01,
                optional=True,
            )
        )
        advanced = [
            QgsProcessingParameterNumber(
                self.DAMPING,
                "Frost damping factor",
                type=NUMBER_DOUBLE,
                defaultValue=FROST_DAMPING,
                minValue=0.0,
            ),
            QgsProcessingParameterNumber(
                self.SIGMA,
                "Lee Sigma level",
                type=NUMBER_DOUBLE,
                defaultValue=0.9,
                minValue=0.05,
                maxValue=0.99,
            ),
            QgsProcessingParameterNumber(
                self.TILE_SIZE,
                "Tile size (pixels)",
                type=NUMBER_INTEGER,
                defaultValue=DEFAULT_TILE_SIZE,
                minValue=MIN_TILE_SIZE,
            ),
        ]
        add_advanced_parameters(self, advanced)
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, "Filtered"))

    def checkParameterValues(self, parameters, context):
        window = self.parameterAsInt(parameters, self.WINDOW_SIZE, context)
        if window % 2 == 0:
            return False, f"The window size must be odd (got {window}); try {window + 1}."
        message = refusal(self, parameters, context)
        if message:
            return False, message
        return super().checkParameterValues(parameters, context)

    def processAlgorithm(self, parameters, context, feedback):
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        spec = FILTERS[self.parameterAsEnum(parameters, self.FILTER, context)]
        options = {
            option: self.parameterAsDouble(parameters, key, context)
            for key, option in spec.parameters
        }
        progress, is_cancelled = feedback_callbacks(feedback)
        with engine_errors():
            classic_filter_raster(
                output_path=output,
                filter_key=spec.key,
                **sar_band_arguments(self, parameters, context),
                window=self.parameterAsInt(parameters, self.WINDOW_SIZE, context),
                looks=optional_number(self, parameters, self.LOOKS, context),
                options=options,
                tile_size=self.parameterAsInt(parameters, self.TILE_SIZE, context),
                progress=progress,
                is_cancelled=is_cancelled,
                log=feedback.pushInfo,
                warn=feedback.pushWarning,
            )
        return {self.OUTPUT: output}
