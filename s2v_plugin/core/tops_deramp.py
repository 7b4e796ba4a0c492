"""TOPS deramping of Sentinel-1 IW/EW bursts (ESA S1-TN-MDA-52-7445).

In TOPS mode the antenna is steered in azimuth during each burst, so the Doppler centroid of the
focused data sweeps linearly along the burst at the rate ``k_t`` (Hz/s): a local window sees a
narrow band at a moving centre. Multiplying the burst by ``exp(-j phi)`` with

    phi(eta, tau) = pi k_t(tau) (eta - eta_ref(tau))^2 + 2 pi f_etac(tau) (eta - eta_ref(tau))

moves every line to base band (plus nothing: the Doppler centroid term is removed too), after
which the azimuth spectrum is stationary along the burst and can be whitened like stripmap data.
Symbols (per burst, per range sample ``x``):

* ``tau = slantRangeTime + x / rangeSamplingRate`` (two-way slant range time);
* ``eta = (line - linesPerBurst // 2) * azimuthTimeInterval`` (the SLC line interval, not 1/PRF);
* ``k_psi = azimuthSteeringRate * pi / 180``; ``v_s = |v|`` at mid-burst;
  ``k_s = 2 v_s k_psi / lambda``;
* ``k_a(tau)``: the azimuth FM-rate polynomial nearest in time to the burst (own ``t0``);
* ``f_etac(tau)``: the Doppler centroid polynomial nearest in time (``dataDcPolynomial``, or the
  geometry one when dcMethod is not data analysis), own ``t0``;
* ``k_t = k_a k_s / (k_a - k_s)``; ``eta_c = -f_etac / k_a``;
  ``eta_ref(tau) = eta_c(tau) - eta_c(tau of the first sample)``.

Reramping multiplies by ``exp(+j phi)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError


@dataclass(frozen=True)
class BurstRamp:
    """The deramping function of one burst, as functions of burst line and swath sample.

    Attributes
    ----------
    lines_per_burst : int
    azimuth_time_interval : float
        SLC line interval (s).
    slant_range_time, range_sampling_rate : float
        Range time of sample 0 (s) and sampling rate (Hz).
    k_s : float
        Doppler rate of the antenna steering (Hz/s).
    fm_rate, doppler_centroid : callable
        ``k_a(tau)`` and ``f_etac(tau)``.
    """

    lines_per_burst: int
    azimuth_time_interval: float
    slant_range_time: float
    range_sampling_rate: float
    k_s: float
    fm_rate: object
    doppler_centroid: object

    def range_time(self, samples) -> np.ndarray:
        """Slant range time ``tau`` of swath samples."""
        return (
            self.slant_range_time + np.asarray(samples, dtype=np.float64) / self.range_sampling_rate
        )

    def azimuth_time(self, lines) -> np.ndarray:
        """``eta``: time of burst lines relative to mid-burst (s)."""
        centre = self.lines_per_burst // 2
        return (np.asarray(lines, dtype=np.float64) - centre) * self.azimuth_time_interval

    def rates(self, samples) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(k_t, f_etac, eta_ref)`` at swath ``samples``."""
        tau = self.range_time(samples)
        k_a = self.fm_rate(tau)
        f_dc = self.doppler_centroid(tau)
        k_t = k_a * self.k_s / (k_a - self.k_s)
        eta_c = -f_dc / k_a
        tau0 = self.range_time(0.0)
        eta_c0 = -self.doppler_centroid(tau0) / self.fm_rate(tau0)
        return k_t, f_dc, eta_c - eta_c0

    def phase(self, lines, samples) -> np.ndarray:
        """``phi`` (radians) on the grid burst ``lines`` x swath ``samples`` (float positions
        allowed): shape (len(lines), len(samples))."""
        k_t, f_dc, eta_ref = self.rates(samples)
        eta = self.azimuth_time(lines)[:, None] - eta_ref[None, :]
        return np.pi * k_t[None, :] * eta**2 + 2.0 * np.pi * f_dc[None, :] * eta

    def doppler_rate_per_line(self, samples) -> np.ndarray:
        """``k_t * dt^2``: the centroid sweep in cycles/sample per line at ``samples``."""
        k_t, _, _ = self.rates(samples)
        return k_t * self.azimuth_time_interval**2


