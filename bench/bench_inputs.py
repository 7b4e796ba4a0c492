"""What the input description changes on the shared SAR samples, through ``processing.run``.

Prints, with the shipped model and DOMAIN/LOOKS left empty unless stated:

1. the Sentinel-1 GRD amplitude sample: looks, domain, ratio mean and variance, warnings, with
   DOMAIN Auto and with DOMAIN explicitly intensity;
2. each SLC sample despeckled raw (warnings; ratio lag-1 in azimuth and M-index) and through
   decorrelate -> despeckle -> evaluate (warnings; ratio statistics);
3. the decorrelated ENVISAT amplitude with DOMAIN intensity (the old default) and Auto: point
   targets kept and the change of the 20 brightest pixels.

Needs QGIS, onnxruntime and ``../shared/data/sar``. Usage::

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m bench.bench_inputs
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAR = ROOT.parent / "shared" / "data" / "sar"
GRD = "s1_grd_homogeneous_amplitude_301x301.tif"
SLCS = (
    "envisat_asar_im_hh_slc_500x500.tif",
    "uavsar_sanand129_hh_slc_150x200.tif",
    "uavsar_sanand138_hh_slc_150x400.tif",
)


def start_qgis(folder: Path):
    """A headless QGIS with this checkout loaded as the plugin 'speckle2void'."""
    from qgis.core import QgsApplication

    plugins = folder / "plugins"
    plugins.mkdir()
    (plugins / "speckle2void").symlink_to(ROOT, target_is_directory=True)
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    from tests.conftest import QGIS_PYTHON_PLUGINS, import_package

    import_package("processing", QGIS_PYTHON_PLUGINS / "processing")
    from processing.core.Processing import Processing

    Processing.initialize()
    plugin = import_package("speckle2void", plugins / "speckle2void").classFactory(None)
    plugin.initProcessing()
    return app, plugin


def main() -> None:
    from osgeo import gdal

    folder = Path(tempfile.mkdtemp(prefix="s2v_inputs_"))
    app, plugin = start_qgis(folder)  # noqa: F841 - kept alive for the run
    import processing
    from qgis.core import QgsProcessingFeedback

    class Feedback(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.warnings = []

        def pushWarning(self, text):  # noqa: N802 - QGIS API
            self.warnings.append(text)

    def run(algorithm, parameters):
        feedback = Feedback()
        return processing.run(algorithm, parameters, feedback=feedback), feedback.warnings

    def evaluate(noisy, despeckled, name, **extra):
        return run(
            "speckle2void:evaluate",
            {"NOISY": noisy, "DESPECKLED": despeckled, "COMPARE_CLASSIC": False,
             "OUTPUT_RATIO": str(folder / f"{name}_ratio.tif"),
             "OUTPUT_HTML": str(folder / f"{name}.html"), **extra},
        )  # fmt: skip

    grd = str(SAR / GRD)
    for label, domain in (("Auto", 2), ("intensity", 0)):
        out, warned = run(
            "speckle2void:despeckle",
            {"INPUT": grd, "DOMAIN": domain, "OUTPUT": str(folder / f"grd{domain}.tif")},
        )
        metadata = gdal.Open(out["OUTPUT"]).GetMetadata()
        scores, warned_eval = evaluate(grd, out["OUTPUT"], f"grd{domain}", DOMAIN=domain)
        print(
            f"GRD amplitude, DOMAIN {label}: LOOKS {metadata['S2V_LOOKS']}, domain "
            f"{metadata['S2V_DOMAIN']}; ratio mean {scores['RATIO_MEAN']:.3f}, variance "
            f"{scores['RATIO_VARIANCE']:.3f}; warnings: despeckle {len(warned)}, evaluate "
            f"{len(warned_eval)}"
        )
    for name in SLCS:
        raw, warned_raw = run(
            "speckle2void:despeckle", {"INPUT": str(SAR / name), "OUTPUT": str(folder / "raw.tif")}
        )
        try:
            raw_scores, _ = evaluate(str(SAR / name), raw["OUTPUT"], "raw")
            raw_text = (
                f"ratio lag-1 azimuth {raw_scores['RATIO_LAG1_ROWS']:.2f}, M-index "
                f"{raw_scores['M_INDEX']:.2f}"
            )
        except Exception as exc:  # noqa: BLE001 - reported, not fatal
            raw_text = f"evaluation refused: {str(exc)[:60]}"
        white = processing.run(
            "speckle2void:decorrelate", {"INPUT": str(SAR / name), "OUTPUT": str(folder / "w.tif")}
        )["OUTPUT"]
        out, warned = run(
            "speckle2void:despeckle", {"INPUT": white, "OUTPUT": str(folder / "d.tif")}
        )
        scores, warned_eval = evaluate(white, out["OUTPUT"], "chain")
        print(
            f"{name}: raw SLC {len(warned_raw)} warning(s), {raw_text}; decorrelated chain "
            f"{len(warned) + len(warned_eval)} warning(s), ratio mean {scores['RATIO_MEAN']:.3f}, "
            f"variance {scores['RATIO_VARIANCE']:.3f}, lag-1 azimuth "
            f"{scores['RATIO_LAG1_ROWS']:.2f}, M-index {scores['M_INDEX']:.2f}"
        )
    white = processing.run(
        "speckle2void:decorrelate", {"INPUT": str(SAR / SLCS[0]), "OUTPUT": str(folder / "e.tif")}
    )["OUTPUT"]
    dataset = gdal.Open(white)
    amplitude = np.abs(dataset.ReadAsArray()).astype(np.float32)
    dataset = None
    path = str(folder / "amplitude.tif")
    created = gdal.GetDriverByName("GTiff").Create(
        path, *amplitude.shape[::-1], 1, gdal.GDT_Float32
    )
    created.GetRasterBand(1).WriteArray(amplitude)
    created = None
    brightest = np.argsort(amplitude.ravel())[-20:]
    for label, domain in (("intensity (old default)", 0), ("Auto", 2)):
        out, warned = run(
            "speckle2void:despeckle",
            {"INPUT": path, "DOMAIN": domain, "LOOKS": 1, "OUTPUT": str(folder / f"a{domain}.tif")},
        )
        result = gdal.Open(out["OUTPUT"]).ReadAsArray().ravel()
        change = 20 * np.log10(result[brightest].mean() / amplitude.ravel()[brightest].mean())
        print(
            f"ENVISAT decorrelated amplitude, DOMAIN {label}: {out['POINT_TARGETS']} point "
            f"targets kept, 20 brightest pixels {change:+.1f} dB, {len(warned)} warning(s)"
        )


if __name__ == "__main__":
    main()
