"""Training data: held-out pictures, the dynamic range of SAR, robust normalisation."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require

require("skimage")

from s2v_plugin.core.intensity_scale import scale_from_samples  # noqa: E402
from training.data import (  # noqa: E402
    EVAL_PICTURES,
    TRAIN_PICTURES,
    DataConfig,
    PatchSampler,
    grey_picture,
    load_config_pictures,
    prepare_scene,
)
from training.dynamic_range import add_regions, dynamic_range_scene, tone_curve  # noqa: E402


def _fingerprint(picture: np.ndarray) -> np.ndarray:
    """Content of a picture at 32 x 32, normalised: equal for the same photo at any size."""
    from skimage.transform import resize

    small = resize(picture, (32, 32), anti_aliasing=True)
    return (small - small.mean()) / (small.std() + 1e-9)


def test_six_held_out_pictures_are_never_trained_on():
    assert len(set(EVAL_PICTURES)) >= 6
    assert not set(EVAL_PICTURES) & set(TRAIN_PICTURES)
    for config_pictures in load_config_pictures():
        assert not set(EVAL_PICTURES) & set(config_pictures)
    # By content too: scikit-image ships some photos under two names (cat is chelsea).
    held_out = {name: _fingerprint(grey_picture(name)) for name in EVAL_PICTURES}
    for name in TRAIN_PICTURES:
        train = _fingerprint(grey_picture(name))
        for other, fingerprint in held_out.items():
            correlation = float((train * fingerprint).mean())
            assert correlation < 0.9, f"training picture {name} looks like held-out {other}"


def test_the_content_check_catches_an_alias():
    assert (
        float((_fingerprint(grey_picture("cat")) * _fingerprint(grey_picture("chelsea"))).mean())
        > 0.99
    )


def test_tone_curves_reach_the_dynamic_range_of_sar():
    rng = np.random.default_rng(0)
    grey = np.linspace(0.0, 1.0, 256)[None, :].repeat(8, axis=0)
    spans = {}
    for kind in ("offset", "grey255", "exponential", "knots"):
        x = tone_curve(grey, rng, kind)
        assert x.mean() == pytest.approx(1.0) and (x > 0).all()
        spans[kind] = 10 * np.log10(x.max() / x.min())
    assert spans["offset"] == pytest.approx(30.5, abs=0.5)
    assert spans["grey255"] == pytest.approx(48.2, abs=0.2)
    assert spans["exponential"] >= 35 and spans["knots"] >= 30


def test_regions_move_to_dark_water_and_bright_towns_with_sharp_edges():
    rng = np.random.default_rng(1)
    clean = np.ones((96, 96))
    out = add_regions(clean, rng, dark=1, bright=0)
    dark = out < 1e-2
    assert 0 < dark.mean() < 1
    assert 10 * np.log10(out[dark].mean()) <= -30
    # Sharp: a dark pixel's 4-neighbours are either dark at the same level or at full level.
    assert set(np.round(np.log10(out), 6).ravel()) == {0.0, round(float(np.log10(out[dark][0])), 6)}


def test_patches_hold_deep_shadow_bright_areas_and_scatterers_together():
    rng = np.random.default_rng(2)
    spans, scatterers = [], 0
    for _ in range(200):
        grey = rng.random((96, 96))
        clean, (rows, cols, values) = dynamic_range_scene(grey, rng)
        spans.append(10 * np.log10(np.percentile(clean, 99) / np.percentile(clean, 1)))
        scatterers += rows.size
        if rows.size:
            assert (values > 99 * clean[rows, cols].min()).any()
    assert np.mean(np.array(spans) >= 50) > 0.2  # 30 dB below and 20 dB above the mean
    assert scatterers > 200


def test_the_sampler_masks_inserted_scatterers_and_stays_finite():
    cfg = DataConfig(white=1.0, correlated=0.0, pictures=("brick",), dynamic_range=1.0)
    sampler = PatchSampler(cfg, seed=4)
    y, m = sampler.sample(16, 64)
    assert np.isfinite(y).all() and (y >= 0).all()
    assert 0 < (~m).mean() < 0.02  # the fixed local rule masked the scatterers, little else


def test_the_scale_is_robust_to_strong_scatterers():
    rng = np.random.default_rng(6)
    image = rng.exponential(1.0, 200_000)
    hit = image.copy()
    hit[rng.choice(hit.size, 100, replace=False)] = 1e6  # 0.05 % of pixels, 60 dB up
    robust = scale_from_samples(hit, 0.0, point_target_pfa=1e-6).scale
    plain = scale_from_samples(hit, 0.0).scale
    assert robust == pytest.approx(
        scale_from_samples(image, 0.0, point_target_pfa=1e-6).scale, rel=0.02
    )
    assert plain > 100 * robust  # what the trimmed mean protects against


@pytest.mark.parametrize("pfa", [1e-6, 0.0])
def test_deep_shadow_stays_above_the_log_floor_after_normalisation(pfa):
    # Calm water 45 dB below the land, a small town 25 dB above it, and 0.05 % of 60 dB
    # scatterers: under 5 % of the water pixels may reach the network's log floor. The
    # deprecated rule (pfa 0) lets the scatterers set the scale and fails.
    from training.model import LOG_FLOOR

    rng = np.random.default_rng(7)
    clean = np.ones((256, 256))
    clean[:, :128] = 10 ** (-45 / 10)
    clean[:16, 128:144] = 10 ** (25 / 10)
    y = clean * rng.exponential(1.0, clean.shape)
    y.ravel()[rng.choice(y.size, 33, replace=False)] = 1e6
    scene = prepare_scene(y, 1e9, point_target_pfa=pfa)
    floored = (scene.image[:, :128] <= LOG_FLOOR).mean()
    if pfa > 0:
        assert floored < 0.05
    else:
        assert floored > 0.05


def test_a_subset_of_held_out_scenes_gets_the_same_speckle_as_the_full_list():
    from training.heldout import heldout_scenes

    full = {s.name: s.slc for s in heldout_scenes(("camera", "coins"))}
    alone = next(heldout_scenes(("coins",), ("grey255",)))
    np.testing.assert_array_equal(alone.slc, full["coins/grey255"])
    assert alone.azimuth.window != next(heldout_scenes(("camera",))).azimuth.window


def test_scenes_the_decorrelator_refuses_are_redrawn(monkeypatch):
    import training.data as data
    from s2v_plugin.core.errors import InputError

    calls = []

    def flaky(clean, rng, factor, name="", pfa=1e-6):
        calls.append(name)
        if len(calls) <= 2:
            raise InputError("This looks like TOPS data")
        return data.Scene(name, np.ones((8, 8), np.float32), np.ones((8, 8), bool))

    monkeypatch.setattr(data, "correlated_scene", flaky)
    cfg = DataConfig(white=0.0, correlated=1.0, pictures=("text",), correlated_pool=1)
    sampler = PatchSampler(cfg, seed=0)
    assert len(calls) == 3 and len(sampler.correlated) == 1
