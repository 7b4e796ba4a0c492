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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .errors import InputError

_MODE = "mirror"  # scipy's name for the edge-excluding reflection used by the tile reader


#: Docstring parts every filter shares, written once: a filter's docstring names them as
#: ``%(name)s`` and :func:`_filter_doc` fills them in (the scheme of scipy.ndimage's
#: ``docfiller``).
_DOC_PARTS = {
    "intensity": "intensity : ndarray\n        2-D intensity image, NaN for nodata.",
    "intensity_window": "intensity : ndarray\n        2-D intensity image, NaN for nodata.\n"
    "    window : int\n        Odd window size in pixels.",
    "looks": "looks : float\n        Equivalent number of looks ``L`` of the input; "
    "``Cu^2 = 1 / L``.",
    "unused_looks": "looks : float\n        Unused (kept so every filter has the same signature).",
    "returns": "Returns\n    -------\n    ndarray\n"
    "        float32 estimate, NaN where the input is NaN.",
}


def _filter_doc(function: Callable) -> Callable:
    """Fill the shared parts (:data:`_DOC_PARTS`) into a filter's docstring."""
    if function.__doc__:  # None under python -OO
        function.__doc__ = function.__doc__ % _DOC_PARTS
    return function


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
    """float32 output, NaN where the input is NaN; intensities cannot be negative, so the
    rounding of running sums over all-zero windows (about -1e-12) is clipped to 0."""
    estimate = np.maximum(estimate, 0.0)
    return np.where(np.isfinite(image), estimate, np.nan).astype(np.float32)


