"""Whitening filters along one axis, designed from an :class:`~.spectrum.AxisEstimate`.

The filter divides the spectrum by the square root of the measured in-band power profile
(smoothed inside the band only, so that the band edges are not pulled down by the empty part of
the spectrum), rolls it off over the outer :data:`EDGE_ROLLOFF` of the band on each side,
zeroes everything outside the band, and is scaled so that the mean intensity of
the image is unchanged. With ``remove_oversampling`` the occupied band is also cut out of the
spectrum and moved to base band (the centroid phase ramp is removed), so that the output has
``round(B * N)`` samples instead of ``N`` and its spectrum fills the whole sampled band: the
speckle is then white, not only flat in band.

Filters act on whole lines (one FFT per line), so applying them strip by strip gives exactly the
result of applying them to the whole image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft

from .spectrum import AxisEstimate, relative_frequency

#: Power below this fraction of the in-band peak is not amplified further (limits the gain
#: at the edges of strongly tapered, noise-free bands to about 14x in amplitude; real data
#: have a noise floor well above it).
MIN_RELATIVE_POWER = 0.005
#: Bins at each band edge whose level is replaced by that of their inner neighbours (against the
#: smearing of a sharp edge by the finite periodogram length). 0: measured best on the real
#: samples, whose band edges are not sharp; kept as a knob.
EDGE_BINS = 0
#: Width of the in-band smoothing of the measured profile, as a fraction of the sampled band.
SMOOTHING_BAND = 1.0 / 64.0
#: Width of the roll-off at each band edge, as a fraction of the band (0: a sharp edge). A sharp
#: edge makes the whitened point response a sinc whose intensity tails fall only as ``1/x^2``
#: and carry bright land far into dark sea; a raised-cosine power roll-off of a few % of the band
#: cuts that leakage at a complex lag-1 correlation of a few % (issue 9 item 4).
EDGE_ROLLOFF = 0.025


def _in_band(u: np.ndarray, band_fraction: float) -> np.ndarray:
    """``-B/2 <= u < B/2``: half open, so that a band of ``B * N`` bins keeps ``B * N`` bins."""
    if band_fraction >= 1.0:
        return np.ones(np.shape(u), dtype=bool)
    u = np.asarray(u)
    return (u >= -band_fraction / 2.0) & (u < band_fraction / 2.0)


def smoothed_band_profile(estimate: AxisEstimate) -> np.ndarray:
    """The measured power profile smoothed inside the band, FFT order.

    Values are meaningful inside the band (and continue its level just past the edges); the
    rest is 0.

    The smoothing is a moving average restricted to the band (normalised convolution), so that
    the empty part of the spectrum never pulls the band edges down; :data:`EDGE_BINS` outermost
    bins can also be left out of it.
    """
    profile = estimate.profile_array()
    n = profile.size
    u = relative_frequency(sp_fft.fftfreq(n), estimate.centroid)
    inside = _in_band(u, estimate.band_fraction)
    trusted = inside & _in_band(u, estimate.band_fraction - 2.0 * EDGE_BINS / n)
    if not trusted.any():
        trusted = inside
    half = max(3, int(round(SMOOTHING_BAND * n / 2)))
    kernel = np.ones(2 * half + 1)

    def circular(values: np.ndarray) -> np.ndarray:
        padded = np.concatenate([values[-half:], values, values[:half]])
        return np.convolve(padded, kernel, mode="valid")

    weights = circular(trusted.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        smooth = circular(profile * trusted) / weights
    # the smoothing also extends the in-band level a bin or two past the band edges, so that
    # interpolating onto a finer frequency grid never mixes in the empty part of the spectrum
    smooth = np.where(weights > 0, smooth, 0.0)
    # bins of a narrow band farther than the kernel from any trusted bin: raw values
    return np.where(inside & (weights == 0), profile, smooth)


def edge_rolloff(u: np.ndarray, band_fraction: float, width: float) -> np.ndarray:
    """Amplitude roll-off of the whitened band at relative frequencies ``u`` (cycles/sample).

    1 in the band's interior, ``cos(pi t / 2)`` over its outer ``width * band_fraction`` on each
    side (``t`` from 0 to 1 towards the edge: a raised cosine in power), 0 outside. A full band
    (``band_fraction`` 1) has no edge on its grid and keeps a flat response.
    """
    u = np.asarray(u, dtype=np.float64)
    inside = _in_band(u, band_fraction)
    if band_fraction >= 1.0 or width <= 0:
        return inside.astype(np.float64)
    ramp = width * band_fraction
    t = np.clip((np.abs(u) - (band_fraction / 2.0 - ramp)) / ramp, 0.0, 1.0)
    return np.where(inside, np.cos(np.pi * t / 2.0), 0.0)


def whitening_gain(estimate: AxisEstimate, freqs: np.ndarray) -> np.ndarray:
    """Unscaled amplitude gain of the whitening filter at ``freqs`` (cycles/sample).

    ``1 / sqrt(S(f))`` inside the band, where ``S`` is the in-band smoothed profile
    (periodically interpolated, floored at :data:`MIN_RELATIVE_POWER` of its peak); 0 outside.
    """
    smooth = smoothed_band_profile(estimate)
    n = smooth.size
    grid = sp_fft.fftshift(sp_fft.fftfreq(n))
    values = sp_fft.fftshift(smooth)
    power = np.interp(np.mod(freqs + 0.5, 1.0) - 0.5, grid, values, period=1.0)
    power = np.maximum(power, MIN_RELATIVE_POWER * smooth.max())
    u = relative_frequency(freqs, estimate.centroid)
    rolloff = edge_rolloff(u, estimate.band_fraction, EDGE_ROLLOFF)
    return np.where(rolloff > 0, rolloff / np.sqrt(power), 0.0)


@dataclass(frozen=True)
class AxisFilter:
    """A whitening filter for lines of ``length`` samples.

    Output FFT bin ``j`` is input bin ``source_bins[j]`` times ``gain[j]``; the output has
    ``output_length`` samples (fewer than ``length`` when oversampling is removed).
    """

    length: int
    output_length: int
    source_bins: np.ndarray
    gain: np.ndarray

    @property
    def resamples(self) -> bool:
        """True when the output has a different number of samples than the input."""
        return self.output_length != self.length

    @property
    def pixel_factor(self) -> float:
        """Output pixel size in input pixels (the oversampling factor removed, or 1)."""
        return self.length / self.output_length

    def output_positions(self, positions: np.ndarray) -> np.ndarray:
        """Nearest output sample of input sample indices."""
        out = np.rint(np.asarray(positions) / self.pixel_factor).astype(np.int64)
        return np.clip(out, 0, self.output_length - 1)

    def demodulation(self, positions: np.ndarray) -> np.ndarray:
        """Phase factors ``exp(-2 pi i k0 p / N)`` that the filter applies to a sample at input
        position ``p`` when it moves the band to base band (``k0``: the input bin sent to output
        bin 0); all ones when the spectrum is not cropped."""
        k0 = int(self.source_bins[0]) if self.source_bins.size else 0
        if k0 == 0:
            return np.ones(np.shape(positions), dtype=np.complex64)
        turns = np.mod(k0 * np.asarray(positions, dtype=np.int64), self.length) / self.length
        return np.exp(-2j * np.pi * turns).astype(np.complex64)

    def input_positions(self, positions: np.ndarray) -> np.ndarray:
        """Nearest input sample of output sample indices."""
        out = np.rint(np.asarray(positions) * self.pixel_factor).astype(np.int64)
        return np.clip(out, 0, self.length - 1)


def design_axis_filter(
    estimate: AxisEstimate,
    length: int,
    remove_oversampling: bool,
    power_profile: np.ndarray | None = None,
) -> AxisFilter:
    """Whitening filter for lines of ``length`` samples.

    Parameters
    ----------
    estimate : AxisEstimate
        Spectral parameters and average profile of the axis.
    length : int
        Samples per line (the image size along the axis).
    remove_oversampling : bool
        Keep only the occupied band, moved to base band (fewer output samples).
    power_profile : numpy.ndarray, optional
        Power-weighted average profile of the image (FFT order, same length as the estimate's
        profile); the filter is scaled to keep the mean intensity of data with this spectrum.
        Defaults to the estimate's (block-normalised) profile.

    Returns
    -------
    AxisFilter
        Scaled so that the mean intensity is preserved.
    """
    profile = estimate.profile_array() if power_profile is None else np.asarray(power_profile)
    # power gain measured on the estimation grid: sum G^2 P / sum P
    profile_gain = whitening_gain(estimate, sp_fft.fftfreq(profile.size))
    ratio = float(np.sum(profile_gain**2 * profile) / np.sum(profile))
    scale = 1.0 / np.sqrt(ratio) if ratio > 0 else 0.0
    freqs = sp_fft.fftfreq(length)
    gain = whitening_gain(estimate, freqs) * scale
    if not remove_oversampling:
        return AxisFilter(length, length, np.arange(length), gain.astype(np.float32))
    u = relative_frequency(freqs, estimate.centroid)
    inside = np.flatnonzero(_in_band(u, estimate.band_fraction))
    if inside.size == 0:
        inside = np.array([int(np.argmin(np.abs(u)))])
    output_length = int(inside.size)
    offsets = np.rint(u[inside] * length).astype(np.int64)
    order = np.argsort(np.mod(offsets, output_length), kind="stable")
    source = inside[order]
    # ifft over output_length instead of length: amplitude scale output_length / length
    out_gain = gain[source] * (output_length / length)
    return AxisFilter(length, output_length, source, out_gain.astype(np.float32))


def apply_axis_filter(data: np.ndarray, axis_filter: AxisFilter, axis: int) -> np.ndarray:
    """Filter complex lines along ``axis`` (every line complete: no NaN).

    Parameters
    ----------
    data : numpy.ndarray
        complex64 array with ``axis_filter.length`` samples along ``axis``.
    axis_filter : AxisFilter
        From :func:`design_axis_filter`.
    axis : int
        Axis holding the lines.

    Returns
    -------
    numpy.ndarray
        complex64 array with ``axis_filter.output_length`` samples along ``axis``.
    """
    spectrum = sp_fft.fft(np.asarray(data, dtype=np.complex64), axis=axis)
    shape = [1] * spectrum.ndim
    shape[axis] = -1
    gain = axis_filter.gain.reshape(shape)
    if axis_filter.resamples or not np.array_equal(
        axis_filter.source_bins, np.arange(axis_filter.length)
    ):
        spectrum = np.take(spectrum, axis_filter.source_bins, axis=axis)
    spectrum *= gain
    return sp_fft.ifft(spectrum, axis=axis).astype(np.complex64, copy=False)
