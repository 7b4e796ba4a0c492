"""The Bayesian estimator of Speckle2Void.

Speckle model: ``y = x * n`` with ``n ~ Gamma(L, 1/L)`` (unit mean, L looks), so
``y | x ~ Gamma(L, x / L)``. Prior predicted by the network: ``x ~ InvGamma(alpha, beta)``.
The posterior is ``InvGamma(alpha + L, beta + L y)``, whose mean and standard deviation are

    mean = (beta + L y) / (alpha + L - 1)            (defined for alpha + L > 1)
    std  = mean / sqrt(alpha + L - 2)                 (finite for alpha + L > 2, else +inf)
"""

from __future__ import annotations

import numpy as np


def posterior_mean(alpha: np.ndarray, beta: np.ndarray, y: np.ndarray, looks: float) -> np.ndarray:
    """Posterior mean of the clean intensity (MMSE estimate)."""
    denominator = np.maximum(alpha + (looks - 1.0), np.float32(1e-6))
    return ((beta + looks * y) / denominator).astype(np.float32, copy=False)


def posterior_std(mean: np.ndarray, alpha: np.ndarray, looks: float) -> np.ndarray:
    """Posterior standard deviation of the clean intensity; +inf where it is not finite."""
    shape = alpha + (looks - 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        std = np.where(shape > 0, mean / np.sqrt(np.maximum(shape, 1e-30)), np.inf)
    return std.astype(np.float32, copy=False)
