"""Clean scenes with the dynamic range of SAR, generated from grey pictures.

A SAR scene holds calm water and shadow 30 dB or more below its mean, bright built-up areas 20 dB
or more above it, sharp edges between them and isolated strong scatterers. A grey picture on
0..1 has none of that, so every training scene is remapped here, and the result is a clean
intensity (float64, mean 1):

* :func:`tone_curve`: a random tone curve, one of ``(g + 0.03)^2`` (the picture as it is, 30 dB),
  ``(255 g + 1)^2`` (48 dB), a steeper exponential amplitude (35-70 dB) or a random monotone
  curve in dB (30-60 dB);
* :func:`add_regions`: random half-planes, ellipses and polygons (sharp edges) moved to
  30-45 dB below the mean (dark) or 10-25 dB above it (bright), keeping their texture;
* :func:`scatterer_sites`: 1-3 px scatterers 20-40 dB above their surroundings.

:func:`dynamic_range_scene` chains them with random choices; sizes scale with the scene, so a
96 px patch and a whole picture both get several regions.
"""

from __future__ import annotations

import numpy as np

#: Shapes of the inserted scatterers (row, column offsets).
SCATTERER_SHAPES = (
    ((0, 0),),
    ((0, 0), (0, 1)),
    ((0, 0), (1, 0)),
    ((0, 0), (1, 1)),
    ((0, 0), (0, 1), (0, 2)),
    ((0, 0), (1, 0), (2, 0)),
    ((0, 0), (0, 1), (1, 0)),
)


def tone_curve(grey: np.ndarray, rng: np.random.Generator, kind: str | None = None) -> np.ndarray:
    """Clean intensity (mean 1) from a grey picture on 0..1 through a random tone curve.

    Parameters
    ----------
    grey : numpy.ndarray
        Picture values in [0, 1].
    rng : numpy.random.Generator
    kind : {"offset", "grey255", "exponential", "knots"}, optional
        The curve; random when None.
    """
    g = np.clip(np.asarray(grey, dtype=np.float64), 0.0, 1.0)
    kinds = ("offset", "grey255", "exponential", "knots")
    kind = kinds[int(rng.choice(4, p=(0.2, 0.3, 0.25, 0.25)))] if kind is None else kind
    if rng.random() < 0.3:
        g = 1.0 - g  # negative: bright picture areas become dark ones
    if kind == "offset":
        x = (g + 0.03) ** 2
    elif kind == "grey255":
        x = (255.0 * g + 1.0) ** 2
    elif kind == "exponential":
        span_db = rng.uniform(35.0, 70.0)
        x = 10.0 ** (span_db / 10.0 * g)
    elif kind == "knots":
        knots = int(rng.integers(3, 7))
        steps = rng.dirichlet(np.ones(knots))  # monotone: positive steps in dB
        levels_db = np.concatenate([[0.0], np.cumsum(steps)]) * rng.uniform(30.0, 60.0)
        x = 10.0 ** (np.interp(g, np.linspace(0.0, 1.0, knots + 1), levels_db) / 10.0)
    else:
        raise ValueError(f"unknown tone curve {kind!r}")
    return x / x.mean()


def random_region(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of a random half-plane, ellipse or polygon with sharp edges."""
    from skimage.draw import ellipse, polygon

    rows, cols = shape
    mask = np.zeros(shape, bool)
    size = min(rows, cols)
    kind = int(rng.integers(3))
    if kind == 0:  # half-plane through a random point
        r0, c0 = rng.uniform(0, rows), rng.uniform(0, cols)
        angle = rng.uniform(0, 2 * np.pi)
        rr, cc = np.mgrid[:rows, :cols]
        return (rr - r0) * np.cos(angle) + (cc - c0) * np.sin(angle) > 0
    if kind == 1:
        r0, c0 = rng.uniform(0, rows), rng.uniform(0, cols)
        a, b = rng.uniform(0.08, 0.4, 2) * size
        rr, cc = ellipse(r0, c0, a, b, shape=shape, rotation=rng.uniform(-np.pi, np.pi))
    else:
        r0, c0 = rng.uniform(0, rows), rng.uniform(0, cols)
        n = int(rng.integers(3, 8))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radius = rng.uniform(0.1, 0.45, n) * size
        rr, cc = polygon(r0 + radius * np.sin(angles), c0 + radius * np.cos(angles), shape)
    mask[rr, cc] = True
    return mask


def add_regions(clean: np.ndarray, rng: np.random.Generator, dark: int, bright: int) -> np.ndarray:
    """Move ``dark`` random regions to 30-45 dB below the scene mean and ``bright`` ones to
    10-25 dB above it; the regions keep their texture (their mean is set, not their values)."""
    out = np.array(clean, dtype=np.float64, copy=True)
    mean = float(out.mean())
    levels = [(-rng.uniform(30.0, 45.0)) for _ in range(dark)]
    levels += [rng.uniform(10.0, 25.0) for _ in range(bright)]
    for level_db in rng.permutation(levels):
        mask = random_region(out.shape, rng)
        if not mask.any():
            continue
        inside = out[mask]
        texture = (inside / max(float(inside.mean()), 1e-30)) ** rng.uniform(0.2, 1.0)
        texture_mean = float(texture.mean())
        texture = texture / texture_mean if texture_mean > 0 else np.ones_like(texture)
        out[mask] = mean * 10.0 ** (level_db / 10.0) * texture  # calmer than the picture
    return out


def scatterer_sites(
    shape: tuple[int, int], rng: np.random.Generator, count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and gains (20-40 dB, linear) of ``count`` scatterers of 1-3 px."""
    rows, cols, gains = [], [], []
    for _ in range(count):
        pixels = SCATTERER_SHAPES[int(rng.integers(len(SCATTERER_SHAPES)))]
        r0 = int(rng.integers(0, shape[0] - 2))
        c0 = int(rng.integers(0, shape[1] - 2))
        gain = 10.0 ** (rng.uniform(20.0, 40.0) / 10.0)
        for dr, dc in pixels:
            rows.append(r0 + dr)
            cols.append(c0 + dc)
            gains.append(gain * rng.uniform(0.5, 1.0))
    return np.array(rows, int), np.array(cols, int), np.array(gains)


def local_level(clean: np.ndarray) -> np.ndarray:
    """Mean of the clean intensity over 9 x 9 pixels: the surroundings of a scatterer."""
    from scipy.ndimage import uniform_filter

    return np.maximum(uniform_filter(clean, 9, mode="mirror"), 0.0)  # no rounding below 0


def dynamic_range_scene(
    grey: np.ndarray, rng: np.random.Generator, scatterer_density: float = 1e-3
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """A random clean scene (mean-1 intensity) and its scatterers (rows, cols, intensities).

    The scatterers are returned apart so that the caller can add them after the speckle, as
    deterministic targets, or into the clean scene.
    """
    clean = tone_curve(grey, rng)
    area_share = grey.size / (96.0 * 96.0)
    dark = int(rng.poisson(0.9 * max(1.0, area_share**0.5)))
    bright = int(rng.poisson(0.6 * max(1.0, area_share**0.5)))
    clean = add_regions(clean, rng, dark, bright)
    clean = clean / clean.mean()
    count = int(rng.poisson(scatterer_density * grey.size * rng.uniform(0.0, 2.0)))
    rows, cols, gains = scatterer_sites(grey.shape, rng, count)
    values = local_level(clean)[rows, cols] * gains
    return clean, (rows, cols, values)
