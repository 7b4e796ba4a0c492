"""Simulated correlated SLC: power, spectrum and whiteness follow the documented model."""

from __future__ import annotations

import numpy as np
import pytest

from s2v_plugin.core.simulation import SpectralShape, simulate_correlated_slc


def _lag_correlation(z: np.ndarray, axis: int, lag: int) -> float:
    a = np.moveaxis(z, axis, 0)
    return float(np.abs(np.sum(a[:-lag] * np.conj(a[lag:]))) / np.sum(np.abs(a) ** 2))


def _mean_power_profile(z: np.ndarray, axis: int) -> np.ndarray:
    spectrum = np.abs(np.fft.fft(z, axis=axis)) ** 2
    return spectrum.mean(axis=1 - axis) / z.shape[axis]


def test_output_is_complex64_with_the_input_shape():
    z = simulate_correlated_slc(np.ones((32, 48)), np.random.default_rng(0))
    assert z.dtype == np.complex64 and z.shape == (32, 48)


def test_mean_power_equals_the_clean_intensity_with_correlated_spectra():
    clean = np.full((256, 256), 7.0)
    z = simulate_correlated_slc(
        clean,
        np.random.default_rng(1),
        SpectralShape(window=0.6, band_fraction=0.7, centroid=0.2),
        SpectralShape(window=0.8, band_fraction=0.85),
    )
    assert np.mean(np.abs(z) ** 2) == pytest.approx(7.0, rel=0.03)


def test_mean_power_follows_a_slowly_varying_scene():
    clean = np.ones((256, 256))
    clean[:, 128:] = 10.0
    z = simulate_correlated_slc(
        clean, np.random.default_rng(2), SpectralShape(0.7, 0.8), SpectralShape(0.7, 0.8)
    )
    power = np.abs(z) ** 2
    assert power[:, 8:120].mean() == pytest.approx(1.0, rel=0.05)
    assert power[:, 136:248].mean() == pytest.approx(10.0, rel=0.05)


def test_default_shapes_give_white_speckle():
    z = simulate_correlated_slc(np.ones((256, 256)), np.random.default_rng(3))
    for axis in (0, 1):
        assert _lag_correlation(z, axis, 1) < 0.02


def test_realised_power_spectrum_is_the_squared_transfer_function():
    azimuth = SpectralShape(window=0.6, band_fraction=0.7, centroid=0.17)
    range_ = SpectralShape(window=0.9, band_fraction=0.8, centroid=-0.05)
    z = simulate_correlated_slc(np.ones((256, 256)), np.random.default_rng(4), azimuth, range_)
    for axis, shape in ((0, azimuth), (1, range_)):
        expected = shape.transfer(256) ** 2
        expected /= expected.mean()
        measured = _mean_power_profile(z, axis)
        measured /= measured.mean()
        in_band = expected > 0.05
        relative_error = measured[in_band] / expected[in_band] - 1.0
        # each bin averages ~150-250 independent periodogram values: 6-9% noise, no bias
        assert np.max(np.abs(relative_error)) < 0.5
        assert abs(np.mean(relative_error)) < 0.02
        assert np.mean(np.abs(relative_error)) < 0.08
        assert np.all(measured[expected == 0] < 1e-6)


def test_the_centroid_is_a_circular_shift_of_the_spectrum():
    shifted = SpectralShape(window=0.7, band_fraction=0.6, centroid=0.25).transfer(64)
    centred = SpectralShape(window=0.7, band_fraction=0.6, centroid=0.0).transfer(64)
    np.testing.assert_allclose(shifted, np.roll(centred, 16))


def test_a_hamming_window_correlates_neighbouring_pixels():
    z = simulate_correlated_slc(
        np.ones((128, 128)), np.random.default_rng(5), SpectralShape(window=0.54)
    )
    assert _lag_correlation(z, 0, 1) > 0.3
    assert _lag_correlation(z, 1, 1) < 0.05


@pytest.mark.parametrize(
    "clean", [np.ones(16), -np.ones((8, 8)), np.full((8, 8), np.nan)], ids=["1d", "neg", "nan"]
)
def test_invalid_scenes_are_refused(clean):
    with pytest.raises(ValueError):
        simulate_correlated_slc(clean, np.random.default_rng(0))


@pytest.mark.parametrize("kwargs", [{"window": 1.5}, {"band_fraction": 0.0}])
def test_invalid_shapes_are_refused(kwargs):
    with pytest.raises(ValueError):
        SpectralShape(**kwargs)
