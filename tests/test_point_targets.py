"""The local statistical point-target rule: exact false alarms on speckle, detection, the tail."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from s2v_plugin.core.point_targets import (
    PAIR_SHARE,
    local_target_mask,
    pair_threshold,
    prior_tail,
    ring_factor,
    ring_footprint,
    ring_median,
    tail_targets,
)


def test_the_ring_leaves_out_the_pixel_and_its_neighbours():
    ring = ring_footprint()
    assert ring.shape == (7, 7) and ring.sum() == 40
    assert not ring[2:5, 2:5].any() and ring[0].all()


@pytest.mark.parametrize("pfa", [1e-2, 1e-3])
def test_false_alarms_on_single_look_speckle_match_the_probability(pfa):
    # About 1000 expected false alarms: the rate must be within 20 % of pfa. The plug-in factor
    # ln(1/pfa)/ln 2, which ignores the median's estimation noise, is too low and fails this.
    rng = np.random.default_rng(5)
    image = rng.exponential(3.0, (1000, 1000)).astype(np.float32)
    rate = local_target_mask(image, pfa)[0].mean()
    assert rate == pytest.approx(pfa, rel=0.2)


def test_the_factor_is_exact_for_the_median_of_exponentials():
    rng = np.random.default_rng(1)
    k = ring_factor(1e-2, size=40)
    medians = np.sort(rng.exponential(1.0, (200_000, 40)), axis=1)[:, 20]
    tail = np.exp(-k * medians).mean()  # P(Y > k m) averaged over the median's law
    assert tail == pytest.approx(1e-2, rel=0.03)


def test_more_looks_lower_the_factor():
    assert ring_factor(1e-6, looks=4.0) < ring_factor(1e-6, looks=1.0)


def test_the_rule_is_scale_invariant_and_ignores_nodata():
    rng = np.random.default_rng(2)
    image = rng.exponential(1.0, (64, 64)).astype(np.float32)
    image[10, 10] = 500.0
    image[30:34, 30:34] = np.nan
    mask, threshold = local_target_mask(image, 1e-6)
    scaled, _ = local_target_mask(image * 1e4, 1e-6)
    assert mask[10, 10] and np.array_equal(mask, scaled)
    assert not mask[30:34, 30:34].any()
    assert np.isfinite(threshold[mask]).all() and np.isinf(threshold[~mask]).all()


def _reference_rule(image, pfa, looks):
    # The rule as defined: k times the ring median everywhere (scipy's median filter).
    threshold = ring_median(image) * np.float32(ring_factor(pfa, looks=looks))
    with np.errstate(invalid="ignore"):
        mask = np.isfinite(image) & (image > threshold) & (threshold > 0)
    return mask, threshold


@pytest.mark.parametrize("trial", range(12))
def test_the_counting_rule_equals_the_ring_median_rule_bit_for_bit(trial):
    # Two-level scenes with strong scatterers, zeros, ties, nodata and odd shapes: the fast
    # rule (count of ring pixels below y / k) must flag the same pixels with the same
    # thresholds as k times scipy's ring median.
    rng = np.random.default_rng(100 + trial)
    rows, cols = rng.integers(8, 160, 2)
    image = rng.exponential(1.0, (rows, cols)).astype(np.float32)
    image *= np.where(rng.random((rows, cols)) < 0.5, 1.0, 1e3).astype(np.float32)
    image[rng.random((rows, cols)) < 0.01] *= 1e4
    image[rng.random((rows, cols)) < 0.02] = 0.0
    if trial % 3 == 0:
        image[rng.random((rows, cols)) < 0.05] = np.nan
    if trial % 4 == 0:
        image = np.round(image, 1)  # ties
    if trial % 5 == 0:
        image[: rows // 3] = 0.0
    pfa, looks = [(1e-6, 1.0), (1e-2, 1.0), (1e-3, 3.0)][trial % 3]
    expected_mask, expected_threshold = _reference_rule(image, pfa, looks)
    mask, threshold = local_target_mask(image, pfa, looks)
    assert expected_mask.sum() > 0
    assert np.array_equal(mask, expected_mask)
    assert np.array_equal(threshold[mask], expected_threshold[mask])


def test_pfa_zero_disables_the_rule():
    mask, threshold = local_target_mask(np.full((8, 8), 1e9, np.float32), 0.0)
    assert not mask.any() and np.isinf(threshold).all()


def test_a_scatterer_does_not_raise_its_own_background():
    image = np.ones((32, 32), np.float32)
    image[10:12, 10:12] = 1e4  # a 2 x 2 scatterer: its other pixels fall inside the inner square
    assert ring_median(image)[10, 10] == 1.0


@pytest.mark.parametrize("looks", [1.0, 3.0])
def test_the_prior_predictive_tail_matches_monte_carlo(looks):
    rng = np.random.default_rng(3)
    alpha, beta = 4.0, 6.0
    x = stats.invgamma(alpha, scale=beta).rvs(400_000, random_state=rng)
    y = x * rng.gamma(looks, 1.0 / looks, x.size)
    for level in (2.0, 8.0, 30.0):
        assert prior_tail(alpha, beta, level, looks) == pytest.approx(
            (y >= level).mean(), rel=0.05, abs=2e-4
        )


def test_the_one_look_tail_has_its_closed_form():
    assert prior_tail(3.0, 2.0, 5.0, 1.0) == pytest.approx((2.0 / 7.0) ** 3)


def test_the_model_card_carries_the_probability_with_a_default():
    import json

    from s2v_plugin.core.errors import ModelError
    from s2v_plugin.runtime.model_card import ModelCard

    base = {"name": "m", "model_version": "1", "receptive_field": 3}
    assert ModelCard.from_json(json.dumps(base)).point_target_pfa == 1e-6  # cards before 1.2
    assert ModelCard.from_json(json.dumps({**base, "point_target_pfa": 0.0})).point_target_pfa == 0
    with pytest.raises(ModelError, match="point_target_pfa"):
        ModelCard.from_json(json.dumps({**base, "point_target_pfa": 1.0}))


def test_the_tail_rule_with_its_pair_test_keeps_the_false_alarm_rate_on_uniform_tails():
    # Under speckle the prior-predictive tails are independent uniforms. A pixel is flagged
    # alone (pfa) or with a 4-neighbour when both are below s: exactly
    # pfa + (s - pfa) (1 - (1 - s)^4), about (1 + PAIR_SHARE) pfa (about 3700 pixels here).
    pfa = 1e-3
    level = pair_threshold(pfa)
    tail = np.random.default_rng(4).uniform(size=(1000, 2500))
    rate = tail_targets(tail, np.ones(tail.shape, bool), pfa).mean()
    expected = pfa + (level - pfa) * (1 - (1 - level) ** 4)
    assert abs(expected / ((1 + PAIR_SHARE) * pfa) - 1) < 0.1
    assert abs(rate - expected) < 0.06 * expected, (rate, expected)


def test_the_pair_test_needs_both_neighbours_improbable():
    pfa = 1e-4
    level = pair_threshold(pfa)
    assert 4 * level**2 == pytest.approx(PAIR_SHARE * pfa)
    tail = np.full((9, 9), 0.5)
    tail[2, 2] = tail[2, 3] = level / 2  # a two-pixel scatterer, neither alone below pfa
    tail[6, 6] = 1e-30  # a strong single target: its neighbours stay speckle
    tail[6, 7] = 0.1
    found = tail_targets(tail, np.ones(tail.shape, bool), pfa)
    assert np.argwhere(found).tolist() == [[2, 2], [2, 3], [6, 6]]
    valid = np.ones(tail.shape, bool)
    valid[2, 3] = False  # nodata is never a target nor half of a pair
    assert np.argwhere(tail_targets(tail, valid, pfa)).tolist() == [[6, 6]]


def test_the_single_look_tail_is_the_incomplete_beta_function():
    rng = np.random.default_rng(4)
    alpha = 1.0 + rng.exponential(20.0, 10_000)
    beta = alpha * rng.exponential(1.0, alpha.size)
    y = rng.exponential(3.0, alpha.size)
    expected = special.betainc(alpha, 1.0, beta / (beta + y))
    np.testing.assert_allclose(prior_tail(alpha, beta, y, 1.0), expected, rtol=2e-5, atol=1e-30)


def test_the_rule_does_not_depend_on_the_number_of_threads():
    rng = np.random.default_rng(9)
    image = rng.exponential(1.0, (200, 190)).astype(np.float32)
    image[rng.random(image.shape) < 0.01] *= 1e3
    one = local_target_mask(image, 1e-6, 1.0, threads=1)
    for threads in (2, 3):
        mask, threshold = local_target_mask(image, 1e-6, 1.0, threads=threads)
        assert np.array_equal(mask, one[0]) and np.array_equal(threshold, one[1])
