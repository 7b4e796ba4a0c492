"""Point targets: very bright, deterministic scatterers that are not speckle.

One statistical rule, used everywhere a pixel must be called a point target: a pixel is a point
target when its own neighbourhood makes its intensity improbable, i.e. when the probability of
speckle reaching it falls below a false-alarm probability ``pfa``.

* Without a network (decorrelator, training loss mask, despeckler input clipping): the
  background is the median of a square ring around the pixel (:func:`ring_median`, the pixel and
  its 8 neighbours left out, so a 1-3 px scatterer does not raise its own background).
  :func:`ring_factor` turns ``pfa`` into a threshold factor over that median that is exact for
  single-look speckle, estimation noise of the median included (:func:`local_target_mask`).
* With the blind-spot network (despeckler output): the prior predicted from the neighbourhood
  gives the prior-predictive tail :func:`prior_tail`.

The older global rule ("above ``factor`` times the raster's median", :class:`TargetDetector`)
is kept for the deprecated ``POINT_TARGET_FACTOR`` key.

Whitening a strong point target would spread its sidelobes over its neighbourhood, and its
spectrum is not the speckle spectrum, so targets (intensity above ``factor`` times the median
intensity) are replaced by complex Gaussian noise of the local background power before the
spectrum is estimated and the image filtered, and their original values are put back afterwards.

The replacement noise of a line depends only on the line's index and content, never on how the
image is cut into strips, so strip-wise processing gives the same result as whole-image
processing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy.ndimage import median_filter, uniform_filter1d

from .concurrency import run_all

#: Seed of the replacement noise (combined with the line index).
NOISE_SEED = 20140101
#: Default false-alarm probability of the local rule (also the model card's default).
DEFAULT_PFA = 1e-6
#: The ring of :func:`ring_median`: Chebyshev distance 2 to 3 from the pixel (40 pixels).
RING_INNER = 1
RING_OUTER = 3
#: Rows per block of :func:`local_target_mask`'s counts (a block's arrays fit a CPU cache).
COUNT_BLOCK_ROWS = 64
#: Length (samples) of the window along a line in which the background power is measured.
BACKGROUND_WINDOW = 65


@dataclass(frozen=True)
class TargetDetector:
    """Threshold on intensity and the fallback background power.

    Attributes
    ----------
    threshold : float or None
        Intensity above which a pixel is a point target under the deprecated global rule; None
        when that rule is off.
    background : float
        Mean speckle power used where a line has no background pixel near a target.
    pfa : float
        False-alarm probability of the local rule (:func:`local_target_mask`); when positive
        it decides, and ``threshold`` is None.
    """

    threshold: float | None
    background: float
    pfa: float = 0.0

    @classmethod
    def from_sample(cls, intensity: np.ndarray, factor: float, pfa: float = 0.0) -> TargetDetector:
        """Detector for the local rule at ``pfa``, or (``pfa`` 0) for ``factor`` times the
        median of the positive, finite ``intensity``.

        Parameters
        ----------
        intensity : numpy.ndarray
            A sample of the image intensity (NaN where invalid).
        factor : float
            Threshold factor over the median, used only when ``pfa`` is 0; 0 disables.
        pfa : float
            False-alarm probability of the local rule; 0 falls back to ``factor``.
        """
        values = np.asarray(intensity, dtype=np.float64)
        values = values[np.isfinite(values) & (values > 0)]
        median = float(np.median(values)) if values.size else 0.0
        background = median / np.log(2.0)  # mean of an exponential law with this median
        if pfa > 0:
            return cls(threshold=None, background=background, pfa=float(pfa))
        threshold = factor * median if factor > 0 and median > 0 else None
        return cls(threshold=threshold, background=background)

    def mask(
        self, block: np.ndarray, above: np.ndarray | None = None, below: np.ndarray | None = None
    ) -> np.ndarray:
        """Boolean mask of the point targets of a complex block.

        ``above`` and ``below`` are the image rows just outside the block (up to
        :data:`RING_OUTER` each, fewer at the image edges), so that the local rule sees the same
        ring as on the whole image.
        """
        if self.pfa > 0:
            parts = [p for p in (above, block, below) if p is not None and p.size]
            stack = np.concatenate(parts, axis=0) if len(parts) > 1 else block
            start = 0 if above is None else above.shape[0]
            with np.errstate(invalid="ignore"):
                intensity = np.abs(stack).astype(np.float32) ** 2
            found, _ = local_target_mask(intensity, self.pfa)
            return found[start : start + block.shape[0]]
        if self.threshold is None:
            return np.zeros(block.shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            return np.abs(block) ** 2 > self.threshold

    def replace(self, lines: np.ndarray, first_line: int, mask: np.ndarray) -> np.ndarray:
        """Copy of ``lines`` (rows = lines) with targets replaced by background noise.

        Parameters
        ----------
        lines : numpy.ndarray
            complex64 rows; invalid pixels are NaN and stay NaN.
        first_line : int
            Index of the first row in the whole image (seeds the noise).
        mask : numpy.ndarray
            Targets, from :meth:`mask`.
        """
        out = np.array(lines, dtype=np.complex64, copy=True)
        rows = np.flatnonzero(mask.any(axis=1))
        if rows.size == 0:
            return out
        intensity = np.abs(out[rows]).astype(np.float64) ** 2
        usable = np.isfinite(intensity) & ~mask[rows]
        summed = uniform_filter1d(np.where(usable, intensity, 0.0), BACKGROUND_WINDOW, axis=1)
        counted = uniform_filter1d(usable.astype(np.float64), BACKGROUND_WINDOW, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            local = np.where(counted > 0.1, summed / counted, self.background)
        for k, row in enumerate(rows):
            cols = np.flatnonzero(mask[row])
            rng = np.random.default_rng([NOISE_SEED, first_line + int(row)])
            noise = rng.standard_normal(cols.size) + 1j * rng.standard_normal(cols.size)
            out[row, cols] = (noise * np.sqrt(local[k, cols] / 2.0)).astype(np.complex64)
        return out


@dataclass
class TargetStore:
    """Original values of the point targets, kept until they are put back."""

    rows: list
    cols: list
    values: list

    @classmethod
    def empty(cls) -> TargetStore:
        return cls([], [], [])

    def add(self, mask: np.ndarray, block: np.ndarray, first_row: int, first_col: int = 0):
        """Remember the targets of ``block`` (whose origin is ``first_row``, ``first_col``)."""
        r, c = np.nonzero(mask)
        if r.size:
            self.rows.append(r.astype(np.int64) + first_row)
            self.cols.append(c.astype(np.int64) + first_col)
            self.values.append(block[r, c].astype(np.complex64))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, columns and values, sorted by increasing intensity (brightest last)."""
        if not self.rows:
            return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.complex64))
        rows = np.concatenate(self.rows)
        cols = np.concatenate(self.cols)
        values = np.concatenate(self.values)
        order = np.argsort(np.abs(values), kind="stable")
        return rows[order], cols[order], values[order]

    def __len__(self) -> int:
        return int(sum(r.size for r in self.rows))


