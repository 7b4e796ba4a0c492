"""Local-mean renormalisation of a despeckled estimate.

A blind-spot prior predicts each pixel from its neighbourhood only. Where the network's prior is
biased (bright textured areas, clusters of bright pixels that the neighbourhood cannot predict),
the posterior mean loses intensity that speckle cannot explain: on real SLCs 11-16 % of the scene
mean with the shipped 1.1 weights. The estimate is therefore multiplied by the ratio of two
Gaussian-weighted local means, of the observed intensity and of the estimate::

    x' = x * G_sigma(w y) / G_sigma(w x)

with ``w`` 1 on valid pixels that are not point targets (targets keep their observed value and
nodata carries nothing). Where the prior is unbiased both local means agree in expectation and the
estimate is unchanged; the scene mean of the output then matches the input's.

The factor at a pixel depends on its neighbourhood up to :data:`RADIUS` pixels away (the
Gaussian's support), so tiles must carry that much more halo to stay equal to an untiled run.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from .concurrency import run_all

#: Gaussian standard deviation (pixels) of the local means.
SIGMA = 8.0
#: Support of the Gaussian in standard deviations (scipy's ``truncate``).
TRUNCATE = 4.0
#: Pixels on each side that the factor reads (scipy's kernel radius).
RADIUS = int(TRUNCATE * SIGMA + 0.5)


def renormalise(
    estimate: np.ndarray,
    observed: np.ndarray,
    weight: np.ndarray,
    sigma: float = SIGMA,
    margin: int = 0,
    threads: int = 1,
) -> np.ndarray:
    """Multiply ``estimate`` by the local mean of ``observed`` over the local mean of ``estimate``.

    Parameters
    ----------
    estimate, observed : numpy.ndarray
        Arrays ``[..., H, W]`` (filtered over the last two axes); finite wherever ``weight``.
    weight : numpy.ndarray of bool
        Pixels that enter the local means (valid and not point targets).
    sigma : float
        Gaussian standard deviation in pixels.
    margin : int
        Pixels along each edge of the last two axes whose result is not needed (a tile's halo
        beyond what later stages read). The local means are then computed on the inner part
        plus the Gaussian's reach only, which gives the same values there, bit for bit; the
        margin keeps the estimate unchanged.
    threads : int
        CPU threads for the two local means (the result does not depend on it).

    Returns
    -------
    numpy.ndarray
        float32 ``estimate`` times the factor (1 where no weighted pixel is within reach).
    """
    estimate = np.asarray(estimate, dtype=np.float32)
    reach = int(TRUNCATE * sigma + 0.5)  # scipy's kernel radius
    rows, cols = estimate.shape[-2:]
    if reach < margin and 2 * margin < min(rows, cols):
        cut = margin - reach
        inner = (Ellipsis, slice(cut, rows - cut), slice(cut, cols - cut))
        part = renormalise(estimate[inner], observed[inner], weight[inner], sigma, 0, threads)
        out = estimate.copy()
        out[..., margin : rows - margin, margin : cols - margin] = part[
            ..., reach:-reach, reach:-reach
        ]
        return out
    sigmas = (0.0,) * (estimate.ndim - 2) + (sigma, sigma)
    zero = np.float32(0.0)
    observed_mean, estimate_mean = run_all(
        [
            lambda: gaussian_filter(
                np.where(weight, observed, zero).astype(np.float32), sigmas, truncate=TRUNCATE
            ),
            lambda: gaussian_filter(np.where(weight, estimate, zero), sigmas, truncate=TRUNCATE),
        ],
        threads,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(estimate_mean > 0, observed_mean / estimate_mean, np.float32(1.0))
    return (estimate * factor).astype(np.float32, copy=False)
