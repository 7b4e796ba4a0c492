"""Each classic speckle filter against its textbook formula, computed pixel by pixel here."""

from __future__ import annotations

import numpy as np
import pytest

from s2v_plugin.core import classic_filters as cf
from s2v_plugin.core.errors import InputError


def speckled(shape=(15, 17), looks=1.0, seed=0) -> np.ndarray:
    """A piecewise-constant scene (a bright square on a dark field) with Gamma(L) speckle."""
    rng = np.random.default_rng(seed)
    clean = np.full(shape, 10.0)
    clean[4:11, 5:12] = 80.0
    return (clean * rng.gamma(looks, 1.0 / looks, size=shape)).astype(np.float32)


def mirrored(image: np.ndarray, pad: int) -> np.ndarray:
    """Edge-excluding mirror padding, the convention of the tile reader."""
    return np.pad(image.astype(np.float64), pad, mode="reflect")


def window_at(padded: np.ndarray, pad: int, r: int, c: int, half: int) -> np.ndarray:
    return padded[r + pad - half : r + pad + half + 1, c + pad - half : c + pad + half + 1]


def reference(image, window, per_pixel, pad=None):
    """Apply ``per_pixel(win, centre_value)`` at every pixel with mirrored edges."""
    half = window // 2
    pad = pad or half
    padded = mirrored(image, pad)
    out = np.empty(image.shape)
    for r in range(image.shape[0]):
        for c in range(image.shape[1]):
            out[r, c] = per_pixel(window_at(padded, pad, r, c, half), float(image[r, c]))
    return out


def lee_pixel(looks):
    def f(win, z):
        mu, var = win.mean(), win.var()
        w = 0.0 if var == 0 else min(max(1 - (1 / looks) / (var / mu**2), 0.0), 1.0)
        return mu + w * (z - mu)

    return f


def kuan_pixel(looks):
    def f(win, z):
        mu, var = win.mean(), win.var()
        cu2 = 1 / looks
        w = 0.0 if var == 0 else (1 - cu2 / (var / mu**2)) / (1 + cu2)
        return mu + min(max(w, 0.0), 1.0) * (z - mu)

    return f


@pytest.mark.parametrize("window", [3, 5, 7])
def test_boxcar_is_the_window_mean(window):
    image = speckled()
    expected = reference(image, window, lambda win, z: win.mean())
    np.testing.assert_allclose(cf.boxcar(image, window), expected, rtol=1e-5)


def test_lee_returns_window_mean_on_a_constant_image():
    image = np.full((9, 9), 3.0, dtype=np.float32)
    np.testing.assert_allclose(cf.lee(image, 7, 1.0), image)


def test_lee_leaves_nodata_as_nan_and_ignores_it_in_neighbours():
    image = speckled()
    image[7, 8] = np.nan
    out = cf.lee(image, 5, 1.0)
    assert np.isnan(out[7, 8])
    assert np.isfinite(np.delete(out.ravel(), 7 * image.shape[1] + 8)).all()
    # at (7, 9) the 5 x 5 window holds the hole: its statistics use the 24 valid pixels only
    window = image[5:10, 7:12].astype(np.float64)
    valid = window[np.isfinite(window)]
    assert valid.size == 24
    mean, variance = valid.mean(), valid.var()
    weight = np.clip(1.0 - 1.0 / (variance / mean**2), 0.0, 1.0)
    assert out[7, 9] == pytest.approx(mean + weight * (image[7, 9] - mean), rel=1e-5)


def test_lee_output_is_float32():
    assert cf.lee(speckled().astype(np.float64), 7, 1.0).dtype == np.float32


@pytest.mark.parametrize("window", [2, 4, 1])
def test_even_or_tiny_windows_are_refused(window):
    with pytest.raises(InputError, match="odd"):
        cf.lee(speckled(), window, 1.0)


def gamma_map_pixel(looks):
    def f(win, z):
        mu, var = win.mean(), win.var()
        cu2, ci2 = 1 / looks, var / mu**2
        if ci2 <= cu2:
            return mu
        if ci2 >= 2 * cu2:
            return z
        alpha = (1 + cu2) / (ci2 - cu2)
        b = alpha - looks - 1
        return (b * mu + np.sqrt(mu**2 * b**2 + 4 * alpha * looks * z * mu)) / (2 * alpha)

    return f


def frost_pixel(damping):
    def f(win, z):
        half = win.shape[0] // 2
        i, j = np.mgrid[-half : half + 1, -half : half + 1]
        ci2 = win.var() / win.mean() ** 2
        m = np.exp(-damping * ci2 * np.sqrt(i**2 + j**2))
        return (m * win).sum() / m.sum()

    return f


