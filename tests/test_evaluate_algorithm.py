"""``speckle2void:evaluate`` and its engine: numbers, ratio raster, HTML report, bad inputs."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from osgeo import gdal
from rasters import GEOTRANSFORM, read_raster, utm_wkt, write_raster

from s2v_plugin.core import classic_filters as cf
from s2v_plugin.core import metrics
from s2v_plugin.core.errors import InputError
from s2v_plugin.core.evaluation import evaluate_arrays
from s2v_plugin.evaluate import evaluate_rasters

ALG = "speckle2void:evaluate"


def blocks_scene(shape=(96, 96), looks=1.0, seed=0):
    """A clean scene of flat blocks and its L-look speckled version (float32 intensities)."""
    rng = np.random.default_rng(seed)
    clean = np.full(shape, 20.0)
    clean[: shape[0] // 2, shape[1] // 2 :] = 80.0
    clean[shape[0] // 2 :, : shape[1] // 3] = 5.0
    noisy = clean * rng.gamma(looks, 1.0 / looks, size=shape)
    return clean.astype(np.float32), noisy.astype(np.float32)


@pytest.fixture()
def rasters(tmp_path):
    clean, noisy = blocks_scene()
    return {
        "clean": write_raster(tmp_path / "clean.tif", clean),
        "noisy": write_raster(tmp_path / "noisy.tif", noisy),
        "lee": write_raster(tmp_path / "lee.tif", cf.lee(noisy, 7, 1.0)),
        "arrays": (clean, noisy),
    }


# --- engine --------------------------------------------------------------------------------


def test_perfect_estimate_gives_the_speckle_statistics():
    clean, noisy = blocks_scene((128, 128), looks=2.0)
    evaluation = evaluate_arrays(noisy, clean, looks=2.0, compare_classic=False)
    scores = evaluation.despeckled
    assert scores.ratio_mean == pytest.approx(1.0, abs=0.02)
    assert scores.ratio_variance == pytest.approx(0.5, rel=0.06)
    assert evaluation.enl_noisy == pytest.approx(2.0, rel=0.2)
    assert scores.enl == float("inf")  # the clean image is flat over each homogeneous area
    assert abs(scores.lag1_rows) < 0.05 and abs(scores.lag1_cols) < 0.05


def test_reference_adds_psnr_and_ssim_in_the_chosen_domain():
    clean, noisy = blocks_scene()
    estimate = cf.lee(noisy, 7, 1.0)
    evaluation = evaluate_arrays(
        noisy, estimate, reference=np.sqrt(clean), domain="amplitude", compare_classic=False
    )
    peak = float(np.sqrt(clean).max())
    assert evaluation.despeckled.psnr == pytest.approx(
        metrics.psnr(np.sqrt(estimate), np.sqrt(clean), peak)
    )
    assert 0 < evaluation.despeckled.ssim < 1


def test_classic_filters_are_scored_alongside():
    clean, noisy = blocks_scene()
    evaluation = evaluate_arrays(noisy, cf.lee(noisy, 7, 1.0), reference=clean)
    names = [m.name for m in evaluation.classic]
    assert len(names) == len(cf.FILTERS) and names[0] == "Lee 7x7"
    lee = evaluation.classic[0]
    assert lee.enl == pytest.approx(evaluation.despeckled.enl)  # the same estimate
    assert all(m.seconds is not None and m.psnr is not None for m in evaluation.classic)


def test_sizes_must_match():
    with pytest.raises(InputError, match="differ in size"):
        evaluate_arrays(np.ones((40, 40)), np.ones((40, 41)))


def test_no_homogeneous_window_is_a_clear_error():
    y, x = np.mgrid[0:96, 0:96]
    texture = 10 * (2 + np.sin(x / 2.5) * np.sin(y / 2.5))
    noisy = texture * np.random.default_rng(0).gamma(16, 1 / 16, texture.shape)
    with pytest.raises(InputError, match="No homogeneous window"):
        evaluate_arrays(noisy, texture)


def test_report_and_ratio_raster_are_written(tmp_path, rasters):
    ratio, report = tmp_path / "ratio.tif", tmp_path / "report.html"
    evaluation = evaluate_rasters(
        rasters["noisy"], rasters["lee"], str(ratio), str(report), reference_path=rasters["clean"]
    )
    _, noisy = rasters["arrays"]
    np.testing.assert_allclose(read_raster(ratio), noisy / read_raster(rasters["lee"]), rtol=1e-6)
    assert gdal.Open(str(ratio)).GetGeoTransform() == GEOTRANSFORM
    text = report.read_text()
    assert len(re.findall(r'src="data:image/png;base64,[A-Za-z0-9+/=]{100,}"', text)) >= 10
    assert "<svg" in text and "<polyline" in text  # histogram with the Gamma density
    assert f"{evaluation.despeckled.enl:.2f}" in text
    assert f"{evaluation.despeckled.m_index.value:.2f}" in text
    assert f"{evaluation.despeckled.psnr:.2f}" in text
    assert "Refined Lee" in text and "Gamma-MAP" in text
    assert not re.search(r'(src|href)="(?!data:)', text)  # self-contained


# --- in QGIS -------------------------------------------------------------------------------


def polygon_layer(polygons, crs="EPSG:32632"):
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    # The field is declared in the URI: no QVariant/QMetaType type, same on Qt5 and Qt6.
    layer = QgsVectorLayer(f"Polygon?crs={crs}&field=name:string", "areas", "memory")
    features = []
    for name, wkt in polygons:
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromWkt(wkt))
        feature["name"] = name
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def pixel_box(row, col, rows, cols):
    """WKT of a rectangle covering pixels [row, row+rows) x [col, col+cols) of GEOTRANSFORM."""
    x0, dx, _, y0, _, dy = GEOTRANSFORM
    xa, xb = x0 + col * dx, x0 + (col + cols) * dx
    ya, yb = y0 + row * dy, y0 + (row + rows) * dy
    return f"POLYGON(({xa} {ya},{xb} {ya},{xb} {yb},{xa} {yb},{xa} {ya}))"


def test_processing_run_returns_numbers_ratio_and_report(processing_run, tmp_path, rasters):
    result = processing_run(
        ALG,
        {
            "NOISY": rasters["noisy"],
            "DESPECKLED": rasters["lee"],
            "REFERENCE": rasters["clean"],
            "LOOKS": 1.0,
            "COMPARE_CLASSIC": False,
            "OUTPUT_RATIO": str(tmp_path / "ratio.tif"),
            "OUTPUT_HTML": str(tmp_path / "report.html"),
        },
    )
    clean, noisy = rasters["arrays"]
    expected = evaluate_arrays(noisy, read_raster(rasters["lee"]), 1.0, reference=clean,
                               compare_classic=False)  # fmt: skip
    assert result["ENL"] == pytest.approx(expected.despeckled.enl)
    assert result["RATIO_MEAN"] == pytest.approx(expected.despeckled.ratio_mean)
    assert result["RATIO_VARIANCE"] == pytest.approx(expected.despeckled.ratio_variance)
    assert result["M_INDEX"] == pytest.approx(expected.despeckled.m_index.value)
    assert result["PSNR"] == pytest.approx(expected.despeckled.psnr)
    assert result["SSIM"] == pytest.approx(expected.despeckled.ssim)
    assert result["AREA_COUNT"] == len(expected.areas)
    assert (tmp_path / "report.html").stat().st_size > 10_000
    assert (tmp_path / "ratio.tif").exists()


def test_automatic_windows_can_be_saved_as_polygons(processing_run, tmp_path, rasters):
    from qgis.core import QgsVectorLayer

    result = processing_run(
        ALG,
        {"NOISY": rasters["noisy"], "DESPECKLED": rasters["lee"], "COMPARE_CLASSIC": False,
         "OUTPUT_RATIO": str(tmp_path / "r.tif"), "OUTPUT_HTML": str(tmp_path / "r.html"),
         "OUTPUT_AREAS": str(tmp_path / "areas.gpkg")},
    )  # fmt: skip
    layer = QgsVectorLayer(result["OUTPUT_AREAS"], "areas")
    assert layer.isValid() and layer.featureCount() == result["AREA_COUNT"]
    feature = next(layer.getFeatures())
    box = feature.geometry().boundingBox()
    assert box.width() == pytest.approx(32 * GEOTRANSFORM[1])
    assert feature["automatic"] and feature["enl_despeckled"] > 0


def test_polygon_areas_set_where_enl_is_measured(processing_run, tmp_path, rasters):
    areas = polygon_layer(
        [("dark", pixel_box(60, 2, 30, 28)), ("bright", pixel_box(4, 52, 40, 40))]
    )
    result = processing_run(
        ALG,
        {"NOISY": rasters["noisy"], "DESPECKLED": rasters["lee"], "AREAS": areas,
         "COMPARE_CLASSIC": False, "OUTPUT_RATIO": str(tmp_path / "r.tif"),
         "OUTPUT_HTML": str(tmp_path / "r.html")},
    )  # fmt: skip
    lee = read_raster(rasters["lee"])
    expected = np.mean([metrics.enl(lee[60:90, 2:30]), metrics.enl(lee[4:44, 52:92])])
    assert result["AREA_COUNT"] == 2
    per_area = json.loads(result["ENL_PER_AREA"])
    assert per_area["dark"] == pytest.approx(metrics.enl(lee[60:90, 2:30]), rel=1e-3)
    assert result["ENL"] == pytest.approx(expected, rel=1e-6)
    assert "dark" in (tmp_path / "r.html").read_text()


def _message(processing_run, parameters):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException) as error:
        processing_run(ALG, parameters)
    return str(error.value)


def test_bad_inputs_get_clear_messages(processing_run, tmp_path, rasters):
    _, noisy = rasters["arrays"]
    smaller = write_raster(tmp_path / "small.tif", noisy[:50, :50])
    other_crs = write_raster(tmp_path / "crs.tif", read_raster(rasters["lee"]), crs_wkt=utm_wkt(33))
    zeros = read_raster(rasters["lee"]).copy()
    zeros[5, 5] = 0.0
    zero = write_raster(tmp_path / "zero.tif", zeros)
    y, x = np.mgrid[0:96, 0:96]
    texture = (10 * (2 + np.sin(x / 2.5) * np.sin(y / 2.5))).astype(np.float32)
    textured = write_raster(tmp_path / "texture.tif", texture)
    smoothed = write_raster(tmp_path / "texture_smooth.tif", texture)
    outside = polygon_layer([("far", pixel_box(1000, 1000, 20, 20))])
    tiny = polygon_layer([("tiny", pixel_box(10, 10, 5, 5))])
    base = {
        "NOISY": rasters["noisy"],
        "DESPECKLED": rasters["lee"],
        "COMPARE_CLASSIC": False,
        "OUTPUT_RATIO": str(tmp_path / "o.tif"),
        "OUTPUT_HTML": str(tmp_path / "o.html"),
    }
    cases = [
        ({"DESPECKLED": smaller}, "differ|px but"),
        ({"DESPECKLED": other_crs}, "different CRS"),
        ({"AREAS": outside}, "outside the raster"),
        ({"AREAS": tiny}, "at least 200"),
        ({"DESPECKLED": zero}, "zero or negative"),
        ({"NOISY": textured, "DESPECKLED": smoothed}, "No homogeneous window"),
        ({"NOISY": textured, "DESPECKLED": textured}, "same layer"),
        ({"DESPECKLED": None}, "Choose the despeckled raster"),
    ]
    for change, pattern in cases:
        message = _message(processing_run, {**base, **change})
        assert re.search(pattern, message), (change, message)
        assert not (tmp_path / "o.tif").exists() and not (tmp_path / "o.html").exists()


def test_qgis_process_writes_the_report(qgis_process, tmp_path, rasters):
    report = tmp_path / "cli.html"
    run = qgis_process(
        "run", ALG, "--", f"NOISY={rasters['noisy']}", f"DESPECKLED={rasters['lee']}",
        "COMPARE_CLASSIC=false", f"OUTPUT_RATIO={tmp_path / 'cli.tif'}", f"OUTPUT_HTML={report}",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "M_INDEX" in run.stdout and "ENL" in run.stdout
    assert report.exists() and "data:image/png;base64" in report.read_text()


def test_progress_is_monotone_and_cancel_leaves_no_output(tmp_path, rasters):
    from s2v_plugin.core.errors import Cancelled

    seen = []
    evaluate_rasters(rasters["noisy"], rasters["lee"], str(tmp_path / "r.tif"),
                     str(tmp_path / "r.html"), progress=seen.append)  # fmt: skip
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    calls = []
    with pytest.raises(Cancelled):
        evaluate_rasters(
            rasters["noisy"], rasters["lee"], str(tmp_path / "c.tif"), str(tmp_path / "c.html"),
            is_cancelled=lambda: calls.append(1) or len(calls) > 3,
        )  # fmt: skip
    assert not (tmp_path / "c.tif").exists() and not (tmp_path / "c.html").exists()
