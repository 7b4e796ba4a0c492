"""The Speckle2Void loss: closed form, normalisation and minimiser."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import require

torch = require("torch")
from scipy import integrate, stats  # noqa: E402

from training.loss import (  # noqa: E402
    masked_mean,
    neg_log_marginal,
    posterior_mean,
    speckle2void_loss,
    total_variation,
)


def _t(*values):
    return torch.tensor(values, dtype=torch.float64)


def test_single_look_loss_equals_the_hand_computed_value():
    # L = 1: p(y) = alpha beta^alpha / (beta + y)^(alpha + 1) = 3 * 4^3 / 6^4
    nll = neg_log_marginal(_t(2.0), _t(3.0), _t(4.0), looks=1.0)
    assert float(nll) == pytest.approx(-math.log(3 * 64 / 6**4), rel=1e-12)


def test_multi_look_loss_equals_the_closed_form():
    y, a, b, L = 0.7, 2.5, 1.8, 4.0  # noqa: N806
    expected = -(
        L * math.log(L)
        + (L - 1) * math.log(y)
        + a * math.log(b)
        - (a + L) * math.log(b + L * y)
        - math.lgamma(a)
        - math.lgamma(L)
        + math.lgamma(a + L)
    )
    assert float(neg_log_marginal(_t(y), _t(a), _t(b), L)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("looks", [1.0, 3.0])
def test_the_marginal_is_the_gamma_speckle_integrated_over_the_inverse_gamma_prior(looks):
    y, a, b = 1.3, 3.0, 2.2
    speckle = lambda x: stats.gamma.pdf(y, looks, scale=x / looks)  # noqa: E731
    prior = lambda x: stats.invgamma.pdf(x, a, scale=b)  # noqa: E731
    numeric, _ = integrate.quad(lambda x: speckle(x) * prior(x), 0, np.inf)
    closed = math.exp(-float(neg_log_marginal(_t(y), _t(a), _t(b), looks)))
    assert closed == pytest.approx(numeric, rel=1e-6)


def test_the_marginal_integrates_to_one():
    total, _ = integrate.quad(
        lambda y: math.exp(-float(neg_log_marginal(_t(y), _t(2.5), _t(1.5), 1.0))), 0, np.inf
    )
    assert total == pytest.approx(1.0, rel=1e-6)


def test_the_posterior_mean_equals_the_numerical_posterior_mean():
    y, a, b, looks = 0.9, 3.0, 2.0, 2.0
    joint = lambda x: stats.gamma.pdf(y, looks, scale=x / looks) * stats.invgamma.pdf(x, a, scale=b)  # noqa: E731,E501
    num, _ = integrate.quad(lambda x: x * joint(x), 0, np.inf)
    den, _ = integrate.quad(joint, 0, np.inf)
    assert float(posterior_mean(_t(y), _t(a), _t(b), looks)) == pytest.approx(num / den, rel=1e-6)


def test_a_zero_intensity_gives_a_finite_single_look_loss():
    assert torch.isfinite(neg_log_marginal(_t(0.0), _t(2.0), _t(1.0), 1.0)).all()


def test_the_minimiser_on_synthetic_gamma_data_is_the_true_prior():
    rng = np.random.default_rng(0)
    true_alpha, true_beta = 4.0, 3.0
    x = stats.invgamma.rvs(true_alpha, scale=true_beta, size=200_000, random_state=rng)
    y = torch.from_numpy(x * rng.gamma(1.0, 1.0, size=x.size))
    params = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([params], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        alpha = 1.0 + torch.exp(params[0])
        loss = neg_log_marginal(y, alpha, torch.exp(params[1]), 1.0).mean()
        loss.backward()
        return loss

    optimizer.step(closure)
    fitted = params.detach()
    alpha, beta = 1.0 + math.exp(float(fitted[0])), math.exp(float(fitted[1]))
    assert alpha == pytest.approx(true_alpha, rel=0.1)
    assert beta == pytest.approx(true_beta, rel=0.1)


def test_total_variation_sums_absolute_differences_per_image_and_averages_the_batch():
    x = torch.tensor([[[[0.0, 1.0], [3.0, 3.0]]], [[[0.0, 0.0], [0.0, 0.0]]]])
    # image 1: vertical |3-0| + |3-1| = 5, horizontal |1-0| + |3-3| = 1 -> 6; image 2: 0
    assert float(total_variation(x)) == pytest.approx(3.0)


def test_masked_pixels_do_not_count():
    values = torch.tensor([1.0, 100.0, 3.0])
    assert float(masked_mean(values, torch.tensor([True, False, True]))) == pytest.approx(2.0)


def test_the_training_loss_adds_the_weighted_total_variation_of_the_estimate():
    y = torch.rand(2, 1, 8, 8) + 0.1
    a, b = torch.full_like(y, 3.0), torch.full_like(y, 2.0)
    loss, parts = speckle2void_loss(y, a, b, 1.0, None, tv_weight=0.5, tv_reference_pixels=None)
    tv = float(total_variation(posterior_mean(y, a, b, 1.0)))
    assert float(loss) == pytest.approx(parts["nll"] + 0.5 * tv, rel=1e-6)


def test_the_total_variation_is_rescaled_to_a_64_by_64_patch():
    y = torch.rand(2, 1, 32, 16) + 0.1
    a, b = torch.full_like(y, 3.0), torch.full_like(y, 2.0)
    loss, parts = speckle2void_loss(y, a, b, 1.0, None, tv_weight=0.5)
    tv = float(total_variation(posterior_mean(y, a, b, 1.0)))
    assert float(loss) == pytest.approx(parts["nll"] + 0.5 * tv * 4096 / (32 * 16), rel=1e-6)
