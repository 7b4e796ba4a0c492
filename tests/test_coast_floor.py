"""Issue 9, item 4: a dark sea next to bright land with strong scatterers, through the
decorrelator (oversampling kept: the truth's grid) and the despeckler with the shipped model
(``bench/bench_coast.py`` prints the same figures at full size)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require

require("onnxruntime")

from s2v_plugin.decorrelate import decorrelate_array  # noqa: E402
from s2v_plugin.despeckle import despeckle_array  # noqa: E402
from s2v_plugin.runtime.models import default_model_path  # noqa: E402
from training.coast import FLOOR_DISTANCE, coast_scene, energy_kept, sea_ratios  # noqa: E402

FLOOR = f">{FLOOR_DISTANCE} px"


@pytest.fixture(scope="module")
def coast_run():
    if default_model_path() is None:
        pytest.skip("no shipped model")
    coast = coast_scene(512)  # the scene: 150 scatterers on 512 x 512
    white, report = decorrelate_array(coast.slc, remove_oversampling=False)
    decorrelated = (np.abs(white) ** 2).astype(np.float32)
    runs = {
        retaper: despeckle_array(
            decorrelated, looks=1.0, decorrelation=report.metadata(), retaper=retaper
        )
        for retaper in (False, True)
    }
    return coast, runs


def test_scatterers_keep_most_of_their_energy(coast_run):
    coast, runs = coast_run
    assert np.median(energy_kept(runs[True], coast)) >= 0.85


def test_retapering_takes_back_part_of_the_leakage_into_the_sea(coast_run):
    coast, runs = coast_run
    assert sea_ratios(runs[True], coast)[FLOOR] < 0.85 * sea_ratios(runs[False], coast)[FLOOR]


def test_the_sea_beyond_10_px_is_within_3x_of_the_truth(coast_run):
    # the floor with the defaults (band-edge roll-off in the decorrelator, RETAPER):
    # 1.25x at this size; 5.3x with a sharp band edge
    coast, runs = coast_run
    assert sea_ratios(runs[True], coast)[FLOOR] <= 3.0
