"""Speckle statistics that tell intensity, amplitude, dB and I/Q apart, and the ENL (pure numpy).

The expectations are the closed forms of fully developed speckle: an L-look intensity is
Gamma(L, 1/L) (skewness / CV = 2, ENL = L), its square root has skewness / CV between 1.0 and
1.25, a logarithm is negatively skewed, and white speckle has no lag-1 correlation.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from s2v_plugin.core import input_kind
from s2v_plugin.core.input_kind import (
    AMPLITUDE,
    DB,
    INTENSITY,
    IQ_PAIR,
    enl,
    kind_from_statistics,
    looks_from_enl,
    speckle_statistics,
)


def _patches(image: np.ndarray, size: int = 64) -> list:
    rows, cols = image.shape
    return [
        image[r : r + size, c : c + size]
        for r in range(0, rows - size + 1, size)
        for c in range(0, cols - size + 1, size)
    ]


def _intensity(looks: float, shape=(384, 384), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.gamma(looks, 1.0 / looks, shape).astype(np.float32)


@pytest.mark.parametrize("looks", [1, 2, 4.7, 10])
def test_gamma_intensity_is_intensity_with_its_looks(looks):
    stats = speckle_statistics(_patches(100.0 * _intensity(looks)))
    assert kind_from_statistics(stats) == INTENSITY
    assert stats.shape == pytest.approx(2.0, abs=0.2)
    assert enl(stats, INTENSITY) == pytest.approx(looks, rel=0.1)


@pytest.mark.parametrize("looks", [1, 2, 4.7, 10])
def test_square_root_of_intensity_is_amplitude_with_the_same_looks(looks):
    stats = speckle_statistics(_patches(np.sqrt(_intensity(looks, seed=1))))
    assert kind_from_statistics(stats) == AMPLITUDE
    assert enl(stats, AMPLITUDE) == pytest.approx(looks, rel=0.1)
    # the CV of amplitude is about 0.52 / sqrt(L)
    assert stats.cv == pytest.approx(0.52 / np.sqrt(looks), rel=0.15)


@pytest.mark.parametrize("offset", [0.0, 30.0])
def test_decibels_are_negatively_skewed_even_when_all_positive(offset):
    decibels = 10 * np.log10(_intensity(4.7, seed=2)) + offset
    stats = speckle_statistics(_patches(decibels))
    assert kind_from_statistics(stats) == DB
    if offset:
        assert stats.negative_fraction == 0 and stats.skewness < -0.2


def test_a_real_or_imaginary_part_is_symmetric_around_zero():
    rng = np.random.default_rng(3)
    stats = speckle_statistics(_patches(rng.normal(size=(256, 256)).astype(np.float32)))
    assert stats.symmetric
    assert kind_from_statistics(stats) == IQ_PAIR


def test_negated_bright_pixels_are_not_mistaken_for_an_iq_component():
    image = _intensity(1, seed=4)
    stats = speckle_statistics(_patches(np.where(image > 1, -image, image)))
    assert not stats.symmetric
    assert kind_from_statistics(stats) == DB


def test_white_speckle_is_not_correlated_and_smoothed_speckle_is():
    white = _intensity(1, seed=5)
    assert not speckle_statistics(_patches(white)).correlated
    smoothed = speckle_statistics(_patches(uniform_filter(white, 2)))
    assert smoothed.correlated
    assert smoothed.lag1_rows > 0.3 and smoothed.lag1_cols > 0.3


def test_correlated_complex_speckle_is_caught_locally_when_it_looks_white_globally():
    """A TOPS-like sweep: strong correlation within 16 lines, phase rotating from window to
    window, so the lag-1 correlation of the whole raster is small."""
    rng = np.random.default_rng(6)
    rows, cols = 256, 256
    white = (rng.normal(size=(rows, cols)) + 1j * rng.normal(size=(rows, cols))) / np.sqrt(2)
    correlated = white + np.roll(white, 1, axis=0)  # lag-1 coherence 0.5
    lines = np.arange(rows)
    phase = np.exp(1j * np.pi * lines**2 / 64.0)[:, None]  # centroid sweeps once per 64 lines
    swept = (correlated * phase).astype(np.complex64)
    whole = np.abs(np.mean(swept[1:] * np.conj(swept[:-1]))) / np.mean(np.abs(swept) ** 2)
    assert whole < 0.2  # looks white over the whole raster
    stats = speckle_statistics(_patches(swept))
    assert stats.coherence_rows > 0.35
    assert stats.correlated
    assert not speckle_statistics(_patches(white.astype(np.complex64))).correlated


def test_too_little_valid_data_decides_nothing():
    image = _intensity(1, shape=(20, 20))
    stats = speckle_statistics([image])
    assert stats.blocks == 0
    assert kind_from_statistics(stats) is None
    assert np.isnan(enl(stats, INTENSITY))


def test_homogeneous_blocks_are_chosen_on_other_rows_than_they_are_measured():
    """Choosing the smoothest blocks on the rows they are measured on biases the ENL upwards
    (about +15 % for single-look data); choosing on even rows and measuring odd rows does not."""
    values = [
        enl(speckle_statistics(_patches(_intensity(1, seed=seed))), INTENSITY)
        for seed in range(10, 16)
    ]
    assert np.mean(values) == pytest.approx(1.0, abs=0.06)


@pytest.mark.parametrize(
    "estimate,looks", [(0.8, 1.0), (1.15, 1.0), (4.74, 4.7), (float("nan"), 1.0)]
)
def test_looks_from_enl_counts_noisy_single_look_estimates_as_one(estimate, looks):
    assert looks_from_enl(estimate) == looks


def test_block_size_is_the_documented_one():
    assert input_kind.BLOCK == 32


def test_in_the_undecided_band_the_reading_whose_enl_estimators_agree_wins():
    """Where skewness / CV is between the two laws (texture raises the skewness of amplitude;
    the decorrelated ENVISAT amplitude gives 1.46), the reading whose CV and log-moment ENL
    estimators agree decides (the real case runs in test_input_chains)."""
    from dataclasses import replace

    base = speckle_statistics(_patches(_intensity(1, seed=8)))
    undecided = replace(base, skewness=1.6 * base.cv)
    assert (
        kind_from_statistics(replace(undecided, mismatch_intensity=0.13, mismatch_amplitude=0.09))
        == AMPLITUDE
    )
    assert (
        kind_from_statistics(replace(undecided, mismatch_intensity=0.05, mismatch_amplitude=0.4))
        == INTENSITY
    )
    assert kind_from_statistics(replace(undecided, mismatch_intensity=float("nan"))) is None


def test_the_log_moments_agree_for_the_right_reading_of_untextured_speckle():
    amplitude = np.sqrt(_intensity(1, seed=9))
    stats = speckle_statistics(_patches(amplitude))
    assert stats.mismatch_amplitude < 0.05 < stats.mismatch_intensity
    stats = speckle_statistics(_patches(amplitude**2))
    assert stats.mismatch_intensity < 0.05 < stats.mismatch_amplitude
