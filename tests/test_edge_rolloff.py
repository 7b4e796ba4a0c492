"""The whitened band's edge roll-off (issue 9 item 4): a sharp band edge makes the whitened
point response a sinc whose ``1/x^2`` intensity tails carry bright land far into dark sea; a
raised-cosine (in power) roll-off over a few % of the band cuts them at little cost in
whiteness."""

from __future__ import annotations

import numpy as np
from scipy import fft as sp_fft

from s2v_plugin.core import whitening
from s2v_plugin.core.retaper import AxisBand
from s2v_plugin.core.whitening import EDGE_ROLLOFF, edge_rolloff

BAND = 0.85
N = 4096


def intensity_psf(amplitude: np.ndarray) -> np.ndarray:
    psf = np.abs(sp_fft.ifft(amplitude)) ** 2
    return psf / psf.sum()


def tail(psf: np.ndarray, distance: int) -> float:
    """Share of the response at ``distance`` px or more on one side (a bright half-plane's
    leakage at that distance)."""
    return float(psf[distance : psf.size // 2].sum())


def test_the_rolloff_cuts_the_leakage_beyond_10_px_by_a_factor_of_five():
    u = sp_fft.fftfreq(N)
    sharp = intensity_psf(edge_rolloff(u, BAND, 0.0))
    rolled = intensity_psf(edge_rolloff(u, BAND, EDGE_ROLLOFF))
    sharp_mean = np.mean([tail(sharp, d) for d in range(10, 100)])
    rolled_mean = np.mean([tail(rolled, d) for d in range(10, 100)])
    assert rolled_mean < 0.2 * sharp_mean
    assert tail(rolled, 40) < 0.1 * tail(sharp, 40)


def test_white_speckle_stays_white_on_the_cropped_grid():
    # oversampling removed: the band fills the output grid; complex lag-1 and lag-2
    # correlations of the output speckle (the decorrelation tests' floor is 0.05)
    g = sp_fft.fftfreq(N)
    power = edge_rolloff(g * BAND, BAND, EDGE_ROLLOFF) ** 2
    for lag in (1, 2):
        rho = abs(np.sum(power * np.exp(2j * np.pi * g * lag))) / power.sum()
        assert rho < 0.03


def test_a_full_band_has_no_rolloff_and_nothing_leaves_the_band():
    u = sp_fft.fftfreq(64)
    np.testing.assert_array_equal(edge_rolloff(u, 1.0, EDGE_ROLLOFF), np.ones(64))
    rolled = edge_rolloff(sp_fft.fftfreq(N), BAND, EDGE_ROLLOFF)
    inside = np.abs(sp_fft.fftfreq(N)) < BAND / 2 * (1 - 2 * EDGE_ROLLOFF)
    assert np.all(rolled[inside] == 1.0)
    assert np.all(rolled[np.abs(sp_fft.fftfreq(N)) >= BAND / 2] == 0.0)
    assert np.all(np.diff(rolled[: N // 2]) <= 0)


def test_the_retaper_of_a_rolled_off_band_gives_the_tapered_response_with_bounded_noise():
    window = 0.6
    kernel = AxisBand(BAND, window, EDGE_ROLLOFF).kernel(radius=128)
    u = sp_fft.fftfreq(1024)
    rolloff = edge_rolloff(u, BAND, EDGE_ROLLOFF)
    hamming = np.where(rolloff > 0, window + (1 - window) * np.cos(2 * np.pi * u / BAND), 0)
    white = np.roll(intensity_psf(rolloff), 512)
    tapered = np.roll(intensity_psf(hamming * rolloff), 512)
    retapered = np.convolve(white, kernel, mode="same")
    near = slice(512 - 64, 512 + 65)
    assert np.max(np.abs(retapered[near] - tapered[near])) < 2e-3 * tapered.max()
    assert abs(kernel.sum() - 1.0) < 1e-9
    # noise gain sum(g^2): about 0.7 for Hamming 0.6 (the sharp edge's), not amplified
    assert 0.5 < np.sum(kernel**2) < 1.0


def test_the_whitening_gain_carries_the_rolloff(monkeypatch):
    from s2v_plugin.core.spectrum import AxisEstimate

    profile = np.where(np.abs(sp_fft.fftfreq(256)) < BAND / 2, 1.0, 1e-6)
    estimate = AxisEstimate(0.0, BAND, 1.0, profile=tuple(profile))
    freqs = sp_fft.fftfreq(256)
    rolled = whitening.whitening_gain(estimate, freqs)
    monkeypatch.setattr(whitening, "EDGE_ROLLOFF", 0.0)
    sharp = whitening.whitening_gain(estimate, freqs)
    np.testing.assert_allclose(rolled, sharp * edge_rolloff(freqs, BAND, EDGE_ROLLOFF), rtol=1e-6)