def _squared_variation(mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """``Ci^2 = var / mu^2``; infinite where the mean is zero and the variance is not."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ci2 = variance / (mean * mean)
    return np.where((variance == 0) & (mean == 0), 0.0, ci2)


@_filter_doc
def boxcar(intensity: np.ndarray, window: int = 7, looks: float = 1.0) -> np.ndarray:
    """Boxcar (moving average) filter: ``I_hat = mu``.

    Parameters
    ----------
    %(intensity_window)s
    %(unused_looks)s

    %(returns)s
    """
    image = _check(intensity, window, looks)
    mean, _ = local_stats(image, window)
    return _finish(mean, image)


def _weighted_towards_the_pixel(intensity, window: int, looks: float, weight_of) -> np.ndarray:
    """``mu + W (I - mu)`` with ``W = weight_of(Ci^2)`` clipped to ``[0, 1]`` (0 where
    ``Ci = 0``): the form shared by Lee and Kuan."""
    image = _check(intensity, window, looks)
    mean, variance = local_stats(image, window)
    ci2 = _squared_variation(mean, variance)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(ci2 > 0, weight_of(ci2), 0.0)
    weight = np.clip(weight, 0.0, 1.0)
    return _finish(mean + weight * (image - mean), image)


@_filter_doc
def lee(intensity: np.ndarray, window: int = 7, looks: float = 1.0) -> np.ndarray:
    """Lee filter (Lee 1980, in the form of Lopes, Touzi and Nezry 1990).

    ``I_hat = mu + W (I - mu)`` with ``W = 1 - Cu^2 / Ci^2`` clipped to ``[0, 1]``:
    the window mean over homogeneous areas (``Ci <= Cu``), the pixel itself where the window
    is very heterogeneous.

    Parameters
    ----------
    %(intensity)s
    window : int
        Odd window size in pixels (7 is the usual choice).
    %(looks)s

    %(returns)s
    """
    return _weighted_towards_the_pixel(
        intensity, window, looks, lambda ci2: 1.0 - (1.0 / looks) / ci2
    )


@_filter_doc
def kuan(intensity: np.ndarray, window: int = 7, looks: float = 1.0) -> np.ndarray:
    """Kuan filter (Kuan, Sawchuk, Strand and Chavel 1985): the exact linear MMSE estimate
    under the multiplicative model.

    ``I_hat = mu + W (I - mu)`` with ``W = (1 - Cu^2 / Ci^2) / (1 + Cu^2)`` clipped to
    ``[0, 1]``.

    Parameters
    ----------
    %(intensity_window)s
    %(looks)s

    %(returns)s
    """
    cu2 = 1.0 / looks
    return _weighted_towards_the_pixel(
        intensity, window, looks, lambda ci2: (1.0 - cu2 / ci2) / (1.0 + cu2)
    )


@_filter_doc
def gamma_map(intensity: np.ndarray, window: int = 7, looks: float = 1.0) -> np.ndarray:
    """Gamma-MAP filter (Lopes, Nezry, Touzi and Laur 1990): maximum a posteriori estimate
    with a Gamma-distributed scene and ``L``-look Gamma speckle.

    With ``alpha = (1 + Cu^2) / (Ci^2 - Cu^2)`` and ``Cmax = sqrt(2) Cu``::

        I_hat = mu                                     if Ci <= Cu
        I_hat = ((alpha - L - 1) mu
                 + sqrt(mu^2 (alpha - L - 1)^2 + 4 alpha L I mu)) / (2 alpha)
                                                       if Cu < Ci < Cmax
        I_hat = I                                      if Ci >= Cmax

    Parameters
    ----------
    %(intensity_window)s
    %(looks)s

    %(returns)s
    """
    image = _check(intensity, window, looks)
    mean, variance = local_stats(image, window)
    ci2 = _squared_variation(mean, variance)
    cu2 = 1.0 / looks
    between = (ci2 > cu2) & (ci2 < 2.0 * cu2)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(between, (1.0 + cu2) / np.where(between, ci2 - cu2, 1.0), 1.0)
        b = alpha - looks - 1.0
        root = np.sqrt(np.maximum(mean * mean * b * b + 4.0 * alpha * looks * image * mean, 0.0))
        estimate = (b * mean + root) / (2.0 * alpha)
    out = np.where(ci2 <= cu2, mean, np.where(between, estimate, image))
    return _finish(out, image)


#: Default Frost damping ``K``: the Orfeo ToolBox's ``deramp`` default (see :func:`frost`).
FROST_DAMPING = 0.1


@_filter_doc
def frost(
    intensity: np.ndarray, window: int = 7, looks: float = 1.0, damping: float = FROST_DAMPING
) -> np.ndarray:
    """Frost filter (Frost, Stiles, Shanmugan and Holtzman 1982): an exponentially weighted
    mean whose decay adapts to the local heterogeneity.

    ``I_hat = sum_t m(t) I(t) / sum_t m(t)`` over the window, with
    ``m(t) = exp(-K Ci^2 |t|)``, ``|t|`` the Euclidean distance in pixels from the centre and
    ``Ci^2`` the squared coefficient of variation of the window around the centre.

    Parameters
    ----------
    %(intensity_window)s
    %(unused_looks)s
    damping : float
        Damping factor ``K``, the same constant as the Orfeo ToolBox's Frost ``deramp`` (whose
        filter is this formula, with a ``(w - 1) / 2`` radius); larger values smooth less.
        On intensity, ``Ci^2`` is about ``1 / L`` even where the scene is flat (1 for
        single-look data), so ``K`` alone sets the smoothing of homogeneous areas: the
        default 0.1 (OTB's) makes them close to the window mean, as the filter intends;
        2 (a common choice for amplitude images, whose ``Ci^2`` is about ``0.27 / L``) kept
        single-look intensity almost unfiltered (ENL 3 instead of 50 on the ENVISAT sample,
        ``bench/bench_otb.py``).

    %(returns)s
    """
    image = _check(intensity, window, looks)
    if not damping >= 0:
        raise InputError(f"The Frost damping factor must be >= 0, not {damping}.")
    mean, variance = local_stats(image, window)
    alpha = damping * _squared_variation(mean, variance)
    half = window // 2
    values, weights = _valid(image)
    padded_values = np.pad(values, half, mode="reflect")
    padded_weights = np.pad(weights, half, mode="reflect")
    rows, cols = image.shape
    total = np.zeros_like(image)
    norm = np.zeros_like(image)
    with np.errstate(invalid="ignore", over="ignore"):
        for dy in range(-half, half + 1):
            for dx in range(-half, half + 1):
                distance = np.hypot(dy, dx)
                m = np.ones_like(image) if distance == 0 else np.exp(-alpha * distance)
                m = np.nan_to_num(m, nan=0.0)
                shifted = (slice(half + dy, half + dy + rows), slice(half + dx, half + dx + cols))
                m = m * padded_weights[shifted]
                total += m * padded_values[shifted]
                norm += m
    with np.errstate(divide="ignore", invalid="ignore"):
        out = total / norm
    return _finish(out, image)


def _subwindow(window: int) -> tuple[int, int]:
    """Refined Lee's 3 x 3 grid of sub-windows: (size s, centre spacing d) with s the smallest
    odd number >= window / 3 and d = (window - s) / 2 (7 -> 3 x 3 sub-windows 2 apart)."""
    size = -(-window // 3)
    size += 1 - size % 2
    return size, (window - size) // 2


def _directional_masks(window: int) -> np.ndarray:
    """The 8 edge-aligned half windows of Refined Lee, ``[8, w, w]`` booleans.

    Order: left, right (vertical edge); top, bottom (horizontal edge); upper-right and
    lower-left of the main diagonal; upper-left and lower-right of the anti-diagonal. Each
    includes the pixels on the edge line itself.
    """
    half = window // 2
    i, j = np.mgrid[-half : half + 1, -half : half + 1]
    return np.stack(
        [j <= 0, j >= 0, i <= 0, i >= 0, j - i >= 0, j - i <= 0, i + j <= 0, i + j >= 0]
    )


@_filter_doc
def refined_lee(intensity: np.ndarray, window: int = 7, looks: float = 1.0) -> np.ndarray:
    """Refined Lee filter (Lee 1981): Lee's MMSE estimate over an edge-aligned half window.

    1. The ``w`` x ``w`` window is covered by a 3 x 3 grid of ``s`` x ``s`` sub-windows
       (``s`` = smallest odd >= w/3, centres ``d = (w - s)/2`` apart; 3 x 3 sub-windows 2 apart
       for w = 7). Their means ``M`` form a 3 x 3 array.
    2. Four gradient masks on ``M`` (vertical, horizontal, main diagonal, anti-diagonal edges):
       ``M[:, 2] - M[:, 0]``, ``M[2, :] - M[0, :]``, and the diagonal masks
       ``[[0, 1, 1], [-1, 0, 1], [-1, -1, 0]]``, ``[[1, 1, 0], [1, 0, -1], [0, -1, -1]]``;
       the edge direction is the one with the largest absolute gradient (the first of
       vertical, horizontal, main, anti-diagonal on ties).
    3. Of the two half windows on either side of that edge (edge line included), keep the
       one whose neighbouring sub-window mean is closer to the centre sub-window mean (the
       left / top / upper side on ties).
    4. With ``mu``, ``var`` over the kept half window:
       ``var_x = (var - mu^2 Cu^2) / (1 + Cu^2)`` (clipped at 0), ``b = var_x / var``,
       ``I_hat = mu + b (I - mu)``.

    Parameters
    ----------
    %(intensity)s
    window : int
        Odd window size in pixels (7 in Lee's paper).
    %(looks)s

    %(returns)s
    """
    image = _check(intensity, window, looks)
    size, step = _subwindow(window)
    sub_mean, _ = local_stats(image, size)
    sub_mean = np.nan_to_num(sub_mean, nan=0.0)
    padded = np.pad(sub_mean, step, mode="reflect")
    rows, cols = image.shape

    def m(a: int, b: int) -> np.ndarray:
        r0, c0 = step + (a - 1) * step, step + (b - 1) * step
        return padded[r0 : r0 + rows, c0 : c0 + cols]

    gradients = np.abs(
        np.stack(
            [
                m(0, 2) + m(1, 2) + m(2, 2) - m(0, 0) - m(1, 0) - m(2, 0),
                m(2, 0) + m(2, 1) + m(2, 2) - m(0, 0) - m(0, 1) - m(0, 2),
                m(0, 1) + m(0, 2) + m(1, 2) - m(1, 0) - m(2, 0) - m(2, 1),
                m(0, 0) + m(0, 1) + m(1, 0) - m(1, 2) - m(2, 1) - m(2, 2),
            ]
        )
    )
    # Near-ties (equal up to rounding, as on mirrored edges) go to the first candidate, so
    # that the choice does not depend on summation order (tiled == untiled).
    centre = m(1, 1)
    tolerance = 1e-9 * (np.abs(centre) + 1e-30)
    direction = np.argmax(gradients >= gradients.max(axis=0) - 6 * tolerance, axis=0)
    sides = ((m(1, 0), m(1, 2)), (m(0, 1), m(2, 1)), (m(0, 2), m(2, 0)), (m(0, 0), m(2, 2)))
    first_side = np.choose(
        direction,
        [np.abs(a - centre) <= np.abs(b - centre) + 2 * tolerance for a, b in sides],
    )
    choice = 2 * direction + np.where(first_side, 0, 1)

    values, weights = _valid(image)
    mean = np.full(image.shape, np.nan)
    mean_sq = np.full(image.shape, np.nan)
    for index, mask in enumerate(_directional_masks(window)):
        selected = choice == index
        if not selected.any():
            continue
        kernel = mask.astype(np.float64)
        count = ndimage.correlate(weights, kernel, mode=_MODE)
        total = ndimage.correlate(values, kernel, mode=_MODE)
        squares = ndimage.correlate(values * values, kernel, mode=_MODE)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean[selected] = (total / count)[selected]
            mean_sq[selected] = (squares / count)[selected]
    variance = np.maximum(mean_sq - mean * mean, 0.0)
    return _finish(_mmse(image, mean, variance, 1.0 / looks), image)


def _mmse(image: np.ndarray, mean: np.ndarray, variance: np.ndarray, cu2: float) -> np.ndarray:
    """Lee's MMSE step: ``mu + b (I - mu)``, ``b = max(var - mu^2 Cu^2, 0) / ((1 + Cu^2) var)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        var_x = np.maximum(variance - mean * mean * cu2, 0.0) / (1.0 + cu2)
        b = np.where(variance > 0, var_x / variance, 0.0)
    return mean + b * (image - mean)


def sigma_range(looks: float, sigma: float = 0.9) -> tuple[float, float, float]:
    """Sigma range of the improved Lee Sigma filter for ``L``-look intensity speckle.

    Solves for ``A1 < A2`` such that ``P(A1 <= v <= A2) = sigma`` and the mean of ``v``
    truncated to ``[A1, A2]`` is 1 (an unbiased range), with ``v ~ Gamma(L, 1/L)``.

    Parameters
    ----------
    looks : float
        Number of looks ``L``.
    sigma : float
        Probability mass of the range, in (0, 1) (0.9 by default, as in Lee et al. 2009).

    Returns
    -------
    a1, a2, eta : float
        Range bounds relative to the a priori mean, and the standard deviation ``eta`` of the
        speckle truncated to the range (used in the MMSE step instead of ``Cu``).
    """
    from scipy import optimize, stats

    if not 0.0 < sigma < 1.0:
        raise InputError(f"The Lee Sigma sigma level must lie between 0 and 1, not {sigma}.")
    speckle = stats.gamma(looks, scale=1.0 / looks)
    first = stats.gamma(looks + 1.0, scale=1.0 / looks)
    second = stats.gamma(looks + 2.0, scale=1.0 / looks)

    def upper(a1: float) -> float:
        return float(speckle.ppf(min(speckle.cdf(a1) + sigma, 1.0)))

    def bias(a1: float) -> float:
        return (first.cdf(upper(a1)) - first.cdf(a1)) / sigma - 1.0

    limit = float(speckle.ppf(1.0 - sigma)) * (1.0 - 1e-9)
    a1 = float(optimize.brentq(bias, 0.0, limit, xtol=1e-12)) if bias(0.0) < 0 else 0.0
    a2 = upper(a1)
    moment2 = (1.0 + 1.0 / looks) * (second.cdf(a2) - second.cdf(a1)) / sigma
    return a1, a2, float(np.sqrt(max(moment2 - 1.0, 0.0)))


@_filter_doc
def lee_sigma(
    intensity: np.ndarray,
    window: int = 9,
    looks: float = 1.0,
    sigma: float = 0.9,
    target_window: int = 3,
    point_threshold: float | None = None,
    point_count: int = 5,
) -> np.ndarray:
    """Improved Lee Sigma filter (Lee, Wen, Ainsworth, Chen and Chen 2009).

    1. Point targets: a pixel with ``I >= Z98`` whose ``3 x 3`` neighbourhood holds at least
       ``K`` (``point_count``) such pixels is kept unfiltered. ``Z98`` is the 98th percentile
       of the image unless ``point_threshold`` gives it (the tiled pipeline computes it once
       for the whole raster so that tiles agree).
    2. A priori mean ``x0``: Lee's MMSE estimate over the ``target_window`` window,
       ``x0 = mu + b (I - mu)`` with ``b = max(var - mu^2 Cu^2, 0) / ((1 + Cu^2) var)``.
    3. Sigma range ``[A1 x0, A2 x0]`` from :func:`sigma_range` (probability ``sigma``,
       unbiased); the window's pixels inside it give ``mu_s`` and ``var_s``.
    4. ``I_hat = mu_s + b (I - mu_s)`` with ``b = max(var_s - mu_s^2 eta^2, 0) /
       ((1 + eta^2) var_s)``, ``eta`` the truncated speckle deviation; ``x0`` where no
       window pixel falls in the range.

    Parameters
    ----------
    %(intensity)s
    window : int
        Odd window size of the sigma selection (9 in the paper).
    %(looks)s
    sigma : float
        Sigma level (probability mass of the range), 0.9 by default.
    target_window : int
        Odd window of the a priori MMSE estimate (3 in the paper).
    point_threshold : float, optional
        ``Z98``; computed from ``intensity`` when omitted.
    point_count : int
        ``K``, bright pixels in the 3 x 3 window that make a point target.

    %(returns)s
    """
    image = _check(intensity, window, looks)
    _check(intensity, target_window, looks)
    cu2 = 1.0 / looks
    a1, a2, eta = sigma_range(looks, sigma)
    prior_mean, prior_var = local_stats(image, target_window)
    prior = _mmse(image, prior_mean, prior_var, cu2)
    low, high = a1 * prior, a2 * prior

    half = window // 2
    values, weights = _valid(image)
    # NaN (nodata) fails both range comparisons, so it is never selected.
    padded = np.pad(np.where(weights > 0, values, np.nan), half, mode="reflect")
    rows, cols = image.shape
    count = np.zeros_like(image)
    total = np.zeros_like(image)
    squares = np.zeros_like(image)
    inside = np.empty(image.shape, dtype=bool)
    scratch = np.empty_like(image)
    with np.errstate(invalid="ignore"):
        for dy in range(-half, half + 1):
            for dx in range(-half, half + 1):
                v = padded[half + dy : half + dy + rows, half + dx : half + dx + cols]
                np.greater_equal(v, low, out=inside)
                inside &= v <= high
                count += inside
                np.copyto(scratch, 0.0)
                np.copyto(scratch, v, where=inside)
                total += scratch
                scratch *= scratch
                squares += scratch
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_s = total / count
        var_s = np.maximum(squares / count - mean_s * mean_s, 0.0)
    estimate = np.where(count > 0, _mmse(image, mean_s, var_s, eta * eta), prior)

    z98 = point_threshold
    if z98 is None:
        finite = image[np.isfinite(image)]
        z98 = float(np.percentile(finite, 98)) if finite.size else np.inf
    bright = np.isfinite(image) & (image >= z98)
    neighbours = ndimage.correlate(bright.astype(np.float64), np.ones((3, 3)), mode=_MODE)
    estimate = np.where(bright & (neighbours >= point_count - 0.5), image, estimate)
    return _finish(estimate, image)


def window_halo(window: int, options: dict) -> int:
    """Context of a filter that reads only its ``window``: half the window."""
    return window // 2


def lee_sigma_halo(window: int, options: dict) -> int:
    """Context of Lee Sigma: the sigma window, the a-priori window and the 3 x 3 point-target
    neighbourhood."""
    target = int(options.get("target_window", 3))
    return max(window // 2, target // 2, 1)


@dataclass(frozen=True)
class GlobalThreshold:
    """A filter option taken from the whole raster, not from the window: a percentile of the
    valid intensities (computed once, so that every tile uses the same value).

    Attributes
    ----------
    option : str
        The keyword of the filter function that receives it.
    percentile : float
        Percentile (0-100) of the valid intensities.
    """

    option: str
    percentile: float


@dataclass(frozen=True)
class FilterSpec:
    """A classic filter as the tiled pipeline and the Processing algorithm see it: everything
    that differs between filters is a field here, so no caller tests a filter's key.

    Attributes
    ----------
    key : str
        Stable identifier (``"lee"``, ``"refined_lee"``...).
    label : str
        Name shown to users.
    function : callable
        ``function(intensity, window, looks, **options) -> float32``.
    default_window : int
        Window size used when none is given (also the window of the evaluation's comparison).
    halo_rule : callable
        ``halo_rule(window, options) -> int``: pixels of context read around each output pixel.
    parameters : tuple of (str, str)
        Processing parameter keys that feed this filter's options, as
        ``(PARAMETER_KEY, option keyword)`` pairs (for example ``("DAMPING", "damping")``).
    global_threshold : GlobalThreshold, optional
        An option computed from the whole raster when the caller does not give it.
    """

    key: str
    label: str
    function: Callable[..., np.ndarray]
    default_window: int = 7
    halo_rule: Callable[[int, dict], int] = window_halo
    parameters: tuple[tuple[str, str], ...] = ()
    global_threshold: GlobalThreshold | None = None

    def halo(self, window: int, **options) -> int:
        """Pixels of context the filter reads around each output pixel."""
        return self.halo_rule(window, options)

    def needs_global_threshold(self, options: dict | None) -> bool:
        """Whether the caller must compute :attr:`global_threshold` (not given in options)."""
        threshold = self.global_threshold
        return threshold is not None and (options or {}).get(threshold.option) is None

    def with_global_threshold(self, options: dict | None, samples: np.ndarray) -> dict:
        """``options`` completed with the global threshold computed from ``samples`` (valid
        intensities of the whole raster, or a tiling-independent subsample of them)."""
        options = dict(options or {})
        if self.needs_global_threshold(options):
            threshold = self.global_threshold
            value = float(np.percentile(samples, threshold.percentile)) if samples.size else np.inf
            options[threshold.option] = value
        return options


#: The classic filters, in the order of the Processing algorithm's FILTER enum.
FILTERS: tuple[FilterSpec, ...] = (
    FilterSpec("lee", "Lee", lee),
    FilterSpec("refined_lee", "Refined Lee", refined_lee),
    FilterSpec(
        "lee_sigma",
        "Lee Sigma (improved, 2009)",
        lee_sigma,
        default_window=9,
        halo_rule=lee_sigma_halo,
        parameters=(("SIGMA", "sigma"),),
        global_threshold=GlobalThreshold("point_threshold", 98.0),
    ),
    FilterSpec("frost", "Frost", frost, parameters=(("DAMPING", "damping"),)),
    FilterSpec("gamma_map", "Gamma-MAP", gamma_map),
    FilterSpec("kuan", "Kuan", kuan),
    FilterSpec("boxcar", "Boxcar", boxcar),
)


def filter_spec(key: str) -> FilterSpec:
    """The :class:`FilterSpec` named ``key``; raises :class:`InputError` for unknown names."""
    for spec in FILTERS:
        if spec.key == key:
            return spec
    names = ", ".join(spec.key for spec in FILTERS)
    raise InputError(f"Unknown speckle filter '{key}'; choose one of {names}.")
