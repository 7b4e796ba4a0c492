"""Structured pruning: the slimmer network computes what the wider one computed through the kept
channels, exactly when the dropped channels carried nothing."""

from __future__ import annotations

import pytest
from conftest import require

torch = require("torch")

from training.model import ModelConfig, build_model  # noqa: E402
from training.prune import prune_checkpoint, prune_state  # noqa: E402

WIDE = ModelConfig(arch="unet", width=6, dec_width=8, levels=2, fusion=10)


def _silence_channels(model, generator) -> None:
    """Zero the filters (and biases) of a random third of every hidden feature map."""
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, torch.nn.Conv2d) and name != "fusion.4":
                dropped = torch.randperm(module.out_channels, generator=generator)
                dropped = dropped[: module.out_channels // 3]
                module.weight[dropped] = 0
                module.bias[dropped] = 0


def test_pruning_away_silent_channels_keeps_the_outputs():
    torch.manual_seed(0)
    model = build_model(WIDE).eval()
    _silence_channels(model, torch.Generator().manual_seed(1))
    widths = {"width": 4, "dec_width": 6, "fusion": 7}
    state = prune_state(model.state_dict(), WIDE.to_dict(), **widths)
    slim = build_model({**WIDE.to_dict(), **widths}).eval()
    slim.load_state_dict(state)
    y = torch.rand(2, 1, 32, 32) * 4 + 0.01
    for wide_out, slim_out in zip(model(y), slim(y)):
        assert torch.allclose(wide_out, slim_out, rtol=1e-5, atol=1e-6)
    assert sum(t.numel() for t in state.values()) < sum(p.numel() for p in model.parameters())


def test_pruning_live_channels_changes_the_outputs():
    # the check above must be able to fail: dropping channels that carry signal changes outputs
    torch.manual_seed(0)
    model = build_model(WIDE).eval()
    widths = {"width": 4, "dec_width": 6, "fusion": 7}
    slim = build_model({**WIDE.to_dict(), **widths}).eval()
    slim.load_state_dict(prune_state(model.state_dict(), WIDE.to_dict(), **widths))
    y = torch.rand(1, 1, 32, 32) * 4 + 0.01
    assert not torch.allclose(model(y)[1], slim(y)[1], rtol=1e-3)


def test_prune_checkpoint_writes_a_loadable_init(tmp_path):
    torch.manual_seed(0)
    model = build_model(WIDE)
    path = tmp_path / "wide.pt"
    config = {"name": "t", "model": WIDE.to_dict(), "train": {}, "data": {}}
    torch.save({"config": config, "model": model.state_dict(), "step": 7}, path)
    init = prune_checkpoint(path, width=5, dec_width=8, fusion=4)
    assert init["step"] == 7 and init["config"]["model"]["width"] == 5
    assert config["model"]["width"] == 6  # the source's config is not modified
    with pytest.raises(ValueError, match="width must be in 1..6"):
        prune_checkpoint(path, width=7, dec_width=8, fusion=4)
