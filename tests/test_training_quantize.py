"""INT8 quantisation (training/quantize.py): a valid QDQ model, the card kept, the float32 parts
left float32, and the blind spot intact."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import require
from onnx_models import neighbour_mean_model

ort = require("onnxruntime")
onnx = require("onnx")
pytest.importorskip("onnxruntime.quantization")

from s2v_plugin.runtime.model_card import INPUT_NAME, METADATA_KEY, ModelCard  # noqa: E402
from training.quantize import calibration_config, graph_parts, quantize_model  # noqa: E402


def _batches(count: int = 4, size: int = 32, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.exponential(1.0, (2, 1, size, size)).astype(np.float32) for _ in range(count)]


def _run(path, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return tuple(session.run(["alpha", "beta"], {INPUT_NAME: y}))


def _card(path) -> ModelCard:
    proto = onnx.load(str(path))
    return ModelCard.from_json({e.key: e.value for e in proto.metadata_props}[METADATA_KEY])


def test_the_int8_model_has_qdq_nodes_keeps_the_card_and_says_it_is_int8(tmp_path):
    fp32 = neighbour_mean_model(tmp_path / "m.onnx", alpha=5.0)
    out = tmp_path / "m.int8.onnx"

    quantize_model(fp32, out, _batches(), calibration="minmax")

    proto = onnx.load(str(out))
    onnx.checker.check_model(proto)
    ops = {n.op_type for n in proto.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    card = _card(out)
    assert card.name == _card(fp32).name and card.receptive_field == _card(fp32).receptive_field
    assert card.extra["precision"] == "int8"
    assert card.extra["quantization"]["quantised_convolutions"] == 1


def test_the_int8_prior_mean_is_the_neighbour_mean_within_its_quantisation_step(tmp_path):
    fp32 = neighbour_mean_model(tmp_path / "m.onnx", alpha=5.0)
    out = tmp_path / "m.int8.onnx"
    batches = _batches()
    quantize_model(fp32, out, batches, calibration="minmax")
    y = batches[0]  # within the calibrated range (no saturation)

    _, beta = _run(out, y)
    _, beta_fp32 = _run(fp32, y)

    # uint8 activations over the calibrated range of the 8-neighbour mean (about 0..4): a step
    # of about 0.016, times (alpha - 1) = 4 in beta
    assert np.abs(beta - beta_fp32).max() < 4 * 0.03
    assert np.abs(beta - beta_fp32).max() > 0  # it did quantise


def test_an_unknown_calibration_is_refused(tmp_path):
    fp32 = neighbour_mean_model(tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="calibration"):
        quantize_model(fp32, tmp_path / "x.onnx", _batches(), calibration="median")


def test_calibration_never_uses_a_held_out_picture():
    card = ModelCard(name="t", model_version="0", receptive_field=1)
    assert "camera" not in calibration_config(card).pictures
    held_out = ModelCard(
        name="t", model_version="0", receptive_field=1, training={"data": {"pictures": ["camera"]}}
    )
    with pytest.raises(ValueError, match="held-out"):
        calibration_config(held_out)


@pytest.fixture(scope="module")
def tiny_s2v(tmp_path_factory):
    torch = require("torch")
    from training.export import export_onnx, make_card
    from training.model import ModelConfig, build_model

    cfg = ModelConfig(arch="unet", width=4, dec_width=6, levels=2, fusion=8)
    torch.manual_seed(0)
    card = make_card(cfg, "tiny", "0", training={"note": "test"})
    return export_onnx(build_model(cfg).eval(), tmp_path_factory.mktemp("q") / "t.onnx", card)


def _float_convs(path) -> set[str]:
    """Convolutions whose weights are float32 initialisers (not dequantised int8)."""
    proto = onnx.load(str(path))
    initialisers = {i.name for i in proto.graph.initializer}
    return {n.name for n in proto.graph.node if n.op_type == "Conv" and n.input[1] in initialisers}


def test_the_first_convolution_of_each_of_the_four_branches_and_the_head_are_found(tiny_s2v):
    parts = graph_parts(onnx.load(str(tiny_s2v)))
    # the head: one shifted 1x1 slice per branch, the hidden 1x1 and the two output 1x1
    head_convs = [n for n in parts["head"] if n.startswith("conv")]
    assert len(parts["first_conv"]) == 4
    assert len(head_convs) == 4 + 1 + 2
    assert not set(parts["first_conv"]) & set(parts["head"])


def test_excluded_parts_stay_float32_and_the_rest_is_int8(tiny_s2v, tmp_path):
    parts = graph_parts(onnx.load(str(tiny_s2v)))
    out = tmp_path / "t.int8.onnx"

    report = quantize_model(
        tiny_s2v, out, _batches(), exclude_first_conv=True, exclude_head=True, calibration="minmax"
    )

    kept = set(parts["first_conv"]) | {n for n in parts["head"] if n.startswith("conv")}
    assert _float_convs(out) == kept
    assert report["quantised_convolutions"] == report["convolutions"] - len(kept)
    assert json.loads(json.dumps(report))["float32"] == ["first_conv", "head"]


def test_the_int8_model_keeps_the_blind_spot(tiny_s2v, tmp_path):
    out = tmp_path / "t.int8.onnx"
    quantize_model(tiny_s2v, out, _batches(), calibration="minmax")
    y = _batches(1, 32, seed=2)[0][:1]
    bright = y.copy()
    bright[0, 0, 16, 16] = 50.0

    alpha, beta = _run(out, y)
    alpha_b, beta_b = _run(out, bright)

    assert alpha_b[0, 0, 16, 16] == alpha[0, 0, 16, 16]
    assert beta_b[0, 0, 16, 16] == beta[0, 0, 16, 16]
    assert not np.array_equal(beta_b, beta)  # the neighbours did see it
