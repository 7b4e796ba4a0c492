"""Classic adaptive speckle filters on 2-D intensity arrays (numpy/scipy only).

Every filter takes an intensity image (``float``, NaN marks nodata) and returns a float32 array
of the same shape. Notation used in the docstrings, for a pixel with intensity ``I``:

* ``mu``, ``var``: mean and (population) variance of the valid pixels of the ``w`` x ``w``
  window centred on the pixel;
* ``Ci^2 = var / mu^2``: squared coefficient of variation of the window;
* ``Cu^2 = 1 / L``: squared coefficient of variation of ``L``-look intensity speckle.

Edges are completed by mirror reflection that excludes the edge pixel (``[c b | a b c | b a]``),
the convention of :func:`~s2v_plugin.core.tiling.reflect_indices`. A filter's output at a pixel
depends only on the input within :func:`halo` pixels of it, so filtering a tile window read
with that halo and keeping its core gives the same result as filtering the whole image.

NaN pixels are left out of every window statistic and stay NaN in the output.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .errors import InputError

_MODE = "mirror"  # scipy's name for the edge-excluding reflection used by the tile reader


def _check(intensity: np.ndarray, window: int, looks: float) -> np.ndarray:
    array = np.asarray(intensity)
    if array.ndim != 2:
        raise InputError(f"A speckle filter needs a 2-D image, not shape {array.shape}.")
    if window < 3 or window % 2 == 0:
        raise InputError(f"The window size must be an odd number >= 3, not {window}.")
    if not looks > 0:
        raise InputError(f"The number of looks must be positive, not {looks}.")
    return array.astype(np.float64)


def _valid(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(image with NaN replaced by 0, 1.0 where valid / 0.0 where NaN), both float64."""
    valid = np.isfinite(image)
    return np.where(valid, image, 0.0), valid.astype(np.float64)


def local_stats(image: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population variance of the valid pixels in the ``window`` x ``window``
    neighbourhood of every pixel (NaN where the neighbourhood holds no valid pixel).

    Parameters
    ----------
    image : ndarray
        2-D float array, NaN for nodata.
    window : int
        Odd window size.

    Returns
    -------
    mean, variance : ndarray
        float64 arrays shaped like ``image``.
    """
    values, weights = _valid(np.asarray(image, dtype=np.float64))
    count = ndimage.uniform_filter(weights, window, mode=_MODE)
    total = ndimage.uniform_filter(values, window, mode=_MODE)
    squares = ndimage.uniform_filter(values * values, window, mode=_MODE)
    with np.errstate(divide="ignore", invalid="ignore"):
        has_data = count > 1e-9
        mean = np.where(has_data, total / np.where(has_data, count, 1.0), np.nan)
        mean_sq = np.where(has_data, squares / np.where(has_data, count, 1.0), np.nan)
    variance = np.maximum(mean_sq - mean * mean, 0.0)
    return mean, variance


def _finish(estimate: np.ndarray, image: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(image), estimate, np.nan).astype(np.float32)


def _squared_variation(mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """``Ci^2 = var / mu^2``; infinite where the mean is zero and the variance is not."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ci2 = variance / (mean * mean)
    return np.where((variance == 0) & (mean == 0), 0.0, ci2)


def boxcar(intensity: np.ndarray, window: int = 7, looks: float = 1.0) -> np.ndarray:
    """Boxcar (moving average) filter: ``I_hat = mu``.

    Parameters
    ----------
    intensity : ndarray
        2-D intensity image, NaN for nodata.
    window : int
        Odd window size in pixels.
    looks : float
        Unused (kept so every filter has the same signature).

    Returns
    -------
    ndarray
        float32 estimate, NaN where the input is NaN.
    """
    image = _check(intensity, window, looks)
    mean, _ = local_stats(image, window)
    return _finish(mean, image)


def lee(intensity: np.ndarray, window: int = 7, looks: float = 1.0) -> np.ndarray:
    """Lee filter (Lee 1980, in the form of Lopes, Touzi and Nezry 1990).

    ``I_hat = mu + W (I - mu)`` with ``W = 1 - Cu^2 / Ci^2`` clipped to ``[0, 1]``:
    the window mean over homogeneous areas (``Ci <= Cu``), the pixel itself where the window
    is very heterogeneous.

    Parameters
    ----------
    intensity : ndarray
        2-D intensity image, NaN for nodata.
    window : int
        Odd window size in pixels (7 is the usual choice).
    looks : float
        Equivalent number of looks ``L`` of the input; ``Cu^2 = 1 / L``.

    Returns
    -------
    ndarray
        float32 estimate, NaN where the input is NaN.
    """
    image = _check(intensity, window, looks)
    mean, variance = local_stats(image, window)
    ci2 = _squared_variation(mean, variance)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(ci2 > 0, 1.0 - (1.0 / looks) / ci2, 0.0)
    weight = np.clip(weight, 0.0, 1.0)
    return _finish(mean + weight * (image - mean), image)


def kuan(intensity: np.ndarray, window: int = 7, looks: float = 1.0) -> np.ndarray:
    """Kuan filter (Kuan, Sawchuk, Strand and Chavel 1985): the exact linear MMSE estimate
    under the multiplicative model.

    ``I_hat = mu + W (I - mu)`` with ``W = (1 - Cu^2 / Ci^2) / (1 + Cu^2)`` clipped to
    ``[0, 1]``.

    Parameters
    ----------
    intensity : ndarray
        2-D intensity image, NaN for nodata.
    window : int
        Odd window size in pixels.
    looks : float
        Equivalent number of looks ``L``; ``Cu^2 = 1 / L``.

    Returns
    -------
    ndarray
        float32 estimate, NaN where the input is NaN.
    """
    image = _check(intensity, window, looks)
    mean, variance = local_stats(image, window)
    ci2 = _squared_variation(mean, variance)
    cu2 = 1.0 / looks
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(ci2 > 0, (1.0 - cu2 / ci2) / (1.0 + cu2), 0.0)
    weight = np.clip(weight, 0.0, 1.0)
    return _finish(mean + weight * (image - mean), image)
