"""Processing algorithm ``speckle2void:decorrelate``: a thin layer over
:func:`s2v_plugin.decorrelate.decorrelate_raster`."""

from __future__ import annotations

from qgis.core import (
    Qgis,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBand,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ..s2v_plugin.decorrelate import (
    DEFAULT_CLEAN,
    DEFAULT_POINT_TARGET_FACTOR,
    DEFAULT_POINT_TARGET_PFA,
    DEFAULT_REMOVE_OVERSAMPLING,
    OUTPUT_FORMATS,
    decorrelate_raster,
)
from ..s2v_plugin.io.sentinel1_safe import is_safe_input, tops_for_raster
from ..s2v_plugin.sentinel1 import decorrelate_sentinel1
from .common import Speckle2VoidAlgorithm, engine_errors, feedback_callbacks, gdal_raster_path
from .qgis_compat import FLAG_ADVANCED, NUMBER_DOUBLE, NUMBER_INTEGER

_COMPLEX_TYPES = (
    Qgis.DataType.CInt16,
    Qgis.DataType.CInt32,
    Qgis.DataType.CFloat32,
    Qgis.DataType.CFloat64,
)


class DecorrelateAlgorithm(Speckle2VoidAlgorithm):
    """Whiten the speckle of a single-look complex SAR raster (blind spectral decorrelation)."""

    INPUT = "INPUT"
    BAND = "BAND"
    IMAG_BAND = "IMAG_BAND"
    OUTPUT_FORMAT = "OUTPUT_FORMAT"
    POINT_TARGET_FACTOR = "POINT_TARGET_FACTOR"
    POINT_TARGET_PFA = "POINT_TARGET_PFA"
    REMOVE_OVERSAMPLING = "REMOVE_OVERSAMPLING"
    CLEAN = "CLEAN"
    OUTPUT = "OUTPUT"
    AZIMUTH_CENTROID = "AZIMUTH_CENTROID"
    AZIMUTH_BAND_FRACTION = "AZIMUTH_BAND_FRACTION"
    AZIMUTH_WINDOW = "AZIMUTH_WINDOW"
    RANGE_CENTROID = "RANGE_CENTROID"
    RANGE_BAND_FRACTION = "RANGE_BAND_FRACTION"
    RANGE_WINDOW = "RANGE_WINDOW"
    POINT_TARGETS = "POINT_TARGETS"
    PIXEL_FACTOR_AZIMUTH = "PIXEL_FACTOR_AZIMUTH"
    PIXEL_FACTOR_RANGE = "PIXEL_FACTOR_RANGE"
    ESTIMATES = "ESTIMATES"
    ANNOTATION = "ANNOTATION"
    FIRST_LINE = "FIRST_LINE"
    FIRST_SAMPLE = "FIRST_SAMPLE"

    def name(self) -> str:
        return "decorrelate"

    def displayName(self) -> str:
        return "Decorrelate speckle"

    def tags(self):
        return [
            "sar", "slc", "speckle", "decorrelation", "whitening", "spectrum", "doppler",
            "oversampling", "radar", "complex",
        ]  # fmt: skip

    def shortDescription(self) -> str:
        return (
            "Whitens the speckle of a single-look complex (SLC) SAR image by blind spectral "
            "decorrelation, as Speckle2Void requires."
        )

    def shortHelpString(self) -> str:
        return (
            "Makes the speckle of a single-look complex (SLC) SAR image spatially white, as "
            "blind-spot despeckling (Despeckle (Speckle2Void)) assumes. The SAR processor "
            "correlates neighbouring pixels: its spectrum is weighted (Hamming-like window), "
            "oversampled (part of the band is empty) and shifted (Doppler centroid). This "
            "algorithm estimates these from the data alone, separately along azimuth (rows) and "
            "range (columns), from averaged periodograms of blocks spread over the image, then "
            "divides the spectrum by the estimated weighting, removes the empty part and keeps "
            "the mean intensity (Lapini et al., IEEE TGRS 2014). Huge rasters are processed in "
            "strips with bounded memory.\n\n"
            "Input: an SLC raster with a complex band (CInt16, CInt32, CFloat32, "
            "CFloat64: TerraSAR-X COSAR, Sentinel-1 SAFE measurement TIFF, ...) or two real "
            "bands holding I and Q; rows must be azimuth and columns range, as delivered. "
            "Sentinel-1 IW/EW (TOPS): give the SAFE product (.SAFE folder, its manifest.safe "
            "or the .zip; the first swath and all its polarisations, or the swath and "
            "polarisation of a SENTINEL1_CALIB subdataset, are deramped, decorrelated burst by "
            "burst and debursted into intensity or amplitude), or a measurement TIFF (or a crop "
            "of it) with Annotation XML and, for a crop, its offsets in the swath First line and "
            "First sample (a measurement TIFF inside a SAFE folder finds its annotation by "
            "itself). Each burst is deramped (ESA S1-TN-MDA-52-7445), its azimuth band and "
            "weighting are the product's, and a complex output is reramped on the output grid. "
            "TOPS data without an annotation are refused. EW and SM are handled like IW but were "
            "not tested: no EW or SM pixels were available. For despeckling and calibration in "
            "one step use Despeckle Sentinel-1 SLC.\n"
            "Band: the complex band, or the I (real part) band when Imaginary band "
            "is set.\n"
            "Imaginary band (Q): leave empty for a complex band; set it to the Q band "
            "when I and Q are stored as two real bands.\n"
            "Output format: complex CFloat32 (default; keeps the phase), intensity "
            "|z|² or amplitude |z| as float32.\n"
            "Point target false-alarm probability: a pixel brighter than single-look "
            "speckle around the median of its surroundings (a ring 2-3 pixels away) would be "
            "with this probability is a point target: excluded from estimation and filtering "
            "and put back unchanged. The default (1e-8) suits every scene; 0 disables.\n"
            "Point target factor (deprecated, used only when the probability is 0): "
            "pixels brighter than this times the median intensity are point targets; 0 "
            "disables.\n"
            "CLEAN point targets (off by default): fit each point target's whole point "
            "response (the product's own weighting) and take it out before whitening, then put "
            "it back unwhitened, instead of replacing its brightest pixels by background noise. "
            "It keeps a strong scatterer's sidelobes out of dark surroundings, but on the real "
            "UAVSAR samples it left the speckle slightly less white.\n"
            "Remove oversampling: crop the spectrum to its occupied band so that the "
            "speckle is white, not only flat in band; output pixels become larger by the "
            "oversampling factor (georeferencing is rescaled). Off keeps the input grid, but "
            "neighbouring pixels then stay correlated.\n\n"
            "Output: the decorrelated raster in the input's radiometric units (complex, "
            "intensity or amplitude, linear, mean intensity preserved); nodata stays nodata; "
            "georeferencing and metadata are copied. The estimated parameters are written to "
            "the log, to the output's metadata (S2V_DECORRELATION_*) and returned as outputs: "
            "centroids in cycles/sample (Doppler centroid in azimuth), band fractions "
            "(1 / oversampling), generalized Hamming coefficients a of a + (1 − a) cos(2πf/B) "
            "(1 = flat), point-target count and output pixel size in input pixels. The "
            "whitened band rolls off smoothly over its outer 2.5 % on each side (a raised cosine "
            "in power), so that bright areas do not leak far into dark ones through the flat "
            "band's sinc sidelobes (S2V_DECORRELATION_EDGE_ROLLOFF). Feed the output to Despeckle "
            "(Speckle2Void)."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, "Input SLC raster"))
        # Optional with a default: QGIS 3.22 rejects a missing band value even when a default
        # is set, which breaks console and qgis_process calls that leave BAND out.
        self.addParameter(
            QgsProcessingParameterBand(
                self.BAND,
                "Band (complex, or I)",
                defaultValue=1,
                parentLayerParameterName=self.INPUT,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterBand(
                self.IMAG_BAND,
                "Imaginary band (Q) when I and Q are two real bands",
                parentLayerParameterName=self.INPUT,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.OUTPUT_FORMAT,
                "Output format",
                options=["Complex (CFloat32)", "Intensity (float32)", "Amplitude (float32)"],
                defaultValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.REMOVE_OVERSAMPLING,
                "Remove oversampling (white speckle, larger pixels)",
                defaultValue=DEFAULT_REMOVE_OVERSAMPLING,
            )
        )
        pfa = QgsProcessingParameterNumber(
            self.POINT_TARGET_PFA,
            "Point target false-alarm probability (0: off)",
            type=NUMBER_DOUBLE,
            defaultValue=DEFAULT_POINT_TARGET_PFA,
            minValue=0.0,
            maxValue=0.5,
        )
        factor = QgsProcessingParameterNumber(
            self.POINT_TARGET_FACTOR,
            "Point target factor, deprecated (times the median; used only when the "
            "false-alarm probability is 0; 0: off)",
            type=NUMBER_DOUBLE,
            defaultValue=DEFAULT_POINT_TARGET_FACTOR,
            minValue=0.0,
        )
        clean = QgsProcessingParameterBoolean(
            self.CLEAN,
            "CLEAN point targets (whole point response kept unwhitened)",
            defaultValue=DEFAULT_CLEAN,
        )
        for parameter in (pfa, factor, clean):
            parameter.setFlags(parameter.flags() | FLAG_ADVANCED)
            self.addParameter(parameter)
        self.addParameter(
            QgsProcessingParameterFile(
                self.ANNOTATION,
                "Annotation XML of the swath (Sentinel-1 TOPS measurement or crop)",
                extension="xml",
                optional=True,
            )
        )
        for key, label in (
            (self.FIRST_LINE, "First line of the crop in the swath"),
            (self.FIRST_SAMPLE, "First sample of the crop in the swath"),
        ):
            self.addParameter(
                QgsProcessingParameterNumber(
                    key, label, type=NUMBER_INTEGER, defaultValue=0, minValue=0
                )
            )  # fmt: skip
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, "Decorrelated"))
        for key, label in (
            (self.AZIMUTH_CENTROID, "Azimuth (Doppler) centroid, cycles/sample"),
            (self.AZIMUTH_BAND_FRACTION, "Azimuth band fraction"),
            (self.AZIMUTH_WINDOW, "Azimuth generalized Hamming coefficient"),
            (self.RANGE_CENTROID, "Range centroid, cycles/sample"),
            (self.RANGE_BAND_FRACTION, "Range band fraction"),
            (self.RANGE_WINDOW, "Range generalized Hamming coefficient"),
            (self.POINT_TARGETS, "Point targets (pixels)"),
            (self.PIXEL_FACTOR_AZIMUTH, "Output pixel size in input pixels, azimuth"),
            (self.PIXEL_FACTOR_RANGE, "Output pixel size in input pixels, range"),
        ):
            self.addOutput(QgsProcessingOutputNumber(key, label))
        self.addOutput(QgsProcessingOutputString(self.ESTIMATES, "Estimated parameters (text)"))

    def _imag_band(self, parameters, context) -> int | None:
        if parameters.get(self.IMAG_BAND) in (None, "", 0, "0"):
            return None
        return self.parameterAsInt(parameters, self.IMAG_BAND, context) or None

    def checkParameterValues(self, parameters, context):
        if is_safe_input(parameters.get(self.INPUT)):
            return True, ""
        ok, message = super().checkParameterValues(parameters, context)
        if not ok:
            return ok, message
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        band = self.parameterAsInt(parameters, self.BAND, context) or 1
        imag_band = self._imag_band(parameters, context)
        if imag_band is not None and imag_band == band:
            return False, "Band and Imaginary band are the same: choose the I band and the Q band."
        if layer is not None and layer.providerType() == "gdal":
            provider = layer.dataProvider()
            if not 1 <= band <= provider.bandCount():
                return False, f"Band {band} does not exist: the layer has {provider.bandCount()}."
            is_complex = provider.dataType(band) in _COMPLEX_TYPES
            if imag_band is None and not is_complex:
                return False, (
                    f"Band {band} is real, not complex: decorrelation needs a single-look "
                    "complex (SLC) image. If I and Q are in two real bands, set Band to the I "
                    "band and Imaginary band to the Q band."
                )
            if imag_band is not None and is_complex:
                return False, f"Band {band} is already complex: leave Imaginary band empty."
        return True, ""

    def processAlgorithm(self, parameters, context, feedback):
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        progress, is_cancelled = feedback_callbacks(feedback)
        output_format = OUTPUT_FORMATS[
            self.parameterAsEnum(parameters, self.OUTPUT_FORMAT, context)
        ]
        safe = parameters.get(self.INPUT)
        layer = None
        if not is_safe_input(safe):
            layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
            if layer is None:
                raise QgsProcessingException(self.invalidRasterError(parameters, self.INPUT))
            safe = layer.source()  # a SENTINEL1_CALIB subdataset loaded in QGIS
        if is_safe_input(safe):
            with engine_errors():
                report = decorrelate_sentinel1(
                    str(safe), output, output_format, progress, is_cancelled, feedback.pushInfo
                )
            return {self.OUTPUT: output, self.ESTIMATES: report.summary()}
        with engine_errors():
            tops = tops_for_raster(
                gdal_raster_path(layer),
                self.parameterAsFile(parameters, self.ANNOTATION, context),
                self.parameterAsInt(parameters, self.FIRST_LINE, context),
                self.parameterAsInt(parameters, self.FIRST_SAMPLE, context),
            )
            report = decorrelate_raster(
                gdal_raster_path(layer),
                output,
                band=self.parameterAsInt(parameters, self.BAND, context) or 1,
                imag_band=self._imag_band(parameters, context),
                output_format=output_format,
                point_target_factor=self.parameterAsDouble(
                    parameters, self.POINT_TARGET_FACTOR, context
                ),
                point_target_pfa=self.parameterAsDouble(parameters, self.POINT_TARGET_PFA, context),
                remove_oversampling=self.parameterAsBoolean(
                    parameters, self.REMOVE_OVERSAMPLING, context
                ),
                progress=progress,
                is_cancelled=is_cancelled,
                tops=tops,
                clean=self.parameterAsBoolean(parameters, self.CLEAN, context),
            )
        summary = report.summary()
        feedback.pushInfo(summary)
        return {
            self.OUTPUT: output,
            self.AZIMUTH_CENTROID: report.azimuth.centroid,
            self.AZIMUTH_BAND_FRACTION: report.azimuth.band_fraction,
            self.AZIMUTH_WINDOW: report.azimuth.window,
            self.RANGE_CENTROID: report.range_.centroid,
            self.RANGE_BAND_FRACTION: report.range_.band_fraction,
            self.RANGE_WINDOW: report.range_.window,
            self.POINT_TARGETS: report.point_targets,
            self.PIXEL_FACTOR_AZIMUTH: report.pixel_factors[0],
            self.PIXEL_FACTOR_RANGE: report.pixel_factors[1],
            self.ESTIMATES: summary,
        }
