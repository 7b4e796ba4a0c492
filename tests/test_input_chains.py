"""The user's chains in the real QGIS with the shipped model, DOMAIN and LOOKS left alone.

decorrelate -> despeckle -> evaluate on the shared SLC samples, and despeckle -> evaluate on the
shared GRD amplitude sample, through ``processing.run``; then each silent case of the issue must
give its warning or refusal, exactly once; then provenance, MODEL, help URLs and help text.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import require

require("qgis.core")
require("onnxruntime")

from osgeo import gdal  # noqa: E402
from rasters import read_raster, write_raster  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SLCS = ["envisat_asar_im_hh_slc_500x500.tif", "uavsar_sanand138_hh_slc_150x400.tif"]
GRD = "s1_grd_homogeneous_amplitude_301x301.tif"


from qgis.core import QgsProcessingFeedback  # noqa: E402


class Recorder(QgsProcessingFeedback):
    """Feedback that keeps the warnings and log lines it receives."""

    def __init__(self):
        super().__init__()
        self.warnings, self.infos = [], []

    def pushWarning(self, text):  # noqa: N802 - QGIS API
        self.warnings.append(text)
        super().pushWarning(text)

    def pushInfo(self, text):  # noqa: N802 - QGIS API
        self.infos.append(text)
        super().pushInfo(text)


@pytest.fixture()
def recorder(qgis_app):
    return Recorder


def _metadata(path) -> dict:
    return gdal.Open(str(path)).GetMetadata()


def _unit(path) -> str:
    dataset = gdal.Open(str(path))  # keep the dataset alive while its band is used
    return dataset.GetRasterBand(1).GetUnitType()


@pytest.mark.parametrize("name", SLCS)
def test_decorrelate_despeckle_evaluate_needs_no_domain_or_looks(
    processing_run, recorder, sar_data, tmp_path, name
):
    white = processing_run(
        "speckle2void:decorrelate",
        {"INPUT": str(sar_data / name), "OUTPUT": str(tmp_path / "w.tif")},
    )["OUTPUT"]
    despeckle_log = recorder()
    despeckled = processing_run(
        "speckle2void:despeckle",
        {"INPUT": white, "OUTPUT": str(tmp_path / "d.tif")},
        despeckle_log,
    )["OUTPUT"]
    assert despeckle_log.warnings == []
    assert any("LOOKS 1 (single-look complex)" in line for line in despeckle_log.infos)
    evaluate_log = recorder()
    result = processing_run(
        "speckle2void:evaluate",
        {
            "NOISY": white,
            "DESPECKLED": despeckled,
            "COMPARE_CLASSIC": False,
            "OUTPUT_RATIO": str(tmp_path / "r.tif"),
            "OUTPUT_HTML": str(tmp_path / "r.html"),
        },
        evaluate_log,
    )
    assert evaluate_log.warnings == []
    assert 0.8 < result["RATIO_MEAN"] < 1.2
    # provenance: the decorrelation travels into the despeckled output and the ratio image
    decorrelation = {k: v for k, v in _metadata(white).items() if k.startswith("S2V_DECORR")}
    assert decorrelation and decorrelation.items() <= _metadata(despeckled).items()
    assert decorrelation.items() <= _metadata(result["OUTPUT_RATIO"]).items()
    assert _unit(despeckled) == "linear intensity" and _unit(result["OUTPUT_RATIO"]) == "ratio"


def test_grd_amplitude_despeckle_evaluate_needs_no_domain_or_looks(
    processing_run, recorder, sar_data, tmp_path
):
    log = recorder()
    despeckled = processing_run(
        "speckle2void:despeckle",
        {"INPUT": str(sar_data / GRD), "OUTPUT": str(tmp_path / "d.tif")},
        log,
    )["OUTPUT"]
    metadata = _metadata(despeckled)
    assert metadata["S2V_DOMAIN"] == "amplitude" and _unit(despeckled) == "linear amplitude"
    assert float(metadata["S2V_LOOKS"]) == pytest.approx(4.7, abs=0.5)  # not silently 1
    # the estimate differs from the model's looks and the speckle is correlated: both said once
    assert sum("trained for 1" in w for w in log.warnings) == 1
    assert sum("correlated" in w for w in log.warnings) == 1
    result = processing_run(
        "speckle2void:evaluate",
        {
            "NOISY": str(sar_data / GRD),
            "DESPECKLED": despeckled,
            "COMPARE_CLASSIC": False,
            "OUTPUT_RATIO": str(tmp_path / "r.tif"),
            "OUTPUT_HTML": str(tmp_path / "r.html"),
        },
    )
    # with DOMAIN left at intensity this was 1.23 (variance 2.7)
    assert result["RATIO_MEAN"] == pytest.approx(1.0, abs=0.1)
    assert result["RATIO_VARIANCE"] < 0.5


def test_amplitude_with_auto_domain_gives_the_square_root_of_the_intensity_result(
    processing_run, sar_data, tmp_path
):
    """The ENVISAT amplitude at the old default (intensity) kept 0 point targets instead of
    556 and dimmed the brightest pixels; with Auto it matches the intensity run exactly."""
    white = processing_run(
        "speckle2void:decorrelate",
        {"INPUT": str(sar_data / SLCS[0]), "OUTPUT": str(tmp_path / "w.tif")},
    )["OUTPUT"]
    slc = read_raster(white)
    intensity = write_raster(tmp_path / "i.tif", (np.abs(slc) ** 2).astype(np.float32))
    amplitude = write_raster(tmp_path / "a.tif", np.abs(slc).astype(np.float32))
    runs = {}
    for key, path in (("intensity", intensity), ("amplitude", amplitude)):
        runs[key] = processing_run(
            "speckle2void:despeckle",
            {"INPUT": path, "LOOKS": 1, "OUTPUT": str(tmp_path / f"{key}_out.tif")},
        )
    assert runs["amplitude"]["POINT_TARGETS"] == runs["intensity"]["POINT_TARGETS"] > 100
    np.testing.assert_allclose(
        read_raster(runs["amplitude"]["OUTPUT"]) ** 2,
        read_raster(runs["intensity"]["OUTPUT"]),
        rtol=1e-3,
    )


def test_a_raw_slc_warns_to_decorrelate_first_once(processing_run, recorder, sar_data, tmp_path):
    log = recorder()
    processing_run(
        "speckle2void:despeckle",
        {"INPUT": str(sar_data / SLCS[1]), "OUTPUT": str(tmp_path / "d.tif")},
        log,
    )
    assert sum("Decorrelate speckle first" in w for w in log.warnings) == 1


def _decibels(sar_data, tmp_path, offset: float) -> str:
    amplitude = gdal.Open(str(sar_data / GRD)).ReadAsArray()
    decibels = (10 * np.log10(amplitude**2) + offset).astype(np.float32)
    return write_raster(tmp_path / f"db{int(offset)}.tif", decibels)


@pytest.mark.parametrize("algorithm", ["despeckle", "classicfilter"])
def test_a_positive_db_raster_is_refused_with_the_conversion(
    processing_run, sar_data, tmp_path, algorithm
):
    from qgis.core import QgsProcessingException

    path = _decibels(sar_data, tmp_path, 0.0)  # 17 to 35 dB, no negative value
    with pytest.raises(QgsProcessingException, match=r"dB.*10\^\(dB/10\)"):
        processing_run(
            f"speckle2void:{algorithm}", {"INPUT": path, "OUTPUT": str(tmp_path / "o.tif")}
        )
    assert not (tmp_path / "o.tif").exists()


def test_qgis_process_prints_the_db_refusal_once(qgis_process, sar_data, tmp_path):
    path = _decibels(sar_data, tmp_path, -40.0)
    run = qgis_process(
        "run", "speckle2void:despeckle", "--", f"INPUT={path}", f"OUTPUT={tmp_path / 'o.tif'}"
    )
    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert output.count("looks like dB values") == 1, output


def test_evaluate_warns_when_an_amplitude_noisy_is_called_intensity(
    processing_run, recorder, sar_data, tmp_path
):
    despeckled = processing_run(
        "speckle2void:classicfilter",
        {"INPUT": str(sar_data / GRD), "OUTPUT": str(tmp_path / "lee.tif")},
    )["OUTPUT"]
    log = recorder()
    result = processing_run(
        "speckle2void:evaluate",
        {
            "NOISY": str(sar_data / GRD),
            "DESPECKLED": despeckled,
            "DOMAIN": 0,  # explicit intensity: wins, but is contradicted by the statistics
            "COMPARE_CLASSIC": False,
            "OUTPUT_RATIO": str(tmp_path / "r.tif"),
            "OUTPUT_HTML": str(tmp_path / "r.html"),
        },
        log,
    )
    assert sum("DOMAIN is intensity but NOISY looks like amplitude" in w for w in log.warnings) == 1
    assert (
        sum("DOMAIN is intensity but DESPECKLED looks like amplitude" in w for w in log.warnings)
        == 1
    )
    assert result["RATIO_MEAN"] == pytest.approx(1.0, abs=0.15)  # both in intensity: consistent


def test_evaluate_warns_when_the_ratio_mean_is_far_from_one(processing_run, recorder, tmp_path):
    rng = np.random.default_rng(0)
    clean = np.full((128, 128), 4.0, np.float32)
    noisy = write_raster(
        tmp_path / "n.tif", (clean * rng.gamma(1.0, 1.0, clean.shape)).astype(np.float32)
    )
    # a "despeckled" raster in amplitude, tagged as intensity: the ratio mean is about 2
    wrong = write_raster(tmp_path / "d.tif", np.sqrt(clean), metadata={"S2V_DOMAIN": "intensity"})
    log = recorder()
    processing_run(
        "speckle2void:evaluate",
        {"NOISY": noisy, "DESPECKLED": wrong, "COMPARE_CLASSIC": False,
         "OUTPUT_RATIO": str(tmp_path / "r.tif"), "OUTPUT_HTML": str(tmp_path / "r.html")},
        log,
    )  # fmt: skip
    assert sum("far from 1" in w for w in log.warnings) == 1


def test_model_defaults_to_empty_and_the_run_records_the_shipped_model(processing_run, tmp_path):
    from qgis.core import QgsApplication

    algorithm = QgsApplication.processingRegistry().algorithmById("speckle2void:despeckle")
    assert algorithm.parameterDefinition("MODEL").defaultValue() in (None, "")
    rng = np.random.default_rng(2)
    path = write_raster(tmp_path / "s.tif", rng.gamma(1.0, 1.0, (96, 96)).astype(np.float32))
    out = processing_run(
        "speckle2void:despeckle", {"INPUT": path, "OUTPUT": str(tmp_path / "o.tif")}
    )
    metadata = _metadata(out["OUTPUT"])
    for key in ("S2V_MODEL_NAME", "S2V_MODEL_VERSION", "S2V_LOOKS", "S2V_POINT_TARGET_FACTOR",
                "S2V_PLUGIN_VERSION", "S2V_CREATED"):  # fmt: skip
        assert metadata.get(key), key
    assert metadata["S2V_PLUGIN_VERSION"] in (ROOT / "metadata.txt").read_text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", metadata["S2V_CREATED"])


def _github_anchor(heading: str) -> str:
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def test_help_urls_point_at_readme_anchors_that_exist(qgis_app):
    from qgis.core import QgsApplication

    readme = (ROOT / "README.md").read_text()
    anchors = {_github_anchor(h) for h in re.findall(r"^#+ (.+)$", readme, re.M)}
    provider = QgsApplication.processingRegistry().providerById("speckle2void")
    algorithms = provider.algorithms()
    assert len(algorithms) >= 4
    for algorithm in algorithms:
        fragment = algorithm.helpUrl().split("#", 1)[1]
        assert fragment in anchors, (algorithm.id(), fragment)


def test_help_text_is_plain(qgis_app, qgis_process):
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("speckle2void")
    for algorithm in provider.algorithms():
        assert not re.search(r"</?[a-z]+>", algorithm.shortHelpString()), algorithm.id()
    run = qgis_process("help", "speckle2void:despeckle")
    assert run.returncode == 0
    assert "<b>" not in run.stdout and "Auto" in run.stdout
