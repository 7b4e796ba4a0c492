"""Conversions between the pixel domains SAR rasters come in and speckle intensity."""

from __future__ import annotations

import numpy as np

from .errors import InputError

INTENSITY = "intensity"
AMPLITUDE = "amplitude"
COMPLEX = "complex"
AUTO = "auto"
DOMAINS = (INTENSITY, AMPLITUDE)
#: The DOMAIN parameter's options, by index (public API: indices never change meaning).
DOMAIN_OPTIONS = (INTENSITY, AMPLITUDE, AUTO)


def check_domain(domain: str, auto: bool = True) -> None:
    """Raise :class:`InputError` unless ``domain`` is a DOMAIN value (``auto``: "auto" too)."""
    allowed = (*DOMAINS, AUTO) if auto else DOMAINS
    if domain not in allowed:
        raise InputError(f"DOMAIN must be one of {allowed}, not {domain!r}.")


def to_intensity(values: np.ndarray, domain: str) -> np.ndarray:
    """Intensity (power) of pixels given in ``domain``; complex arrays always give |z|^2.

    NaN stays NaN (nodata). Negative amplitudes square to positive intensities, so callers
    validate signs before converting.
    """
    if np.iscomplexobj(values):
        return values.real.astype(np.float32) ** 2 + values.imag.astype(np.float32) ** 2
    values = values.astype(np.float32, copy=False)
    if domain == AMPLITUDE:
        return values * values
    if domain == INTENSITY:
        return values
    raise ValueError(f"unknown domain {domain!r}")


def from_intensity(intensity: np.ndarray, domain: str) -> np.ndarray:
    """Convert an intensity estimate back to the output domain (complex input gives intensity)."""
    if domain == AMPLITUDE:
        return np.sqrt(intensity, dtype=np.float32)
    return intensity.astype(np.float32, copy=False)


def std_from_intensity(std: np.ndarray, intensity: np.ndarray, domain: str) -> np.ndarray:
    """Standard deviation in the output domain; for amplitude by the delta method
    ``std_A = std_I / (2 sqrt(I))``."""
    if domain == AMPLITUDE:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (std / (2.0 * np.sqrt(intensity))).astype(np.float32)
    return std.astype(np.float32, copy=False)
