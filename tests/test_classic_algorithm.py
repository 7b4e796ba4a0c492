"""``speckle2void:classicfilter`` and its tiled engine: seamless, georeferenced, cancellable."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import require
from osgeo import gdal
from rasters import gamma_scene, read_raster, write_raster

from s2v_plugin.classic import classic_filter_raster, filter_array
from s2v_plugin.core import classic_filters as cf
from s2v_plugin.core.errors import Cancelled, InputError

ALG = "speckle2void:classicfilter"


@pytest.fixture()
def scene(tmp_path):
    return write_raster(tmp_path / "scene.tif", gamma_scene((75, 61)))


@pytest.mark.parametrize("spec", cf.FILTERS, ids=lambda s: s.key)
def test_tiled_run_equals_untiled_run(tmp_path, scene, spec):
    out_tiled, out_whole = str(tmp_path / "tiled.tif"), str(tmp_path / "whole.tif")
    classic_filter_raster(scene, out_tiled, spec.key, window=5, tile_size=16)
    report = classic_filter_raster(scene, out_whole, spec.key, window=5, tile_size=4096)
    assert report.tiles == 1
    np.testing.assert_allclose(read_raster(out_tiled), read_raster(out_whole), rtol=1e-5)


@pytest.mark.parametrize("key", ["lee", "lee_sigma"])
def test_raster_run_equals_the_filter_on_the_whole_array(tmp_path, scene, key):
    out = str(tmp_path / "o.tif")
    classic_filter_raster(scene, out, key, window=7, looks=1.0, tile_size=16)
    expected = filter_array(read_raster(scene), key, window=7, looks=1.0)
    np.testing.assert_allclose(read_raster(out), expected, rtol=1e-5)


def test_amplitude_input_gives_amplitude_output(tmp_path):
    intensity = gamma_scene((40, 40))
    path = write_raster(tmp_path / "amp.tif", np.sqrt(intensity))
    out = str(tmp_path / "o.tif")
    classic_filter_raster(path, out, "lee", domain="amplitude", window=7)
    np.testing.assert_allclose(read_raster(out), np.sqrt(cf.lee(intensity, 7, 1.0)), rtol=1e-5)


def test_complex_input_gives_intensity_output(tmp_path):
    rng = np.random.default_rng(0)
    slc = (rng.normal(size=(40, 40)) + 1j * rng.normal(size=(40, 40))).astype(np.complex64)
    path = write_raster(tmp_path / "slc.tif", slc)
    out = str(tmp_path / "o.tif")
    classic_filter_raster(path, out, "boxcar", window=5)
    expected = cf.boxcar(np.abs(slc).astype(np.float32) ** 2, 5)
    np.testing.assert_allclose(read_raster(out), expected, rtol=1e-5)


def test_nodata_and_georeferencing_are_kept(tmp_path):
    image = gamma_scene((50, 50))
    image[10:14, 20:30] = -9999.0
    path = write_raster(tmp_path / "nd.tif", image, nodata=-9999.0)
    out = str(tmp_path / "o.tif")
    classic_filter_raster(path, out, "refined_lee", tile_size=16)
    result = gdal.Open(out)
    source = gdal.Open(path)
    assert result.GetGeoTransform() == source.GetGeoTransform()
    assert result.GetProjection() == source.GetProjection()
    band = result.GetRasterBand(1)
    assert band.GetNoDataValue() == -9999.0 and band.DataType == gdal.GDT_Float32
    values = band.ReadAsArray()
    assert (values[10:14, 20:30] == -9999.0).all()
    assert np.isfinite(values).all() and (np.delete(values, slice(10, 14), 0) > 0).all()
    assert result.GetMetadataItem("S2V_FILTER") == "Refined Lee"


def test_cancel_stops_and_leaves_no_file(tmp_path, scene):
    out = tmp_path / "o.tif"
    calls = []

    def cancel_after_two_tiles():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        classic_filter_raster(scene, str(out), tile_size=16, is_cancelled=cancel_after_two_tiles)
    assert not out.exists() and [n for n in os.listdir(tmp_path) if "partial" in n] == []


def test_progress_is_monotone_and_reaches_one(tmp_path, scene):
    seen = []
    classic_filter_raster(scene, str(tmp_path / "o.tif"), tile_size=16, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and seen[0] >= 0


def test_negative_input_is_refused_with_a_hint(tmp_path):
    path = write_raster(tmp_path / "db.tif", -gamma_scene((20, 20)))
    with pytest.raises(InputError, match="dB"):
        classic_filter_raster(path, str(tmp_path / "o.tif"))
    assert not (tmp_path / "o.tif").exists()


# --- in QGIS -------------------------------------------------------------------------------


def test_processing_run_filters_a_raster(processing_run, tmp_path, scene):
    require("qgis.core")
    result = processing_run(
        ALG,
        {"INPUT": scene, "FILTER": 4, "WINDOW_SIZE": 5, "LOOKS": 1.0,
         "OUTPUT": str(tmp_path / "o.tif")},
    )  # fmt: skip
    expected = cf.gamma_map(read_raster(scene), 5, 1.0)
    np.testing.assert_allclose(read_raster(result["OUTPUT"]), expected, rtol=1e-5)


def test_processing_run_passes_the_frost_damping(processing_run, tmp_path, scene):
    result = processing_run(
        ALG,
        {"INPUT": scene, "FILTER": 3, "DAMPING": 0.5, "TILE_SIZE": 32,
         "OUTPUT": str(tmp_path / "o.tif")},
    )  # fmt: skip
    expected = cf.frost(read_raster(scene), 7, damping=0.5)
    np.testing.assert_allclose(read_raster(result["OUTPUT"]), expected, rtol=1e-5)


def test_even_window_is_refused_before_running(processing_run, tmp_path, scene):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="odd"):
        processing_run(ALG, {"INPUT": scene, "WINDOW_SIZE": 6, "OUTPUT": str(tmp_path / "o.tif")})
    assert not (tmp_path / "o.tif").exists()


def test_bad_band_gets_a_clear_message(processing_run, tmp_path, scene):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match=r"Band 3 does not exist: .* choose 1 to 1\.$"):
        processing_run(ALG, {"INPUT": scene, "BAND": 3, "OUTPUT": str(tmp_path / "o.tif")})


def test_qgis_process_runs_the_classic_filter(qgis_process, tmp_path, scene):
    out = tmp_path / "cli.tif"
    run = qgis_process(
        "run", ALG, "--", f"INPUT={scene}", "FILTER=1", "WINDOW_SIZE=7", f"OUTPUT={out}"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    np.testing.assert_allclose(
        read_raster(out), cf.refined_lee(read_raster(scene), 7, 1.0), rtol=1e-5
    )
    assert os.path.exists(out)
