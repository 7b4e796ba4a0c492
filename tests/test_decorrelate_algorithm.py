"""``speckle2void:decorrelate`` in the real QGIS: processing.run, qgis_process, outputs for the
modeler, georeferencing and metadata, feedback and bad input (clear message, no file)."""

from __future__ import annotations

import glob
import os
import re

import numpy as np
import pytest
from conftest import require

require("qgis.core")

from osgeo import gdal  # noqa: E402
from rasters import read_raster, utm_wkt, write_raster  # noqa: E402

from s2v_plugin.core.simulation import SpectralShape, simulate_correlated_slc  # noqa: E402
from s2v_plugin.decorrelate import decorrelate_raster  # noqa: E402
from s2v_plugin.tiled_run import CANCELLED  # noqa: E402

ALG = "speckle2void:decorrelate"
AZIMUTH = SpectralShape(0.7, 0.75, 0.17)
RANGE = SpectralShape(1.0, 0.8, 0.0)
NUMBER_OUTPUTS = (
    "AZIMUTH_CENTROID",
    "AZIMUTH_BAND_FRACTION",
    "AZIMUTH_WINDOW",
    "RANGE_CENTROID",
    "RANGE_BAND_FRACTION",
    "RANGE_WINDOW",
    "POINT_TARGETS",
    "PIXEL_FACTOR_AZIMUTH",
    "PIXEL_FACTOR_RANGE",
)


def _slc(shape=(192, 160), seed=0) -> np.ndarray:
    return simulate_correlated_slc(np.ones(shape), np.random.default_rng(seed), AZIMUTH, RANGE)


@pytest.fixture()
def slc_path(tmp_path):
    dataset = write_raster(tmp_path / "slc.tif", _slc())
    ds = gdal.Open(dataset, gdal.GA_Update)
    ds.SetMetadataItem("MISSION", "TEST-SAT")
    ds = None
    return dataset


def _leftovers(folder) -> list:
    return glob.glob(str(folder / ".*partial*")) + glob.glob(str(folder / ".*scratch*"))


def test_decorrelate_is_registered_with_its_public_parameters(qgis_app):
    from qgis.core import QgsApplication

    algorithm = QgsApplication.processingRegistry().algorithmById(ALG)

    assert algorithm is not None and algorithm.displayName() == "Decorrelate speckle"
    names = [p.name() for p in algorithm.parameterDefinitions()]
    assert names == [
        "INPUT",
        "BAND",
        "IMAG_BAND",
        "OUTPUT_FORMAT",
        "REMOVE_OVERSAMPLING",
        "POINT_TARGET_PFA",
        "POINT_TARGET_FACTOR",
        "CLEAN",
        "ANNOTATION",
        "FIRST_LINE",
        "FIRST_SAMPLE",
        "OUTPUT",
    ]


def test_outputs_are_modeler_friendly_numbers_and_text(qgis_app):
    from qgis.core import QgsApplication

    algorithm = QgsApplication.processingRegistry().algorithmById(ALG)
    outputs = {o.name(): o.type() for o in algorithm.outputDefinitions()}

    assert outputs["OUTPUT"] == "outputRaster"
    assert all(outputs[name] == "outputNumber" for name in NUMBER_OUTPUTS)
    assert outputs["ESTIMATES"] == "outputString"


def test_help_follows_the_qgis_rules(qgis_app):
    from qgis.core import QgsApplication

    algorithm = QgsApplication.processingRegistry().algorithmById(ALG)
    description = algorithm.shortDescription()

    assert description[0].isupper() and description.endswith(".")
    assert description.split(" ")[0].endswith("s") and "</" not in description
    for word in ("IMAG_BAND", "Output format", "Point target factor", "Remove oversampling"):
        assert word.lower().replace("_", " ").split()[0] in algorithm.shortHelpString().lower()
    assert algorithm.tags() and algorithm.helpUrl() and not algorithm.icon().isNull()


