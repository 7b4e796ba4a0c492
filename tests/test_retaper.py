"""The retapering stage (issue 9, item 4): the despeckled estimate back at the product's own
tapered resolution, so that bright areas stop leaking into dark ones."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require
from scipy import fft as sp_fft

from s2v_plugin.core.retaper import AxisBand, Retaper, retaper_from_metadata

BAND, WINDOW = 0.85, 0.6


def line_psf(band_fraction: float, window: float, n: int = 1024) -> np.ndarray:
    """Intensity point response (sum 1, centred) of a band along one axis."""
    freqs = sp_fft.fftfreq(n)
    inside = (freqs >= -band_fraction / 2) & (freqs < band_fraction / 2)
    amplitude = np.where(
        inside, window + (1 - window) * np.cos(2 * np.pi * freqs / band_fraction), 0
    )
    psf = np.abs(sp_fft.ifft(amplitude)) ** 2
    return np.roll(psf / psf.sum(), n // 2)


def metadata(oversampling_removed: str = "NO") -> dict:
    items = {"DECORRELATED": "YES", "OVERSAMPLING_REMOVED": oversampling_removed}
    for axis in ("AZIMUTH", "RANGE"):
        items[f"{axis}_BAND_FRACTION"] = str(BAND)
        items[f"{axis}_WINDOW"] = str(WINDOW)
    return {f"S2V_DECORRELATION_{k}": v for k, v in items.items()}


def test_the_filter_turns_the_whitened_point_response_into_the_tapered_one():
    kernel = AxisBand(BAND, WINDOW).kernel(radius=128)
    white, tapered = line_psf(BAND, 1.0), line_psf(BAND, WINDOW)
    retapered = np.convolve(white, kernel, mode="same")
    centre = white.size // 2
    near = slice(centre - 64, centre + 65)
    # within half the radius the whitened sidelobes are taken back to the taper's
    assert np.max(np.abs(retapered[near] - tapered[near])) < 2e-3 * tapered.max()
    assert np.max(np.abs(white[near] - tapered[near])) > 1e-2 * tapered.max()


@pytest.mark.parametrize("band", [AxisBand(0.8, 1.0), AxisBand(1.0, 0.6), AxisBand(1.0, 1.0)])
def test_a_flat_or_full_band_gives_the_identity(band):
    kernel = band.kernel(radius=16)
    expected = np.zeros(33)
    expected[16] = 1.0
    np.testing.assert_allclose(kernel, expected, atol=1e-9)


def test_dc_gain_is_one_so_flat_areas_and_ramps_keep_their_values():
    retaper = Retaper(AxisBand(BAND, WINDOW), AxisBand(0.9, 0.5), radius=32)
    rows, cols = np.mgrid[0:120, 0:130]
    ramp = (5.0 + 0.01 * rows + 0.02 * cols).astype(np.float32)
    out = retaper.apply(ramp)
    inner = (slice(40, 80), slice(40, 90))
    np.testing.assert_allclose(out[inner], ramp[inner], rtol=1e-5)
    assert abs(retaper.kernels[0].sum() - 1.0) < 1e-12


def test_point_targets_keep_their_value_and_do_not_spread():
    retaper = Retaper(AxisBand(BAND, WINDOW), AxisBand(BAND, WINDOW), radius=32)
    image = np.ones((100, 100), np.float32)
    image[50, 50] = 1e4
    targets = np.zeros(image.shape, bool)
    targets[50, 50] = True
    out = retaper.apply(image, targets)
    assert out[50, 50] == image[50, 50]
    others = ~targets
    np.testing.assert_allclose(out[others][:], 1.0, rtol=1e-5)


def test_nodata_stays_nodata():
    retaper = Retaper(AxisBand(BAND, WINDOW), AxisBand(BAND, WINDOW), radius=16)
    image = np.full((60, 60), 2.0, np.float32)
    image[20:30, 20:30] = np.nan
    out = retaper.apply(image)
    assert np.array_equal(np.isnan(out), np.isnan(image))
    np.testing.assert_allclose(out[np.isfinite(out)], 2.0, rtol=1e-5)


def test_only_decorrelated_inputs_with_the_oversampling_kept_get_a_filter():
    assert retaper_from_metadata(metadata())[0] is not None
    assert retaper_from_metadata(metadata("YES"))[0] is None
    assert retaper_from_metadata({})[0] is None
    assert retaper_from_metadata({"S2V_DECORRELATION_DECORRELATED": "YES"})[0] is None


# --------------------------------------------------------------------------- in the runtime


@pytest.fixture(scope="module")
def wide_model(tmp_path_factory):
    require("onnxruntime")
    require("onnx")
    from onnx_models import neighbour_mean_model

    return neighbour_mean_model(tmp_path_factory.mktemp("m") / "wide.onnx", receptive_field=20)


def bright_and_dark(shape=(230, 210), seed=3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = np.where(np.arange(shape[1])[None, :] < shape[1] // 2, 1.0, 1e-3)
    truth = np.broadcast_to(truth, shape).copy()
    truth[rng.integers(0, shape[0], 20), rng.integers(0, shape[1] // 2, 20)] = 1e3
    return (truth * rng.exponential(size=shape)).astype(np.float32)


@pytest.mark.parametrize("tile_size", [32, 96])
def test_tiled_equals_untiled_with_the_retaper(wide_model, tile_size):
    from s2v_plugin.despeckle import despeckle_array

    image = bright_and_dark()
    whole = despeckle_array(image, wide_model, tile_size=100000, decorrelation=metadata())
    tiled = despeckle_array(image, wide_model, tile_size=tile_size, decorrelation=metadata())
    np.testing.assert_allclose(tiled, whole, rtol=1e-5)
    plain = despeckle_array(image, wide_model, tile_size=100000, retaper=False)
    assert np.max(np.abs(plain - whole)) > 1e-3 * np.max(whole)  # the stage did something


def test_without_decorrelation_metadata_nothing_is_filtered(wide_model):
    from s2v_plugin.despeckle import despeckle_array

    image = bright_and_dark()
    default = despeckle_array(image, wide_model)
    plain = despeckle_array(image, wide_model, retaper=False)
    np.testing.assert_array_equal(default, plain)
