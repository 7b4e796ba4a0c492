"""Decorrelation of GDAL rasters: streaming equals in-memory, I/Q bands, georeferencing and
metadata, nodata, cancel, progress and bad input (no partial file ever left)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import require

gdal = require("osgeo.gdal")

from rasters import wgs84_wkt, write_raster  # noqa: E402

from s2v_plugin.core.errors import Cancelled, InputError, OutputError  # noqa: E402
from s2v_plugin.core.simulation import SpectralShape, simulate_correlated_slc  # noqa: E402
from s2v_plugin.decorrelate import decorrelate_array, decorrelate_raster  # noqa: E402

AZIMUTH = SpectralShape(0.7, 0.75, 0.17)
RANGE = SpectralShape(1.0, 0.8, 0.0)
GEOTRANSFORM = (500000.0, 10.0, 0.0, 7000000.0, 0.0, -5.0)


def _slc(rows=160, cols=144, seed=0) -> np.ndarray:
    clean = np.ones((rows, cols))
    return simulate_correlated_slc(clean, np.random.default_rng(seed), AZIMUTH, RANGE)


def _write(path, bands, gdal_type=gdal.GDT_CFloat32, nodata=None, gcps=False, metadata=None):
    points = [(p, line, 10.0 + p, 20.0 + line) for p in (0, 50) for line in (0, 80)]
    return write_raster(
        path,
        bands,
        nodata=nodata,
        geotransform=GEOTRANSFORM,
        crs_wkt=wgs84_wkt() if gcps else None,
        gcps=points if gcps else None,
        gdal_type=gdal_type,
        metadata=metadata,
    )


def _read(path) -> np.ndarray:
    return gdal.Open(str(path)).ReadAsArray()


def _leftovers(folder) -> list:
    return [name for name in os.listdir(folder) if name.startswith(".")]


def test_streaming_result_does_not_depend_on_the_block_size(tmp_path):
    source = _write(tmp_path / "in.tif", [_slc()])
    results = []
    for block_size in (None, 5, 32, 1000):
        out = tmp_path / f"out_{block_size}.tif"
        decorrelate_raster(source, str(out), block_size=block_size)
        results.append(_read(out))

    reference = results[0]
    scale = np.abs(reference).max()
    for other in results[1:]:
        assert other.shape == reference.shape
        assert np.max(np.abs(other - reference)) <= 1e-4 * scale


@pytest.mark.parametrize("remove", [True, False])
def test_block_size_independence_holds_with_point_targets_and_nodata(tmp_path, remove):
    slc = _slc(seed=21)
    slc[[10, 50, 51, 130], [7, 90, 90, 140]] = 300.0
    slc[60:75, 30:50] = np.nan
    source = _write(tmp_path / "in.tif", [slc])

    reports, results = [], []
    for block_size in (None, 3, 40):
        out = tmp_path / f"out_{block_size}.tif"
        reports.append(
            decorrelate_raster(source, str(out), remove_oversampling=remove, block_size=block_size)
        )
        results.append(_read(out))

    assert {report.point_targets for report in reports} == {4}
    reference = results[0]
    scale = np.nanmax(np.abs(reference))
    for other in results[1:]:
        np.testing.assert_array_equal(np.isnan(other), np.isnan(reference))
        assert np.nanmax(np.abs(other - reference)) <= 1e-4 * scale


def test_raster_result_equals_the_in_memory_result(tmp_path):
    slc = _slc(seed=1)
    source = _write(tmp_path / "in.tif", [slc])

    report = decorrelate_raster(source, str(tmp_path / "out.tif"), block_size=16)
    expected, expected_report = decorrelate_array(slc)

    np.testing.assert_allclose(_read(tmp_path / "out.tif"), expected, rtol=0, atol=1e-5)
    assert report.azimuth == expected_report.azimuth


@pytest.mark.parametrize("block_size", [None, 40])
def test_streamed_mean_intensity_is_kept_within_half_a_percent(tmp_path, block_size):
    # lines longer than the 256-sample estimation blocks, the held-out scenes' spectrum (see
    # test_decorrelation.py), nodata and point targets, oversampling kept (as training.evaluate
    # does; removed, the few targets put back weigh by chance more or less in the smaller
    # output): the azimuth pass alone lost about 4 %
    clean = np.full((288, 160), 3.0)
    clean[:, 80:] = 12.0
    slc = simulate_correlated_slc(
        clean,
        np.random.default_rng(1),
        SpectralShape(0.5, 0.85, 0.2),
        SpectralShape(0.6, 0.85),
    )
    slc[[30, 150, 151], [20, 100, 100]] = 120.0
    slc[200:220, 10:40] = np.nan
    source = _write(tmp_path / "in.tif", [slc])

    decorrelate_raster(
        source,
        str(tmp_path / "out.tif"),
        remove_oversampling=False,
        block_size=block_size,
        output_format="intensity",
    )

    before = np.nanmean(np.abs(slc.astype(np.complex128)) ** 2)
    assert np.nanmean(_read(tmp_path / "out.tif").astype(np.float64)) == pytest.approx(
        before, rel=0.005
    )


def test_two_real_bands_holding_i_and_q_give_the_complex_result(tmp_path):
    slc = _slc(seed=2)
    complex_path = _write(tmp_path / "c.tif", [slc])
    iq_path = _write(tmp_path / "iq.tif", [slc.real, slc.imag], gdal.GDT_Float32)

    decorrelate_raster(complex_path, str(tmp_path / "a.tif"))
    decorrelate_raster(iq_path, str(tmp_path / "b.tif"), band=1, imag_band=2)

    np.testing.assert_allclose(_read(tmp_path / "b.tif"), _read(tmp_path / "a.tif"), atol=1e-6)


def test_cint16_input_is_read(tmp_path):
    slc = _slc(seed=3) * 300
    path = _write(tmp_path / "i16.tif", [np.round(slc)], gdal.GDT_CInt16)

    report = decorrelate_raster(path, str(tmp_path / "out.tif"))

    assert gdal.Open(str(tmp_path / "out.tif")).GetRasterBand(1).DataType == gdal.GDT_CFloat32
    assert abs(report.azimuth.band_fraction - 0.75) <= 0.03


def test_geotransform_is_scaled_by_the_removed_oversampling(tmp_path):
    source = _write(tmp_path / "in.tif", [_slc(seed=4)])

    report = decorrelate_raster(source, str(tmp_path / "out.tif"), remove_oversampling=True)

    out = gdal.Open(str(tmp_path / "out.tif"))
    az, rg = report.pixel_factors
    x0, dx, _, y0, _, dy = out.GetGeoTransform()
    assert dx == pytest.approx(GEOTRANSFORM[1] * rg)
    assert dy == pytest.approx(GEOTRANSFORM[5] * az)
    # output sample 0 is input sample 0: the first pixel centres coincide
    assert x0 + dx / 2 == pytest.approx(GEOTRANSFORM[0] + GEOTRANSFORM[1] / 2)
    assert y0 + dy / 2 == pytest.approx(GEOTRANSFORM[3] + GEOTRANSFORM[5] / 2)
    assert (out.RasterYSize, out.RasterXSize) == report.output_size


def test_georeferencing_is_copied_unchanged_when_oversampling_is_kept(tmp_path):
    source = _write(tmp_path / "in.tif", [_slc(seed=5)])

    decorrelate_raster(source, str(tmp_path / "out.tif"), remove_oversampling=False)

    out = gdal.Open(str(tmp_path / "out.tif"))
    assert out.GetGeoTransform() == pytest.approx(GEOTRANSFORM)
    assert out.GetProjection() == gdal.Open(source).GetProjection()


def test_gcp_pixel_and_line_follow_the_output_grid(tmp_path):
    source = _write(tmp_path / "in.tif", [_slc(seed=6)], gcps=True)

    report = decorrelate_raster(source, str(tmp_path / "out.tif"), remove_oversampling=True)

    az, rg = report.pixel_factors
    gcps = gdal.Open(str(tmp_path / "out.tif")).GetGCPs()
    assert len(gcps) == 4
    for gcp in gcps:  # input GCPs: x = 10 + pixel, y = 20 + line
        assert gcp.GCPX == pytest.approx(10.0 + (gcp.GCPPixel - 0.5) * rg + 0.5)
        assert gcp.GCPY == pytest.approx(20.0 + (gcp.GCPLine - 0.5) * az + 0.5)


def test_input_metadata_is_kept_and_estimates_are_added(tmp_path):
    source = _write(tmp_path / "in.tif", [_slc(seed=7)], metadata={"MISSION": "TEST-SAT"})

    report = decorrelate_raster(source, str(tmp_path / "out.tif"))

    metadata = gdal.Open(str(tmp_path / "out.tif")).GetMetadata()
    assert metadata["MISSION"] == "TEST-SAT"
    assert metadata == {**metadata, **report.metadata()}


@pytest.mark.parametrize("output_format", ["intensity", "amplitude"])
def test_intensity_and_amplitude_outputs_derive_from_the_complex_output(tmp_path, output_format):
    source = _write(tmp_path / "in.tif", [_slc(seed=8)])
    decorrelate_raster(source, str(tmp_path / "c.tif"))

    decorrelate_raster(source, str(tmp_path / "r.tif"), output_format=output_format)

    complex_out = _read(tmp_path / "c.tif")
    expected = np.abs(complex_out) ** (2 if output_format == "intensity" else 1)
    out = gdal.Open(str(tmp_path / "r.tif"))
    assert out.GetRasterBand(1).DataType == gdal.GDT_Float32
    np.testing.assert_allclose(out.ReadAsArray(), expected, rtol=1e-5)


def test_nodata_regions_stay_nodata(tmp_path):
    slc = _slc(seed=9)
    slc[:40, :] = -9999 - 9999j
    source = _write(tmp_path / "in.tif", [slc], nodata=-9999)

    report = decorrelate_raster(source, str(tmp_path / "out.tif"), remove_oversampling=False)

    out = _read(tmp_path / "out.tif")
    assert np.all(np.isnan(out[:40])) and np.all(np.isfinite(out[40:]))
    assert report.invalid_pixels == 40 * slc.shape[1]
    assert np.isnan(gdal.Open(str(tmp_path / "out.tif")).GetRasterBand(1).GetNoDataValue())


def test_nan_pixels_are_treated_as_nodata(tmp_path):
    slc = _slc(seed=10)
    slc[100:110, 20:30] = np.nan
    source = _write(tmp_path / "in.tif", [slc])

    report = decorrelate_raster(source, str(tmp_path / "out.tif"), remove_oversampling=False)

    out = _read(tmp_path / "out.tif")
    assert np.all(np.isnan(out[100:110, 20:30])) and report.invalid_pixels == 100
    assert np.isfinite(out).sum() == out.size - 100


def test_progress_is_monotone_and_ends_at_one(tmp_path):
    source = _write(tmp_path / "in.tif", [_slc(seed=11)])
    seen = []

    decorrelate_raster(source, str(tmp_path / "out.tif"), block_size=16, progress=seen.append)

    assert seen == sorted(seen) and seen[-1] == 1.0 and min(seen) >= 0.0


def test_cancel_stops_and_leaves_no_file(tmp_path):
    source = _write(tmp_path / "in.tif", [_slc(seed=12)])
    polls = []

    def cancel_after_a_few() -> bool:
        polls.append(1)
        return len(polls) > 4

    with pytest.raises(Cancelled):
        decorrelate_raster(
            source, str(tmp_path / "out.tif"), block_size=16, is_cancelled=cancel_after_a_few
        )

    assert not (tmp_path / "out.tif").exists() and _leftovers(tmp_path) == []


# 1 poll after estimation, 10 row strips, then 8 column strips filtered and 8 written
@pytest.mark.parametrize("polls_before_cancel", [13, 22], ids=["filtering", "writing"])
def test_cancel_during_the_azimuth_pass_leaves_no_file(tmp_path, polls_before_cancel):
    source = _write(tmp_path / "in.tif", [_slc(seed=12)])
    polls = []

    def cancel_late() -> bool:
        polls.append(1)
        return len(polls) > polls_before_cancel

    with pytest.raises(Cancelled):
        decorrelate_raster(
            source, str(tmp_path / "out.tif"), block_size=16, is_cancelled=cancel_late
        )

    assert not (tmp_path / "out.tif").exists() and _leftovers(tmp_path) == []


def test_a_real_single_band_is_refused_with_a_hint_about_imag_band(tmp_path):
    path = _write(tmp_path / "real.tif", [np.abs(_slc(seed=13))], gdal.GDT_Float32)

    with pytest.raises(InputError, match="IMAG_BAND"):
        decorrelate_raster(path, str(tmp_path / "out.tif"))

    assert not (tmp_path / "out.tif").exists()


def test_imag_band_equal_to_band_is_refused(tmp_path):
    slc = _slc(seed=14)
    path = _write(tmp_path / "iq.tif", [slc.real, slc.imag], gdal.GDT_Float32)

    with pytest.raises(InputError, match="different"):
        decorrelate_raster(path, str(tmp_path / "out.tif"), band=1, imag_band=1)


def test_a_missing_band_is_refused(tmp_path):
    path = _write(tmp_path / "in.tif", [_slc(seed=15)])

    with pytest.raises(InputError, match="Band 3 does not exist"):
        decorrelate_raster(path, str(tmp_path / "out.tif"), band=3)


def test_a_raster_too_small_for_a_spectrum_is_refused(tmp_path):
    path = _write(tmp_path / "small.tif", [_slc(rows=20, cols=200, seed=16)])

    with pytest.raises(InputError, match="too small"):
        decorrelate_raster(path, str(tmp_path / "out.tif"))

    assert not (tmp_path / "out.tif").exists()


def test_an_all_zero_raster_is_refused(tmp_path):
    path = _write(tmp_path / "zero.tif", [np.zeros((64, 64), np.complex64)])

    with pytest.raises(InputError, match="all zero"):
        decorrelate_raster(path, str(tmp_path / "out.tif"))

    assert not (tmp_path / "out.tif").exists()


def test_an_unwritable_output_is_refused_before_any_work(tmp_path):
    path = _write(tmp_path / "in.tif", [_slc(seed=17)])

    with pytest.raises(OutputError, match="does not exist"):
        decorrelate_raster(path, str(tmp_path / "missing" / "out.tif"))


def test_an_unknown_output_format_is_refused(tmp_path):
    path = _write(tmp_path / "in.tif", [_slc(seed=18)])

    with pytest.raises(InputError, match="output format"):
        decorrelate_raster(path, str(tmp_path / "out.tif"), output_format="phase")


def test_the_local_point_target_rule_sees_across_strip_borders(tmp_path):
    # Targets next to strip borders (blocks of 4 rows) with ring backgrounds that straddle them:
    # a bright 2-row band sits just below a border, so a strip read without the rows around it
    # takes the wrong ring median and flags a different set of pixels.
    slc = _slc(seed=22)
    slc[40:42, :] *= 8.0  # rows 40-41: bright band right after the border at row 40
    slc[[39, 43, 80, 83, 120], [20, 60, 33, 99, 70]] = 60.0
    source = _write(tmp_path / "in.tif", [slc])
    whole = decorrelate_raster(source, str(tmp_path / "whole.tif"), block_size=None)
    strips = decorrelate_raster(source, str(tmp_path / "strips.tif"), block_size=4)
    _, in_memory = decorrelate_array(slc)
    assert whole.point_targets == strips.point_targets == in_memory.point_targets
    np.testing.assert_allclose(
        _read(tmp_path / "strips.tif"), _read(tmp_path / "whole.tif"), rtol=0, atol=1e-4 * 60
    )
