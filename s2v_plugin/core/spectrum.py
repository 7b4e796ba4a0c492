"""Blind estimation of the SLC spectrum along one axis.

The expected power spectrum of a single-look complex image with fully developed speckle is the
squared system transfer function ``|H(f)|^2`` times the mean reflectivity, whatever the scene
texture (``sqrt(R) w`` is white when ``w`` is), so the average of many short periodograms
measures ``|H|^2`` directly. Along one axis this module

* averages the periodograms of all complete lines of sampled blocks
  (:class:`PeriodogramAccumulator`),
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

#: Largest accepted floor, relative to the in-band peak power above it.
MAX_FLOOR = 0.2
#: A tilted model is kept only when its squared misfit is below this fraction of the symmetric
#: model's.
TILT_GAIN = 0.7


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
    tilt : float
        Linear slope of the in-band power relative to its centre value, per cycle/sample.
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
    tilt: float = 0.0
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
        Number of samples per periodogram (segment); blocks must be at least this long along
        ``axis``.
    """

    def __init__(self, axis: int, length: int) -> None:
        self.axis = axis
        self.length = length
        self._sum = np.zeros(length, dtype=np.float64)
        self._raw = np.zeros(length, dtype=np.float64)
        self.blocks = 0
        self.lines = 0

    def add(self, block: np.ndarray) -> None:
        """Add the periodograms of every complete (all finite) segment of ``block``'s lines.

        Lines longer than ``length`` are cut into segments of ``length`` samples overlapping
        by half (Welch); segments holding a NaN are skipped.
        """
        lines = np.moveaxis(np.asarray(block), self.axis, -1)
        size = lines.shape[-1]
        if size < self.length:
            raise ValueError(f"lines of {size} samples are shorter than {self.length}")
        step = max(1, self.length // 2)
        starts = list(range(0, size - self.length + 1, step))
        if starts[-1] != size - self.length:
            starts.append(size - self.length)
        for start in starts:
            segments = lines[..., start : start + self.length].reshape(-1, self.length)
            self._add_segments(segments[np.all(np.isfinite(segments), axis=-1)])

    def _add_segments(self, lines: np.ndarray) -> None:
        if lines.shape[0] == 0:
            return
        power = float(np.sum(np.abs(lines.astype(np.complex128)) ** 2))
        if power <= 0.0:
            return
        spectra = np.abs(sp_fft.fft(lines.astype(np.complex64), axis=-1)) ** 2
        summed = spectra.sum(axis=0, dtype=np.float64)
        self._sum += summed / power
        self._raw += summed
        self.blocks += 1
        self.lines += lines.shape[0]

    def profile(self) -> np.ndarray:
        """Average power profile (FFT order) normalised to mean 1."""
        if self.blocks == 0:
            raise ValueError("no complete line was added")
        profile = self._sum / self.blocks
        return profile / profile.mean()

    def power_profile(self) -> np.ndarray:
        """Average power profile with every line weighted by its power (the spectrum of the
        sampled image as a whole), normalised to mean 1."""
        if self.blocks == 0:
            raise ValueError("no complete line was added")
        return self._raw / self._raw.mean()


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


def _solve(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Batched least-squares normal equations with a tiny ridge against singular systems."""
    size = gram.shape[-1]
    ridge = 1e-10 * np.trace(gram, axis1=-2, axis2=-1)[..., None, None] * np.eye(size)
    return np.linalg.solve(gram + ridge, rhs[..., None])[..., 0]


def _fit_grid(
    p: np.ndarray, u: np.ndarray, bands: np.ndarray, windows: np.ndarray, tilt: bool = True
):
    """Least-squares fit of ``A s + T s u + F`` for every (band, window) pair.

    ``s`` is :func:`hamming_power` for the pair, ``T`` a linear tilt of the in-band power (real
    bands are often not symmetric; forced to 0 when ``tilt`` is False) and ``F`` a white floor
    (0 when the band fills everything).

    Returns
    -------
    tuple of numpy.ndarray
        cost, amplitude ``A``, floor ``F`` and relative tilt ``T / A``, each of shape
        (len(bands), len(windows)); impossible models (floor above :data:`MAX_FLOOR` of ``A``,
        negative power in band) cost ``inf``.
    """
    n = p.size
    inside = np.abs(u)[None, :] < bands[:, None] / 2.0
    inside[bands >= 1.0, :] = True
    cos = np.cos(2.0 * np.pi * u[None, :] / bands[:, None])  # (B, n)
    shape = windows[None, :, None] + (1.0 - windows[None, :, None]) * cos[:, None, :]
    shape *= shape
    shape *= inside[:, None, :]  # (B, W, n): hamming_power for every pair
    ones = np.ones(n)
    linear = shape @ np.stack([ones, p, u, u * p], axis=1)  # sums of s, s p, s u, s u p
    quadratic = (shape * shape) @ np.stack([ones, u, u * u], axis=1)  # s^2, s^2 u, s^2 u^2
    if not tilt:
        linear[..., 2:] = 0.0
        quadratic[..., 1:] = 0.0
    gram = np.empty(shape.shape[:2] + (3, 3))
    rhs = np.empty(shape.shape[:2] + (3,))
    gram[..., 0, 0] = quadratic[..., 0]
    gram[..., 0, 1] = gram[..., 1, 0] = quadratic[..., 1]
    gram[..., 1, 1] = quadratic[..., 2]
    gram[..., 0, 2] = gram[..., 2, 0] = linear[..., 0]
    gram[..., 1, 2] = gram[..., 2, 1] = linear[..., 2]
    gram[..., 2, 2] = n
    rhs[..., 0] = linear[..., 1]
    rhs[..., 1] = linear[..., 3]
    rhs[..., 2] = p.sum()
    if not tilt:
        gram[..., 1, 1] = 1.0  # T is 0: keep the system regular
    with_floor = _solve(gram, rhs)
    without = np.zeros_like(with_floor)
    without[..., :2] = _solve(gram[..., :2, :2], rhs[..., :2])
    out_count = n - inside.sum(-1)  # (B,)
    use_floor = (with_floor[..., 2] > 0.0) & (out_count[:, None] > 0)
    x = np.where(use_floor[..., None], with_floor, without)
    cost = (p**2).sum() - 2.0 * (x * rhs).sum(-1) + np.einsum("...i,...ij,...j->...", x, gram, x)
    amp, floor = x[..., 0], x[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(amp > 0, x[..., 1] / amp, 0.0)
    possible = (amp > 0) & (floor <= MAX_FLOOR * amp) & (np.abs(slope) * bands[:, None] < 1.8)
    return np.where(possible, cost, np.inf), amp, floor, slope


def fit_axis(profile: np.ndarray) -> AxisEstimate:
    """Fit centroid, band fraction and generalized Hamming weighting to a power profile.

    Parameters
    ----------
    profile : numpy.ndarray
        Average power profile in FFT order (for example from
        :meth:`PeriodogramAccumulator.profile`).

    Returns
    -------
    AxisEstimate
        The parameters of the least-squares best model
        ``(A + T u) * hamming_power(u, a, B) + F`` (``T``: in-band tilt, ``F``: white floor),
        searched coarse to fine over band centres within 0.1 cycles/sample of the circular
        centroid, band fractions (half-bin steps) and weights ``a`` from 0.5 to 1.0.
    """
    p = np.asarray(profile, dtype=np.float64)
    n = p.size
    p = p / p.mean()
    freqs = sp_fft.fftfreq(n)
    centre0 = circular_centroid(p)
    all_bands = np.arange(max(4, int(0.1 * n)), 2 * n + 1) / (2.0 * n)

    coarse_bands = all_bands[::-4][::-1]  # every fourth band fraction, 1.0 included

    def search(centres, bands, windows, tilt):
        best = None
        for centre in centres:
            u = relative_frequency(freqs, centre)
            cost, amp, floor, slope = _fit_grid(p, u, bands, windows, tilt)
            i, j = np.unravel_index(np.argmin(cost), cost.shape)
            if best is None or cost[i, j] < best[0] - 1e-12:
                best = (
                    cost[i, j],
                    centre,
                    bands[i],
                    windows[j],
                    amp[i, j],
                    floor[i, j],
                    slope[i, j],
                )
        return best

    def model(tilt):
        # coarse: band centres within 0.1 cycles/sample of the circular centroid (a tilted
        # band pulls the centroid off the band centre), all band fractions, coarse weights
        centres = centre0 + np.arange(-0.1, 0.1 + 1e-9, 8.0 / n)
        windows = np.arange(0.5, 1.0001, 0.05)
        best = search(centres, coarse_bands, windows, tilt)
        # finer around the coarse optimum, then finest
        for centre_step, centre_span, band_span, window_step, window_span in (
            (0.5, 4.0, 16, 0.01, 0.1),
            (0.125, 0.5, 2, 0.002, 0.01),
        ):
            _, centre, band, window = best[:4]
            centres = centre + np.arange(-centre_span, centre_span + 1e-9, centre_step) / n
            bands = all_bands[np.abs(all_bands - band) <= band_span / (2.0 * n) + 1e-12]
            windows = np.arange(window - window_span, window + window_span + 1e-9, window_step)
            windows = np.unique(np.clip(np.round(windows, 4), 0.5, 1.0))
            best = search(centres, bands, windows, tilt)
        return best

    symmetric = model(tilt=False)
    tilted = model(tilt=True)
    # a tilt must explain the profile clearly better, or it only trades with the centre
    chosen = tilted if tilted[0] < TILT_GAIN * symmetric[0] else symmetric
    cost_k, centre, band, window, amplitude, floor_level, tilt = chosen
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
        tilt=float(tilt),
        lag1=float(np.abs(moment) / p.sum()),
        profile=tuple(float(v) for v in p),
    )
    LOG.debug("axis fit: %s", estimate)
    return estimate
