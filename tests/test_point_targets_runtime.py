"""The local point-target rule inside the despeckler, with the shipped model (issue 9's tests)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require
from scipy.ndimage import gaussian_filter

require("onnxruntime")

from s2v_plugin.despeckle import despeckle_array  # noqa: E402
from s2v_plugin.runtime.models import default_model_path  # noqa: E402
from training.dynamic_range import SCATTERER_SHAPES as SHAPES  # noqa: E402

RECEPTIVE_FIELD = 75  # the shipped model's, rounded up


@pytest.fixture(scope="module")
def model():
    path = default_model_path()
    if path is None:
        pytest.skip("no shipped model")
    return path


def _targets(image, model, pfa):
    _, _, _, targets = despeckle_array(
        image, model, looks=1.0, point_target_pfa=pfa, return_targets=True
    )
    return targets


@pytest.mark.slow
def test_false_alarms_over_a_50_db_step_follow_the_probability(model):
    # Pure speckle, dark half and bright half 50 dB apart. At pfa 1e-3 about 120 false alarms
    # are expected in each half outside a band one receptive field wide around the step. The
    # global rule of version 1 (50 x the median) flags 40 % of the bright half here.
    pfa, rows, cols = 1e-3, 384, 768
    clean = np.ones((rows, cols))
    clean[:, cols // 2 :] = 1e5
    image = (clean * np.random.default_rng(0).exponential(1.0, clean.shape)).astype(np.float32)
    targets = _targets(image, model, pfa)
    keep = np.ones(clean.shape, bool)
    keep[:, cols // 2 - RECEPTIVE_FIELD : cols // 2 + RECEPTIVE_FIELD] = False
    dark, bright = keep.copy(), keep.copy()
    dark[:, cols // 2 :] = False
    bright[:, : cols // 2] = False
    assert targets[keep].mean() <= 2 * pfa
    assert pfa / 2 <= targets[bright].mean() <= 2 * pfa  # no excess where v1 failed
    assert targets[dark].mean() <= 2 * pfa


@pytest.mark.slow
def test_false_alarms_over_a_smooth_30_db_ramp_follow_the_probability(model):
    pfa, rows, cols = 1e-3, 384, 768
    clean = np.tile(10 ** np.linspace(0.0, 3.0, cols), (rows, 1))
    image = (clean * np.random.default_rng(1).exponential(1.0, clean.shape)).astype(np.float32)
    rate = _targets(image, model, pfa).mean()  # about 290 expected
    assert pfa / 2 <= rate <= 2 * pfa


@pytest.mark.slow
def test_isolated_scatterers_are_detected_and_keep_their_energy(model):
    # 150 scatterers of 1-3 px, 20-40 dB above a textured background (log-normal texture).
    rng = np.random.default_rng(1)
    rows, cols = 384, 512
    texture = np.exp(gaussian_filter(rng.standard_normal((rows, cols)), 6) * 6)
    texture /= texture.mean()
    image = (texture * rng.exponential(1.0, (rows, cols))).astype(np.float32)
    sites, taken = [], np.zeros((rows, cols), bool)
    while len(sites) < 150:
        r, c = int(rng.integers(8, rows - 8)), int(rng.integers(8, cols - 8))
        if taken[r - 6 : r + 7, c - 6 : c + 7].any():
            continue
        gain = 10 ** rng.uniform(2.0, 4.0)
        pixels = [(r + dr, c + dc) for dr, dc in SHAPES[int(rng.integers(len(SHAPES)))]]
        for p in pixels:
            image[p] += np.float32(texture[p] * gain)
            taken[p] = True
        sites.append(pixels)
    mean, _, report, targets = despeckle_array(image, model, looks=1.0, return_targets=True)
    detected = np.mean([all(targets[p] for p in pixels) for pixels in sites])
    energy = np.array([sum(mean[p] for p in px) / sum(image[p] for p in px) for px in sites])
    assert detected >= 0.95
    assert np.mean(np.abs(energy - 1.0) <= 0.05) >= 0.95
    assert report.point_targets == int(targets.sum())
    assert targets[~taken].mean() < 1e-4  # and hardly anything else


@pytest.mark.slow
def test_real_scenes_keep_their_mean_intensity(model, sar_data):
    # Issue 9's floor: the despeckled scene mean within 3 % of the input's, with the defaults.
    # Version 1.1's posterior mean alone keeps 0.81-0.85 of it (0.84-0.89 with the tail test):
    # the local-mean factor of s2v_plugin.core.local_mean gives the rest back.
    from s2v_plugin.decorrelate import decorrelate_array
    from s2v_plugin.io.raster_source import RasterSource

    ratios = {}
    for name in (
        "envisat_asar_im_hh_slc_500x500.tif",
        "uavsar_sanand129_hh_slc_150x200.tif",
        "uavsar_sanand138_hh_slc_150x400.tif",
    ):
        with RasterSource(str(sar_data / name)) as source:
            slc = source.read(0, 0, source.info.height, source.info.width)
        white, _ = decorrelate_array(slc)
        intensity = (np.abs(white) ** 2).astype(np.float32)
        ratios[name] = float(despeckle_array(intensity, model, looks=1.0).mean() / intensity.mean())
    assert all(0.97 <= r <= 1.03 for r in ratios.values()), ratios
