"""The analyst's chain in the graphical modeler: decorrelate -> despeckle -> evaluate.

The model is built with the modeler API, saved as a .model3 file, loaded back and run
headless, as a user would run a saved model.

QGIS versions name a model's outputs differently (3.22: ``child:name``; 3.40: after the output's
description), so the tests look each output up by its description, which every version keeps.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import require

require("qgis.core")
require("onnxruntime")
require("onnx")

from onnx_models import neighbour_mean_model  # noqa: E402
from osgeo import gdal  # noqa: E402
from rasters import write_raster  # noqa: E402

from s2v_plugin.core.simulation import SpectralShape, simulate_correlated_slc  # noqa: E402

REPORT, RATIO = "report", "ratio"
DESCRIPTIONS = {REPORT: "Despeckling report", RATIO: "Ratio image"}


def output_names(path) -> dict:
    """The parameter name this QGIS gives each model output, keyed by its short name."""
    from qgis.core import QgsProcessingModelAlgorithm

    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(str(path))
    by_description = {p.description(): p.name() for p in model.destinationParameterDefinitions()}
    return {name: by_description[description] for name, description in DESCRIPTIONS.items()}


def build_chain(path, model_path: str, decorrelate: bool) -> str:
    """Save a model: SLC -> [decorrelate] -> despeckle -> evaluate (report and ratio out)."""
    from qgis.core import (
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildParameterSource,
        QgsProcessingModelOutput,
        QgsProcessingModelParameter,
        QgsProcessingParameterRasterLayer,
    )

    static = QgsProcessingModelChildParameterSource.fromStaticValue
    model = QgsProcessingModelAlgorithm("slc_to_report", "speckle2void tests")
    model.addModelParameter(
        QgsProcessingParameterRasterLayer("slc", "Single-look complex SAR raster"),
        QgsProcessingModelParameter("slc"),
    )
    noisy = QgsProcessingModelChildParameterSource.fromModelParameter("slc")

    def child(child_id, algorithm_id, sources, outputs=()):
        algorithm = QgsProcessingModelChildAlgorithm(algorithm_id)
        algorithm.setChildId(child_id)
        for key, source in sources.items():
            algorithm.addParameterSources(key, [source])
        model_outputs = {}
        for name, output_key in outputs:
            output = QgsProcessingModelOutput(name, DESCRIPTIONS[name])
            output.setChildId(child_id)
            output.setChildOutputName(output_key)
            model_outputs[name] = output
        algorithm.setModelOutputs(model_outputs)
        model.addChildAlgorithm(algorithm)

    if decorrelate:
        child("decorrelate", "speckle2void:decorrelate", {"INPUT": noisy})
        noisy = QgsProcessingModelChildParameterSource.fromChildOutput("decorrelate", "OUTPUT")
    child(
        "despeckle",
        "speckle2void:despeckle",
        {"INPUT": noisy, "MODEL": static(model_path), "LOOKS": static(1.0)},
    )
    child(
        "evaluate",
        "speckle2void:evaluate",
        {
            "NOISY": noisy,
            "DESPECKLED": QgsProcessingModelChildParameterSource.fromChildOutput(
                "despeckle", "OUTPUT"
            ),
            "LOOKS": static(1.0),
            "COMPARE_CLASSIC": static(True),
        },
        outputs=((REPORT, "OUTPUT_HTML"), (RATIO, "OUTPUT_RATIO")),
    )
    model.updateDestinationParameters()
    assert model.toFile(str(path)), f"could not save {path}"
    return str(path)


def run_saved_model(path, parameters):
    import processing
    from qgis.core import (
        QgsProcessingContext,
        QgsProcessingFeedback,
        QgsProcessingModelAlgorithm,
    )

    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(str(path))
    return processing.run(
        model, parameters, context=QgsProcessingContext(), feedback=QgsProcessingFeedback()
    )


@pytest.fixture()
def slc(tmp_path):
    rows, cols = np.mgrid[0:192, 0:192]
    clean = 100.0 + 80.0 * (cols > 96) + 40.0 * np.sin(rows / 20.0)
    array = simulate_correlated_slc(
        clean,
        np.random.default_rng(0),
        azimuth=SpectralShape(window=0.7, band_fraction=1.0, centroid=0.17),
        range_=SpectralShape(window=0.75),
    )
    return write_raster(tmp_path / "slc.tif", array)


def run_chain(path, slc, tmp_path):
    """Run the saved chain with the report and ratio written into ``tmp_path``."""
    names = output_names(path)
    result = run_saved_model(
        path,
        {
            "slc": slc,
            names[REPORT]: str(tmp_path / "report.html"),
            names[RATIO]: str(tmp_path / "ratio.tif"),
        },
    )
    assert Path(result[names[REPORT]]) == tmp_path / "report.html"
    return result, Path(result[names[REPORT]]), result[names[RATIO]]


def check_outputs(report, ratio_path, shape):
    text = report.read_text(encoding="utf-8")
    assert len(re.findall(r"data:image/png;base64,", text)) >= 10
    assert "Refined Lee" in text and "M-index" in text
    ratio = gdal.Open(ratio_path)
    assert (ratio.RasterYSize, ratio.RasterXSize) == shape


def intensity(path) -> np.ndarray:
    """Band 1 of a raster as intensity (|z|^2 of a complex band), NaN for nodata."""
    dataset = gdal.Open(str(path))  # kept: a band outlives no dataset
    band = dataset.GetRasterBand(1)
    values = band.ReadAsArray()
    values = np.abs(values) ** 2 if np.iscomplexobj(values) else values.astype(np.float64)
    nodata = band.GetNoDataValue()
    if nodata is not None and not np.isnan(nodata):
        values = np.where(values == nodata, np.nan, values)
    return values


def check_enl(numbers, noisy_path, despeckled_path):
    """The ENL evaluate returns is ``mean^2 / var`` (unbiased variance) of the despeckled
    image over the automatic windows, computed here by hand (only the window search is
    the engine's)."""
    from s2v_plugin.core.metrics import find_homogeneous_windows

    noisy = intensity(noisy_path).astype(np.float32)
    despeckled = intensity(despeckled_path)
    windows = find_homogeneous_windows(noisy, size=32, count=10)
    assert numbers["AREA_COUNT"] == len(windows) > 0

    def enl(image):
        values = [image[window.slices()].ravel() for window in windows]
        values = [v[np.isfinite(v)] for v in values]
        return np.mean([v.mean() ** 2 / v.var(ddof=1) for v in values])

    assert numbers["ENL"] == pytest.approx(enl(despeckled), rel=1e-3)
    assert numbers["ENL_NOISY"] == pytest.approx(enl(noisy), rel=1e-3)
    assert numbers["ENL"] > 2 * numbers["ENL_NOISY"]  # the neighbour mean smooths


def test_saved_model_despeckle_then_evaluate_runs_headless(qgis_app, tmp_path, slc):
    model_path = neighbour_mean_model(tmp_path / "m.onnx")
    path = build_chain(tmp_path / "chain.model3", model_path, decorrelate=False)
    result, report, ratio = run_chain(path, slc, tmp_path)
    check_outputs(report, ratio, (192, 192))
    children = result["CHILD_RESULTS"]
    check_enl(children["evaluate"], slc, children["despeckle"]["OUTPUT"])


def test_saved_model_decorrelate_despeckle_evaluate_runs_headless(qgis_app, tmp_path, slc):
    from qgis.core import QgsApplication

    if QgsApplication.processingRegistry().algorithmById("speckle2void:decorrelate") is None:
        pytest.skip("speckle2void:decorrelate is not registered yet")
    model_path = neighbour_mean_model(tmp_path / "m.onnx")
    path = build_chain(tmp_path / "chain.model3", model_path, decorrelate=True)
    assert "speckle2void:decorrelate" in Path(path).read_text(encoding="utf-8")
    result, report, ratio = run_chain(path, slc, tmp_path)
    children = result["CHILD_RESULTS"]
    decorrelated = children["decorrelate"]
    # the ratio covers the decorrelated grid, whose size the decorrelation reports
    factors = decorrelated["PIXEL_FACTOR_AZIMUTH"], decorrelated["PIXEL_FACTOR_RANGE"]
    check_outputs(report, ratio, tuple(round(192 / factor) for factor in factors))
    numbers = children["evaluate"]  # the numbers other model steps can use
    assert numbers["AREA_COUNT"] > 0 and 0.5 < numbers["RATIO_MEAN"] < 1.5
    assert numbers["M_INDEX"] >= 0
    check_enl(numbers, decorrelated["OUTPUT"], children["despeckle"]["OUTPUT"])
    text = report.read_text(encoding="utf-8")
    assert f"{numbers['RATIO_MEAN']:.4f}" in text  # the report shows the numbers returned


def test_saved_model_runs_from_qgis_process(qgis_process, tmp_path, slc):
    model_path = neighbour_mean_model(tmp_path / "m.onnx")
    path = build_chain(tmp_path / "chain.model3", model_path, decorrelate=False)
    names = output_names(path)
    report = tmp_path / "cli.html"
    run = qgis_process(
        "run", path, "--", f"slc={slc}", f"{names[REPORT]}={report}",
        f"{names[RATIO]}={tmp_path / 'cli_ratio.tif'}",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert report.exists() and "data:image/png;base64" in report.read_text(encoding="utf-8")
