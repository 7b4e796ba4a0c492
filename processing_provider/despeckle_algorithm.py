"""Processing algorithm ``speckle2void:despeckle``: a thin layer over
:func:`s2v_plugin.despeckle.despeckle_raster`."""

from __future__ import annotations

from qgis.core import (
    QgsApplication,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterString,
)

from ..s2v_plugin.despeckle import despeckle_raster
from ..s2v_plugin.runtime.memory import DEFAULT_BUDGET_MB
from ..s2v_plugin.runtime.session import DEVICES, PRECISIONS, onnxruntime_status
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


def cluster_despeckler(scheduler: str):
    """``despeckle_raster`` run on the Dask cluster at ``scheduler``.

    Workers import the engine by its package name, so the client must too: the QGIS Python
    needs the engine installed as a package (with dask), like every worker.
    """
    import importlib

    from ..s2v_plugin.cluster.client import INSTALL_HINT, import_distributed

    import_distributed()
    try:
        api = importlib.import_module("s2v_plugin.cluster.api")
    except ImportError as exc:
        raise QgsProcessingException(
            "SCHEDULER needs the Speckle2Void engine installed as a Python package in the "
            "Python QGIS uses, as on every Dask worker: 'python -m pip install "
            f"\"speckle2void[dask]\"' (or from this plugin's folder). {INSTALL_HINT}"
        ) from exc
    return lambda **arguments: api.despeckle_on_cluster(scheduler, **arguments)