def burst_ramp(annotation, burst_index: int) -> BurstRamp:
    """The deramping function of a burst of a :class:`~..io.sentinel1_safe.SwathAnnotation`.

    Raises
    ------
    InputError
        When the annotation lacks the steering rate, FM rates, Doppler centroids or orbit.
    """
    if not 0 <= burst_index < len(annotation.bursts):
        raise InputError(
            f"Burst {burst_index + 1} does not exist: the swath has {len(annotation.bursts)}."
        )
    missing = [
        name
        for name, ok in (
            ("azimuthSteeringRate", annotation.azimuth_steering_rate != 0.0),
            ("azimuthFmRateList", bool(annotation.fm_rates)),
            ("dcEstimateList", bool(annotation.doppler_centroids)),
            ("orbitList", len(annotation.orbit.times) >= 2),
        )
        if not ok
    ]
    if missing:
        raise InputError(
            f"The annotation '{annotation.path}' lacks {', '.join(missing)}: TOPS bursts cannot "
            "be deramped without them. Use the product's own annotation XML."
        )
    burst = annotation.bursts[burst_index]
    dt = annotation.azimuth_time_interval
    mid_time = burst.azimuth_time + (annotation.lines_per_burst // 2) * dt
    v_s = float(np.linalg.norm(annotation.orbit.velocity(mid_time)))
    k_psi = annotation.azimuth_steering_rate * np.pi / 180.0
    k_s = 2.0 * v_s * k_psi / annotation.wavelength
    return BurstRamp(
        lines_per_burst=annotation.lines_per_burst,
        azimuth_time_interval=dt,
        slant_range_time=annotation.slant_range_time,
        range_sampling_rate=annotation.range_sampling_rate,
        k_s=k_s,
        fm_rate=annotation.nearest_fm_rate(mid_time),
        doppler_centroid=annotation.nearest_doppler_centroid(mid_time),
    )


def deramp(data: np.ndarray, ramp: BurstRamp, first_line: int, first_sample: int, sign: int = -1):
    """Multiply a window of a burst by ``exp(sign * j phi)`` (deramp: -1, reramp: +1).

    Parameters
    ----------
    data : numpy.ndarray
        Complex window (rows = burst lines from ``first_line``, columns = swath samples from
        ``first_sample``); NaN stays NaN.
    ramp : BurstRamp
    first_line, first_sample : int
        Burst line and swath sample of ``data[0, 0]``.
    sign : {-1, +1}

    Returns
    -------
    numpy.ndarray
        complex64.
    """
    rows, cols = data.shape
    phase = ramp.phase(first_line + np.arange(rows), first_sample + np.arange(cols))
    return (data * np.exp(1j * sign * phase)).astype(np.complex64)


class SwathRamp:
    """Deramping functions over a raster cut from a swath (possibly spanning several bursts).

    Parameters
    ----------
    annotation : SwathAnnotation
        The swath's annotation.
    first_line, first_sample : int
        Swath line and sample of the raster's pixel (0, 0).
    """

    def __init__(self, annotation, first_line: int = 0, first_sample: int = 0) -> None:
        self.annotation = annotation
        self.first_line = int(first_line)
        self.first_sample = int(first_sample)
        self._ramps: dict[int, BurstRamp] = {}

    def ramp(self, burst_index: int) -> BurstRamp:
        """The (cached) deramping function of a burst."""
        if burst_index not in self._ramps:
            self._ramps[burst_index] = burst_ramp(self.annotation, burst_index)
        return self._ramps[burst_index]

    def phase(self, rows, cols) -> np.ndarray:
        """``phi`` on raster ``rows`` x ``cols`` (float positions allowed; each row uses the
        burst its swath line falls in)."""
        rows = np.asarray(rows, dtype=np.float64)
        cols = np.asarray(cols, dtype=np.float64)
        lines = self.first_line + rows
        per_burst = self.annotation.lines_per_burst
        bursts = np.floor(lines / per_burst).astype(np.int64)
        out = np.empty((rows.size, cols.size))
        for burst in np.unique(bursts):
            self.annotation.burst_of_line(int(burst) * per_burst)  # range check
            pick = bursts == burst
            out[pick] = self.ramp(int(burst)).phase(
                lines[pick] - burst * per_burst, self.first_sample + cols
            )
        return out

    def apply(self, data: np.ndarray, row: float, col: float, sign: int = -1, step=(1.0, 1.0)):
        """``data * exp(sign j phi)`` for a window whose pixel (i, j) lies at raster position
        ``(row + i * step[0], col + j * step[1])``; complex64, NaN stays NaN."""
        rows = row + step[0] * np.arange(data.shape[0])
        cols = col + step[1] * np.arange(data.shape[1])
        return (data * np.exp(1j * sign * self.phase(rows, cols))).astype(np.complex64)

    def invalid_mask(self, row: int, col: int, rows: int, cols: int) -> np.ndarray:
        """True where the annotation's firstValidSample/lastValidSample mark a sample invalid."""
        mask = np.zeros((rows, cols), dtype=bool)
        per_burst = self.annotation.lines_per_burst
        samples = self.first_sample + col + np.arange(cols)
        for i in range(rows):
            line = self.first_line + row + i
            burst = self.annotation.bursts[self.annotation.burst_of_line(line)]
            first = burst.first_valid_sample[line - burst.index * per_burst]
            last = burst.last_valid_sample[line - burst.index * per_burst]
            mask[i] = (first < 0) | (samples < first) | (samples > last)
        return mask


def deramped_azimuth_estimate(blind, annotation):
    """The azimuth spectrum of deramped TOPS data, from the product's processing parameters.

    After deramping, the Doppler centroid term is removed (centroid 0) and the band is the
    azimuth processing bandwidth times the line interval, weighted by the processor's window
    (annotation ``azimuthProcessing``). Blind estimates of the deramped data agree on land
    (measured on the shared crop: centroid -0.004, band 0.641, Hamming 0.752 against 0, 0.645,
    0.75), but dark areas (sea at the noise floor, with azimuth ambiguities at the band edge)
    pull a blind fit off, so the annotation's values are used.

    Parameters
    ----------
    blind : AxisEstimate
        The blind estimate (its profile length and lag-1 are kept).
    annotation : SwathAnnotation

    Returns
    -------
    AxisEstimate
    """
    from dataclasses import replace

    from .spectrum import hamming_power

    band = float(annotation.azimuth_processing_bandwidth * annotation.azimuth_time_interval)
    band = min(max(band, 1e-3), 1.0)
    window = float(annotation.azimuth_window_coefficient)
    size = max(len(blind.profile), 32)
    profile = hamming_power(np.fft.fftfreq(size), window, band)
    profile = profile / profile.mean()
    return replace(
        blind, centroid=0.0, band_fraction=band, window=window, floor=0.0, tilt=0.0,
        profile=tuple(profile),
    )  # fmt: skip
