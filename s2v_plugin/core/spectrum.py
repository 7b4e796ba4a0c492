"""Blind estimation of the SLC spectrum along one axis.

The expected power spectrum of a single-look complex image with fully developed speckle is the
squared system transfer function ``|H(f)|^2`` times the mean reflectivity, whatever the scene
texture (``sqrt(R) w`` is white when ``w`` is), so the average of many short periodograms
measures ``|H|^2`` directly. Along one axis this module

* averages the periodograms of all complete lines of sampled blocks (:func:`axis_periodogram`),
  each block weighted equally so that bright areas do not dominate;
* estimates the spectral centroid as a circular mean (the phase of the lag-1 autocorrelation,
  the classic correlation Doppler estimator) and fits a generalized Hamming model
  ``[a + (1 - a) cos(2 pi u / B)]^2`` on ``|u| < B/2`` plus a white floor (:func:`fit_axis`).

Frequencies are in cycles/sample, in ``[-1/2, 1/2)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy import fft as sp_fft

LOG = logging.getLogger(__name__)

#: Shortest line (in samples) from which a spectrum is estimated.
MIN_LINE_LENGTH = 32
#: Fewest complete lines needed for a usable average periodogram.
MIN_LINES = 16

_WINDOW_GRID = np.arange(0.50, 1.0001, 0.01)
_OFFSET_STEPS = np.arange(-1.0, 1.0001, 0.25)  # in bins, around the circular centroid


@dataclass(frozen=True)
class AxisEstimate:
    """Spectral parameters of one image axis.

    Attributes
    ----------
    centroid : float
        Centre of the occupied band in cycles/sample, in [-0.5, 0.5) (Doppler centroid in
        azimuth).
    band_fraction : float
        Occupied fraction of the sampled band, in (0, 1] (1 / oversampling factor).
    window : float
        Generalized Hamming coefficient ``a`` of the best fitting amplitude weighting
        ``a + (1 - a) cos(2 pi u / B)`` (1.0 = flat).
    floor : float
        Out-of-band power relative to the in-band peak power.
    fit_error : float
        RMS misfit of the model relative to the mean of the profile.
    lag1 : float
        Magnitude of the normalised lag-1 autocorrelation implied by the profile.
    profile : tuple of float
        The average power profile (FFT order, mean 1) the estimates come from.
    """

    centroid: float
    band_fraction: float
    window: float
    floor: float = 0.0
    fit_error: float = 0.0
    lag1: float = 0.0
    profile: tuple = field(default=(), repr=False, compare=False)

    def profile_array(self) -> np.ndarray:
        """The average power profile as a float64 array (FFT order, mean 1)."""
        return np.asarray(self.profile, dtype=np.float64)


class PeriodogramAccumulator:
    """Running average of line periodograms along one axis, one weight per block.

    Parameters
    ----------
    axis : int
        0 for azimuth (columns of a block are the lines), 1 for range (rows are the lines).
    length : int
        Number of samples per line; blocks must have this size along ``axis``.
    """

    def __init__(self, axis: int, length: int) -> None:
        self.axis = axis
        self.length = length
        self._sum = np.zeros(length, dtype=np.float64)
        self.blocks = 0
        self.lines = 0

    def add(self, block: np.ndarray) -> None:
        """Add the periodograms of every complete (all finite) line of ``block``."""
        lines = np.moveaxis(np.asarray(block), self.axis, -1)
        if lines.shape[-1] != self.length:
            raise ValueError(f"block length {lines.shape[-1]} along axis, expected {self.length}")
        complete = np.all(np.isfinite(lines), axis=-1)
        lines = lines[complete]
        if lines.shape[0] == 0:
            return
        power = float(np.sum(np.abs(lines.astype(np.complex128)) ** 2))
        if power <= 0.0:
            return
        spectra = np.abs(sp_fft.fft(lines.astype(np.complex64), axis=-1)) ** 2
        self._sum += spectra.sum(axis=0, dtype=np.float64) / power
        self.blocks += 1
        self.lines += lines.shape[0]

    def profile(self) -> np.ndarray:
        """Average power profile (FFT order) normalised to mean 1."""
        if self.blocks == 0:
            raise ValueError("no complete line was added")
        profile = self._sum / self.blocks
        return profile / profile.mean()


def axis_periodogram(blocks, axis: int) -> np.ndarray:
    """Average power profile along ``axis`` of a sequence of equally sized 2-D blocks.

    Parameters
    ----------
    blocks : iterable of numpy.ndarray
        Complex blocks, NaN where invalid; lines holding a NaN are skipped.
    axis : int
        0 (azimuth) or 1 (range).

    Returns
    -------
    numpy.ndarray
        Profile in FFT order with mean 1.
    """
    accumulator = None
    for block in blocks:
        if accumulator is None:
            accumulator = PeriodogramAccumulator(axis, block.shape[axis])
        accumulator.add(block)
    if accumulator is None:
        raise ValueError("no block given")
    return accumulator.profile()


def relative_frequency(freqs: np.ndarray, centre: float) -> np.ndarray:
    """Frequencies relative to ``centre``, wrapped into [-0.5, 0.5)."""
    return np.mod(np.asarray(freqs, dtype=np.float64) - centre + 0.5, 1.0) - 0.5


def hamming_power(u: np.ndarray, window: float, band_fraction: float) -> np.ndarray:
    """Power ``[a + (1 - a) cos(2 pi u / B)]^2`` inside ``|u| < B/2``, 0 outside."""
    u = np.asarray(u, dtype=np.float64)
    inside = np.abs(u) < band_fraction / 2.0 if band_fraction < 1.0 else np.ones(u.shape, bool)
    amplitude = window + (1.0 - window) * np.cos(2.0 * np.pi * u / band_fraction)
    return np.where(inside, amplitude**2, 0.0)


def circular_centroid(profile: np.ndarray) -> float:
    """Circular mean frequency of a power profile (FFT order), in [-0.5, 0.5).

    A white floor adds nothing to the sum, so the estimate is unbiased for any symmetric band.
    """
    profile = np.asarray(profile, dtype=np.float64)
    freqs = sp_fft.fftfreq(profile.size)
    moment = np.sum(profile * np.exp(2j * np.pi * freqs))
    return float(relative_frequency(np.angle(moment) / (2.0 * np.pi), 0.0))


def _fit_grid(p: np.ndarray, u: np.ndarray, bands: np.ndarray, windows: np.ndarray):
    """Least-squares amplitude and floor of the model for every (band, window) pair.

    Returns cost, amplitude, floor arrays of shape (len(bands), len(windows)).
    """
    n = p.size
    inside = np.abs(u)[None, :] < bands[:, None] / 2.0
    inside[bands >= 1.0, :] = True
    cos = np.cos(2.0 * np.pi * u[None, :] / bands[:, None])  # (B, n)
    shape = windows[None, :, None] + (1.0 - windows[None, :, None]) * cos[:, None, :]
    shape = np.where(inside[:, None, :], shape**2, 0.0)  # (B, W, n)
    s1 = shape.sum(-1)
    s2 = (shape**2).sum(-1)
    ps = (shape * p).sum(-1)
    p1 = p.sum()
    p2 = (p**2).sum()
    out_count = n - inside.sum(-1)[:, None]  # (B, 1)
    det = s2 * n - s1**2
    with np.errstate(divide="ignore", invalid="ignore"):
        amp = np.where(det > 1e-9 * n * s2, (ps * n - p1 * s1) / det, ps / s2)
        floor = np.where(det > 1e-9 * n * s2, (s2 * p1 - s1 * ps) / det, 0.0)
    no_floor = (floor < 0.0) | (out_count == 0)
    amp = np.where(no_floor, ps / s2, amp)
    floor = np.where(no_floor, 0.0, floor)
    amp = np.maximum(amp, 0.0)
    cost = p2 - 2 * amp * ps - 2 * floor * p1 + amp**2 * s2 + 2 * amp * floor * s1 + n * floor**2
    return cost, amp, floor


def fit_axis(profile: np.ndarray) -> AxisEstimate:
    """Fit centroid, band fraction and generalized Hamming weighting to a power profile.

    Parameters
    ----------
    profile : numpy.ndarray
        Average power profile in FFT order (for example from :func:`axis_periodogram`).

    Returns
    -------
    AxisEstimate
        The parameters of the least-squares best model ``A * hamming_power(u, a, B) + F``,
        searched on a grid of band fractions (half-bin steps), weights (0.5 to 1.0) and band
        centres (quarter-bin steps within one bin of the circular centroid), then refined.
    """
    p = np.asarray(profile, dtype=np.float64)
    n = p.size
    p = p / p.mean()
    freqs = sp_fft.fftfreq(n)
    centre0 = circular_centroid(p)
    all_bands = np.arange(max(4, int(0.1 * n)), 2 * n + 1) / (2.0 * n)

    def search(centres, bands, windows):
        best = None
        for centre in centres:
            cost, amp, floor = _fit_grid(p, relative_frequency(freqs, centre), bands, windows)
            # a band must stand out of the floor: a flat profile is a full band, not a floor
            cost = np.where(amp >= floor, cost, np.inf)
            i, j = np.unravel_index(np.argmin(cost), cost.shape)
            if best is None or cost[i, j] < best[0] - 1e-12:
                best = (cost[i, j], centre, bands[i], windows[j], amp[i, j], floor[i, j])
        return best

    # coarse: all band fractions at the circular centroid, coarse weights
    _, centre, band, window, _, _ = search([centre0], all_bands, _WINDOW_GRID[::5])
    # fine: centre offsets, nearby bands and weights
    near_bands = all_bands[np.abs(all_bands - band) <= 16.0 / (2.0 * n)]
    near_windows = np.clip(np.arange(window - 0.1, window + 0.1001, 0.01), 0.5, 1.0)
    centres = centre0 + _OFFSET_STEPS / n
    _, centre, band, window, _, _ = search(centres, near_bands, np.unique(near_windows))
    fine = np.unique(np.clip(np.arange(window - 0.01, window + 0.0101, 0.002), 0.5, 1.0))
    cost_k, centre, band, window, amplitude, floor_level = search([centre], np.array([band]), fine)
    window, amplitude, floor_level = float(window), float(amplitude), float(floor_level)
    if band >= 1.0 - 2.0 / n and window >= 0.99:
        centre = 0.0  # a flat, full band has no centre
    rms = float(np.sqrt(max(cost_k, 0.0) / n))
    moment = np.sum(p * np.exp(2j * np.pi * freqs))
    estimate = AxisEstimate(
        centroid=float(relative_frequency(centre, 0.0)),
        band_fraction=float(band),
        window=round(window, 4),
        floor=floor_level / (amplitude + floor_level) if amplitude + floor_level > 0 else 0.0,
        fit_error=rms,
        lag1=float(np.abs(moment) / p.sum()),
        profile=tuple(float(v) for v in p),
    )
    LOG.debug("axis fit: %s", estimate)
    return estimate
