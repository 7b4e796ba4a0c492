"""Building blocks of the decorrelation, one behaviour each: spectrum estimation and fit,
whitening filters, point-target replacement and TOPS recognition."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import fft as sp_fft

from s2v_plugin.core.point_targets import TargetDetector, TargetStore
from s2v_plugin.core.spectrum import (
    AxisEstimate,
    PeriodogramAccumulator,
    circular_centroid,
    fit_axis,
)
from s2v_plugin.core.tops import SweepCheck, azimuth_sweep, tops_mode_from_metadata
from s2v_plugin.core.whitening import (
    AxisFilter,
    apply_axis_filter,
    design_axis_filter,
    whitening_gain,
)
from s2v_plugin.decorrelate import estimation_windows

N = 256
FREQS = sp_fft.fftfreq(N)


def _offset(freqs, centre) -> np.ndarray:
    """Frequency minus ``centre``, wrapped to the nearest alias in [-0.5, 0.5) (written out
    here rather than taken from the module, so that the expected profiles are independent)."""
    offset = np.asarray(freqs, dtype=np.float64) - centre
    return offset - np.floor(offset + 0.5)


def _model_profile(window, band, centre, floor=0.0, tilt=0.0) -> np.ndarray:
    """Closed-form generalized Hamming power spectrum on a white floor, with a linear tilt:
    ``(1 + tilt u) [a + (1 - a) cos(2 pi u / B)]^2`` for ``|u| < B/2``, ``floor`` elsewhere."""
    u = _offset(FREQS, centre)
    amplitude = window + (1.0 - window) * np.cos(2.0 * np.pi * u / band)
    inside = np.abs(u) < band / 2.0 if band < 1.0 else np.ones(u.shape, bool)
    return np.where(inside, (1.0 + tilt * u) * amplitude**2, 0.0) + floor


def _estimate(window, band, centre, floor=0.0) -> AxisEstimate:
    profile = _model_profile(window, band, centre, floor)
    return AxisEstimate(centre, band, window, profile=tuple(profile / profile.mean()))


# --------------------------------------------------------------------------- spectrum


def test_circular_centroid_of_a_symmetric_band_on_a_floor_is_its_centre():
    centroid = circular_centroid(_model_profile(0.7, 0.5, 0.31, floor=0.2))

    assert centroid == pytest.approx(0.31, abs=0.5 / N)  # band edges fall between bins


def test_circular_centroid_wraps_around_half_a_cycle():
    assert abs(circular_centroid(_model_profile(0.8, 0.4, -0.48)) + 0.48) < 0.5 / N


@pytest.mark.parametrize(
    "window, band, centre, floor",
    [(0.54, 0.7, 0.2, 0.0), (1.0, 0.83, 0.0, 0.05), (0.8, 1.0, -0.3, 0.0), (0.6, 0.62, 0.45, 0.1)],
)
def test_fit_recovers_an_exact_model_profile(window, band, centre, floor):
    estimate = fit_axis(_model_profile(window, band, centre, floor))

    assert estimate.window == pytest.approx(window, abs=0.01)
    assert estimate.band_fraction == pytest.approx(band, abs=1.0 / N)
    assert abs(_offset(estimate.centroid, centre)) <= 0.5 / N
    assert estimate.fit_error < 0.02


def test_fit_centres_a_tilted_band_on_its_edges_not_on_its_power():
    profile = _model_profile(0.95, 0.8, 0.0, floor=0.02, tilt=-1.0)
    assert circular_centroid(profile) < -0.02  # power leans to negative frequencies

    estimate = fit_axis(profile)

    assert abs(estimate.centroid) <= 1.0 / N
    assert estimate.band_fraction == pytest.approx(0.8, abs=1.0 / N)
    assert estimate.tilt < -0.5


def test_a_flat_profile_is_a_full_flat_band_without_centre():
    estimate = fit_axis(np.ones(N))

    assert estimate.band_fraction == 1.0 and estimate.window >= 0.99 and estimate.centroid == 0.0


def test_periodograms_skip_segments_with_nan_and_average_to_one():
    rng = np.random.default_rng(0)
    block = (rng.standard_normal((64, 40)) + 1j * rng.standard_normal((64, 40))).astype(
        np.complex64
    )
    block[10, 3] = np.nan
    accumulator = PeriodogramAccumulator(axis=0, length=32)

    accumulator.add(block)

    # segments start at 0, 16, 32 along 64 rows: the NaN (row 10) spoils 1 of 3 in column 3
    assert accumulator.lines == 3 * 40 - 1
    assert accumulator.profile().mean() == pytest.approx(1.0)


def test_periodograms_weight_blocks_equally_but_power_profile_by_power():
    rng = np.random.default_rng(1)
    white = rng.standard_normal((32, 32)) + 1j * rng.standard_normal((32, 32))
    tone = np.exp(2j * np.pi * 0.25 * np.arange(32))[:, None] * np.ones((1, 32)) * 100.0
    accumulator = PeriodogramAccumulator(axis=0, length=32)
    accumulator.add(white)
    accumulator.add(tone)

    tone_bin = 8
    assert accumulator.profile()[tone_bin] == pytest.approx(16.0, rel=0.1)  # half of 32
    assert accumulator.power_profile()[tone_bin] > 30.0


def test_estimation_windows_stay_inside_and_reach_both_edges():
    windows = estimation_windows(5000, 700)

    assert len(windows) <= 64
    assert all(0 <= r and r + h <= 5000 and 0 <= c and c + w <= 700 for r, c, h, w in windows)
    assert min(r for r, _, _, _ in windows) == 0 and max(r + h for r, _, h, _ in windows) == 5000


# --------------------------------------------------------------------------- whitening


def test_whitening_gain_flattens_the_band_and_zeroes_the_rest():
    estimate = _estimate(0.6, 0.7, 0.15)
    profile = _model_profile(0.6, 0.7, 0.15)

    gain = whitening_gain(estimate, FREQS)

    u = _offset(FREQS, 0.15)
    inner = np.abs(u) < 0.35 - 4.0 / N
    flat = gain[inner] ** 2 * profile[inner]
    assert flat.std() / flat.mean() < 0.02
    assert np.all(gain[np.abs(u) >= 0.35] == 0.0)


def test_cropping_keeps_the_band_and_moves_it_to_base_band():
    axis_filter = design_axis_filter(_estimate(1.0, 0.5, 0.25), 200, remove_oversampling=True)
    tone = np.exp(2j * np.pi * (0.25 + 0.05) * np.arange(200))[:, None]

    out = apply_axis_filter(tone.astype(np.complex64), axis_filter, axis=0)[:, 0]

    assert axis_filter.output_length == 100 and axis_filter.pixel_factor == 2.0
    spectrum = np.abs(np.fft.fft(out))
    assert np.argmax(spectrum) == 10  # 0.05 cycles/input sample = 0.1 cycles/output sample


def test_whitening_keeps_the_mean_power_of_data_with_the_estimated_spectrum():
    rng = np.random.default_rng(2)
    noise = rng.standard_normal((N, 64)) + 1j * rng.standard_normal((N, 64))
    amplitude = np.sqrt(_model_profile(0.6, 0.7, 0.1))[:, None]
    coloured = np.fft.ifft(np.fft.fft(noise, axis=0) * amplitude, axis=0).astype(np.complex64)

    for remove in (True, False):
        axis_filter = design_axis_filter(_estimate(0.6, 0.7, 0.1), N, remove)
        out = apply_axis_filter(coloured, axis_filter, axis=0)
        assert np.mean(np.abs(out) ** 2) == pytest.approx(np.mean(np.abs(coloured) ** 2), 0.02)


def test_output_and_input_positions_are_nearest_neighbours():
    axis_filter = design_axis_filter(_estimate(1.0, 0.8, 0.0), 100, remove_oversampling=True)

    assert axis_filter.output_length == 80
    np.testing.assert_array_equal(axis_filter.input_positions(np.array([0, 4, 79])), [0, 5, 99])
    np.testing.assert_array_equal(axis_filter.output_positions(np.array([0, 5, 99])), [0, 4, 79])


def test_a_cropped_delta_keeps_its_value_times_the_demodulation_phase():
    designed = design_axis_filter(_estimate(1.0, 0.5, 0.25), 200, remove_oversampling=True)
    m = designed.output_length
    crop_only = AxisFilter(200, m, designed.source_bins, np.full(m, m / 200, np.float32))
    delta = np.zeros((200, 1), np.complex64)
    delta[60] = 1.0

    out = apply_axis_filter(delta, crop_only, axis=0)[:, 0]

    position = int(crop_only.output_positions(np.array([60]))[0])
    expected = (m / 200) * crop_only.demodulation(np.array([60]))[0]
    assert out[position] == pytest.approx(expected, abs=1e-5)


# --------------------------------------------------------------------------- point targets


def test_threshold_is_the_factor_times_the_median_intensity():
    intensity = np.array([1.0, 2.0, 3.0, np.nan, 0.0])

    detector = TargetDetector.from_sample(intensity, 50.0)

    assert detector.threshold == pytest.approx(100.0)
    assert TargetDetector.from_sample(intensity, 0.0).threshold is None


def test_replacement_noise_depends_on_the_line_not_on_the_strip():
    rng = np.random.default_rng(3)
    image = (rng.standard_normal((12, 80)) + 1j * rng.standard_normal((12, 80))).astype(
        np.complex64
    )
    image[[2, 7, 7], [5, 40, 41]] = 500.0
    detector = TargetDetector(threshold=1000.0, background=2.0)

    whole = detector.replace(image, 0, detector.mask(image))
    part = detector.replace(image[6:], 6, detector.mask(image[6:]))

    np.testing.assert_array_equal(part, whole[6:])
    assert np.all(np.abs(whole[[2, 7, 7], [5, 40, 41]]) < 10.0)
    np.testing.assert_array_equal(whole[0], image[0])


def test_target_store_returns_the_brightest_last():
    store = TargetStore.empty()
    block = np.array([[1.0, 9.0], [5.0, 0.0]], dtype=np.complex64)

    store.add(np.array([[True, True], [True, False]]), block, first_row=10, first_col=20)

    rows, cols, values = store.arrays()
    assert len(store) == 3
    np.testing.assert_array_equal(np.abs(values), [1.0, 5.0, 9.0])
    np.testing.assert_array_equal(rows, [10, 11, 10])
    np.testing.assert_array_equal(cols, [20, 20, 21])


# --------------------------------------------------------------------------- TOPS


@pytest.mark.parametrize(
    "metadata, mode",
    [
        ({"MODE": "IW"}, "IW"),
        ({"SWATH": "EW3"}, "EW3"),
        ({"TIFFTAG_IMAGEDESCRIPTION": "Sentinel-1A IW SLC L1"}, "IW"),
        ({"MODE": "SM"}, None),
        ({"TIFFTAG_IMAGEDESCRIPTION": "my IW notes"}, None),
        ({}, None),
    ],
)
def test_tops_mode_is_recognised_from_metadata(metadata, mode):
    assert tops_mode_from_metadata(metadata) == mode


def test_blocks_too_short_give_no_sweep_evidence():
    check = azimuth_sweep([np.ones((20, 50), np.complex64)])

    assert check == SweepCheck(0.0, 0.0, 0.0) and not check.is_tops


def test_a_linear_centroid_sweep_is_measured():
    rows = np.arange(256)[:, None]
    rng = np.random.default_rng(4)
    speckle = rng.standard_normal((256, 64)) + 1j * rng.standard_normal((256, 64))
    smooth = (speckle + np.roll(speckle, 1, axis=0) + np.roll(speckle, 2, axis=0)) / 3
    swept = smooth * np.exp(1j * np.pi * (1 / 160) * rows**2)

    check = azimuth_sweep([swept])

    assert check.is_tops
    assert check.sweep_rate == pytest.approx(1 / 160, rel=0.1)
