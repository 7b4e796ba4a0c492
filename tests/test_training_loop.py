"""A short training run: the loss goes down, checkpoints resume, the export lands."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import require

torch = require("torch")

from training.data import DataConfig, PatchSampler, Scene, prepare_scene  # noqa: E402
from training.train import evaluate_nll, learning_rate, load_config, main  # noqa: E402


def _tiny_config(tmp_path, steps):
    config = load_config("fast")
    config["model"].update(width=4, dec_width=6, levels=2, fusion=8)
    config["train"].update(patch=32, batch=4, steps=steps, lr=3e-3, lr_final=3e-3)
    config["data"].update(white=1.0, correlated=0.0, raster=0.0, pictures=["brick", "text"])
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(config))
    return path


def test_the_named_configs_load():
    assert load_config("full")["model"]["arch"] == "stack"
    assert load_config("fast")["model"]["arch"] == "unet"
    assert load_config("fast-anneal")["model"] == load_config("fast")["model"]


def test_scenes_are_normalised_to_mean_one_with_point_targets_clipped_and_masked():
    intensity = np.ones((20, 20), np.float32)
    intensity[3, 4] = 1000.0
    intensity[5, 5] = np.nan
    scene = prepare_scene(intensity, point_target_factor=50.0, point_target_pfa=0.0)
    assert scene.image[0, 0] == pytest.approx(1.0)
    assert scene.image[3, 4] == pytest.approx(50.0)
    assert not scene.mask[3, 4] and not scene.mask[5, 5] and scene.mask[0, 0]
    assert scene.image[5, 5] == 1.0


def test_the_sampler_draws_batches_of_the_requested_shape():
    sampler = PatchSampler(DataConfig(white=1.0, correlated=0.0, pictures=("text",)), seed=0)
    y, m = sampler.sample(3, 16)
    assert y.shape == m.shape == (3, 1, 16, 16) and y.dtype == np.float32 and m.all()


def test_rasters_are_drawn_in_proportion_to_their_pixel_count():
    # A scene barely larger than the patch must not be starved (it has few crop positions).
    small = Scene("small", np.ones((100, 100), np.float32), np.ones((100, 100), bool))
    large = Scene("large", np.ones((400, 400), np.float32), np.ones((400, 400), bool))
    rng = np.random.default_rng(0)
    picks = [PatchSampler._pick([small, large], rng).name for _ in range(4000)]
    assert picks.count("small") / len(picks) == pytest.approx(1 / 17, abs=0.015)


def test_the_learning_rate_warms_up_then_decays_to_its_final_value():
    assert learning_rate(0, 1000, 1e-3, 1e-4) < learning_rate(99, 1000, 1e-3, 1e-4)
    assert learning_rate(1000, 1000, 1e-3, 1e-4) == pytest.approx(1e-4)


def test_a_short_training_run_lowers_the_loss_and_resumes(tmp_path):
    config = _tiny_config(tmp_path, steps=60)
    out = tmp_path / "run"
    args = [
        "--config",
        str(config),
        "--out",
        str(out),
        "--threads",
        "1",
        "--seed",
        "3",
        "--val-every",
        "1000",
        "--log-every",
        "10",
        "--export-minutes",
        "0",
    ]
    torch.manual_seed(0)
    sampler = PatchSampler(DataConfig(white=1.0, correlated=0.0, pictures=("brick", "text")), 99)
    y, m = sampler.sample(8, 32)
    from training.model import build_model

    cfg = json.loads(config.read_text())
    torch.manual_seed(3)
    before = evaluate_nll(build_model(cfg["model"]), y, m, "cpu", 1.0)

    assert main(args) == 0
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["step"] == 60
    trained = build_model(cfg["model"])
    trained.load_state_dict(state["model"])
    after = evaluate_nll(trained, y, m, "cpu", 1.0)
    assert after < before - 0.02
    assert (out / "model.onnx").exists() and "step 50" in (out / "train.log").read_text()

    assert main([*args, "--steps", "70"]) == 0
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 70
    assert "resumed from" in (out / "train.log").read_text()


def test_fine_tuning_starts_from_the_given_weights_in_a_new_folder(tmp_path):
    config = _tiny_config(tmp_path, steps=3)
    base = ["--config", str(config), "--threads", "1", "--export-minutes", "0"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    assert (
        main([*base, "--out", str(tmp_path / "b"), "--init", str(tmp_path / "a" / "best.pt")]) == 0
    )
    log = (tmp_path / "b" / "train.log").read_text()
    assert "fine-tuning from" in log
    assert torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)["step"] == 3


def test_a_run_resumes_on_a_machine_without_its_rasters(tmp_path):
    # A committed checkpoint resumed elsewhere: the rasters recorded in it are gone.
    from rasters import gamma_scene, write_raster

    config = _tiny_config(tmp_path, steps=2)
    raster = write_raster(tmp_path / "scene.tif", gamma_scene((64, 64)))
    base = ["--config", str(config), "--threads", "1", "--export-minutes", "0"]
    out = tmp_path / "run"
    assert main([*base, "--out", str(out), "--rasters", str(raster)]) == 0
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["data_config"]["rasters"] == [str(Path(raster).resolve())]
    os.remove(raster)
    assert main([*base, "--out", str(out), "--steps", "3"]) == 0
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 3
    assert "rasters not found" in (out / "train.log").read_text()
