"""A simulated coast: dark sea next to bright land with strong point scatterers (issue 9, item 4).

Numpy only, shared by ``bench/bench_coast.py`` and the floor test. The scene is a band of sea
(30 dB below the land) between two curved coasts, with a round island in it, and 150
deterministic single-pixel scatterers on land 20-40 dB above it. The speckle is a single-look
correlated SLC from :func:`s2v_plugin.core.simulation.simulate_correlated_slc` (generalised
Hamming 0.6, 85 % of the band on both axes, Doppler centroid +0.15 cycles/sample in azimuth);
the scatterers are added as the same system's deterministic point responses (a point scatterer
is not speckled), so that their expected energy is exactly their truth intensity.

Measures, on the truth grid or on a coarser output grid (oversampling removed):

* sea ratio: mean estimate over mean truth on sea pixels at a given distance from the coast;
* energy kept: for each scatterer, the estimate summed over a box around it minus the box's
  background (median of a ring outside it), over the scatterer's true intensity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft
from scipy.ndimage import distance_transform_edt

from s2v_plugin.core.simulation import SpectralShape, simulate_correlated_slc

LAND = 1.0
SEA = 1e-3  # 30 dB below the land
SCATTERERS = 150
SCATTERER_DB = (20.0, 40.0)
AZIMUTH = SpectralShape(0.6, 0.85, 0.15)
RANGE = SpectralShape(0.6, 0.85, 0.0)
#: Distance bands (px from the coast) of the sea ratio; the floor is on everything beyond 10 px.
BANDS = ((10, 20), (20, 40), (40, None))
FLOOR_DISTANCE = 10
#: Half-size of the box over which a scatterer's energy is summed, and the ring around it
#: (Chebyshev distance) that gives the background, in truth-grid pixels.
BOX = 4
RING = (6, 8)


@dataclass(frozen=True)
class Coast:
    """The truth, its SLC, where the sea is (and how far from land), and the scatterers."""

    background: np.ndarray  # truth without the scatterers (land / sea)
    slc: np.ndarray
    sea_distance: np.ndarray  # px from the nearest land pixel; 0 on land
    scatterer_rows: np.ndarray
    scatterer_cols: np.ndarray
    scatterer_intensity: np.ndarray

    @property
    def truth(self) -> np.ndarray:
        """Background with the scatterers' intensities added at their pixels."""
        out = self.background.copy()
        out[self.scatterer_rows, self.scatterer_cols] += self.scatterer_intensity
        return out


def coast_scene(size: int = 512, seed: int = 9, scatterers: int = SCATTERERS) -> Coast:
    """A ``size`` x ``size`` coast (see the module docstring), reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    centre = size / 2 + 0.1 * size * np.sin(4 * np.pi * rows / size)
    sea = np.abs(cols - centre) < 0.2 * size
    island = (rows - size / 2) ** 2 + (cols - centre) ** 2 < (0.06 * size) ** 2
    sea &= ~island
    background = np.where(sea, SEA, LAND)
    # land wraps onto land at the left and right edges, and the coast is periodic in rows, so
    # the simulator's circular filtering adds no false coast
    distance = distance_transform_edt(sea)
    land_rows, land_cols = np.nonzero(~sea)
    keep = (land_rows >= RING[1]) & (land_rows < size - RING[1])
    keep &= (land_cols >= RING[1]) & (land_cols < size - RING[1])
    land_rows, land_cols = land_rows[keep], land_cols[keep]
    pick = rng.choice(land_rows.size, size=scatterers, replace=False)
    s_rows, s_cols = land_rows[pick], land_cols[pick]
    s_intensity = LAND * 10 ** (rng.uniform(*SCATTERER_DB, scatterers) / 10)
    slc = simulate_correlated_slc(background, rng, azimuth=AZIMUTH, range_=RANGE)
    points = np.zeros((size, size), np.complex128)
    phase = np.exp(2j * np.pi * rng.uniform(size=scatterers))
    points[s_rows, s_cols] = np.sqrt(s_intensity) * phase
    slc = slc + point_response(points, AZIMUTH, RANGE)
    return Coast(background, slc.astype(np.complex64), distance, s_rows, s_cols, s_intensity)


def point_response(points: np.ndarray, azimuth: SpectralShape, range_: SpectralShape):
    """Complex amplitudes ``points`` seen through the simulator's transfer function (the same
    power-preserving gain, so a point of intensity ``s`` carries energy ``s``)."""
    rows, cols = points.shape
    h_az, h_rg = azimuth.transfer(rows), range_.transfer(cols)
    gain = np.sqrt(np.mean(h_az**2) * np.mean(h_rg**2))
    spectrum = sp_fft.fft2(points) * (h_az[:, None] / gain) * h_rg[None, :]
    return sp_fft.ifft2(spectrum)


def sea_ratios(
    estimate: np.ndarray, coast: Coast, factors: tuple[float, float] = (1.0, 1.0)
) -> dict[str, float]:
    """Mean estimate over mean truth on the sea, per distance band and beyond 10 px.

    ``factors``: output pixel size in truth pixels (azimuth, range) when the estimate is on a
    coarser grid (oversampling removed); each output pixel is compared with the truth at its
    nearest truth pixel.
    """
    background, distance = (
        _on_grid(coast.background, estimate.shape, factors),
        _on_grid(coast.sea_distance, estimate.shape, factors),
    )
    sea = background < LAND
    out = {}
    for low, high in BANDS:
        where = sea & (distance > low) & ((distance <= high) if high else True)
        name = f"{low}-{high} px" if high else f">{low} px"
        out[name] = float(np.nanmean(estimate[where]) / background[where].mean())
    where = sea & (distance > FLOOR_DISTANCE)
    out[f">{FLOOR_DISTANCE} px"] = float(np.nanmean(estimate[where]) / background[where].mean())
    return out


def energy_kept(
    estimate: np.ndarray, coast: Coast, factors: tuple[float, float] = (1.0, 1.0)
) -> np.ndarray:
    """Per scatterer: (estimate summed over its box - box area x ring median) x pixel area /
    true intensity; the box and the ring are in truth pixels, scaled to the estimate's grid."""
    fa, fr = factors
    out = []
    for row, col, value in zip(
        coast.scatterer_rows, coast.scatterer_cols, coast.scatterer_intensity
    ):
        r, c = int(round(row / fa)), int(round(col / fr))
        box_a, box_r = max(1, round(BOX / fa)), max(1, round(BOX / fr))
        ring_a = (round(RING[0] / fa), round(RING[1] / fa))
        ring_r = (round(RING[0] / fr), round(RING[1] / fr))
        patch = estimate[r - ring_a[1] : r + ring_a[1] + 1, c - ring_r[1] : c + ring_r[1] + 1]
        dy, dx = np.mgrid[-ring_a[1] : ring_a[1] + 1, -ring_r[1] : ring_r[1] + 1]
        ring = (np.abs(dy) > ring_a[0]) | (np.abs(dx) > ring_r[0])
        box = (np.abs(dy) <= box_a) & (np.abs(dx) <= box_r)
        background = float(np.nanmedian(patch[ring]))
        excess = float(np.nansum(patch[box]) - box.sum() * background)
        out.append(excess * fa * fr / value)
    return np.asarray(out)


def _on_grid(values: np.ndarray, shape: tuple[int, int], factors) -> np.ndarray:
    rows = np.clip(np.rint(np.arange(shape[0]) * factors[0]).astype(int), 0, values.shape[0] - 1)
    cols = np.clip(np.rint(np.arange(shape[1]) * factors[1]).astype(int), 0, values.shape[1] - 1)
    return values[np.ix_(rows, cols)]
