"""Processing algorithm ``speckle2void:sentinel1``: a thin layer over
:func:`s2v_plugin.sentinel1.despeckle_sentinel1`."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterString,
)

from ..s2v_plugin.core.calibration import CALIBRATIONS
from ..s2v_plugin.sentinel1 import despeckle_sentinel1
from .common import Speckle2VoidAlgorithm, engine_errors, feedback_callbacks

SWATHS = ("Auto (first)", "IW1", "IW2", "IW3", "EW1", "EW2", "EW3", "EW4", "EW5")
POLARISATIONS = ("All", "VV", "VH", "HH", "HV")


class Sentinel1Algorithm(Speckle2VoidAlgorithm):
    """Read, deramp, decorrelate, deburst, despeckle and calibrate a Sentinel-1 SLC swath."""

    INPUT = "INPUT"
    SWATH = "SWATH"
    POLARISATION = "POLARISATION"
    BURSTS = "BURSTS"
    CALIBRATION = "CALIBRATION"
    NOISE_REMOVAL = "NOISE_REMOVAL"
    OUTPUT = "OUTPUT"

    def name(self) -> str:
        return "sentinel1"

    def displayName(self) -> str:
        return "Despeckle Sentinel-1 SLC"

    def tags(self):
        return [
            "sar", "sentinel-1", "sentinel1", "slc", "safe", "tops", "iw", "ew", "deramp",
            "deburst", "calibration", "sigma0", "despeckle", "speckle",
        ]  # fmt: skip

    def shortDescription(self) -> str:
        return (
            "Despeckles one swath of a Sentinel-1 SLC product (SAFE folder, .zip or "
            "manifest.safe): deramp, decorrelate, deburst, despeckle and calibrate in one step."
        )

    def shortHelpString(self) -> str:
        return (
            "Runs the whole Speckle2Void chain on a Sentinel-1 single-look complex product as "
            "downloaded. For each polarisation of the chosen swath, each burst is read "
            "(samples outside the annotation's valid window become nodata), deramped "
            "(the TOPS azimuth chirp removed, ESA note S1-TN-MDA-52-7445) and decorrelated "
            "(spectrum whitened, oversampling removed, as in Decorrelate speckle); the "
            "bursts are then debursted (joined at the middle of their overlaps, in radar "
            "geometry) and the joined swath is despeckled: the overlaps are narrower than "
            "the network's receptive field, so despeckling burst by burst would leave seams. "
            "The result can be calibrated after despeckling (the calibration gain varies "
            "slowly and commutes with the posterior mean; noise is subtracted from the "
            "despeckled mean, where it is unbiased, and negative values are set to 0).\n\n"
            "Input: the .SAFE folder, its manifest.safe or the downloaded .zip of an IW, "
            "EW or SM SLC product. GRD products are refused (already detected: use "
            "Despeckle (Speckle2Void) on them).\n"
            "Swath: one swath per run (IW1-3, EW1-5; Auto: the first in the product). "
            "Merging swaths is not done: run once per swath.\n"
            "Polarisation: one, or All (each polarisation becomes a band of the output).\n"
            "Bursts: consecutive 1-based bursts such as 3-5; empty: all. A whole IW "
            "swath is about 120 megapixels: more than 15 minutes on a CPU, so a few bursts is "
            "the common case.\n"
            "Calibration: none (intensity in DN²), sigma0, beta0 or gamma0 (linear), "
            "from the product's calibration vectors interpolated bilinearly.\n"
            "Noise removal: subtract the product's thermal noise.\n\n"
            "Output: float32 GeoTIFF in radar geometry (rows azimuth, columns slant "
            "range; pixels larger than the input's by the oversampling factors, written to the "
            "metadata), one band per polarisation, GCPs from the annotation's geolocation grid "
            "so that QGIS shows it roughly in place.\n\n"
            "Tested on real Sentinel-1 IW pixels; EW and SM are read and processed the same way "
            "(SM without deramping) but no EW or SM pixels were available to test them."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(
            QgsProcessingParameterFile(
                self.INPUT,
                "Sentinel-1 SLC product (.SAFE folder, .zip or manifest.safe)",
                fileFilter="Sentinel-1 SAFE (manifest.safe *.zip *.SAFE);;All files (*)",
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(self.SWATH, "Swath", options=list(SWATHS), defaultValue=0)
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.POLARISATION, "Polarisation", options=list(POLARISATIONS), defaultValue=0
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.BURSTS, "Bursts (such as 3-5; empty: all)", defaultValue="", optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.CALIBRATION,
                "Calibration",
                options=["None (intensity, DN²)", "sigma0", "beta0", "gamma0"],
                defaultValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.NOISE_REMOVAL, "Remove thermal noise", defaultValue=False
            )
        )
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, "Despeckled"))

    def processAlgorithm(self, parameters, context, feedback):
        path = self.parameterAsFile(parameters, self.INPUT, context)
        if not path:
            raise QgsProcessingException(
                "INPUT is empty: give the .SAFE folder, its manifest.safe or the .zip."
            )
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        swath_index = self.parameterAsEnum(parameters, self.SWATH, context)
        pol_index = self.parameterAsEnum(parameters, self.POLARISATION, context)
        progress, is_cancelled = feedback_callbacks(feedback)
        with engine_errors():
            report = despeckle_sentinel1(
                path,
                output,
                swath=None if swath_index == 0 else SWATHS[swath_index],
                polarisations=None if pol_index == 0 else [POLARISATIONS[pol_index]],
                bursts=self.parameterAsString(parameters, self.BURSTS, context),
                calibration=CALIBRATIONS[
                    self.parameterAsEnum(parameters, self.CALIBRATION, context)
                ],
                noise_removal=self.parameterAsBoolean(parameters, self.NOISE_REMOVAL, context),
                progress=progress,
                is_cancelled=is_cancelled,
                log=feedback.pushInfo,
            )
        if feedback.isCanceled():
            raise QgsProcessingException("Cancelled by the user; no output was written.")
        feedback.pushInfo(report.summary())
        return {self.OUTPUT: output}
