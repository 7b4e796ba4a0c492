"""Checkpoint comparison by held-out likelihood (training/likelihood.py)."""

from __future__ import annotations

import numpy as np
from conftest import require

torch = require("torch")

from training.likelihood import checkpoint_scores, main, patch_sets  # noqa: E402
from training.model import ModelConfig, build_model  # noqa: E402

TINY = {"arch": "unet", "width": 2, "dec_width": 2, "levels": 1, "fusion": 4}


def _constant_prior_checkpoint(path, log_prior_mean: float) -> str:
    """A network whose prior is the same everywhere: alpha = 1 + softplus(2), mean e^log_mean."""
    model = build_model(ModelConfig(**TINY))
    with torch.no_grad():
        model.fusion[-1].weight.zero_()
        model.fusion[-1].bias.copy_(torch.tensor([2.0, log_prior_mean]))
    torch.save({"config": {"model": TINY}, "model": model.state_dict()}, str(path))
    return str(path)


def test_the_patch_sets_are_the_same_for_every_call():
    first, second = patch_sets((), batches=1), patch_sets((), batches=1)
    assert set(first) == {"white"}
    np.testing.assert_array_equal(first["white"][0], second["white"][0])


def test_a_prior_at_the_right_level_scores_a_lower_nll_than_a_wrong_one(tmp_path, capsys):
    # Training patches are normalised to mean 1, so a prior mean of 1 beats one of e^3.
    right = _constant_prior_checkpoint(tmp_path / "right.pt", 0.0)
    wrong = _constant_prior_checkpoint(tmp_path / "wrong.pt", 3.0)
    sets = patch_sets((), batches=1)
    assert checkpoint_scores(right, sets)["white"] < checkpoint_scores(wrong, sets)["white"] - 0.1
    assert main([right, wrong, "--batches", "1"]) == 0
    assert capsys.readouterr().out.count("|") > 8
