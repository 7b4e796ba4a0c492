"""ONNX export: parity with PyTorch, blind spot and receptive field in the exported file, card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import require

torch = require("torch")
ort = require("onnxruntime")
require("onnx")

from s2v_plugin.runtime.model_card import INPUT_NAME, OUTPUT_NAMES, card_from_metadata  # noqa: E402
from training.export import export_onnx, make_card, onnx_parity  # noqa: E402
from training.model import ModelConfig, build_model  # noqa: E402
from training.receptive import measure_receptive_field  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "models" / "speckle2void_default.onnx"
DEFAULT_WEIGHTS = ROOT / "models" / "speckle2void_default.pt"
TINY = ModelConfig(arch="unet", width=4, dec_width=6, levels=2, fusion=8)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model(TINY).eval()
    card = make_card(TINY, "tiny", "0", training={"note": "test"})
    path = export_onnx(model, tmp_path_factory.mktemp("onnx") / "tiny.onnx", card)
    return model, path, card


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _run(session, y):
    alpha, beta = session.run(list(OUTPUT_NAMES), {INPUT_NAME: y.astype(np.float32)})
    return np.concatenate([alpha, beta], axis=1)


def onnx_receptive_field(path, size_multiple: int, size: int = 96) -> tuple[int, bool]:
    """Radius (Chebyshev) and centre dependency measured by perturbing inputs in onnxruntime,
    one input pixel per pooling phase."""
    session = _session(path)
    rng = np.random.default_rng(0)
    y = rng.exponential(1.0, (1, 1, size, size)).astype(np.float32) + 0.05
    base = _run(session, y)
    radius, centre_seen = 0, False
    centre = size // 2 // size_multiple * size_multiple
    for dr in range(size_multiple):
        for dc in range(size_multiple):
            r, c = centre + dr, centre + dc
            z = y.copy()
            z[0, 0, r, c] = z[0, 0, r, c] * 30.0 + 2.0
            changed = np.any(_run(session, z) != base, axis=(0, 1))
            rows, cols = np.nonzero(changed)
            radius = max(radius, int(np.max(np.maximum(abs(rows - r), abs(cols - c)))))
            centre_seen |= bool(changed[r, c])
    return radius, centre_seen


def test_pytorch_and_onnxruntime_agree_within_1e_4(exported):
    model, path, _ = exported
    parity = onnx_parity(model, path, size=48)
    assert parity["abs"] <= 1e-4 and parity["estimate_abs"] <= 1e-4


def test_the_exported_model_accepts_any_batch_and_size_multiple(exported):
    _, path, card = exported
    session = _session(path)
    m = card.size_multiple
    for n, h, w in [(1, 2 * m, 3 * m), (3, 5 * m, 2 * m)]:
        out = _run(session, np.ones((n, 1, h, w), np.float32))
        assert out.shape == (n, 2, h, w)


def test_the_exported_model_keeps_the_blind_spot(exported):
    _, path, _ = exported
    session = _session(path)
    rng = np.random.default_rng(1)
    y = rng.exponential(1.0, (1, 1, 32, 40)).astype(np.float32)
    base = _run(session, y)
    for r, c in [(0, 0), (13, 17), (31, 39), (20, 3)]:
        z = y.copy()
        z[0, 0, r, c] = 500.0
        out = _run(session, z)
        np.testing.assert_allclose(out[0, :, r, c], base[0, :, r, c], rtol=0, atol=1e-6)
        assert np.abs(out - base).max() > 1e-4


def test_alpha_is_at_least_one_and_beta_positive(exported):
    _, path, _ = exported
    rng = np.random.default_rng(2)
    out = _run(_session(path), rng.exponential(1.0, (2, 1, 16, 16)) * 10.0)
    assert out[:, 0].min() >= 1.0 and out[:, 1].min() > 0.0


def test_the_card_is_readable_by_the_plugin_and_holds_the_measured_receptive_field(exported):
    _, path, card = exported
    session = _session(path)
    read = card_from_metadata(session.get_modelmeta().custom_metadata_map, str(path))
    assert read == card
    radius, centre_seen = onnx_receptive_field(path, card.size_multiple)
    assert not centre_seen
    assert read.receptive_field == radius == measure_receptive_field(TINY)["radius"]
    assert read.size_multiple == TINY.size_multiple


@pytest.mark.slow
@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped default model")
def test_the_shipped_default_model_card_matches_its_architecture():
    session = _session(DEFAULT_MODEL)
    card = card_from_metadata(session.get_modelmeta().custom_metadata_map, "default model")
    cfg = ModelConfig.from_dict(card.training["config"])
    measured = measure_receptive_field(cfg)
    assert card.receptive_field == measured["radius"]
    assert not measured["centre_seen"]
    assert card.size_multiple == cfg.size_multiple
    assert card.looks == 1.0 and card.normalisation == "mean"
    assert DEFAULT_MODEL.stat().st_size < 20 * 1024 * 1024
    json.dumps(card.metrics)  # metrics are plain JSON


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped default model")
def test_the_shipped_default_model_keeps_the_blind_spot():
    session = _session(DEFAULT_MODEL)
    card = card_from_metadata(session.get_modelmeta().custom_metadata_map, "default model")
    size = 4 * card.size_multiple
    rng = np.random.default_rng(3)
    y = rng.exponential(1.0, (1, 1, size, size)).astype(np.float32)
    base = _run(session, y)
    r = c = size // 2 + 1
    z = y.copy()
    z[0, 0, r, c] = 40.0
    out = _run(session, z)
    np.testing.assert_allclose(out[0, :, r, c], base[0, :, r, c], rtol=1e-6, atol=1e-6)


@pytest.mark.skipif(not DEFAULT_WEIGHTS.exists(), reason="no shipped default weights")
def test_the_shipped_default_model_matches_its_pytorch_weights():
    from training.export import load_checkpoint_model

    model, _ = load_checkpoint_model(DEFAULT_WEIGHTS)
    parity = onnx_parity(model, DEFAULT_MODEL, size=64)
    # alpha and beta reach the hundreds: compare relatively; the estimate absolutely
    assert parity["rel"] <= 1e-5
    assert parity["estimate_abs"] <= 1e-4


GRAPH_COPIES = {"Pad", "Transpose", "Slice", "Concat", "Split"}


def _op_types(path) -> set[str]:
    import onnx

    return {node.op_type for node in onnx.load(str(path)).graph.node}


def test_the_exported_graph_pads_inside_its_convolutions_and_copies_no_activation(exported):
    _, path, _ = exported
    ops = _op_types(path)
    assert "Conv" in ops
    assert not ops & GRAPH_COPIES


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped default model")
def test_the_shipped_default_model_has_no_pad_nor_rotation_nodes():
    assert not _op_types(DEFAULT_MODEL) & GRAPH_COPIES


def test_a_batchnorm_stack_exports_with_its_statistics_folded(tmp_path):
    torch.manual_seed(1)
    cfg = ModelConfig(arch="stack", width=4, depth=4, batchnorm=True, input="linear", head="relu")
    model = build_model(cfg).eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1.0, 1.0)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
    path = export_onnx(model, tmp_path / "stack.onnx", make_card(cfg, "stack", "0"))
    parity = onnx_parity(model, path, size=40)
    assert parity["abs"] <= 1e-4 and parity["estimate_abs"] <= 1e-4


def _traced_export(model, path):
    """The previous exporter: ``torch.onnx.export`` traces the training graph as it is."""

    class Exported(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, intensity):
            return self.model(intensity)

    axes = {0: "n", 2: "height", 3: "width"}
    example = torch.rand(1, 1, 32, 32) + 0.1
    with torch.no_grad():
        torch.onnx.export(
            Exported(),
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes={name: axes for name in (INPUT_NAME, *OUTPUT_NAMES)},
            opset_version=17,
            dynamo=False,
        )
    return path


@pytest.mark.skipif(not DEFAULT_WEIGHTS.exists(), reason="no shipped default weights")
def test_the_direct_graph_gives_the_traced_graphs_outputs_within_1e_4_relative(tmp_path):
    from training.export import load_checkpoint_model

    model, _ = load_checkpoint_model(DEFAULT_WEIGHTS)
    traced = _session(_traced_export(model, tmp_path / "traced.onnx"))
    assert "Pad" in _op_types(tmp_path / "traced.onnx")  # the reference is the old graph
    direct = _session(DEFAULT_MODEL)
    rng = np.random.default_rng(4)
    y = (rng.exponential(1.0, (2, 1, 96, 136)) * 3.0).astype(np.float32)
    y[:, :, 40:44, 60:64] *= 50.0  # bright pixels: alpha and beta far from 1
    for old, new in zip(traced.run(None, {INPUT_NAME: y}), direct.run(None, {INPUT_NAME: y})):
        assert np.max(np.abs(new - old) / np.abs(old)) <= 1e-4
