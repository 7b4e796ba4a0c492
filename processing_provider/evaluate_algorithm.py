"""Processing algorithm ``speckle2void:evaluate``: a thin layer over
:func:`s2v_plugin.evaluate.evaluate_rasters`."""

from __future__ import annotations

import json

from qgis.core import (
    QgsCoordinateTransform,
    QgsFeature,
    QgsFeatureRequest,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsPointXY,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBand,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ..s2v_plugin.evaluate import evaluate_rasters
from .common import (
    Speckle2VoidAlgorithm,
    domain_parameter,
    domain_value,
    engine_errors,
    feedback_callbacks,
    gdal_raster_path,
    optional_number,
    refusal,
)
from .qgis_compat import (
    FAST_INSERT,
    FIELD_BOOL,
    FIELD_DOUBLE,
    FIELD_STRING,
    NUMBER_DOUBLE,
    SOURCE_VECTOR_POLYGON,
    WKB_POLYGON,
)

NAME_FIELDS = ("name", "Name", "NAME", "label", "id")


class EvaluateAlgorithm(Speckle2VoidAlgorithm):
    """Measure a despeckled image: ratio image, ENL, M-index, PSNR/SSIM and an HTML report."""

    NOISY = "NOISY"
    NOISY_BAND = "NOISY_BAND"
    DESPECKLED = "DESPECKLED"
    DESPECKLED_BAND = "DESPECKLED_BAND"
    REFERENCE = "REFERENCE"
    REFERENCE_BAND = "REFERENCE_BAND"
    AREAS = "AREAS"
    DOMAIN = "DOMAIN"
    LOOKS = "LOOKS"
    COMPARE_CLASSIC = "COMPARE_CLASSIC"
    OUTPUT_RATIO = "OUTPUT_RATIO"
    OUTPUT_HTML = "OUTPUT_HTML"
    OUTPUT_AREAS = "OUTPUT_AREAS"
    ENL = "ENL"
    ENL_NOISY = "ENL_NOISY"
    RATIO_MEAN = "RATIO_MEAN"
    RATIO_VARIANCE = "RATIO_VARIANCE"
    M_INDEX = "M_INDEX"
    RATIO_LAG1_ROWS = "RATIO_LAG1_ROWS"
    RATIO_LAG1_COLUMNS = "RATIO_LAG1_COLUMNS"
    PSNR = "PSNR"
    SSIM = "SSIM"
    AREA_COUNT = "AREA_COUNT"
    ENL_PER_AREA = "ENL_PER_AREA"

    def name(self) -> str:
        return "evaluate"

    def displayName(self) -> str:
        return "Evaluate despeckling"

    def tags(self):
        return [
            "sar", "speckle", "despeckling", "evaluation", "quality", "enl", "ratio image",
            "m-index", "psnr", "ssim", "report",
        ]  # fmt: skip

    def shortDescription(self) -> str:
        return (
            "Measures how well a despeckled SAR image removed speckle (ratio image, ENL, "
            "M-index, PSNR/SSIM) and writes an HTML report comparing it with the classic filters."
        )

    def shortHelpString(self) -> str:
        return (
            "Judges a despeckled SAR image without, or with, a clean reference. The ratio image "
            "noisy / despeckled should be pure speckle (mean 1, variance 1/L, no structure); the "
            "equivalent number of looks (ENL) over homogeneous areas measures how much the "
            "filter smoothed; the M-index (Gomez, Ospina and Frery 2017) combines both, 0 being "
            "ideal. The same measures are computed for the classic filters so that the report "
            "shows where the result stands.\n\n"
            "Noisy / Despeckled: the speckled input and the result, on the same "
            "pixel grid and CRS (a complex SLC band is converted to intensity); two different "
            "rasters (Despeckled starts empty so that it is not the Noisy layer by mistake).\n"
            "Reference (optional): a clean image of the same scene, for simulated tests; "
            "adds PSNR (peak = reference maximum) and SSIM.\n"
            "Homogeneous areas (optional): polygons over areas without texture (fields, "
            "water); ENL is measured in each (at least 200 pixels). Empty: the most homogeneous "
            "32 x 32 windows of the noisy image are found automatically.\n"
            "Domain: whether real bands hold intensity or amplitude; ratio and ENL use "
            "intensities, PSNR and SSIM are computed in the despeckled raster's domain. Auto "
            "(default) decides for each raster: the plugin's outputs say their domain, other "
            "rasters are judged from their unit, description and speckle statistics (a "
            "despeckled raster without metadata takes the noisy raster's domain). An explicit "
            "choice applies to both and always wins.\n"
            "Number of looks: L of the noisy image; sets the speckle density drawn in the "
            "report and the classic filters' parameter. Empty: 1 for complex data, else the ENL "
            "measured over homogeneous areas.\n"
            "Compare with the classic filters: also run Lee, Refined Lee, Lee Sigma, "
            "Frost, Gamma-MAP, Kuan and boxcar on the noisy image and score them.\n\n"
            "Outputs: the ratio image (float32, intensity ratio), an HTML report with "
            "quicklooks, histograms and tables, optionally the homogeneous areas used as "
            "polygons with their ENL, and the numbers (ENL, ENL per area, ratio mean and "
            "variance, M-index, lag-1 correlation of the ratio image, PSNR, SSIM) for models and "
            "scripts. "
            "The three images are held in memory: evaluate scenes or subsets."
        )

    def initAlgorithm(self, config=None) -> None:
        # DESPECKLED is declared optional only so that the dialog starts it empty instead of
        # on the same layer as NOISY; checkParameterValues requires it.
        rasters = (
            (self.NOISY, self.NOISY_BAND, "Noisy (speckled) raster", False),
            (self.DESPECKLED, self.DESPECKLED_BAND, "Despeckled raster", True),
            (self.REFERENCE, self.REFERENCE_BAND, "Clean reference raster", True),
        )
        for key, band_key, label, optional in rasters:
            self.addParameter(QgsProcessingParameterRasterLayer(key, label, optional=optional))
            self.addParameter(
                QgsProcessingParameterBand(
                    band_key,
                    f"{label.split(' raster')[0]} band",
                    defaultValue=1,
                    parentLayerParameterName=key,
                    optional=True,
                )
            )
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                self.AREAS,
                "Homogeneous areas (empty: found automatically)",
                [SOURCE_VECTOR_POLYGON],
                optional=True,
            )
        )
        self.addParameter(domain_parameter(self.DOMAIN, "Domain of real bands"))
        self.addParameter(
            QgsProcessingParameterNumber(
                self.LOOKS,
                "Number of looks of the noisy raster (empty: 1 for complex data, else estimated)",
                type=NUMBER_DOUBLE,
                minValue=0.01,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.COMPARE_CLASSIC, "Compare with the classic filters", defaultValue=True
            )
        )
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT_RATIO, "Ratio image"))
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.OUTPUT_HTML, "Evaluation report", fileFilter="HTML files (*.html)"
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSink(
                self.OUTPUT_AREAS,
                "Homogeneous areas used (with their ENL)",
                SOURCE_VECTOR_POLYGON,
                optional=True,
                createByDefault=False,
            )
        )
        outputs = (
            (self.ENL, "ENL of the despeckled image (mean over areas)"),
            (self.ENL_NOISY, "ENL of the noisy image (mean over areas)"),
            (self.RATIO_MEAN, "Ratio image mean"),
            (self.RATIO_VARIANCE, "Ratio image variance"),
            (self.M_INDEX, "M-index"),
            (self.RATIO_LAG1_ROWS, "Lag-1 correlation of the ratio image along rows"),
            (self.RATIO_LAG1_COLUMNS, "Lag-1 correlation of the ratio image along columns"),
            (self.PSNR, "PSNR (dB, with a reference)"),
            (self.SSIM, "SSIM (with a reference)"),
            (self.AREA_COUNT, "Number of homogeneous areas"),
        )
        for key, label in outputs:
            self.addOutput(QgsProcessingOutputNumber(key, label))
        self.addOutput(
            QgsProcessingOutputString(
                self.ENL_PER_AREA, "ENL of the despeckled image per area (JSON: name -> ENL)"
            )
        )

    def checkParameterValues(self, parameters, context):
        if parameters.get(self.DESPECKLED) in (None, ""):
            return False, "Choose the despeckled raster (DESPECKLED) to evaluate against NOISY."
        noisy = self.parameterAsRasterLayer(parameters, self.NOISY, context)
        despeckled = self.parameterAsRasterLayer(parameters, self.DESPECKLED, context)
        same_band = (self.parameterAsInt(parameters, self.NOISY_BAND, context) or 1) == (
            self.parameterAsInt(parameters, self.DESPECKLED_BAND, context) or 1
        )
        if noisy is not None and despeckled is not None and same_band:
            if noisy.id() == despeckled.id() or noisy.source() == despeckled.source():
                return False, (
                    f"NOISY and DESPECKLED are the same layer ('{noisy.name()}'): choose the "
                    "despeckled output as DESPECKLED (the ratio of a raster with itself "
                    "measures nothing)."
                )
        message = refusal(self, parameters, context, self.NOISY, self.NOISY_BAND)
        if message:
            return False, message
        return super().checkParameterValues(parameters, context)

    def _raster(self, parameters, key, context, required=True):
        layer = self.parameterAsRasterLayer(parameters, key, context)
        if layer is None:
            if required:
                raise QgsProcessingException(self.invalidRasterError(parameters, key))
            return None
        return layer

    def _polygons(self, parameters, context, crs, feedback):
        source = self.parameterAsSource(parameters, self.AREAS, context)
        if source is None:
            return []
        transform = QgsCoordinateTransform(source.sourceCrs(), crs, context.transformContext())
        fields = source.fields().names()
        name_field = next((name for name in NAME_FIELDS if name in fields), None)
        polygons = []
        for feature in source.getFeatures(QgsFeatureRequest()):
            if feedback.isCanceled():
                break
            geometry = feature.geometry()
            if geometry.isNull() or geometry.isEmpty():
                continue
            geometry.transform(transform)
            name = feature[name_field] if name_field else None
            polygons.append((str(name or f"area {feature.id()}"), geometry.asWkt()))
        if not polygons:
            raise QgsProcessingException(
                "The AREAS layer holds no polygon; draw homogeneous areas or leave AREAS empty."
            )
        return polygons

    def _write_areas(self, parameters, context, layer, evaluation):
        """Write the areas (the windows' bounding boxes) with their measures, when asked."""
        if parameters.get(self.OUTPUT_AREAS) in (None, ""):
            return None
        fields = QgsFields()
        fields.append(QgsField("name", FIELD_STRING))
        for name in ("enl_noisy", "enl_despeckled", "ratio_mean", "ratio_enl"):
            fields.append(QgsField(name, FIELD_DOUBLE))
        fields.append(QgsField("automatic", FIELD_BOOL))
        sink, sink_id = self.parameterAsSink(
            parameters, self.OUTPUT_AREAS, context, fields, WKB_POLYGON, layer.crs()
        )
        if sink is None:
            return None
        extent = layer.extent()
        dx = extent.width() / layer.width()
        dy = extent.height() / layer.height()
        for area in evaluation.areas:
            x0, y0 = extent.xMinimum() + area.col * dx, extent.yMaximum() - area.row * dy
            x1, y1 = x0 + area.cols * dx, y0 - area.rows * dy
            ring = [QgsPointXY(x, y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
            feature = QgsFeature(fields)
            feature.setGeometry(QgsGeometry.fromPolygonXY([ring]))
            feature.setAttributes(
                [area.name, area.enl_noisy, area.enl_despeckled, area.ratio_mean,
                 area.ratio_enl, area.automatic]
            )  # fmt: skip
            sink.addFeature(feature, FAST_INSERT)
        return sink_id

    def processAlgorithm(self, parameters, context, feedback):
        noisy = self._raster(parameters, self.NOISY, context)
        despeckled = self._raster(parameters, self.DESPECKLED, context)
        reference = self._raster(parameters, self.REFERENCE, context, required=False)
        polygons = self._polygons(parameters, context, noisy.crs(), feedback)
        ratio_path = self.parameterAsOutputLayer(parameters, self.OUTPUT_RATIO, context)
        html_path = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        progress, is_cancelled = feedback_callbacks(feedback)
        with engine_errors():
            evaluation = evaluate_rasters(
                gdal_raster_path(noisy),
                gdal_raster_path(despeckled),
                ratio_path,
                html_path,
                noisy_band=self.parameterAsInt(parameters, self.NOISY_BAND, context) or 1,
                despeckled_band=self.parameterAsInt(parameters, self.DESPECKLED_BAND, context) or 1,
                reference_path=gdal_raster_path(reference) if reference else None,
                reference_band=self.parameterAsInt(parameters, self.REFERENCE_BAND, context) or 1,
                domain=domain_value(self, parameters, context, self.DOMAIN),
                looks=optional_number(self, parameters, self.LOOKS, context),
                polygons=polygons,
                compare_classic=self.parameterAsBoolean(parameters, self.COMPARE_CLASSIC, context),
                progress=progress,
                is_cancelled=is_cancelled,
                log=feedback.pushInfo,
                warn=feedback.pushWarning,
            )
        scores = evaluation.despeckled
        areas_id = self._write_areas(parameters, context, noisy, evaluation)
        results = {
            self.OUTPUT_RATIO: ratio_path,
            self.OUTPUT_HTML: html_path,
            self.ENL: scores.enl,
            self.ENL_NOISY: evaluation.enl_noisy,
            self.RATIO_MEAN: scores.ratio_mean,
            self.RATIO_VARIANCE: scores.ratio_variance,
            self.M_INDEX: scores.m_index.value,
            self.RATIO_LAG1_ROWS: scores.lag1_rows,
            self.RATIO_LAG1_COLUMNS: scores.lag1_cols,
            self.AREA_COUNT: len(evaluation.areas),
            self.ENL_PER_AREA: json.dumps(
                {area.name: round(area.enl_despeckled, 4) for area in evaluation.areas}
            ),
        }
        if areas_id is not None:
            results[self.OUTPUT_AREAS] = areas_id
        if scores.psnr is not None:
            results[self.PSNR] = scores.psnr
            results[self.SSIM] = scores.ssim
        for method in evaluation.classic:
            feedback.pushInfo(
                f"{method.name}: ENL {method.enl:.2f}, ratio mean {method.ratio_mean:.4f}, "
                f"variance {method.ratio_variance:.4f}, M-index {method.m_index.value:.2f}"
            )
        return results