def test_processing_run_decorrelates_and_reports_the_estimates(processing_run, tmp_path, slc_path):
    out = str(tmp_path / "out.tif")

    result = processing_run(ALG, {"INPUT": slc_path, "OUTPUT": out})

    expected_report = decorrelate_raster(slc_path, str(tmp_path / "engine.tif"))
    np.testing.assert_allclose(read_raster(out), read_raster(tmp_path / "engine.tif"), atol=1e-6)
    assert result["AZIMUTH_CENTROID"] == pytest.approx(0.17, abs=0.01)
    assert result["AZIMUTH_BAND_FRACTION"] == pytest.approx(0.75, abs=0.02)
    assert result["AZIMUTH_WINDOW"] == pytest.approx(0.7, abs=0.05)
    assert result["RANGE_BAND_FRACTION"] == pytest.approx(0.8, abs=0.02)
    assert result["RANGE_WINDOW"] == pytest.approx(1.0, abs=0.05)
    assert result["POINT_TARGETS"] == expected_report.point_targets
    assert result["PIXEL_FACTOR_AZIMUTH"] == pytest.approx(expected_report.pixel_factors[0])
    assert "Azimuth: centroid" in result["ESTIMATES"]


def test_clean_key_reaches_the_engine(processing_run, tmp_path, slc_path):
    slc = read_raster(slc_path)
    slc[40, 50] += 400.0
    source = write_raster(tmp_path / "bright.tif", slc)
    out = {clean: str(tmp_path / f"out_{clean}.tif") for clean in (False, True)}
    for clean, path in out.items():
        processing_run(ALG, {"INPUT": source, "CLEAN": clean, "OUTPUT": path})

    handling = {
        c: gdal.Open(p).GetMetadata()["S2V_DECORRELATION_POINT_TARGET_HANDLING"]
        for c, p in out.items()
    }
    assert handling == {False: "NOISE_REPLACEMENT", True: "CLEAN"}
    engine = tmp_path / "engine.tif"
    decorrelate_raster(source, str(engine), clean=True)
    np.testing.assert_allclose(read_raster(out[True]), read_raster(engine), atol=1e-6)
    assert gdal.Open(out[True]).GetMetadata()["S2V_DECORRELATION_EDGE_ROLLOFF"] == "0.025"


def test_estimates_are_in_the_log(processing_run, tmp_path, slc_path):
    from qgis.core import QgsProcessingFeedback

    class Recorder(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.lines = []

        def pushInfo(self, info):  # noqa: N802
            self.lines.append(info)

    feedback = Recorder()
    processing_run(ALG, {"INPUT": slc_path, "OUTPUT": str(tmp_path / "o.tif")}, feedback)

    assert any("band fraction" in line for line in feedback.lines)


def test_georeferencing_and_metadata_are_kept(processing_run, tmp_path, slc_path):
    result = processing_run(
        ALG,
        {"INPUT": slc_path, "REMOVE_OVERSAMPLING": False, "OUTPUT": str(tmp_path / "o.tif")},
    )

    source, out = gdal.Open(slc_path), gdal.Open(result["OUTPUT"])
    assert out.GetGeoTransform() == source.GetGeoTransform()
    assert out.GetProjection() == source.GetProjection()
    metadata = out.GetMetadata()
    assert metadata["MISSION"] == "TEST-SAT"
    assert metadata["S2V_DECORRELATION_OVERSAMPLING_REMOVED"] == "NO"
    assert float(metadata["S2V_DECORRELATION_AZIMUTH_CENTROID"]) == pytest.approx(0.17, abs=0.01)


def test_removed_oversampling_rescales_the_geotransform(processing_run, tmp_path, slc_path):
    result = processing_run(ALG, {"INPUT": slc_path, "OUTPUT": str(tmp_path / "o.tif")})

    source, out = gdal.Open(slc_path), gdal.Open(result["OUTPUT"])
    assert out.RasterXSize < source.RasterXSize and out.RasterYSize < source.RasterYSize
    assert out.GetGeoTransform()[1] == pytest.approx(
        source.GetGeoTransform()[1] * result["PIXEL_FACTOR_RANGE"]
    )
    assert out.GetGeoTransform()[5] == pytest.approx(
        source.GetGeoTransform()[5] * result["PIXEL_FACTOR_AZIMUTH"]
    )


def test_i_and_q_bands_and_intensity_output(processing_run, tmp_path):
    slc = _slc(seed=1)
    iq = write_raster(tmp_path / "iq.tif", [slc.real.copy(), slc.imag.copy()])
    complex_path = write_raster(tmp_path / "c.tif", slc)

    result = processing_run(
        ALG,
        {
            "INPUT": iq,
            "BAND": 1,
            "IMAG_BAND": 2,
            "OUTPUT_FORMAT": 1,
            "OUTPUT": str(tmp_path / "i.tif"),
        },
    )

    decorrelate_raster(complex_path, str(tmp_path / "c_out.tif"))
    expected = np.abs(read_raster(tmp_path / "c_out.tif")) ** 2
    np.testing.assert_allclose(read_raster(result["OUTPUT"]), expected, rtol=1e-4, atol=1e-6)


def test_progress_is_monotone_within_0_and_100(processing_run, tmp_path, slc_path):
    from qgis.core import QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    seen = []
    feedback.progressChanged.connect(seen.append)

    processing_run(ALG, {"INPUT": slc_path, "OUTPUT": str(tmp_path / "o.tif")}, feedback)

    assert len(seen) >= 3 and seen == sorted(seen)
    assert seen[0] >= 0 and seen[-1] == pytest.approx(100)


def test_cancel_leaves_no_output(processing_run, tmp_path, slc_path):
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    feedback.progressChanged.connect(lambda value: value > 5 and feedback.cancel())
    out = tmp_path / "o.tif"

    with pytest.raises(QgsProcessingException, match=f"^{re.escape(CANCELLED)}$"):
        processing_run(ALG, {"INPUT": slc_path, "OUTPUT": str(out)}, feedback)

    assert not out.exists() and _leftovers(tmp_path) == []


def _message(processing_run, parameters) -> str:
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException) as error:
        processing_run(ALG, parameters)
    return str(error.value)


