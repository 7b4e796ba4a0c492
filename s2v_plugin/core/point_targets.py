"""Point targets: very bright, deterministic scatterers that are not speckle.

Whitening a strong point target would spread its sidelobes over its neighbourhood, and its
spectrum is not the speckle spectrum, so targets (intensity above ``factor`` times the median
intensity) are replaced by complex Gaussian noise of the local background power before the
spectrum is estimated and the image filtered, and their original values are put back afterwards.

The replacement noise of a line depends only on the line's index and content, never on how the
image is cut into strips, so strip-wise processing gives the same result as whole-image
processing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d

#: Seed of the replacement noise (combined with the line index).
NOISE_SEED = 20140101
#: Length (samples) of the window along a line in which the background power is measured.
BACKGROUND_WINDOW = 65


@dataclass(frozen=True)
class TargetDetector:
    """Threshold on intensity and the fallback background power.

    Attributes
    ----------
    threshold : float or None
        Intensity above which a pixel is a point target; None disables detection.
    background : float
        Mean speckle power used where a line has no background pixel near a target.
    """

    threshold: float | None
    background: float

    @classmethod
    def from_sample(cls, intensity: np.ndarray, factor: float) -> TargetDetector:
        """Detector for ``factor`` times the median of the positive, finite ``intensity``.

        Parameters
        ----------
        intensity : numpy.ndarray
            A sample of the image intensity (NaN where invalid).
        factor : float
            Threshold factor over the median; 0 (or less) disables detection.
        """
        values = np.asarray(intensity, dtype=np.float64)
        values = values[np.isfinite(values) & (values > 0)]
        median = float(np.median(values)) if values.size else 0.0
        background = median / np.log(2.0)  # mean of an exponential law with this median
        threshold = factor * median if factor > 0 and median > 0 else None
        return cls(threshold=threshold, background=background)

    def mask(self, block: np.ndarray) -> np.ndarray:
        """Boolean mask of the point targets of a complex block."""
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
