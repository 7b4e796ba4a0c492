"""One validating pass over a band, shared by the despeckler and the classic filters.

It reads the band in strips (bounded memory), refuses negative or infinite values with a message
the user can act on, counts valid pixels and keeps a subsample of valid intensities on a fixed
pixel grid, so that statistics drawn from it do not depend on tiling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..core.domain import to_intensity
from ..core.errors import InputError
from ..core.intensity_scale import sample_stride

STRIP_PIXELS = 1 << 22


@dataclass(frozen=True)
class BandScan:
    """Result of :func:`scan_band`: valid intensity samples and the share of valid pixels."""

    samples: np.ndarray
    valid_fraction: float


def scan_band(source, domain: str, progress: Callable[[float], None] | None = None) -> BandScan:
    """Validate every pixel of ``source``'s band and subsample its valid intensities.

    Parameters
    ----------
    source : RasterSource or ArraySource
        Anything with ``info`` (height, width, is_complex) and ``read(row, col, rows, cols)``.
    domain : {"intensity", "amplitude"}
        Domain of a real band (complex bands give |z|^2).
    progress : callable, optional
        Receives the fraction of rows scanned.

    Raises
    ------
    InputError
        On negative or infinite values, or when no pixel is valid.
    """
    height, width = source.info.height, source.info.width
    stride = sample_stride(height, width)
    strip_rows = max(1, STRIP_PIXELS // max(width, 1))
    samples, valid, negatives, minimum, infinite = [], 0, 0, 0.0, 0
    for row in range(0, height, strip_rows):
        rows = min(strip_rows, height - row)
        strip = source.read(row, 0, rows, width)
        if not source.info.is_complex:
            negative = strip < 0
            if negative.any():
                negatives += int(negative.sum())
                minimum = min(minimum, float(strip[negative].min()))
        intensity = to_intensity(strip, domain)
        infinite += int(np.isinf(intensity).sum())
        valid += int(np.isfinite(intensity).sum())
        sample = intensity[(-row) % stride :: stride, ::stride]
        samples.append(sample[np.isfinite(sample)])
        if progress is not None:
            progress((row + rows) / height)
    if negatives:
        raise InputError(
            f"The band has {negatives} negative value(s) (minimum {minimum:g}): speckle filtering "
            "needs linear intensity or amplitude. If the raster is in dB, convert it first "
            "(intensity = 10^(dB/10)); otherwise check the band and the DOMAIN parameter."
        )
    if infinite:
        raise InputError(
            f"The band has {infinite} infinite value(s): set them to nodata (or NaN) first, for "
            "example with the Raster calculator or gdal_translate -a_nodata."
        )
    if valid == 0:
        raise InputError("The band has no valid pixels (all nodata or NaN): nothing to filter.")
    return BandScan(np.concatenate(samples), valid / float(height * width))
