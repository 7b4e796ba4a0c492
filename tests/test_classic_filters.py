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


@pytest.mark.parametrize(("window", "looks"), [(7, 1.0), (5, 4.0), (3, 2.0)])
def test_lee_matches_textbook_formula(window, looks):
    image = speckled(looks=looks)
    expected = reference(image, window, lee_pixel(looks))
    np.testing.assert_allclose(cf.lee(image, window, looks), expected, rtol=1e-5)


@pytest.mark.parametrize(("window", "looks"), [(7, 1.0), (5, 4.0)])
def test_kuan_matches_textbook_formula(window, looks):
    image = speckled(looks=looks)
    expected = reference(image, window, kuan_pixel(looks))
    np.testing.assert_allclose(cf.kuan(image, window, looks), expected, rtol=1e-5)


def test_lee_returns_window_mean_on_a_constant_image():
    image = np.full((9, 9), 3.0, dtype=np.float32)
    np.testing.assert_allclose(cf.lee(image, 7, 1.0), image)


def test_lee_leaves_nodata_as_nan_and_ignores_it_in_neighbours():
    image = speckled()
    image[7, 8] = np.nan
    out = cf.lee(image, 5, 1.0)
    assert np.isnan(out[7, 8])
    assert np.isfinite(np.delete(out.ravel(), 7 * image.shape[1] + 8)).all()
    expected = cf.lee(np.where(np.isnan(image), 0, image), 5, 1.0)
    assert out[0, 0] == pytest.approx(expected[0, 0], rel=1e-6)  # far from the hole


def test_lee_output_is_float32():
    assert cf.lee(speckled().astype(np.float64), 7, 1.0).dtype == np.float32


@pytest.mark.parametrize("window", [2, 4, 1])
def test_even_or_tiny_windows_are_refused(window):
    with pytest.raises(InputError, match="odd"):
        cf.lee(speckled(), window, 1.0)
