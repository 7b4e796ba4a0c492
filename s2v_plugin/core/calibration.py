"""Radiometric calibration of Sentinel-1 intensities: sigma0, beta0 or gamma0 (linear).

``calibrated = (|DN|^2 - noise) / A^2``, with ``A`` the product's calibration look-up table
(``sigmaNought``, ``betaNought`` or ``gamma``) and ``noise`` the thermal noise (range vectors
times the azimuth profile), both interpolated bilinearly from their sparse grids.

It is applied *after* despeckling: the gain ``1 / A^2`` varies slowly (over hundreds of pixels)
and the posterior mean commutes with such a scaling, while subtracting the noise before
despeckling would make dark pixels negative and break the despeckler's gamma speckle model;
the despeckled mean intensity minus the noise is the unbiased estimate. Negative results
(noise above the despeckled signal) are set to 0.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

#: Calibrations the plugin writes.
CALIBRATIONS = ("none", "sigma0", "beta0", "gamma0")


def bilinear(grid_rows, grid_cols, table, rows, cols) -> np.ndarray:
    """Bilinear interpolation of ``table`` (grid_rows x grid_cols) at ``rows`` x ``cols``
    (clamped at the grid's edges).

    Returns
    -------
    numpy.ndarray
        Shape (len(rows), len(cols)).
    """
    grid_rows = np.asarray(grid_rows, dtype=np.float64)
    table = np.asarray(table, dtype=np.float64)
    across = np.array([np.interp(cols, grid_cols, line) for line in table])
    if grid_rows.size == 1:
        return np.repeat(across, len(rows), axis=0)
    rows = np.asarray(rows, dtype=np.float64)
    upper = np.clip(np.searchsorted(grid_rows, rows, side="right"), 1, grid_rows.size - 1)
    lower = upper - 1
    span = grid_rows[upper] - grid_rows[lower]
    weight = np.clip((rows - grid_rows[lower]) / np.where(span == 0, 1, span), 0.0, 1.0)
    return across[lower] * (1 - weight)[:, None] + across[upper] * weight[:, None]


def calibration_lut(vectors, name: str, times, samples) -> np.ndarray:
    """The calibration amplitude ``A`` at azimuth ``times`` x swath ``samples``.

    Parameters
    ----------
    vectors : CalibrationVectors
    name : {"sigma0", "beta0", "gamma0"}
    times, samples : array_like
        Output line times (s since the epoch) and swath sample positions.
    """
    if name not in CALIBRATIONS[1:]:
        raise InputError(f"Unknown calibration '{name}': use one of {', '.join(CALIBRATIONS)}.")
    return bilinear(vectors.times, vectors.pixels, vectors.table(name), times, samples)


def noise_power(noise, times, swath_lines, samples) -> np.ndarray:
    """Thermal noise intensity (DN^2) at output lines (their ``times`` and ``swath_lines``) x
    swath ``samples``: range vectors interpolated in time, times the azimuth profile."""
    ranged = bilinear(noise.times, noise.pixels, noise.range_table, times, samples)
    profile = np.interp(swath_lines, noise.azimuth_lines, noise.azimuth_values)
    return ranged * profile[:, None]


def calibrate(intensity: np.ndarray, lut: np.ndarray, noise: np.ndarray | None = None):
    """``max(intensity - noise, 0) / lut^2`` (NaN stays NaN), float32."""
    values = np.asarray(intensity, dtype=np.float64)
    if noise is not None:
        values = np.maximum(values - noise, 0.0, where=np.isfinite(values), out=values.copy())
    return (values / lut**2).astype(np.float32)