def ring_footprint(inner: int = RING_INNER, outer: int = RING_OUTER) -> np.ndarray:
    """Square ring: pixels at Chebyshev distance in ``(inner, outer]`` from the centre."""
    yy, xx = np.mgrid[-outer : outer + 1, -outer : outer + 1]
    return np.maximum(np.abs(yy), np.abs(xx)) > inner


def _filled(values: np.ndarray) -> np.ndarray:
    """``values`` with non-finite pixels set to the median of the finite ones, as in
    :func:`ring_median`."""
    finite = np.isfinite(values)
    if finite.all():
        return values
    fill = np.float32(np.median(values[finite])) if finite.any() else np.float32(0.0)
    return np.where(finite, values, fill)


def ring_median(intensity: np.ndarray, footprint: np.ndarray | None = None) -> np.ndarray:
    """Median of the ring around every pixel (mirrored at the edges; NaN counts as the image's
    median so nodata neither raises nor lowers a background).

    Returns float32; scipy takes the upper middle value of an even ring, which
    :func:`ring_factor` accounts for.
    """
    footprint = ring_footprint() if footprint is None else footprint
    values = _filled(np.asarray(intensity, dtype=np.float32))
    return median_filter(values, footprint=footprint, mode="mirror")


@functools.lru_cache(maxsize=64)
def ring_factor(pfa: float, size: int | None = None, looks: float = 1.0) -> float:
    """Threshold factor ``k``: an intensity above ``k`` times its ring median is a point target.

    For single-look (exponential) speckle the factor is exact: the ring median is the order
    statistic ``j = size // 2 + 1`` of ``size`` exponentials, a sum of independent exponentials
    of rates ``size, size - 1, ...`` (Renyi), so ``P(Y > k m) = prod_i (size - i) / (size - i + k)``
    over ``i < j``, solved for ``pfa``. For ``looks != 1`` the median's estimation noise is
    neglected (plug-in Gamma quantile over the Gamma median), which is slightly permissive.

    Parameters
    ----------
    pfa : float
        False-alarm probability on homogeneous speckle, in (0, 1).
    size : int, optional
        Number of ring pixels; default: the ring of :func:`ring_footprint`.
    looks : float
        Number of looks of the intensity.
    """
    if not 0.0 < pfa < 1.0:
        raise ValueError(f"pfa must be in (0, 1), not {pfa}")
    size = int(ring_footprint().sum()) if size is None else int(size)
    if looks != 1.0:
        quantile = special.gammainccinv(looks, pfa)
        median = special.gammaincinv(looks, 0.5)
        return float(quantile / median)
    rates = size - np.arange(size // 2 + 1, dtype=np.float64)

    def log_tail(k: float) -> float:
        return float(np.sum(np.log(rates) - np.log(rates + k)))

    low, high = 0.0, 1.0
    while log_tail(high) > np.log(pfa):
        high *= 2.0
    for _ in range(100):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if log_tail(mid) > np.log(pfa) else (low, mid)
    return high


def ring_offsets(footprint: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row and column offsets of the pixels of a centred footprint (default: the ring)."""
    footprint = ring_footprint() if footprint is None else footprint
    rows, cols = np.nonzero(footprint)
    return rows - footprint.shape[0] // 2, cols - footprint.shape[1] // 2


def local_target_mask(
    intensity: np.ndarray, pfa: float, looks: float = 1.0, threads: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Point targets by the robust local rule, and their thresholds.

    A pixel is a target when it exceeds ``k`` times the median of its ring
    (:func:`ring_median`, :func:`ring_factor`). The median is not computed everywhere: with
    ``t(u) = fl(k u)``, monotone in ``u``, the pixel ``y`` exceeds ``t(median)`` exactly when
    more than half of its ring (at least ``size // 2 + 1`` pixels, the rank scipy's median
    takes) has ``t(u) < y``, which takes one comparison per ring pixel. The median itself is
    then found only at the targets. The result equals
    ``ring_median(intensity) * float32(k)`` compared with the intensity, bit for bit
    (``tests/test_point_targets.py``), about 25 times faster than the median filter.

    Parameters
    ----------
    intensity : numpy.ndarray
        2-D intensity (NaN for nodata; never a target).
    pfa : float
        False-alarm probability; 0 disables (no target, infinite threshold).
    looks : float
        Number of looks.
    threads : int
        CPU threads for the comparisons (the result does not depend on it).

    Returns
    -------
    (mask, threshold) : (numpy.ndarray of bool, numpy.ndarray of float32)
        ``threshold`` is ``k`` times the ring median at the targets (what a clipped input takes
        there) and infinite at every other pixel.
    """
    values = np.asarray(intensity, dtype=np.float32)
    threshold = np.full(values.shape, np.inf, np.float32)
    if pfa <= 0:
        return np.zeros(values.shape, bool), threshold
    factor = np.float32(ring_factor(pfa, looks=looks))
    filled = _filled(values)
    reach = RING_OUTER
    padded = np.pad(filled, reach, mode="reflect")  # numpy's reflect is scipy's "mirror"
    scaled = padded * factor
    rows, cols = values.shape
    d_rows, d_cols = ring_offsets()
    offsets = list(zip(d_rows, d_cols))
    below = np.empty(values.shape, np.uint8)

    def count(first: int, last: int) -> None:
        # Blocks of rows, all ring offsets each: a block's counts stay in the CPU cache.
        for top in range(first, last, COUNT_BLOCK_ROWS):
            bottom = min(top + COUNT_BLOCK_ROWS, last)
            part, counts = values[top:bottom], below[top:bottom]
            counts[...] = 0
            is_below = np.empty(part.shape, bool)
            with np.errstate(invalid="ignore"):
                for dr, dc in offsets:
                    window = scaled[
                        reach + dr + top : reach + dr + bottom, reach + dc : reach + dc + cols
                    ]
                    np.less(window, part, out=is_below)
                    counts += is_below.view(np.uint8)

    shares = max(1, min(int(threads), rows // COUNT_BLOCK_ROWS))
    edges = [rows * k // shares for k in range(shares + 1)]
    run_all([lambda k=k: count(edges[k], edges[k + 1]) for k in range(shares)], shares)
    rank = d_rows.size // 2  # scipy's median of an even ring: the upper middle value
    mask = np.isfinite(values) & (below > rank)
    r, c = np.nonzero(mask)
    if r.size:
        ring = padded[r[:, None] + reach + d_rows, c[:, None] + reach + d_cols]
        median = np.partition(ring, rank, axis=1)[:, rank]
        level = median * factor
        keep = level > 0  # a ring of zeros sets no threshold
        mask[r[~keep], c[~keep]] = False
        threshold[r[keep], c[keep]] = level[keep]
    return mask, threshold


def prior_tail(
    alpha: np.ndarray, beta: np.ndarray, intensity: np.ndarray, looks: float
) -> np.ndarray:
    """Prior-predictive tail ``P(Y >= y)`` under an InvGamma(alpha, beta) prior and L looks.

    ``L y / beta`` then follows a beta-prime(L, alpha) law, so the tail is the regularised
    incomplete beta function ``I_{beta / (beta + L y)}(alpha, L)``; for one look it is
    ``(beta / (beta + y)) ** alpha``.
    """
    if looks == 1.0:
        # The closed form in float32 (single precision is ample for a test against 1e-6,
        # and five times faster than betainc in float64).
        alpha = np.asarray(alpha, dtype=np.float32)
        beta = np.asarray(beta, dtype=np.float32)
        y = np.asarray(intensity, dtype=np.float32)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
            return np.exp(alpha * np.log(beta / (beta + y)))
    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    y = np.asarray(intensity, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return special.betainc(alpha, looks, beta / (beta + looks * y))


#: Share of the false-alarm probability given to the pair test of :func:`tail_targets`.
PAIR_SHARE = 0.5
#: Pixels on each side that :func:`tail_targets` reads beyond the tails of a pixel.
PAIR_REACH = 1


def pair_threshold(pfa: float, share: float = PAIR_SHARE) -> float:
    """Tail below which two 4-neighbours are point targets together, for a false-alarm share.

    Under speckle the tails of two pixels are independent uniforms, so both are below ``s``
    with probability ``s**2``; a pixel has 4 neighbours, so ``4 s**2 = share * pfa``.
    """
    if not 0.0 < pfa < 1.0:
        raise ValueError(f"pfa must be in (0, 1), not {pfa}")
    return float(np.sqrt(share * pfa / 4.0))


def tail_targets(tail: np.ndarray, valid: np.ndarray, pfa: float) -> np.ndarray:
    """Point targets from prior-predictive tails (:func:`prior_tail`), over the last two axes.

    A valid pixel is a target when its own tail is below ``pfa``, or when its tail and a
    4-neighbour's are both below :func:`pair_threshold` (then both are): a scatterer two pixels
    wide raises each pixel's prior through the other, so that neither alone looks improbable
    enough, while the pair does. The pair test adds :data:`PAIR_SHARE` times ``pfa`` to the
    false alarms under speckle (1.5 ``pfa`` in all). Both pixels must be improbable, so the
    speckle around a single strong target is not flagged with it.
    """
    tail = np.where(valid, np.asarray(tail, dtype=np.float64), 1.0)
    found = valid & (tail < pfa)
    if pfa <= 0:
        return found
    low = tail < pair_threshold(pfa)
    for axis in (-2, -1):
        first = [slice(None)] * tail.ndim
        second = [slice(None)] * tail.ndim
        first[axis], second[axis] = slice(1, None), slice(None, -1)
        first, second = tuple(first), tuple(second)
        pair = low[first] & low[second]
        found[first] |= pair
        found[second] |= pair
    return found & valid
