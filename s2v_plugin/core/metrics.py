"""Quality measures of a despeckled SAR image, with and without a clean reference.

No-reference measures work on intensities: the equivalent number of looks (ENL) over
homogeneous areas, the ratio image ``noisy / despeckled`` (pure ``Gamma(L, 1/L)`` speckle for a
perfect filter: mean 1, variance ``1/L``, no structure), its residual autocorrelation and the
M-index of Gomez, Ospina and Frery (2017). Full-reference measures (PSNR, SSIM) compare an
estimate with the clean image in whatever domain both are given.

NaN marks nodata everywhere and is left out of every statistic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .errors import InputError

#: Fewest valid pixels over which an ENL is computed (its relative standard error is about
#: ``sqrt(2 / n)`` for uncorrelated speckle: 10 % at 200 pixels).
MIN_ENL_PIXELS = 200


def enl(intensity: np.ndarray) -> float:
    """Equivalent number of looks ``mu^2 / var`` of intensity samples (NaN ignored).

    Parameters
    ----------
    intensity : ndarray
        Intensity values of a homogeneous area, any shape.

    Returns
    -------
    float
        ``mean^2 / variance`` (unbiased variance); ``inf`` for a constant area.

    Raises
    ------
    InputError
        When fewer than :data:`MIN_ENL_PIXELS` valid pixels are given.
    """
    values = np.asarray(intensity, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < MIN_ENL_PIXELS:
        raise InputError(
            f"An area holds {values.size} valid pixels; the ENL needs at least "
            f"{MIN_ENL_PIXELS}. Draw larger homogeneous areas."
        )
    variance = values.var(ddof=1)
    return float("inf") if variance == 0 else float(values.mean() ** 2 / variance)


def ratio_image(noisy: np.ndarray, despeckled: np.ndarray) -> np.ndarray:
    """The ratio image ``noisy / despeckled`` of two intensity images (float32, NaN kept).

    Pixels that are exactly zero in both images (dark, quantised or outside the footprint:
    ``0 / 0``) carry no speckle and are NaN in the ratio, like nodata.

    Raises
    ------
    InputError
        When a despeckled pixel is negative, or zero where the noisy pixel is not: the ratio
        would be undefined or meaningless.
    """
    noisy = np.asarray(noisy, dtype=np.float64)
    despeckled = np.asarray(despeckled, dtype=np.float64)
    if noisy.shape != despeckled.shape:
        raise InputError(
            f"The noisy ({noisy.shape}) and despeckled ({despeckled.shape}) images differ in size."
        )
    valid = np.isfinite(noisy) & np.isfinite(despeckled)
    both_zero = valid & (noisy == 0) & (despeckled == 0)
    bad = valid & ~both_zero & (despeckled <= 0)
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} despeckled pixel(s) are zero or negative, so the ratio image "
            "noisy / despeckled is undefined there. Check that the despeckled layer is an "
            "intensity or amplitude image, or mark those pixels as nodata."
        )
    valid &= ~both_zero
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(valid, noisy / np.where(valid, despeckled, 1.0), np.nan)
    return ratio.astype(np.float32)


@dataclass(frozen=True)
class RatioStats:
    """First-order statistics of a ratio image; ideally ``mean = 1``, ``variance = 1/L``."""

    mean: float
    variance: float
    count: int

    @property
    def enl(self) -> float:
        """ENL of the ratio image, ``mean^2 / variance`` (ideally ``L``)."""
        return self.mean**2 / self.variance if self.variance > 0 else float("inf")


def ratio_stats(ratio: np.ndarray) -> RatioStats:
    """Mean, unbiased variance and number of valid pixels of a ratio image."""
    values = np.asarray(ratio, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < 2:
        raise InputError("The ratio image holds fewer than two valid pixels.")
    return RatioStats(float(values.mean()), float(values.var(ddof=1)), int(values.size))


def lag_correlation(image: np.ndarray, lag: int = 1) -> tuple[float, float]:
    """Correlation coefficient between pixels ``lag`` apart along rows (axis 0) and along
    columns (axis 1), over pairs where both are valid: the residual autocorrelation of a ratio
    image (about 0 when no structure is left, for uncorrelated speckle).

    Returns
    -------
    (along_rows, along_columns) : tuple of float
    """
    image = np.asarray(image, dtype=np.float64)

    def corr(a: np.ndarray, b: np.ndarray) -> float:
        keep = np.isfinite(a) & np.isfinite(b)
        if keep.sum() < 3:
            return float("nan")
        a, b = a[keep] - a[keep].mean(), b[keep] - b[keep].mean()
        denominator = np.sqrt((a * a).sum() * (b * b).sum())
        return float((a * b).sum() / denominator) if denominator > 0 else float("nan")

    return corr(image[:-lag, :], image[lag:, :]), corr(image[:, :-lag], image[:, lag:])


def glcm_homogeneity(image: np.ndarray, levels: int = 32, value_range=None) -> float:
    """Haralick homogeneity ``sum P(i, j) / (1 + (i - j)^2)`` of the grey-level co-occurrence
    matrix (distance 1; 0, 45, 90 and 135 degrees pooled; symmetric; normalised).

    Parameters
    ----------
    image : ndarray
        2-D image, NaN ignored (pairs with a NaN are left out).
    levels : int
        Number of grey levels after linear quantisation.
    value_range : (float, float), optional
        Values mapped to the first and last level (clipped); the image's 0.5 and 99.5
        percentiles by default.
    """
    image = np.asarray(image, dtype=np.float64)
    finite = image[np.isfinite(image)]
    if finite.size < 4:
        raise InputError("Too few valid pixels to measure texture.")
    low, high = value_range or np.percentile(finite, [0.5, 99.5])
    scale = (levels - 1) / (high - low) if high > low else 0.0
    quantised = np.clip(np.rint((image - low) * scale), 0, levels - 1)
    quantised = np.where(np.isfinite(image), quantised, -1).astype(np.int64)
    counts = np.zeros(levels * levels, dtype=np.float64)
    rows, cols = quantised.shape
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a = quantised[0 : rows - dy, max(0, -dx) : cols - max(0, dx)]
        b = quantised[dy:rows, max(0, dx) : cols - max(0, -dx)]
        keep = (a >= 0) & (b >= 0)
        pairs = a[keep] * levels + b[keep]
        counts += np.bincount(pairs, minlength=levels * levels)
    matrix = counts.reshape(levels, levels)
    matrix = matrix + matrix.T
    total = matrix.sum()
    if total == 0:
        raise InputError("Too few valid neighbouring pixels to measure texture.")
    i, j = np.indices(matrix.shape)
    return float((matrix / total / (1.0 + (i - j) ** 2)).sum())


@dataclass(frozen=True)
class MIndex:
    """M-index of Gomez, Ospina and Frery (2017) and its two parts (0 is ideal)."""

    value: float
    first_order: float
    delta_h: float


def m_index(
    noisy_areas: list[np.ndarray],
    ratio_areas: list[np.ndarray],
    ratio: np.ndarray,
    permutations: int = 10,
    seed: int = 0,
    max_pixels: int = 2048 * 2048,
) -> MIndex:
    """Unassisted quality measure ``M = (r_ENL,mu + delta_h) / 2`` (Gomez et al. 2017).

    * First order, over ``n`` homogeneous areas ``i``:
      ``r_ENL,mu = 1/(2n) sum_i (r_ENL(i) + r_mu(i))`` with
      ``r_ENL(i) = |ENL_noisy(i) - ENL_ratio(i)| / ENL_noisy(i)`` and
      ``r_mu(i) = |1 - mean_ratio(i)|``.
    * Second order: ``delta_h = 100 |h0 - h_bar| / h0`` with ``h0`` the GLCM homogeneity of the
      ratio image and ``h_bar`` its mean over ``permutations`` random shuffles of the ratio
      image (shuffling destroys any structure a filter left behind).

    Parameters
    ----------
    noisy_areas, ratio_areas : list of ndarray
        Intensity samples of the noisy image and of the ratio image over the same areas.
    ratio : ndarray
        The ratio image (a centred crop of ``max_pixels`` at most is used for ``delta_h``).
    permutations : int
        Number of shuffles.
    seed : int
        Seed of the shuffles (the measure is reproducible).

    Returns
    -------
    MIndex
    """
    if not noisy_areas or len(noisy_areas) != len(ratio_areas):
        raise InputError("The M-index needs at least one homogeneous area.")
    terms = []
    for noisy, rat in zip(noisy_areas, ratio_areas):
        enl_noisy = enl(noisy)
        values = np.asarray(rat, dtype=np.float64)
        values = values[np.isfinite(values)]
        terms.append(abs(enl_noisy - enl(values)) / enl_noisy + abs(1.0 - values.mean()))
    first_order = float(np.sum(terms) / (2 * len(terms)))

    crop = _centre_crop(np.asarray(ratio, dtype=np.float64), max_pixels)
    finite = crop[np.isfinite(crop)]
    value_range = tuple(np.percentile(finite, [0.5, 99.5]))
    h0 = glcm_homogeneity(crop, value_range=value_range)
    rng = np.random.default_rng(seed)
    shuffled = []
    for _ in range(permutations):
        flat = crop.ravel().copy()
        rng.shuffle(flat)
        shuffled.append(glcm_homogeneity(flat.reshape(crop.shape), value_range=value_range))
    delta_h = 100.0 * abs(h0 - float(np.mean(shuffled))) / h0
    return MIndex((first_order + delta_h) / 2.0, first_order, delta_h)


def _centre_crop(image: np.ndarray, max_pixels: int) -> np.ndarray:
    rows, cols = image.shape
    if rows * cols <= max_pixels:
        return image
    side = int(np.sqrt(max_pixels))
    new_rows, new_cols = min(rows, side), min(cols, max_pixels // min(rows, side))
    r0, c0 = (rows - new_rows) // 2, (cols - new_cols) // 2
    return image[r0 : r0 + new_rows, c0 : c0 + new_cols]


def psnr(estimate: np.ndarray, reference: np.ndarray, peak: float | None = None) -> float:
    """Peak signal-to-noise ratio ``10 log10(peak^2 / MSE)`` in dB.

    Parameters
    ----------
    estimate, reference : ndarray
        Same shape; pixels NaN in either are left out.
    peak : float, optional
        Peak value; the maximum of the reference by default.
    """
    estimate, reference = _paired(estimate, reference)
    peak = float(reference.max()) if peak is None else float(peak)
    mse = float(np.mean((estimate - reference) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(peak * peak / mse))


def ssim(estimate: np.ndarray, reference: np.ndarray, data_range: float | None = None) -> float:
    """Mean structural similarity (Wang, Bovik, Sheikh and Simoncelli 2004).

    Gaussian window (sigma 1.5, truncated at 3.5 sigma: 11 x 11), ``K1 = 0.01``,
    ``K2 = 0.03``, population statistics; the mean is taken over pixels whose whole window lies
    in the image (the convention of scikit-image with ``gaussian_weights=True``).

    Parameters
    ----------
    estimate, reference : ndarray
        2-D, same shape. NaN pixels are replaced by the reference mean (avoid them).
    data_range : float, optional
        Dynamic range ``L``; ``max - min`` of the reference by default.
    """
    estimate = np.asarray(estimate, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if estimate.shape != reference.shape or estimate.ndim != 2:
        raise InputError(
            f"SSIM needs two 2-D images of the same size, not {estimate.shape} "
            f"and {reference.shape}."
        )
    fill = np.nanmean(reference)
    estimate = np.where(np.isfinite(estimate), estimate, fill)
    reference = np.where(np.isfinite(reference), reference, fill)
    if data_range is None:
        data_range = float(reference.max() - reference.min())
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(x, sigma=1.5, truncate=3.5, mode="reflect")

    mu_x, mu_y = blur(estimate), blur(reference)
    var_x = blur(estimate * estimate) - mu_x * mu_x
    var_y = blur(reference * reference) - mu_y * mu_y
    cov = blur(estimate * reference) - mu_x * mu_y
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    )
    pad = 5
    if min(index.shape) <= 2 * pad:
        raise InputError("SSIM needs images of at least 11 x 11 pixels.")
    return float(index[pad:-pad, pad:-pad].mean())


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise InputError(f"The images differ in size: {a.shape} and {b.shape}.")
    keep = np.isfinite(a) & np.isfinite(b)
    if not keep.any():
        raise InputError("The images share no valid pixel.")
    return a[keep], b[keep]


@dataclass(frozen=True)
class Window:
    """A rectangular area of a raster in pixels, with its homogeneity score."""

    row: int
    col: int
    rows: int
    cols: int
    score: float = float("nan")

    def slices(self) -> tuple[slice, slice]:
        return slice(self.row, self.row + self.rows), slice(self.col, self.col + self.cols)


def find_homogeneous_windows(
    intensity: np.ndarray,
    size: int = 32,
    count: int = 10,
    max_score: float = 4.0,
    blocks: int = 4,
    exclude: np.ndarray | None = None,
    max_excluded: float = 0.05,
) -> list[Window]:
    """Square windows of a speckled intensity image that look homogeneous (no edge or texture).

    Candidate ``size`` x ``size`` windows lie on a grid of step ``size / 2``. Each is cut into
    ``blocks`` x ``blocks`` sub-blocks of ``b`` x ``b`` pixels, and scored with
    ``score = b^2 var(sub-block means) / var(pixels)``: about 1 over homogeneous uncorrelated
    speckle (the sum of the speckle's autocorrelation when it is correlated), large when the
    mean changes inside the window. The score needs no number of looks and does not favour
    windows whose speckle happens to be weak. Windows with nodata, a non-positive mean, no
    variance, or a bright point (a pixel above ``mean (ln n + 7)``, which single-look speckle
    exceeds in about one window in a thousand) are skipped; the best-scoring windows with
    ``score <= max_score`` are kept, without overlap, up to ``count``.

    ``exclude`` marks pixels that are not speckle (point targets found by the local rule): they
    are left out of every measure instead of disqualifying their window, which may hold up to
    ``max_excluded`` of its pixels so; the caller leaves them out of its measures too.

    Returns
    -------
    list of Window
        Best first; empty when none qualifies.
    """
    image = np.asarray(intensity, dtype=np.float64)
    if image.ndim != 2:
        raise InputError("Homogeneous windows are searched on a 2-D image.")
    block = size // blocks
    if block < 2:
        raise InputError(f"A homogeneous window of {size} pixels is too small; use >= 8.")
    size = block * blocks
    rows, cols = image.shape
    if rows < size or cols < size:
        return []
    step = max(size // 2, 1)
    valid = np.isfinite(image)
    left_out = valid & (np.zeros(image.shape, bool) if exclude is None else np.asarray(exclude))
    values = np.where(valid & ~left_out, image, 0.0)

    def integral(x: np.ndarray) -> np.ndarray:
        out = np.zeros((x.shape[0] + 1, x.shape[1] + 1))
        out[1:, 1:] = x.cumsum(0).cumsum(1)
        return out

    s1, s2, sn = integral(values), integral(values * values), integral((~valid).astype(float))
    sx = integral(left_out.astype(float))
    peak = ndimage.maximum_filter(values, size=size, origin=-(size // 2), mode="nearest")
    r0 = np.arange(0, rows - size + 1, step)
    c0 = np.arange(0, cols - size + 1, step)
    rr, cc = np.meshgrid(r0, c0, indexing="ij")

    def box(table: np.ndarray, r: np.ndarray, c: np.ndarray, n: int) -> np.ndarray:
        return table[r + n, c + n] - table[r, c + n] - table[r + n, c] + table[r, c]

    excluded = box(sx, rr, cc, size)
    n_pixels = size * size - excluded
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = box(s1, rr, cc, size) / n_pixels
        variance = (box(s2, rr, cc, size) - n_pixels * mean * mean) / (n_pixels - 1)
        kept = [(rr + i * block, cc + j * block) for i in range(blocks) for j in range(blocks)]
        counts = np.stack([block * block - box(sx, r, c, block) for r, c in kept])
        sub_means = np.stack([box(s1, r, c, block) for r, c in kept]) / counts
        score = counts.mean(axis=0) * sub_means.var(axis=0, ddof=1) / variance
    no_point = peak[rr, cc] <= mean * (np.log(n_pixels) + 7.0)
    usable = (box(sn, rr, cc, size) == 0) & (mean > 0) & (variance > 0) & (score <= max_score)
    usable &= (excluded <= max_excluded * size * size) & (counts.min(axis=0) > 1)
    usable &= no_point
    order = np.argsort(np.where(usable, score, np.inf), axis=None, kind="stable")
    chosen: list[Window] = []
    taken = np.zeros(image.shape, dtype=bool)
    for flat in order[: int(usable.sum())]:
        i, j = np.unravel_index(flat, score.shape)
        window = Window(int(rr[i, j]), int(cc[i, j]), size, size, float(score[i, j]))
        if taken[window.slices()].any():
            continue
        taken[window.slices()] = True
        chosen.append(window)
        if len(chosen) >= count:
            break
    return chosen
