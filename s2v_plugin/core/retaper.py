"""Retapering: the despeckled intensity back at the product's own (tapered) resolution.

Whitening (:mod:`.whitening`) turns the processor's tapered band into a flat one, so the
intensity point response ``|h|^2`` of a decorrelated image is sinc-squared-like, with sidelobes
that fall off as ``1/x^2``: bright land and strong scatterers leak into dark sea. A despeckled
estimate of that image is ``truth (*) |h_white|^2``. On a grid that keeps the oversampling, a
fixed separable linear filter whose transfer function along each axis is

.. math::

    G(f) = \\mathcal{F}[|h_{taper}|^2](f) \\, / \\, \\mathcal{F}[|h_{white}|^2](f)

(both the circular autocorrelation of the band's amplitude spectrum, so the ratio is bounded)
turns it into ``truth (*) |h_taper|^2``: the intensity at the product's tapered resolution, with
its low sidelobes. Only the final estimate is filtered; the network still sees white speckle.

* DC gain 1 (the mean intensity is kept); a flat band gives ``G = 1`` (identity).
* The ``1/x^2`` tails are cancelled only within the kernel's radius, so the radius is long
  (:data:`RADIUS`) and the tile halo grows by :attr:`Retaper.halo`.
* Point targets keep their value: they are replaced by the median of a ring of the estimate
  before filtering, and put back afterwards. Nodata stays nodata; pixels whose kernel reaches
  too much nodata are left unfiltered.
* With the oversampling removed, the whitened point response is a delta on the output grid (its
  leakage is sub-pixel aliasing that no filter on that grid undoes): no filter.

The filter's parameters come from the decorrelator's metadata (``S2V_DECORRELATION_*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import fft as sp_fft
from scipy.ndimage import correlate1d, maximum_filter, median_filter

from .whitening import edge_rolloff

#: Kernel radius (px): the leakage is cancelled up to this distance from its source.
RADIUS = 128
#: Frequency grid of the kernel design (independent of the raster and the tile).
DESIGN_LENGTH = 2048
#: Point targets and the pixels within this Chebyshev distance of them (their main lobe) are
#: replaced by the background before filtering and keep their values.
TARGET_DILATION = 2
#: Outer Chebyshev radius of the ring, just outside the dilation, whose median is that background.
TARGET_RING = TARGET_DILATION + 2
#: Smallest share of the kernel's weight on valid pixels for a pixel to be filtered.
MIN_VALID_WEIGHT = 0.95
PREFIX = "S2V_DECORRELATION_"


@dataclass(frozen=True)
class AxisBand:
    """The band along one axis of the estimate's grid.

    Attributes
    ----------
    band_fraction : float
        Occupied fraction of the sampled band, in (0, 1].
    window : float
        Generalised Hamming coefficient ``a`` of the product's taper, in [0, 1].
    rolloff : float
        The decorrelator's band-edge roll-off (:func:`.whitening.edge_rolloff`; 0: sharp edges,
        as before it had one).
    """

    band_fraction: float
    window: float
    rolloff: float = 0.0

    def kernel(self, radius: int = RADIUS) -> np.ndarray:
        """The retapering filter's taps, ``2 radius + 1`` of them, summing to 1 (float64).

        An axis without oversampling (``band_fraction`` 1) has no sidelobes to take back on
        its grid: its filter is the identity.
        """
        if self.band_fraction >= 1.0:
            kernel = np.zeros(2 * radius + 1)
            kernel[radius] = 1.0
            return kernel
        n = DESIGN_LENGTH
        freqs = sp_fft.fftfreq(n)
        b = self.band_fraction
        inside = (freqs >= -b / 2) & (freqs < b / 2)
        weight = self.window + (1.0 - self.window) * np.cos(2 * np.pi * freqs / b)
        rolloff = edge_rolloff(freqs, b, self.rolloff)
        # the target keeps the roll-off too: both autocorrelations then vanish alike at the
        # largest lags and their ratio stays bounded
        tapered = np.where(inside, weight, 0.0) * rolloff
        white = rolloff
        taper_psf = np.abs(sp_fft.ifft(tapered)) ** 2
        white_psf = np.abs(sp_fft.ifft(white)) ** 2
        ratio = (
            sp_fft.fft(taper_psf / taper_psf.sum()).real
            / sp_fft.fft(white_psf / white_psf.sum()).real
        )
        taps = sp_fft.ifft(ratio).real
        kernel = np.concatenate([taps[-radius:], taps[: radius + 1]]) if radius else taps[:1]
        return kernel / kernel.sum()


@dataclass(frozen=True)
class Retaper:
    """The separable retapering filter of one decorrelated raster."""

    azimuth: AxisBand
    range_: AxisBand
    radius: int = RADIUS

    @property
    def halo(self) -> int:
        """Context (px) the filter needs around a pixel: its radius plus the target ring."""
        return self.radius + TARGET_RING

    @cached_property
    def kernels(self) -> tuple[np.ndarray, np.ndarray]:
        """(azimuth, range) taps."""
        return self.azimuth.kernel(self.radius), self.range_.kernel(self.radius)

    def describe(self) -> str:
        return (
            f"retapered to the product's resolution (generalised Hamming "
            f"{self.azimuth.window:.3f} x {self.range_.window:.3f}, band "
            f"{self.azimuth.band_fraction:.3f} x {self.range_.band_fraction:.3f}, "
            f"radius {self.radius} px)"
        )

    def apply(self, estimate: np.ndarray, targets: np.ndarray | None = None) -> np.ndarray:
        """Filter one window of despeckled intensity.

        Parameters
        ----------
        estimate : numpy.ndarray
            2-D intensity, NaN for nodata. Only pixels at least :attr:`halo` from the window's
            edges are exact (the rest sees the window's edge).
        targets : numpy.ndarray, optional
            Point targets: they keep their value and do not spread.

        Returns
        -------
        numpy.ndarray
            float32, same shape; non-negative where the input is.
        """
        values = np.asarray(estimate, dtype=np.float64)
        valid = np.isfinite(values)
        targets = np.zeros(values.shape, bool) if targets is None else np.asarray(targets, bool)
        work = np.where(valid, values, 0.0)
        if targets.any():
            # the main lobe of a target is as bright as a target: it must not spread either
            size = 2 * TARGET_DILATION + 1
            targets = maximum_filter(targets, size=size, mode="nearest")
            background = median_filter(work, footprint=_ring(), mode="nearest")
            work = np.where(targets, background, work)
        k_az, k_rg = self.kernels
        filtered = self._separable(work, k_az, k_rg)
        weight = self._separable(valid.astype(np.float64), k_az, k_rg) if not valid.all() else 1.0
        with np.errstate(invalid="ignore", divide="ignore"):
            filtered = np.maximum(filtered / weight, 0.0)
        keep = targets | ~valid | (np.asarray(weight) < MIN_VALID_WEIGHT)
        return np.where(keep, values, filtered).astype(np.float32)

    @staticmethod
    def _separable(data: np.ndarray, k_az: np.ndarray, k_rg: np.ndarray) -> np.ndarray:
        # direct (not FFT) correlation: every output pixel sums the same taps in the same
        # order whatever the window, so tiled and untiled runs agree to the bit
        out = correlate1d(data, k_az, axis=0, mode="nearest")
        return correlate1d(out, k_rg, axis=1, mode="nearest")


def _ring() -> np.ndarray:
    """Pixels at Chebyshev distance in ``(TARGET_DILATION, TARGET_RING]`` from the centre."""
    yy, xx = np.mgrid[-TARGET_RING : TARGET_RING + 1, -TARGET_RING : TARGET_RING + 1]
    return np.maximum(np.abs(yy), np.abs(xx)) > TARGET_DILATION


def retaper_from_metadata(items: dict | None) -> tuple[Retaper | None, str]:
    """The filter for a raster with these metadata items, or None, and why (for the log).

    Needs ``S2V_DECORRELATION_DECORRELATED=YES``, the oversampling kept
    (``S2V_DECORRELATION_OVERSAMPLING_REMOVED=NO``) and the band fractions and windows of
    both axes.
    """
    items = items or {}
    if str(items.get(PREFIX + "DECORRELATED", "")).upper() != "YES":
        return None, "the input carries no decorrelation metadata (not whitened by this plugin)"
    if str(items.get(PREFIX + "OVERSAMPLING_REMOVED", "YES")).upper() == "YES":
        return None, (
            "the oversampling was removed: the whitened point response is a delta on that grid"
        )
    try:
        rolloff = float(items.get(PREFIX + "EDGE_ROLLOFF", 0.0))
        bands = [
            AxisBand(
                float(items[PREFIX + f"{axis}_BAND_FRACTION"]),
                float(items[PREFIX + f"{axis}_WINDOW"]),
                rolloff,
            )
            for axis in ("AZIMUTH", "RANGE")
        ]
    except (KeyError, ValueError):
        return None, "the decorrelation metadata lack the band fractions or windows"
    for band in bands:
        if not (
            0.0 < band.band_fraction <= 1.0
            and 0.0 <= band.window <= 1.0
            and 0.0 <= band.rolloff < 0.5
        ):
            return None, "the decorrelation metadata hold an impossible band or window"
    if all(band.window >= 1.0 or band.band_fraction >= 1.0 for band in bands):
        return None, "the band is flat and full: nothing to retaper"
    return Retaper(*bands), ""
