"""The evaluation's Bayesian ratio-mean identity, checked by Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest

from s2v_plugin.core import bayes
from training.evaluate import bayes_ratio_mean


@pytest.mark.parametrize("alpha", [3.0, 19.0, 120.0])
def test_a_calibrated_posterior_mean_has_ratio_mean_alpha_over_alpha_plus_one(alpha):
    # Clean intensity drawn from the prior InvGamma(alpha, beta), single-look speckle on top:
    # the exact posterior mean gives E[y / estimate] = alpha / (alpha + 1), below 1.
    rng = np.random.default_rng(1)
    n = 400_000
    beta = alpha - 1.0
    x = beta / rng.gamma(alpha, 1.0, n)
    y = (x * rng.exponential(1.0, n)).astype(np.float32)
    a = np.full(n, alpha, np.float32)
    b = np.full(n, beta, np.float32)
    mean = bayes.posterior_mean(a, b, y, 1.0)
    std = bayes.posterior_std(mean, a, 1.0)
    expected = alpha / (alpha + 1.0)
    assert bayes_ratio_mean(mean, std) == pytest.approx(expected, rel=1e-4)
    assert float(np.mean(y / mean)) == pytest.approx(expected, rel=3e-3)
    # ...while the posterior mean keeps the mean intensity.
    assert float(mean.mean() / y.mean()) == pytest.approx(1.0, abs=0.01 if alpha > 3 else 0.03)


def test_point_targets_count_as_one_and_nodata_is_left_out():
    mean = np.array([1.0, 2.0, np.nan], np.float32)
    std = np.array([1.0 / np.sqrt(18.0), np.nan, np.nan], np.float32)  # a = 20, target, nodata
    assert bayes_ratio_mean(mean, std) == pytest.approx((19.0 / 20.0 + 1.0) / 2.0, rel=1e-6)
