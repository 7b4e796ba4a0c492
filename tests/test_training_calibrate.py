"""Self-supervised calibration of the output head."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require

torch = require("torch")
from scipy import stats  # noqa: E402

from training.calibrate import apply_offsets, calibration_data, fit_offsets  # noqa: E402
from training.model import ModelConfig, build_model  # noqa: E402


def test_calibration_recovers_a_constant_prior_from_noisy_data_only():
    model = build_model(ModelConfig(arch="unet", width=2, dec_width=2, levels=1, fusion=4))
    with torch.no_grad():
        model.fusion[-1].weight.zero_()
        model.fusion[-1].bias.zero_()
    rng = np.random.default_rng(0)
    x = stats.invgamma.rvs(4.0, scale=3.0, size=(16, 1, 32, 32), random_state=rng)
    y = (x * rng.exponential(1.0, x.shape)).astype(np.float32)
    batches = [(y[i : i + 4], np.ones(y[i : i + 4].shape, bool)) for i in range(0, 16, 4)]

    offsets, before, after = fit_offsets(model, batches)
    apply_offsets(model, offsets)

    assert after < before
    with torch.no_grad():
        alpha, beta = model(torch.from_numpy(y[:1]))
    assert float(alpha.mean()) == pytest.approx(4.0, rel=0.1)
    assert float(beta.mean()) == pytest.approx(3.0, rel=0.1)


def test_calibration_uses_the_simulated_sources_unless_told_otherwise():
    run = {"white": 0.3, "correlated": 0.3, "raster": 0.4, "rasters": ["a.tif"]}
    run["pictures"] = ["text"]
    simulated = calibration_data(run)
    assert simulated.raster == 0.0 and simulated.rasters == () and simulated.white == 0.3
    assert calibration_data(run, "training").rasters == ["a.tif"]
    rasters_only = {**run, "white": 0.0, "correlated": 0.0, "pictures": []}
    assert calibration_data(rasters_only).rasters == ["a.tif"]
    with pytest.raises(ValueError):
        calibration_data(run, "everything")
