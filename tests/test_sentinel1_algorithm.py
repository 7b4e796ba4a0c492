"""``speckle2void:sentinel1`` and the Sentinel-1 inputs of ``speckle2void:decorrelate`` in the
real QGIS (processing.run and qgis_process): synthetic SAFE products always, the shared real TOPS
crop when ../shared is present."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
from conftest import require

require("qgis.core")
require("onnxruntime")

from osgeo import gdal  # noqa: E402
from sentinel1_fixture import BURSTS, LINES_PER_BURST, OVERLAP, SAMPLES, make_safe  # noqa: E402

from bench.bench_real_ratio import block_lag1  # noqa: E402

ALG = "speckle2void:sentinel1"
CROP = "s1a_iw3_vv_tops_slc_601x1401.tif"
ANNOTATION = "s1a_iw3_vv_tops_annotation.xml"


@pytest.fixture(scope="module")
def safe(tmp_path_factory):
    return make_safe(tmp_path_factory.mktemp("safe"))


def _read(path):
    dataset = gdal.Open(str(path))
    return dataset, dataset.ReadAsArray().astype(np.float64)


def _leftovers(folder) -> list:
    return [p for p in glob.glob(os.path.join(str(folder), ".*")) if "s2v" in p or "partial" in p]


def test_sentinel1_is_registered_with_its_public_parameters(qgis_app):
    from qgis.core import QgsApplication

    algorithm = QgsApplication.processingRegistry().algorithmById(ALG)

    assert algorithm is not None and algorithm.displayName() == "Despeckle Sentinel-1 SLC"
    names = [p.name() for p in algorithm.parameterDefinitions()]
    assert names == [
        "INPUT", "SWATH", "POLARISATION", "BURSTS", "CALIBRATION", "NOISE_REMOVAL", "OUTPUT",
    ]  # fmt: skip


def test_sentinel1_runs_end_to_end_with_progress(processing_run, safe, tmp_path):
    from qgis.core import QgsProcessingFeedback

    class Recorder(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.steps = []
            self.progressChanged.connect(self.steps.append)

    feedback = Recorder()
    out = tmp_path / "s1.tif"

    result = processing_run(ALG, {"INPUT": str(safe), "OUTPUT": str(out)}, feedback)

    assert result["OUTPUT"] == str(out)
    dataset, data = _read(out)
    assert dataset.RasterCount == 2  # VV and VH as bands
    descriptions = [dataset.GetRasterBand(i + 1).GetDescription() for i in range(2)]
    assert descriptions[0].startswith("VV despeckled") and descriptions[1].startswith("VH")
    # debursted: 3 bursts of 148 valid lines, 136 lines apart, after oversampling removal
    factor = float(dataset.GetMetadataItem("S2V_SENTINEL1_PIXEL_FACTOR_AZIMUTH"))
    span = (BURSTS - 1) * (LINES_PER_BURST - OVERLAP) + LINES_PER_BURST - 12
    assert dataset.RasterYSize == pytest.approx(span / factor, abs=2)
    assert factor == pytest.approx(1 / 0.645, rel=0.01)
    assert np.isfinite(data).all() and data.min() > 0
    assert dataset.GetGCPCount() == 6
    assert len(feedback.steps) > 5 and max(feedback.steps) == pytest.approx(100)
    assert np.all(np.diff(feedback.steps) >= -1e-9)
    assert _leftovers(tmp_path) == []


def test_calibration_divides_by_the_lut_and_removes_the_noise(processing_run, safe, tmp_path):
    outputs = {}
    for name, calibration, noise in (("dn", 0, False), ("sigma", 1, False), ("clean", 1, True)):
        outputs[name] = tmp_path / f"{name}.tif"
        processing_run(
            ALG,
            {
                "INPUT": str(safe),
                "POLARISATION": 1,  # VV
                "BURSTS": "2-3",
                "CALIBRATION": calibration,
                "NOISE_REMOVAL": noise,
                "OUTPUT": str(outputs[name]),
            },
        )
    dataset, dn = _read(outputs["dn"])
    _, sigma = _read(outputs["sigma"])
    _, clean = _read(outputs["clean"])
    first = 5.0  # the fixture's first valid sample
    step = float(dataset.GetMetadataItem("S2V_SENTINEL1_PIXEL_FACTOR_RANGE"))
    samples = first + step * np.arange(dn.shape[1])
    lut = 300.0 + 30.0 * samples / SAMPLES  # the fixture's sigmaNought

    np.testing.assert_allclose(sigma * lut**2, dn, rtol=1e-3)
    expected = np.maximum(dn - 50.0, 0.0) / lut**2  # the fixture's noise: 50 DN^2
    np.testing.assert_allclose(clean, expected, rtol=1e-3, atol=1e-7)
    assert "sigma0" in gdal.Open(str(outputs["clean"])).GetRasterBand(1).GetDescription()


def test_cancel_stops_and_leaves_no_file(processing_run, safe, tmp_path):
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    class CancelSoon(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.progressChanged.connect(lambda value: value > 10 and self.cancel())

    out = tmp_path / "cancelled.tif"
    with pytest.raises(QgsProcessingException, match="(?i)cancel"):
        processing_run(ALG, {"INPUT": str(safe), "OUTPUT": str(out)}, CancelSoon())
    assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_bad_inputs_are_refused_clearly(processing_run, tmp_path, safe):
    from qgis.core import QgsProcessingException

    grd = make_safe(tmp_path / "grd", polarisations=("VV",), product_type="GRD")
    cases = {
        "GRD": {"INPUT": str(grd)},
        "outside 1-3": {"INPUT": str(safe), "BURSTS": "2-7"},
        "consecutive": {"INPUT": str(safe), "BURSTS": "1,3"},
        "no swath IW2": {"INPUT": str(safe), "SWATH": 2},
        "manifest.safe": {"INPUT": str(tmp_path)},
    }
    for expected, parameters in cases.items():
        out = tmp_path / "o.tif"
        with pytest.raises(QgsProcessingException) as error:
            processing_run(ALG, {**parameters, "OUTPUT": str(out)})
        assert expected in str(error.value)
        assert not out.exists()


def test_decorrelate_accepts_a_safe_product(processing_run, safe, tmp_path):
    from qgis.core import QgsProcessingException

    flat = make_safe(tmp_path / "flat", texture=False)
    out = tmp_path / "white.tif"
    result = processing_run(
        "speckle2void:decorrelate",
        {"INPUT": str(flat / "manifest.safe"), "OUTPUT_FORMAT": 1, "OUTPUT": str(out)},
    )

    dataset, data = _read(out)
    assert dataset.RasterCount == 2 and "decorrelated" in dataset.GetRasterBand(1).GetDescription()
    assert "swath IW1" in result["ESTIMATES"]
    # the speckle is white within each 32-line block: on a flat scene the intensity lag-1 is
    # |complex lag-1|^2 (0.36 before decorrelation; block estimates scatter by about 0.013)
    for axis in (0, 1):
        lag1 = block_lag1(data[0], axis)
        assert abs(lag1.mean()) < 0.02 and np.abs(lag1).max() < 0.05, lag1
    with pytest.raises(QgsProcessingException, match="intensity or amplitude"):
        processing_run("speckle2void:decorrelate", {"INPUT": str(safe), "OUTPUT": str(out) + "c"})


def test_qgis_process_runs_sentinel1(qgis_process, safe, tmp_path):
    out = tmp_path / "cli.tif"

    run = qgis_process(
        "run", ALG, "--", f"INPUT={safe}", "POLARISATION=2", "BURSTS=1-2", f"OUTPUT={out}"
    )

    assert run.returncode == 0, run.stdout + run.stderr
    dataset = gdal.Open(str(out))
    assert dataset.RasterCount == 1 and dataset.GetRasterBand(1).GetDescription().startswith("VH")


def test_qgis_process_help_says_what_was_not_tested(qgis_process):
    run = qgis_process("help", ALG)

    assert run.returncode == 0
    text = run.stdout
    for key in ("INPUT", "SWATH", "POLARISATION", "BURSTS", "CALIBRATION", "NOISE_REMOVAL"):
        assert key in text
    assert "no EW or SM pixels" in text and "Merging swaths is not done" in text


def test_real_tops_crop_decorrelates_and_despeckles_via_qgis_process(
    qgis_process, sar_data, tmp_path
):
    white = tmp_path / "white.tif"
    despeckled = tmp_path / "despeckled.tif"

    first = qgis_process(
        "run", "speckle2void:decorrelate", "--", f"INPUT={sar_data / CROP}",
        f"ANNOTATION={sar_data / ANNOTATION}", "FIRST_LINE=9800", "FIRST_SAMPLE=11000",
        "OUTPUT_FORMAT=1", f"OUTPUT={white}",
    )  # fmt: skip
    assert first.returncode == 0, first.stdout + first.stderr
    # The despeckler's defaults (local point-target rule with the pair test, local-mean factor):
    # about 0.094 in azimuth and 0.067 in range on the block means (bench/bench_real_ratio.py);
    # the tail test alone left 0.113 and 0.095.
    second = qgis_process(
        "run", "speckle2void:despeckle", "--", f"INPUT={white}", "DEVICE=1",
        f"OUTPUT={despeckled}", timeout=600,
    )  # fmt: skip
    assert second.returncode == 0, second.stdout + second.stderr

    dataset, intensity = _read(white)
    _, mean = _read(despeckled)
    factor = float(dataset.GetMetadataItem("S2V_DECORRELATION_PIXEL_FACTOR_AZIMUTH"))
    assert dataset.GetMetadataItem("S2V_DECORRELATION_TOPS_DERAMPED") == "YES"
    rows = int(381 / factor)  # output rows of input rows 0-380
    ratio = intensity[:rows] / mean[:rows]
    azimuth, range_ = block_lag1(ratio, 0), block_lag1(ratio, 1)
    print("ratio lag-1 per 32-line block, azimuth", azimuth.round(3), "range", range_.round(3))
    assert abs(azimuth.mean()) <= 0.1 and abs(range_.mean()) <= 0.1
    assert np.median(np.abs(azimuth)) <= 0.1 and np.median(np.abs(range_)) <= 0.1


def test_decorrelate_asks_for_the_offsets_of_a_crop(processing_run, sar_data, tmp_path):
    from qgis.core import QgsProcessingException

    out = tmp_path / "o.tif"
    with pytest.raises(QgsProcessingException, match="FIRST_LINE and FIRST_SAMPLE"):
        processing_run(
            "speckle2void:decorrelate",
            {"INPUT": str(sar_data / CROP), "ANNOTATION": str(sar_data / ANNOTATION),
             "OUTPUT": str(out)},
        )  # fmt: skip
    assert not out.exists()
    with pytest.raises(QgsProcessingException, match="does not exist"):
        processing_run(
            "speckle2void:decorrelate",
            {"INPUT": str(sar_data / CROP), "ANNOTATION": str(tmp_path / "none.xml"),
             "FIRST_LINE": 9800, "OUTPUT": str(out)},
        )  # fmt: skip


def test_measurement_tiff_in_a_safe_folder_finds_its_annotation(processing_run, tmp_path):
    from sentinel1_fixture import FIRST_VALID, INVALID_LINES, LAST_VALID

    flat = make_safe(tmp_path / "flat", polarisations=("VV",), texture=False)
    tiff = next((flat / "measurement").glob("*.tiff"))
    out = tmp_path / "white.tif"

    processing_run(
        "speckle2void:decorrelate",
        {"INPUT": str(tiff), "REMOVE_OVERSAMPLING": False, "OUTPUT": str(out)},
    )

    dataset = gdal.Open(str(out))
    assert dataset.GetMetadataItem("S2V_DECORRELATION_TOPS_DERAMPED") == "YES"
    assert dataset.GetMetadataItem("S2V_DECORRELATION_TOPS_ANNOTATION") == tiff.stem + ".xml"
    white = dataset.ReadAsArray()
    invalid = np.ones(white.shape, dtype=bool)
    for burst in range(BURSTS):
        rows = slice(
            burst * LINES_PER_BURST + INVALID_LINES, (burst + 1) * LINES_PER_BURST - INVALID_LINES
        )
        invalid[rows, FIRST_VALID : LAST_VALID + 1] = False
    # samples outside the annotation's valid window are nodata, the others are values
    np.testing.assert_array_equal(np.isnan(white), invalid)


def test_safe_inputs_are_recognised():
    from s2v_plugin.io.sentinel1_safe import is_safe_input, split_subdataset

    manifest = "/data/S1A_IW_SLC__1SDV_X.SAFE/manifest.safe"
    assert is_safe_input(manifest)
    subdataset = f"SENTINEL1_CALIB:UNCALIB:{manifest}:IW1_VV:COMPLEX"
    assert is_safe_input(subdataset)
    assert split_subdataset(subdataset) == (manifest, "IW1", "VV")
    assert is_safe_input("/data/S1A_IW_SLC__1SDV_X.zip")
    assert not is_safe_input("/data/slc.tif") and not is_safe_input(None)
