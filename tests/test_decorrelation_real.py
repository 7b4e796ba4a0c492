"""Decorrelation of the real SAR samples in ../shared/data/sar (skipped when absent).

Scene texture makes intensity autocorrelation a poor judge on real data, so the speckle
correlation is measured as the normalised complex autocorrelation
``|sum z(p) z*(p + d)| / sum |z(p)|^2``.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require

gdal = require("osgeo.gdal")

from s2v_plugin.core.errors import InputError  # noqa: E402
from s2v_plugin.decorrelate import decorrelate_array, decorrelate_raster  # noqa: E402

STRIPMAP = [
    "envisat_asar_im_hh_slc_500x500.tif",
    "uavsar_sanand129_hh_slc_150x200.tif",
    "uavsar_sanand138_hh_slc_150x400.tif",
]
TOPS = "s1a_iw3_vv_tops_slc_601x1401.tif"


def complex_correlation(z: np.ndarray, axis: int, lag: int) -> float:
    """Normalised complex autocorrelation at ``lag`` along ``axis`` (NaN pixels ignored)."""
    a = np.moveaxis(z.astype(np.complex128), axis, 0)
    products = a[:-lag] * np.conj(a[lag:])
    valid = np.isfinite(products)
    return float(np.abs(np.sum(products[valid])) / np.nansum(np.abs(a) ** 2))


def _load(sar_data, name) -> np.ndarray:
    return gdal.Open(str(sar_data / name)).ReadAsArray().astype(np.complex64)


@pytest.mark.parametrize("name", STRIPMAP)
def test_real_speckle_is_white_after_decorrelation_with_oversampling_removed(sar_data, name):
    slc = _load(sar_data, name)
    before = max(complex_correlation(slc, axis, 1) for axis in (0, 1))

    out, _ = decorrelate_array(slc, remove_oversampling=True)

    assert before >= 0.2
    for axis in (0, 1):
        for lag in (1, 2):
            assert complex_correlation(out, axis, lag) <= 0.10, (axis, lag)


def test_envisat_estimates_match_the_known_acquisition(sar_data):
    _, report = decorrelate_array(_load(sar_data, STRIPMAP[0]))

    # Doppler centroid +0.17 cycles/sample; range flat over ~83% of the band
    assert report.azimuth.centroid == pytest.approx(0.17, abs=0.01)
    assert report.range_.band_fraction == pytest.approx(0.83, abs=0.03)
    assert report.range_.window >= 0.9
    # azimuth tapered and oversampled; its half-power band edge is at ~66% of the band and the
    # spectrum reaches the floor at ~72% (the README's figure)
    assert 0.62 <= report.azimuth.band_fraction <= 0.74
    assert report.azimuth.window < 0.95
    assert report.point_targets > 0


def test_envisat_raster_keeps_its_mean_intensity(sar_data, tmp_path):
    slc = _load(sar_data, STRIPMAP[0])

    decorrelate_raster(str(sar_data / STRIPMAP[0]), str(tmp_path / "out.tif"), block_size=64)

    out = gdal.Open(str(tmp_path / "out.tif")).ReadAsArray()
    before = np.mean(np.abs(slc.astype(np.complex128)) ** 2)
    assert np.mean(np.abs(out.astype(np.complex128)) ** 2) == pytest.approx(before, rel=0.02)


def test_tops_burst_is_refused_with_a_deramp_instruction(sar_data, tmp_path):
    with pytest.raises(InputError, match="TOPS") as error:
        decorrelate_raster(str(sar_data / TOPS), str(tmp_path / "out.tif"))

    assert "ANNOTATION" in str(error.value) and "FIRST_LINE" in str(error.value)
    assert not (tmp_path / "out.tif").exists()
