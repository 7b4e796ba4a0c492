"""One normalisation scale per raster, and the (deprecated, global) point-target threshold.

With the local point-target rule (``point_target_pfa > 0``) the scale is the mean of the valid
intensities at or below their 99.9th percentile: a few strong scatterers, however bright, move it
by at most a few per cent, while dark water or bright towns keep their weight. With the
deprecated global rule (``point_target_pfa == 0``) it is the mean of the pixels below
``factor`` times the median, as in version 1.

Both are positively homogeneous statistics of the raster's valid intensities (a median and a
mean), so multiplying the raster by k multiplies them by k: the despeckler stays
scale-equivariant. They are computed once per raster from a deterministic, tiling-independent
subsample, so tiled and untiled runs use the same values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError

MAX_SAMPLES = 2_000_000
#: Quantile above which samples are left out of the scale under the local rule.
TRIM_QUANTILE = 0.999


@dataclass(frozen=True)
class IntensityScale:
    """Normalisation scale and point-target threshold of one raster.

    Attributes
    ----------
    scale : float
        Mean intensity of the valid pixels that are not point targets.
    threshold : float
        Intensities above this are point targets (inf when detection is disabled).
    valid_fraction : float
        Share of pixels that are valid (finite and not nodata).
    pfa : float
        False-alarm probability of the local point-target rule; 0: the global threshold rules.
    """

    scale: float
    threshold: float
    valid_fraction: float
    pfa: float = 0.0


def sample_stride(height: int, width: int, max_samples: int = MAX_SAMPLES) -> int:
    """Row and column stride of the subsample: every pixel on small rasters."""
    return max(1, int(np.ceil(np.sqrt(height * width / max_samples))))


def scale_from_samples(
    samples: np.ndarray,
    point_target_factor: float,
    valid_fraction: float = 1.0,
    point_target_pfa: float = 0.0,
) -> IntensityScale:
    """Scale and threshold from valid (finite, non-negative) intensity samples.

    Parameters
    ----------
    samples : ndarray
        Valid intensities (any shape).
    point_target_factor : float
        Point targets are brighter than this times the median; 0 disables detection.
    valid_fraction : float
        Passed through to the result.
    point_target_pfa : float
        When positive, the local rule decides point targets elsewhere: no global threshold, and
        the scale is the mean below the ``TRIM_QUANTILE`` quantile (``point_target_factor`` is
        ignored).

    Raises
    ------
    InputError
        When there is no valid pixel or every valid pixel is zero.
    """
    values = np.asarray(samples, dtype=np.float64).ravel()
    if values.size == 0:
        raise InputError(
            "The raster has no valid pixels (all nodata or NaN): nothing to despeckle."
        )
    if point_target_pfa > 0:
        threshold = float("inf")
        kept = values[values <= np.quantile(values, TRIM_QUANTILE)]
    else:
        median = float(np.median(values))
        if point_target_factor > 0 and median > 0:
            threshold = point_target_factor * median
        else:
            threshold = float("inf")
        kept = values[values <= threshold]
    scale = float(kept.mean()) if kept.size else 0.0
    if not scale > 0:
        raise InputError(
            "Every valid pixel of the raster is zero: there is no signal to despeckle. "
            "Check the band, the nodata value and the data type."
        )
    return IntensityScale(
        scale=scale,
        threshold=threshold,
        valid_fraction=valid_fraction,
        pfa=float(max(point_target_pfa, 0.0)),
    )
