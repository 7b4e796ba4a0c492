"""Quality measures against closed-form cases."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require

from s2v_plugin.core import metrics
from s2v_plugin.core.errors import InputError


def gamma_speckle(looks: float, shape=(256, 256), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).gamma(looks, 1.0 / looks, size=shape)


@pytest.mark.parametrize("looks", [1.0, 3.0, 8.0])
def test_enl_of_pure_gamma_speckle_is_the_number_of_looks(looks):
    intensity = 50.0 * gamma_speckle(looks)
    # relative standard error of the ENL estimate is about sqrt((2 + 6/L) / n)
    tolerance = 4 * np.sqrt((2 + 6 / looks) / intensity.size)
    assert metrics.enl(intensity) == pytest.approx(looks, rel=tolerance)


def test_enl_ignores_nodata():
    intensity = gamma_speckle(4.0)
    intensity[:10] = np.nan
    assert np.isfinite(metrics.enl(intensity))


def test_enl_refuses_too_small_areas():
    with pytest.raises(InputError, match="at least"):
        metrics.enl(np.ones(metrics.MIN_ENL_PIXELS - 1))


def test_ratio_image_of_the_perfect_estimate_is_the_speckle():
    clean = np.linspace(1.0, 500.0, 128 * 128).reshape(128, 128)
    speckle = gamma_speckle(2.0, clean.shape)
    ratio = metrics.ratio_image(clean * speckle, clean)
    np.testing.assert_allclose(ratio, speckle, rtol=1e-6)
    stats = metrics.ratio_stats(ratio)
    assert stats.mean == pytest.approx(1.0, abs=0.02)
    assert stats.variance == pytest.approx(0.5, rel=0.05)
    assert stats.enl == pytest.approx(2.0, rel=0.05)


def test_ratio_image_refuses_zero_or_negative_despeckled_pixels():
    noisy = np.ones((4, 4))
    despeckled = np.ones((4, 4))
    despeckled[1, 1] = 0.0
    despeckled[2, 2] = -1.0
    with pytest.raises(InputError, match="2 despeckled pixel"):
        metrics.ratio_image(noisy, despeckled)


def test_ratio_image_keeps_nodata_and_accepts_non_positive_nodata_pixels():
    noisy = np.ones((4, 4))
    noisy[0, 0] = np.nan
    despeckled = np.ones((4, 4))
    despeckled[0, 0] = 0.0
    ratio = metrics.ratio_image(noisy, despeckled)
    assert np.isnan(ratio[0, 0]) and ratio.dtype == np.float32


def test_lag_correlation_is_near_zero_for_white_speckle_and_high_for_smooth_images():
    rows, cols = metrics.lag_correlation(gamma_speckle(1.0))
    assert abs(rows) < 0.02 and abs(cols) < 0.02
    smooth = np.add.outer(np.arange(64.0), np.arange(64.0))
    assert min(metrics.lag_correlation(smooth)) > 0.9


def test_glcm_homogeneity_is_one_for_a_constant_image_and_matches_a_hand_count():
    assert metrics.glcm_homogeneity(np.ones((8, 8)), value_range=(0, 1)) == pytest.approx(1.0)
    # two levels in vertical stripes 0 1 0 1: horizontal pairs all differ (weight 1/2),
    # vertical pairs never differ (weight 1), both diagonals always differ.
    stripes = np.tile([0.0, 1.0], (4, 2))
    h = metrics.glcm_homogeneity(stripes, levels=2, value_range=(0, 1))
    n_h, n_v, n_d = 4 * 3, 3 * 4, 3 * 3
    expected = (n_v + 0.5 * (n_h + 2 * n_d)) / (n_h + n_v + 2 * n_d)
    assert h == pytest.approx(expected)


def test_m_index_is_small_for_the_perfect_estimate_and_larger_when_structure_remains():
    clean = np.kron(np.array([[10.0, 40.0], [90.0, 20.0]]), np.ones((96, 96)))
    noisy = clean * gamma_speckle(1.0, clean.shape, seed=2)
    windows = metrics.find_homogeneous_windows(noisy, size=32, count=8)

    def measure(despeckled):
        ratio = metrics.ratio_image(noisy, despeckled)
        n = [noisy[w.slices()] for w in windows]
        r = [ratio[w.slices()] for w in windows]
        return metrics.m_index(n, r, ratio)

    from scipy import ndimage

    perfect = measure(clean)
    blurred = measure(ndimage.uniform_filter(clean, 15) * 0.8)  # biased, edges smeared
    assert perfect.value < 2.0
    assert blurred.value > 2 * perfect.value
    assert blurred.first_order > perfect.first_order


def test_psnr_matches_the_closed_form():
    reference = np.zeros((10, 10))
    reference[0, 0] = 255.0
    estimate = reference + 5.0  # MSE = 25
    assert metrics.psnr(estimate, reference) == pytest.approx(10 * np.log10(255**2 / 25))
    assert metrics.psnr(estimate, reference, peak=1.0) == pytest.approx(10 * np.log10(1 / 25))
    assert metrics.psnr(reference, reference) == float("inf")


def test_ssim_is_one_for_identical_images_and_matches_scikit_image():
    skimage_metrics = require("skimage.metrics")
    rng = np.random.default_rng(0)
    reference = rng.uniform(0, 255, (48, 40))
    estimate = reference + rng.normal(0, 20, reference.shape)
    assert metrics.ssim(reference, reference) == pytest.approx(1.0)
    expected = skimage_metrics.structural_similarity(
        estimate,
        reference,
        data_range=255.0,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )
    assert metrics.ssim(estimate, reference, data_range=255.0) == pytest.approx(expected, rel=1e-6)


def test_ssim_of_a_constant_offset_matches_the_luminance_term():
    reference = np.full((20, 20), 100.0)
    estimate = reference + 10.0
    c1 = (0.01 * 255) ** 2
    expected = (2 * 100 * 110 + c1) / (100**2 + 110**2 + c1)
    assert metrics.ssim(estimate, reference, data_range=255) == pytest.approx(expected)


def test_homogeneous_windows_avoid_edges_and_have_the_right_enl():
    clean = np.full((192, 192), 20.0)
    clean[:, 100:] = 200.0
    noisy = clean * gamma_speckle(3.0, clean.shape, seed=4)
    windows = metrics.find_homogeneous_windows(noisy, size=32, count=6)
    assert len(windows) == 6
    for w in windows:
        assert w.col + w.cols <= 100 or w.col >= 100  # no window straddles the edge
    enls = [metrics.enl(noisy[w.slices()]) for w in windows]
    assert np.median(enls) == pytest.approx(3.0, rel=0.25)


def test_homogeneous_windows_do_not_overlap_and_skip_nodata():
    noisy = 10 * gamma_speckle(1.0, (128, 128))
    noisy[:64] = np.nan
    windows = metrics.find_homogeneous_windows(noisy, size=32, count=20)
    assert windows and all(w.row >= 64 for w in windows)
    mask = np.zeros(noisy.shape, int)
    for w in windows:
        mask[w.slices()] += 1
    assert mask.max() == 1


def test_no_homogeneous_window_is_found_in_pure_texture():
    y, x = np.mgrid[0:128, 0:128]
    texture = 10 * (2 + np.sin(2 * np.pi * x / 16) * np.sin(2 * np.pi * y / 16))
    noisy = texture * gamma_speckle(16.0, texture.shape)
    assert metrics.find_homogeneous_windows(noisy, size=32) == []


def test_homogeneous_windows_skip_bright_point_targets():
    noisy = 10 * gamma_speckle(1.0, (64, 64))
    noisy[10, 10] = 1e5
    windows = metrics.find_homogeneous_windows(noisy, size=32, count=20)
    assert windows and not any(
        w.slices()[0].start <= 10 < w.slices()[0].stop
        and w.slices()[1].start <= 10 < w.slices()[1].stop
        for w in windows
    )


def test_ratio_image_leaves_pixels_zero_in_both_images_out():
    noisy = np.ones((4, 4))
    noisy[0, 0] = 0.0
    despeckled = np.ones((4, 4))
    despeckled[0, 0] = 0.0
    ratio = metrics.ratio_image(noisy, despeckled)
    assert np.isnan(ratio[0, 0]) and np.isfinite(ratio).sum() == 15
