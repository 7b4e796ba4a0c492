"""The held-out evaluation scenes: six pictures never trained on, each at two contrasts.

Used by ``training/evaluate.py`` and ``bench/bench_compare.py`` so that every figure we quote
comes from the same scenes. The pictures are CC0 / public-domain scikit-image pictures that no
training configuration uses (``tests/test_training_data.py`` checks that by name and by content):

    camera, astronaut, coins, moon, rocket, clock

Each is taken at two contrasts (:func:`training.data.clean_picture`): ``offset``, amplitude =
grey + 0.03 on 0..1 (about 30 dB), and ``grey255``, amplitude = grey + 1 on 0..255 (48 dB: water,
fields and towns in one scene). The speckle is single-look correlated SLC
(:func:`s2v_plugin.core.simulation.simulate_correlated_slc`) with a per-scene spectral shape drawn
from a fixed seed: generalised Hamming 0.5-0.7 and 80-90 % of the band on both axes, an azimuth
Doppler centroid of 0.1-0.25 cycles/sample; methods see it after our own decorrelator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from s2v_plugin.core.simulation import SpectralShape, simulate_correlated_slc

#: The six held-out pictures (never in ``training.data.TRAIN_PICTURES``).
EVAL_PICTURES = ("camera", "astronaut", "coins", "moon", "rocket", "clock")
#: The two contrasts of every picture.
CONTRASTS = ("offset", "grey255")
SEED = 2024


@dataclass(frozen=True)
class HeldOutScene:
    """One evaluation scene: the truth (clean intensity) and its simulated SLC."""

    name: str
    truth: np.ndarray
    slc: np.ndarray
    azimuth: SpectralShape
    range_: SpectralShape


def spectral_shapes(rng: np.random.Generator) -> tuple[SpectralShape, SpectralShape]:
    """Azimuth and range shapes: Hamming 0.5-0.7, 80-90 % band, Doppler 0.1-0.25 (signed)."""
    doppler = rng.uniform(0.1, 0.25) * rng.choice((-1.0, 1.0))
    azimuth = SpectralShape(rng.uniform(0.5, 0.7), rng.uniform(0.8, 0.9), float(doppler))
    range_ = SpectralShape(rng.uniform(0.5, 0.7), rng.uniform(0.8, 0.9), 0.0)
    return azimuth, range_


def heldout_scenes(pictures=EVAL_PICTURES, contrasts=CONTRASTS, seed: int = SEED):
    """Yield the held-out scenes (picture x contrast), each reproducible from ``seed``."""
    from training.data import clean_picture

    for picture in pictures:
        # seeded by the picture's and contrast's places in the full lists, so that a subset
        # gets the same realisations as the full evaluation
        index = EVAL_PICTURES.index(picture) if picture in EVAL_PICTURES else len(EVAL_PICTURES)
        for contrast in contrasts:
            k = CONTRASTS.index(contrast)
            rng = np.random.default_rng([seed, index, k])
            truth = clean_picture(picture, contrast)
            azimuth, range_ = spectral_shapes(rng)
            slc = simulate_correlated_slc(truth, rng, azimuth=azimuth, range_=range_)
            yield HeldOutScene(f"{picture}/{contrast}", truth, slc, azimuth, range_)


def decile_bias(estimate: np.ndarray, truth: np.ndarray, brightest: bool = False) -> float:
    """Mean estimate over mean truth on the pixels whose truth is in the scene's lowest (or
    highest) 10 %."""
    cut = np.quantile(truth, 0.9 if brightest else 0.1)
    where = truth >= cut if brightest else truth <= cut
    return float(np.nanmean(estimate[where]) / truth[where].mean())