class DespeckleAlgorithm(Speckle2VoidAlgorithm):
    """Despeckle a SAR raster band with a Speckle2Void blind-spot network."""

    INPUT = "INPUT"
    BAND = "BAND"
    DOMAIN = "DOMAIN"
    LOOKS = "LOOKS"
    MODEL = "MODEL"
    TILE_SIZE = "TILE_SIZE"
    DEVICE = "DEVICE"
    POINT_TARGET_FACTOR = "POINT_TARGET_FACTOR"
    POINT_TARGET_PFA = "POINT_TARGET_PFA"
    RETAPER = "RETAPER"
    SCHEDULER = "SCHEDULER"
    MEMORY_BUDGET_MB = "MEMORY_BUDGET_MB"
    THREADS = "THREADS"
    PRECISION = "PRECISION"
    OUTPUT = "OUTPUT"
    OUTPUT_UNCERTAINTY = "OUTPUT_UNCERTAINTY"
    OUTPUT_POINT_TARGETS = "OUTPUT_POINT_TARGETS"
    EXECUTION_PROVIDER = "EXECUTION_PROVIDER"
    SCALE = "SCALE"
    POINT_TARGETS = "POINT_TARGETS"

    def name(self) -> str:
        return "despeckle"

    def displayName(self) -> str:
        return "Despeckle (Speckle2Void)"

    def tags(self):
        return ["sar", "speckle", "despeckling", "denoising", "radar", "deep learning", "onnx"]

    def shortDescription(self) -> str:
        return (
            "Removes speckle from a SAR intensity, amplitude or complex band with a "
            "self-supervised Bayesian blind-spot network (Speckle2Void)."
        )

    def shortHelpString(self) -> str:
        return (
            "Removes speckle from one band of a SAR raster with Speckle2Void, a blind-spot "
            "convolutional network that predicts, for every pixel, an inverse-gamma prior for the "
            "clean intensity from the pixel's neighbourhood only. The result is the posterior mean "
            "(beta + L y) / (alpha + L - 1).\n\n"
            "Input: a raster band in linear intensity or amplitude (not dB: convert with "
            "10^(dB/10) first), or a complex SLC band (converted to intensity). Speckle must be "
            "spatially white: run Decorrelate speckle on SLC data first; the log warns when the "
            "speckle is correlated (raw SLC, GRD, GEC).\n"
            "Band: the band to despeckle.\n"
            "Domain: whether a real band holds intensity (power) or amplitude. Auto (default) "
            "reads the plugin's own metadata, the band's unit and description, then the speckle "
            "statistics, and logs what it found; an explicit choice always wins.\n"
            "Number of looks: L of the input. Empty: 1 for complex data, else the ENL measured "
            "over homogeneous areas (logged with the model's looks; a warning when they "
            "differ).\n"
            "Model: a Speckle2Void ONNX file; empty uses the shipped default model.\n"
            "Tile size: pixels per tile; changes speed and memory, never the result. "
            "Empty or 0 picks the largest tile that fits the memory budget (CPU), or 2048 px "
            "(CUDA); a value always wins. Larger tiles recompute less halo and run faster.\n"
            "Memory budget (MB): memory for the network and the tiles, used when the tile "
            f"size is automatic; empty: {DEFAULT_BUDGET_MB} MB (at most half the free RAM), which "
            "keeps the whole run under about 1.5 GB. Too small a budget for the model is refused "
            "with the figure needed.\n"
            "CPU threads: threads of the network; 0 uses QGIS's own setting (Settings > "
            "Options > Processing/Rendering: max threads), or every core.\n"
            "Precision: fp32 (exact); int8 or fp16 only where such a variant of the model "
            "is shipped next to it (see the model card).\n"
            "Device: Auto uses CUDA when onnxruntime-gpu can, else the CPU; the log says "
            "which ran.\n"
            "Point target false-alarm probability: a pixel that its neighbourhood makes "
            "improbable (the tail of the prior the network predicts from the neighbours is below "
            "this probability, or two neighbours are improbable together) is a point target: a "
            "strong scatterer, kept with its observed value. The other pixels' estimate is then "
            "scaled so that its local mean (Gaussian, 8 px) matches the input's, which keeps "
            "the scene's mean intensity. Empty uses the model's value (1e-6: about 1.5 ordinary "
            "speckle pixels per million are kept unfiltered); 0 disables both, as in version "
            "1.1.\n"
            "Point target factor (deprecated, used only when the probability is 0): "
            "pixels brighter than this times the raster's median are kept unchanged; empty uses "
            "the model's value, 0 disables.\n"
            "Retaper to the product's resolution (default on): whitening spreads the sidelobes "
            "of bright areas and strong scatterers into dark ones (sea next to land); for an "
            "input decorrelated by this plugin with the oversampling kept, the despeckled "
            "estimate is filtered back to the product's own tapered resolution, which takes "
            "most of that leakage back. Other inputs (oversampling removed, GRD, detected "
            "products) are never filtered; the log says which applied.\n"
            "Dask scheduler: empty runs here; an address (tcp://host:8786) or a "
            "scheduler .json file runs the same computation on a Dask cluster (needs "
            "dask.distributed, and input and outputs on paths every worker can reach).\n\n"
            "Outputs: the despeckled band as float32 in the input's units (intensity in, "
            "intensity out; amplitude in, amplitude out; complex in, intensity out), and "
            "optionally the posterior standard deviation in the same units, and a byte mask of "
            "the point targets (1 target, 0 other pixels, 255 nodata); their count is reported "
            "as POINT_TARGETS. Nodata stays nodata; georeferencing is copied; the metadata "
            "record the model, looks, point-target setting, plugin version, time and the "
            "input's decorrelation."
        )

    def canExecute(self):
        available, message = onnxruntime_status()
        return available, ("" if available else message)

    def initAlgorithm(self, config=None) -> None:
        add_sar_band_parameters(self)
        self.addParameter(
            QgsProcessingParameterNumber(
                self.LOOKS,
                "Number of looks (empty: 1 for complex data, else estimated)",
                type=NUMBER_DOUBLE,
                minValue=1.0,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                self.MODEL,
                "Speckle2Void ONNX model (empty: shipped default)",
                extension="onnx",
                optional=True,
            )
        )
        advanced = [
            QgsProcessingParameterNumber(
                self.TILE_SIZE,
                "Tile size (pixels; empty or 0: from the memory budget)",
                type=NUMBER_INTEGER,
                minValue=0,
                optional=True,
            ),
            QgsProcessingParameterNumber(
                self.MEMORY_BUDGET_MB,
                f"Memory budget (MB; empty: {DEFAULT_BUDGET_MB}, at most half the free RAM)",
                type=NUMBER_DOUBLE,
                minValue=1.0,
                optional=True,
            ),
            QgsProcessingParameterNumber(
                self.THREADS,
                "CPU threads (0: QGIS's setting)",
                type=NUMBER_INTEGER,
                defaultValue=0,
                minValue=0,
            ),
            QgsProcessingParameterEnum(
                self.PRECISION, "Precision", options=list(PRECISIONS), defaultValue=0
            ),
            QgsProcessingParameterEnum(
                self.DEVICE, "Device", options=["Auto", "CPU", "CUDA"], defaultValue=0
            ),
            QgsProcessingParameterNumber(
                self.POINT_TARGET_PFA,
                "Point target false-alarm probability (empty: from the model, 0: off)",
                type=NUMBER_DOUBLE,
                minValue=0.0,
                maxValue=0.5,
                optional=True,
            ),
            QgsProcessingParameterNumber(
                self.POINT_TARGET_FACTOR,
                "Point target factor, deprecated (times the median; used only when the "
                "false-alarm probability is 0)",
                type=NUMBER_DOUBLE,
                minValue=0.0,
                optional=True,
            ),
            QgsProcessingParameterBoolean(
                self.RETAPER, "Retaper to the product's resolution", defaultValue=True
            ),
            QgsProcessingParameterString(
                self.SCHEDULER,
                "Dask scheduler address (empty: run here)",
                optional=True,
            ),
        ]
        add_advanced_parameters(self, advanced)
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, "Despeckled"))
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                self.OUTPUT_UNCERTAINTY,
                "Posterior standard deviation",
                optional=True,
                createByDefault=False,
            )
        )
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                self.OUTPUT_POINT_TARGETS,
                "Point targets (byte mask)",
                optional=True,
                createByDefault=False,
            )
        )
        self.addOutput(QgsProcessingOutputString(self.EXECUTION_PROVIDER, "Execution provider"))
        self.addOutput(QgsProcessingOutputNumber(self.SCALE, "Normalisation scale (intensity)"))
        self.addOutput(QgsProcessingOutputNumber(self.POINT_TARGETS, "Point targets kept"))

    def checkParameterValues(self, parameters, context):
        message = refusal(self, parameters, context)
        if message:
            return False, message
        return super().checkParameterValues(parameters, context)

    def _threads(self, parameters, context) -> int:
        threads = self.parameterAsInt(parameters, self.THREADS, context)
        return threads if threads > 0 else max(0, QgsApplication.maxThreads())

    def processAlgorithm(self, parameters, context, feedback):
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        uncertainty = self.parameterAsOutputLayer(parameters, self.OUTPUT_UNCERTAINTY, context)
        targets = self.parameterAsOutputLayer(parameters, self.OUTPUT_POINT_TARGETS, context)
        progress, is_cancelled = feedback_callbacks(feedback)
        scheduler = self.parameterAsString(parameters, self.SCHEDULER, context).strip()
        extra = {}
        if targets:
            if scheduler:
                raise QgsProcessingException(
                    "OUTPUT_POINT_TARGETS is not available with SCHEDULER yet: leave one empty."
                )
            extra["point_targets_path"] = targets
        tile_size = int(optional_number(self, parameters, self.TILE_SIZE, context) or 0)
        runner = cluster_despeckler(scheduler) if scheduler else despeckle_raster
        local = {
            "tile_size": tile_size,
            "memory_budget_mb": optional_number(self, parameters, self.MEMORY_BUDGET_MB, context),
            # on a cluster, 0 keeps one thread per Dask worker thread (this machine's QGIS
            # setting says nothing about the workers)
            "threads": (
                self.parameterAsInt(parameters, self.THREADS, context)
                if scheduler
                else self._threads(parameters, context)
            ),
            "precision": PRECISIONS[self.parameterAsEnum(parameters, self.PRECISION, context)],
        }
        with engine_errors():
            report = runner(
                output_path=output,
                **sar_band_arguments(self, parameters, context),
                **local,
                looks=optional_number(self, parameters, self.LOOKS, context),
                model_path=self.parameterAsFile(parameters, self.MODEL, context) or None,
                device=DEVICES[self.parameterAsEnum(parameters, self.DEVICE, context)],
                uncertainty_path=uncertainty or None,
                point_target_factor=optional_number(
                    self, parameters, self.POINT_TARGET_FACTOR, context
                ),
                point_target_pfa=optional_number(self, parameters, self.POINT_TARGET_PFA, context),
                retaper=self.parameterAsBoolean(parameters, self.RETAPER, context),
                progress=progress,
                is_cancelled=is_cancelled,
                log=feedback.pushInfo,
                warn=feedback.pushWarning,
                **extra,
            )
        results = {
            self.OUTPUT: output,
            self.EXECUTION_PROVIDER: report.execution_provider,
            self.SCALE: report.scale,
            self.POINT_TARGETS: report.point_targets,
        }
        if uncertainty:
            results[self.OUTPUT_UNCERTAINTY] = uncertainty
        if targets:
            results[self.OUTPUT_POINT_TARGETS] = targets
        return results
