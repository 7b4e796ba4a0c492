"""The local-mean renormalisation of the despeckled estimate (issue 9)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from s2v_plugin.core.local_mean import RADIUS, SIGMA, TRUNCATE, renormalise


def _scene(seed=0, shape=(96, 128)):
    rng = np.random.default_rng(seed)
    clean = np.exp(gaussian_filter(rng.standard_normal(shape), 3) * 3).astype(np.float32)
    return clean, (clean * rng.exponential(1.0, shape)).astype(np.float32)


def test_a_constant_bias_is_removed_exactly():
    clean, observed = _scene()
    weight = np.ones(observed.shape, bool)
    out = renormalise(np.float32(0.7) * observed, observed, weight)
    np.testing.assert_allclose(out, observed, rtol=1e-5)


def test_a_smooth_bias_is_removed_and_the_mean_kept():
    # an estimate biased low by 20 % on the right half: the local factor restores the mean
    clean, observed = _scene(1, (128, 256))
    biased = clean.copy()
    biased[:, 128:] *= np.float32(0.8)
    weight = np.ones(observed.shape, bool)
    out = renormalise(biased, observed, weight)
    inner = slice(RADIUS, -RADIUS)
    assert abs(out[inner, inner].mean() / observed[inner, inner].mean() - 1) < 0.02
    assert abs(biased[inner, inner].mean() / observed[inner, inner].mean() - 1) > 0.08


def test_excluded_pixels_do_not_move_the_factor_and_it_scales():
    clean, observed = _scene(2)
    weight = np.ones(observed.shape, bool)
    weight[40, 50] = False
    base = renormalise(clean, observed, weight)
    bright = observed.copy()
    bright[40, 50] = 1e9  # a point target: left out of both local means
    np.testing.assert_allclose(renormalise(clean, bright, weight), base, rtol=1e-6)
    np.testing.assert_allclose(renormalise(clean * 5, observed * 5, weight), base * 5, rtol=1e-5)


def test_the_factor_reads_exactly_radius_pixels():
    assert RADIUS == int(TRUNCATE * SIGMA + 0.5)
    clean, observed = _scene(3, (160, 160))
    weight = np.ones(observed.shape, bool)
    base = renormalise(clean, observed, weight)
    moved = observed.copy()
    moved[80, 80 + RADIUS + 1] *= 100  # just out of reach of pixel (80, 80)
    assert renormalise(clean, moved, weight)[80, 80] == base[80, 80]
    moved[80, 80 + RADIUS] *= 100  # within reach
    assert renormalise(clean, moved, weight)[80, 80] != base[80, 80]


def test_batches_are_filtered_one_window_at_a_time():
    clean, observed = _scene(4)
    weight = np.ones(observed.shape, bool)
    batch = renormalise(
        np.stack([clean, clean * 2]), np.stack([observed, observed]), np.stack([weight, weight])
    )
    np.testing.assert_allclose(batch[0], renormalise(clean, observed, weight), rtol=1e-6)
    np.testing.assert_allclose(batch[1], renormalise(clean * 2, observed, weight), rtol=1e-6)


@pytest.mark.parametrize("margin", [33, 60, 100])
def test_a_margin_gives_the_same_inner_values_bit_for_bit(margin):
    # The despeckler skips the halo no later stage reads; the inner values must not change.
    rng = np.random.default_rng(7)
    observed = rng.exponential(1.0, (2, 260, 240)).astype(np.float32)
    estimate = (observed * rng.uniform(0.5, 1.5, observed.shape)).astype(np.float32)
    weight = rng.random(observed.shape) > 0.1
    full = renormalise(estimate, observed, weight)
    part = renormalise(estimate, observed, weight, margin=margin)
    inner = (Ellipsis, slice(margin, -margin), slice(margin, -margin))
    assert np.array_equal(part[inner], full[inner])
    assert not np.array_equal(part, full)  # the margin itself was skipped


def test_the_factor_does_not_depend_on_the_number_of_threads():
    clean, observed = _scene(3)
    weight = np.ones(observed.shape, bool)
    one = renormalise(np.float32(0.8) * clean, observed, weight, threads=1)
    assert np.array_equal(renormalise(np.float32(0.8) * clean, observed, weight, threads=2), one)
