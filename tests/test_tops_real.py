"""TOPS deramping and decorrelation of the shared real Sentinel-1 IW3 crop (lines 9800-10400,
samples 11000-12400 of the swath) with its annotation; skipped when ../shared is absent.

The whole-crop azimuth correlation of the raw data looks white (0.06) because the Doppler
centroid sweeps through the band every ~160 lines, so every statistic here is local: the azimuth
centroid ``angle(sum s[n+1] conj(s[n])) / 2 pi`` of 32-line blocks stepped by 8 lines, and the
lag-1 correlation in 32-line blocks, over the land rows 0-380.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require

gdal = require("osgeo.gdal")

from s2v_plugin.core.errors import InputError  # noqa: E402
from s2v_plugin.core.spectrum import PeriodogramAccumulator, fit_axis  # noqa: E402
from s2v_plugin.core.tops_deramp import SwathRamp, burst_ramp, deramp  # noqa: E402
from s2v_plugin.decorrelate import decorrelate_array, decorrelate_raster  # noqa: E402
from s2v_plugin.io.sentinel1_safe import parse_annotation  # noqa: E402

CROP = "s1a_iw3_vv_tops_slc_601x1401.tif"
ANNOTATION = "s1a_iw3_vv_tops_annotation.xml"
FIRST_LINE, FIRST_SAMPLE = 9800, 11000
LAND_ROWS = 381
BLOCK, STEP = 32, 8


@pytest.fixture(scope="module")
def crop(sar_data):
    slc = gdal.Open(str(sar_data / CROP)).ReadAsArray().astype(np.complex64)
    annotation = parse_annotation(sar_data / ANNOTATION)
    burst = annotation.burst_of_line(FIRST_LINE)
    line = FIRST_LINE - annotation.bursts[burst].first_line
    return slc, annotation, burst_ramp(annotation, burst), line


def block_centroids(slc: np.ndarray) -> np.ndarray:
    """Unwrapped azimuth centroid (cycles/sample) of 32-line blocks stepped by 8 lines."""
    phases = []
    for start in range(0, LAND_ROWS - BLOCK + 1, STEP):
        block = slc[start : start + BLOCK].astype(np.complex128)
        phases.append(np.angle(np.sum(block[1:] * np.conj(block[:-1]))))
    return np.unwrap(np.array(phases)) / (2 * np.pi)


def slope_per_line(centroids: np.ndarray) -> float:
    return float(np.polyfit(STEP * np.arange(centroids.size), centroids, 1)[0])


def block_lag1(z: np.ndarray, axis: int) -> np.ndarray:
    """|normalised complex lag-1 correlation| along ``axis`` in each 32-line block."""
    out = []
    for start in range(0, z.shape[0] - BLOCK + 1, BLOCK):
        block = z[start : start + BLOCK].astype(np.complex128)
        a, b = (block[1:], block[:-1]) if axis == 0 else (block[:, 1:], block[:, :-1])
        valid = np.isfinite(a) & np.isfinite(b)
        a, b = a[valid], b[valid]
        out.append(abs(np.sum(a * np.conj(b))) / np.sqrt(np.sum(abs(a) ** 2) * np.sum(abs(b) ** 2)))
    return np.array(out)


def test_raw_centroid_sweeps_at_the_annotation_rate(crop):
    slc, _, ramp, _ = crop
    expected = float(np.mean(ramp.doppler_rate_per_line(FIRST_SAMPLE + np.arange(slc.shape[1]))))

    measured = slope_per_line(block_centroids(slc))

    assert expected == pytest.approx(0.0065, rel=0.03)  # k_t dt^2, about 3.15 Hz per line
    assert measured == pytest.approx(expected, rel=0.03)


def test_deramped_centroid_is_flat_and_steady(crop):
    slc, _, ramp, line = crop
    expected = float(np.mean(ramp.doppler_rate_per_line(FIRST_SAMPLE)))

    centroids = block_centroids(deramp(slc, ramp, line, FIRST_SAMPLE))

    assert abs(slope_per_line(centroids)) < 0.05 * expected
    assert np.std(centroids) < 0.02


def test_deramped_azimuth_spectrum_occupies_the_processing_band(crop):
    slc, annotation, ramp, line = crop
    land = deramp(slc, ramp, line, FIRST_SAMPLE)[:LAND_ROWS]
    accumulator = PeriodogramAccumulator(0, 256)
    for col in range(0, land.shape[1] - 256 + 1, 128):
        accumulator.add(land[:256, col : col + 256])

    estimate = fit_axis(accumulator.profile())

    nominal = annotation.azimuth_processing_bandwidth * annotation.azimuth_time_interval
    assert nominal == pytest.approx(0.645, abs=0.001)
    assert 0.58 <= estimate.band_fraction <= 0.70


def test_deramp_then_reramp_is_the_identity(crop):
    slc, _, ramp, line = crop

    back = deramp(deramp(slc, ramp, line, FIRST_SAMPLE), ramp, line, FIRST_SAMPLE, sign=+1)

    error = np.linalg.norm(back.astype(np.complex128) - slc) / np.linalg.norm(slc)
    assert error < 1e-5
    # and the deramp really changes the data (the identity is not trivial)
    once = deramp(slc, ramp, line, FIRST_SAMPLE)
    assert np.linalg.norm(once.astype(np.complex128) - slc) / np.linalg.norm(slc) > 0.5


@pytest.mark.parametrize("output", ["array", "raster"])
def test_decorrelated_crop_is_white_in_32_line_blocks(crop, sar_data, tmp_path, output):
    slc, annotation, _, _ = crop
    tops = SwathRamp(annotation, FIRST_LINE, FIRST_SAMPLE)
    # default settings: the local point-target rule keeps ~650 pixels here (the old global
    # rule flagged ~30 000 land pixels of this half-sea crop, azimuth lag-1 up to 0.15)
    if output == "array":
        white, report = decorrelate_array(slc, tops=tops)
    else:
        report = decorrelate_raster(str(sar_data / CROP), str(tmp_path / "white.tif"), tops=tops)
        white = gdal.Open(str(tmp_path / "white.tif")).ReadAsArray()
    rows = int(LAND_ROWS / report.pixel_factors[0])

    azimuth = block_lag1(white[:rows], axis=0)
    range_ = block_lag1(white[:rows], axis=1)

    assert block_lag1(slc[:LAND_ROWS], axis=0).min() > 0.4  # correlated before (0.52)
    assert azimuth.max() <= 0.1, azimuth
    assert range_.max() <= 0.1, range_


def test_crop_without_offsets_is_refused_with_a_request_for_them(crop, sar_data, tmp_path):
    _, annotation, _, _ = crop

    with pytest.raises(InputError, match="FIRST_LINE and FIRST_SAMPLE") as error:
        decorrelate_raster(
            str(sar_data / CROP), str(tmp_path / "o.tif"), tops=SwathRamp(annotation, 0, 0)
        )

    assert "9800" in str(error.value)
    assert not (tmp_path / "o.tif").exists()


def test_crop_past_the_swath_is_refused(crop):
    slc, annotation, _, _ = crop

    with pytest.raises(InputError, match="extends past the swath"):
        decorrelate_array(slc, tops=SwathRamp(annotation, annotation.number_of_lines - 100, 0))