def test_bad_inputs_get_clear_messages_and_no_file(processing_run, tmp_path, slc_path):
    real = write_raster(tmp_path / "real.tif", np.abs(_slc(seed=2)).astype(np.float32))
    small = write_raster(tmp_path / "small.tif", _slc(shape=(16, 200), seed=3))
    zero = write_raster(tmp_path / "zero.tif", np.zeros((64, 64), np.complex64))
    blank = write_raster(tmp_path / "nan.tif", np.full((64, 64), np.nan, np.complex64))
    out = str(tmp_path / "o.tif")
    cases = [
        ({"INPUT": real, "OUTPUT": out}, "Imaginary band"),
        ({"INPUT": slc_path, "BAND": 1, "IMAG_BAND": 1, "OUTPUT": out}, "same"),
        ({"INPUT": small, "OUTPUT": out}, "too small"),
        ({"INPUT": zero, "OUTPUT": out}, "all zero"),
        ({"INPUT": blank, "OUTPUT": out}, "nodata"),
        ({"INPUT": slc_path, "OUTPUT": "/proc/nope/o.tif"}, "Cannot write"),
    ]
    for parameters, text in cases:
        assert text.lower() in _message(processing_run, parameters).lower(), text
        assert not os.path.exists(out)
    assert _leftovers(tmp_path) == []


def test_tops_sample_is_refused_with_the_deramp_instruction(processing_run, tmp_path, sar_data):
    message = _message(
        processing_run,
        {
            "INPUT": str(sar_data / "s1a_iw3_vv_tops_slc_601x1401.tif"),
            "OUTPUT": str(tmp_path / "o.tif"),
        },
    )

    assert "TOPS" in message and "ANNOTATION" in message and "annotation expected" in message
    assert not (tmp_path / "o.tif").exists()


def test_qgis_process_decorrelates_a_raster(qgis_process, tmp_path):
    source = write_raster(tmp_path / "slc.tif", _slc(seed=4), crs_wkt=utm_wkt())
    out = tmp_path / "cli.tif"

    run = qgis_process("run", ALG, "--", f"INPUT={source}", f"OUTPUT={out}")

    assert run.returncode == 0, run.stdout + run.stderr
    assert "AZIMUTH_BAND_FRACTION" in run.stdout
    decorrelate_raster(source, str(tmp_path / "engine.tif"))
    np.testing.assert_allclose(read_raster(out), read_raster(tmp_path / "engine.tif"), atol=1e-6)


def test_qgis_process_reports_a_real_band_clearly(qgis_process, tmp_path):
    source = write_raster(tmp_path / "real.tif", np.abs(_slc(seed=5)).astype(np.float32))
    out = tmp_path / "cli.tif"

    run = qgis_process("run", ALG, "--", f"INPUT={source}", f"OUTPUT={out}")

    assert run.returncode != 0
    assert "Imaginary band" in run.stdout + run.stderr
    assert not out.exists()