@pytest.mark.parametrize(
    ("function", "pixel_rule", "window", "looks"),
    [
        (cf.lee, lee_pixel, 7, 1.0),
        (cf.lee, lee_pixel, 5, 4.0),
        (cf.lee, lee_pixel, 3, 2.0),
        (cf.kuan, kuan_pixel, 7, 1.0),
        (cf.kuan, kuan_pixel, 5, 4.0),
        (cf.gamma_map, gamma_map_pixel, 7, 1.0),
        (cf.gamma_map, gamma_map_pixel, 5, 3.0),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_lee_kuan_and_gamma_map_match_their_textbook_formulas(function, pixel_rule, window, looks):
    image = speckled(looks=looks)
    expected = reference(image, window, pixel_rule(looks))
    np.testing.assert_allclose(function(image, window, looks), expected, rtol=1e-5)


def test_gamma_map_uses_all_three_regimes_on_the_test_scene():
    image = speckled(looks=3.0)
    mean, var = cf.local_stats(image, 5)
    ci2 = var / mean**2
    assert (ci2 <= 1 / 3).any() and (ci2 >= 2 / 3).any() and ((ci2 > 1 / 3) & (ci2 < 2 / 3)).any()


@pytest.mark.parametrize(("window", "damping"), [(7, 2.0), (5, 0.5)])
def test_frost_matches_textbook_formula(window, damping):
    image = speckled()
    expected = reference(image, window, frost_pixel(damping))
    np.testing.assert_allclose(cf.frost(image, window, damping=damping), expected, rtol=1e-5)


def refined_lee_reference(image, window, looks):
    """Lee 1981 written out pixel by pixel, independently of the vectorised filter."""
    half = window // 2
    s = -(-window // 3)
    s += 1 - s % 2
    d = (window - s) // 2
    padded = mirrored(image, half)
    i, j = np.mgrid[-half : half + 1, -half : half + 1]
    halves = [j <= 0, j >= 0, i <= 0, i >= 0, j - i >= 0, j - i <= 0, i + j <= 0, i + j >= 0]
    g_masks = [
        np.array([[-1, 0, 1]] * 3),
        np.array([[-1, 0, 1]] * 3).T,
        np.array([[0, 1, 1], [-1, 0, 1], [-1, -1, 0]]),
        np.array([[1, 1, 0], [1, 0, -1], [0, -1, -1]]),
    ]
    sides = [((1, 0), (1, 2)), ((0, 1), (2, 1)), ((0, 2), (2, 0)), ((0, 0), (2, 2))]
    cu2 = 1 / looks
    out = np.empty(image.shape)
    for r in range(image.shape[0]):
        for c in range(image.shape[1]):
            win = window_at(padded, half, r, c, half)
            m = np.array(
                [
                    [
                        win[
                            half + (a - 1) * d - s // 2 : half + (a - 1) * d + s // 2 + 1,
                            half + (b - 1) * d - s // 2 : half + (b - 1) * d + s // 2 + 1,
                        ].mean()
                        for b in range(3)
                    ]
                    for a in range(3)
                ]
            )
            tol = 1e-9 * abs(m[1, 1])  # rounding-level ties go to the first candidate
            grads = [abs((g * m).sum()) for g in g_masks]
            direction = next(k for k, g in enumerate(grads) if g >= max(grads) - 6 * tol)
            (a0, b0), (a1, b1) = sides[direction]
            first = abs(m[a0, b0] - m[1, 1]) <= abs(m[a1, b1] - m[1, 1]) + 2 * tol
            pixels = win[halves[2 * direction + (0 if first else 1)]]
            mu, var = pixels.mean(), pixels.var()
            b = 0.0 if var == 0 else max(var - mu**2 * cu2, 0) / ((1 + cu2) * var)
            out[r, c] = mu + b * (image[r, c] - mu)
    return out


@pytest.mark.parametrize(("window", "looks"), [(7, 1.0), (5, 2.0), (9, 1.0)])
def test_refined_lee_matches_lee_1981(window, looks):
    image = speckled((17, 19), looks=looks)
    expected = refined_lee_reference(image, window, looks)
    np.testing.assert_allclose(cf.refined_lee(image, window, looks), expected, rtol=1e-5)


def test_refined_lee_keeps_a_straight_edge_sharper_than_lee():
    clean = np.full((21, 21), 10.0)
    clean[:, 11:] = 100.0
    image = (clean * np.random.default_rng(3).gamma(4.0, 0.25, clean.shape)).astype(np.float32)
    error = {
        f: np.abs(getattr(cf, f)(image, 7, 4.0) - clean)[:, 8:14].mean()
        for f in ("lee", "refined_lee")
    }
    assert error["refined_lee"] < error["lee"]


def test_sigma_range_holds_the_mass_and_is_unbiased():
    from scipy import integrate, stats

    for looks in (1.0, 4.0):
        a1, a2, eta = cf.sigma_range(looks, 0.9)
        speckle = stats.gamma(looks, scale=1 / looks)
        mass = integrate.quad(speckle.pdf, a1, a2)[0]
        mean = speckle.expect(lambda v: v, lb=a1, ub=a2) / mass
        second = speckle.expect(lambda v: v * v, lb=a1, ub=a2) / mass
        assert mass == pytest.approx(0.9, abs=1e-6)
        assert mean == pytest.approx(1.0, abs=1e-6)
        assert eta == pytest.approx(np.sqrt(second - 1.0), abs=1e-6)


def test_sigma_range_for_one_look_matches_lee_2009_table():
    a1, a2, eta = cf.sigma_range(1.0, 0.9)
    assert (a1, eta) == (pytest.approx(0.084, abs=1e-3), pytest.approx(0.819, abs=1e-3))


def lee_sigma_reference(image, window, looks, sigma, z98, k=5):
    a1, a2, eta = cf.sigma_range(looks, sigma)
    cu2 = 1 / looks
    half = window // 2
    padded = mirrored(image, half)
    out = np.empty(image.shape)
    for r in range(image.shape[0]):
        for c in range(image.shape[1]):
            z = float(image[r, c])
            small = window_at(padded, half, r, c, 1)
            if z >= z98 and (small >= z98).sum() >= k:
                out[r, c] = z
                continue
            mu, var = small.mean(), small.var()
            prior = mu + (0 if var == 0 else max(var - mu**2 * cu2, 0) / ((1 + cu2) * var)) * (
                z - mu
            )
            win = window_at(padded, half, r, c, half)
            kept = win[(win >= a1 * prior) & (win <= a2 * prior)]
            if kept.size == 0:
                out[r, c] = prior
                continue
            mu_s, var_s = kept.mean(), kept.var()
            e2 = eta**2
            b = 0.0 if var_s == 0 else max(var_s - mu_s**2 * e2, 0) / ((1 + e2) * var_s)
            out[r, c] = mu_s + b * (z - mu_s)
    return out


@pytest.mark.parametrize(("window", "looks", "sigma"), [(9, 1.0, 0.9), (5, 2.0, 0.7)])
def test_lee_sigma_matches_lee_2009(window, looks, sigma):
    image = speckled((17, 19), looks=looks)
    image[2, 2:5] = image[3, 2:5] = 5000.0  # a bright point target
    z98 = float(np.percentile(image, 98))
    expected = lee_sigma_reference(image, window, looks, sigma, z98)
    out = cf.lee_sigma(image, window, looks, sigma=sigma)
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    assert out[2, 3] == image[2, 3]  # the point target is kept


@pytest.mark.parametrize("spec", cf.FILTERS, ids=lambda s: s.key)
def test_each_filter_reads_no_more_than_its_halo(spec):
    from s2v_plugin.core.tiling import reflect_indices

    image = speckled((30, 33), seed=5)
    options = {spec.global_threshold.option: 40.0} if spec.global_threshold else {}
    full = spec.function(image, 7, 1.0, **options)
    halo = spec.halo(7, **options)
    r0, c0, rows, cols = 11, 4, 9, 12  # a core away from, and one touching, the edges
    for r0, c0 in ((11, 4), (0, 21)):
        ri = reflect_indices(r0 - halo, rows + 2 * halo, image.shape[0])
        ci = reflect_indices(c0 - halo, cols + 2 * halo, image.shape[1])
        tile = spec.function(image[np.ix_(ri, ci)], 7, 1.0, **options)
        core = tile[halo : halo + rows, halo : halo + cols]
        np.testing.assert_allclose(core, full[r0 : r0 + rows, c0 : c0 + cols], rtol=1e-5)


@pytest.mark.parametrize("spec", cf.FILTERS, ids=lambda s: s.key)
def test_each_filter_keeps_nodata_and_returns_float32(spec):
    image = speckled()
    image[5, 6] = np.nan
    out = spec.function(image, 5, 1.0)
    assert out.dtype == np.float32
    assert np.isnan(out[5, 6])
    assert np.isfinite(out).sum() == image.size - 1


@pytest.mark.parametrize("spec", cf.FILTERS, ids=lambda s: s.key)
def test_each_filter_reduces_speckle_on_a_flat_scene(spec):
    image = (100 * np.random.default_rng(1).gamma(1.0, 1.0, (64, 64))).astype(np.float32)
    out = spec.function(image, 7, 1.0)
    assert out.var() < 0.5 * image.var()
    assert out.mean() == pytest.approx(100, rel=0.2)


def test_unknown_filter_name_is_refused():
    with pytest.raises(InputError, match="Unknown speckle filter"):
        cf.filter_spec("median")


@pytest.mark.parametrize("spec", cf.FILTERS, ids=lambda s: s.key)
def test_dark_zero_areas_after_bright_ones_stay_zero_and_non_negative(spec):
    """Where the whole window is zero the local mean is 0 and so is every estimate (up to the
    rounding of running sums, ~1e-11 here): ``>= 0`` alone would hold through the final clamp
    even if bright pixels bled into the dark area."""
    image = speckled((40, 40)) * 1000.0
    image[:, 20:] = 0.0  # a zero area right after bright pixels along every row
    out = spec.function(image, 7, 1.0)
    dark = 20 + spec.halo(7)  # first column whose window holds no bright pixel
    assert np.abs(out[:, dark:]).max() <= 1e-6
    assert (out >= 0).all()  # and the rounding never leaves a negative intensity
