"""The blind-spot guarantee of the training networks (PyTorch)."""

from __future__ import annotations

import pytest
from conftest import require

torch = require("torch")

from training.blindspot import CausalConv, CausalDown, RotatedBlindSpot, Up, rot90  # noqa: E402
from training.model import CausalUNet, ModelConfig, build_model  # noqa: E402
from training.receptive import measure_receptive_field  # noqa: E402

TINY_UNET = ModelConfig(arch="unet", width=4, dec_width=6, levels=2, fusion=8)
TINY_STACK = ModelConfig(
    arch="stack",
    input="linear",
    head="relu",
    width=4,
    depth=3,
    levels=0,
    fusion=8,
    batchnorm=True,
)


def _outputs(model, y):
    with torch.no_grad():
        alpha, beta = model(y)
    return torch.cat([alpha, beta], dim=1)


def _perturbed(y, row, col, factor=40.0):
    z = y.clone()
    z[..., row, col] = z[..., row, col] * factor + 3.0
    return z


def test_a_causal_convolution_never_looks_below_its_row():
    torch.manual_seed(0)
    conv = CausalConv(1, 3)
    x = torch.rand(1, 1, 12, 10)
    before = conv(x)
    after = conv(_perturbed(x, 7, 4))
    assert torch.equal(before[..., :7, :], after[..., :7, :])
    assert not torch.equal(before[..., 7:, :], after[..., 7:, :])


def test_a_causal_unet_branch_depends_only_on_rows_at_or_above():
    torch.manual_seed(0)
    branch = CausalUNet(1, 4, 6, levels=3, slope=0.2)
    x = torch.rand(1, 1, 32, 24)
    for row in (5, 8, 17):
        before, after = branch(x), branch(_perturbed(x, row, 11))
        assert torch.equal(before[..., :row, :], after[..., :row, :])


def test_shifted_downsampling_then_upsampling_keeps_the_half_plane():
    x = torch.rand(1, 1, 16, 16)
    before = Up()(CausalDown()(x))
    after = Up()(CausalDown()(_perturbed(x, 9, 3)))
    assert torch.equal(before[..., :9, :], after[..., :9, :])


def test_rot90_is_torch_rot90():
    x = torch.rand(2, 1, 5, 7)
    for k in range(4):
        assert torch.equal(rot90(x, k), torch.rot90(x, k, dims=(2, 3)))


@pytest.mark.parametrize("cfg", [TINY_UNET, TINY_STACK], ids=["unet", "stack"])
def test_perturbing_a_pixel_never_changes_alpha_and_beta_at_that_pixel(cfg):
    torch.manual_seed(1)
    model = build_model(cfg).eval()
    y = torch.distributions.Exponential(1.0).sample((1, 1, 24, 32))
    base = _outputs(model, y)
    for row, col in [(0, 0), (11, 13), (23, 31), (5, 30), (16, 2)]:
        changed = _outputs(model, _perturbed(y, row, col))
        assert torch.allclose(changed[..., row, col], base[..., row, col], rtol=0, atol=1e-6)
        # the neighbours do see the pixel: the test is not vacuous
        diff = (changed - base).abs().amax(dim=1)[0]
        assert diff.max() > 1e-4


def test_training_shift_blinds_the_pixels_above_and_below_too():
    cfg = ModelConfig(arch="unet", width=4, dec_width=6, levels=2, fusion=8, p_train=1.0)
    torch.manual_seed(2)
    model = build_model(cfg).train()
    y = torch.rand(1, 1, 24, 24) + 0.5
    base = _outputs(model, y)
    for dr in (-1, 1):
        changed = _outputs(model, _perturbed(y, 12 + dr, 9))
        assert torch.allclose(changed[..., 12, 9], base[..., 12, 9], rtol=0, atol=1e-6)
    changed = _outputs(model, _perturbed(y, 12, 10))
    assert not torch.allclose(changed[..., 12, 9], base[..., 12, 9], rtol=0, atol=1e-6)


def test_rotated_branches_concatenate_four_outputs():
    branch = torch.nn.Conv2d(1, 3, 1)
    features = RotatedBlindSpot(branch, torch.nn.Conv2d(1, 3, 1))
    assert features(torch.rand(2, 1, 8, 12)).shape == (2, 12, 8, 12)


def test_the_paper_network_has_a_35_pixel_receptive_field_and_a_blind_centre():
    cfg = ModelConfig(
        arch="stack", input="linear", head="relu", width=64, depth=17, levels=0, batchnorm=True
    )
    measured = measure_receptive_field(cfg)
    assert measured == {"radius": 35, "centre_seen": False, "phases": 1}


def test_the_stack_receptive_field_is_two_rows_per_layer_plus_the_shift():
    for depth in (1, 3, 6):
        cfg = ModelConfig(arch="stack", width=2, depth=depth, levels=0, fusion=2)
        assert measure_receptive_field(cfg)["radius"] == 2 * depth + 1


def test_the_unet_receptive_field_covers_every_pooling_phase():
    measured = measure_receptive_field(TINY_UNET)
    assert measured["phases"] == TINY_UNET.size_multiple**2
    assert not measured["centre_seen"]
    assert measured["radius"] > 2 * 3 + 1  # larger than a plain stack of the same depth
