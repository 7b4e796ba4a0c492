"""Simulated single-look complex (SLC) SAR images with a known, correlated speckle spectrum.

Model
-----
A SAR processor turns a scene of reflectivity (clean intensity) ``R`` into an SLC ``z`` whose
speckle is correlated by the system's transfer function. We simulate fully developed,
single-look speckle as

.. math::

    z = \\mathcal{F}^{-1}\\left[ H_a(f_a) H_r(f_r) \\, \\mathcal{F}[\\sqrt{R} \\, w] \\right] / g

where ``w`` is white circular complex Gaussian noise of unit power (``E|w|^2 = 1``),
``F`` the 2-D discrete Fourier transform, and ``H_a``, ``H_r`` the separable amplitude
transfer functions along azimuth (rows, axis 0) and range (columns, axis 1). Each is described by
a :class:`SpectralShape`: with ``u`` the frequency relative to the centroid, wrapped into
``[-1/2, 1/2)`` cycles/sample, and ``B`` the occupied band fraction,

.. math::

    H(u) = a + (1 - a) \\cos(2 \\pi u / B) \\text{ for } |u| < B/2, \\text{ else } 0

(``a = 1`` flat, ``a = 0.54`` classic Hamming). The gain ``g = sqrt(mean|H_a|^2 mean|H_r|^2)``
(mean over the discrete frequencies) makes the filter preserve power, so ``E|z|^2 = R`` wherever
``R`` varies slowly compared with the speckle correlation length. With the default shapes
``H = 1`` and the speckle is white.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft


@dataclass(frozen=True)
class SpectralShape:
    """One axis of an SLC amplitude spectrum.

    Attributes
    ----------
    window : float
        Generalized Hamming coefficient ``a`` in ``a + (1 - a) cos(2 pi f / B)``; 1.0 is flat.
    band_fraction : float
        Occupied fraction ``B`` of the sampled band (1 / oversampling factor), in (0, 1].
    centroid : float
        Spectral centre in cycles/sample (the Doppler centroid in azimuth), any real value;
        it acts as a circular shift of the spectrum.
    """

    window: float = 1.0
    band_fraction: float = 1.0
    centroid: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.window <= 1.0:
            raise ValueError(f"window must be in [0, 1], not {self.window}")
        if not 0.0 < self.band_fraction <= 1.0:
            raise ValueError(f"band_fraction must be in (0, 1], not {self.band_fraction}")

    def transfer(self, n: int) -> np.ndarray:
        """Amplitude transfer function ``H`` at the ``n`` FFT frequencies (numpy FFT order).

        Parameters
        ----------
        n : int
            Number of samples along the axis.

        Returns
        -------
        numpy.ndarray
            float64 array of length ``n`` (not power-normalised).
        """
        freqs = sp_fft.fftfreq(n)
        relative = np.mod(freqs - self.centroid + 0.5, 1.0) - 0.5
        half = self.band_fraction / 2.0
        inside = np.abs(relative) < half
        if self.band_fraction >= 1.0:
            inside[:] = True
        weight = self.window + (1.0 - self.window) * np.cos(
            2.0 * np.pi * relative / self.band_fraction
        )
        return np.where(inside, weight, 0.0)


def simulate_correlated_slc(
    clean_intensity: np.ndarray,
    rng: np.random.Generator,
    azimuth: SpectralShape = SpectralShape(),
    range_: SpectralShape = SpectralShape(),
) -> np.ndarray:
    """Simulate a single-look complex SAR image with correlated speckle.

    Parameters
    ----------
    clean_intensity : numpy.ndarray
        2-D, finite, non-negative reflectivity (intensity) of the scene.
    rng : numpy.random.Generator
        Source of the speckle noise.
    azimuth : SpectralShape
        Spectral shape along rows (axis 0).
    range_ : SpectralShape
        Spectral shape along columns (axis 1).

    Returns
    -------
    numpy.ndarray
        complex64 array of the input's shape with ``E|z|^2 = clean_intensity`` (for slowly
        varying scenes) and the amplitude spectrum ``H_a(f_a) H_r(f_r)``; see the module
        docstring for the model.

    Raises
    ------
    ValueError
        When the input is not 2-D, or has negative or non-finite values.
    """
    clean = np.asarray(clean_intensity, dtype=np.float64)
    if clean.ndim != 2:
        raise ValueError(f"clean_intensity must be 2-D, not {clean.ndim}-D")
    if not np.all(np.isfinite(clean)) or np.any(clean < 0):
        raise ValueError("clean_intensity must be finite and non-negative")
    rows, cols = clean.shape
    noise = rng.standard_normal((rows, cols)) + 1j * rng.standard_normal((rows, cols))
    noise *= np.sqrt(0.5 * clean)
    h_az = azimuth.transfer(rows)
    h_rg = range_.transfer(cols)
    gain = np.sqrt(np.mean(h_az**2) * np.mean(h_rg**2))
    if gain == 0.0:
        raise ValueError("the spectral shapes leave no frequency in band; widen band_fraction")
    spectrum = sp_fft.fft2(noise)
    spectrum *= (h_az[:, None] / gain) * h_rg[None, :]
    return sp_fft.ifft2(spectrum).astype(np.complex64)
