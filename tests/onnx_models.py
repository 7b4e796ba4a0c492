"""Small ONNX models, built in the tests, whose outputs are known by hand.

* :func:`neighbour_mean_model`: a blind-spot model whose prior mean is the mean of the 8
  neighbours: ``alpha = a`` everywhere, ``beta = (a - 1) * mean8(x)``; receptive field 1.
* :func:`pooled_model`: a model with 2x2 average pooling (size multiple 2) to check that tiles
  stay aligned on the network's grid.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from s2v_plugin.runtime.model_card import METADATA_KEY, ModelCard

NEIGHBOURS = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float32) / 8.0


def _save(graph, path, card: ModelCard | None, extra_metadata: dict | None = None) -> str:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    metadata = dict(extra_metadata or {})
    if card is not None:
        metadata[METADATA_KEY] = card.to_json()
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def _io(input_name="intensity", outputs=("alpha", "beta")):
    dims = ["N", 1, "H", "W"]
    return (
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, dims) for name in outputs],
    )


def neighbour_mean_model(
    path,
    alpha: float = 5.0,
    looks: float = 1.0,
    receptive_field: int = 1,
    point_target_factor: float = 50.0,
    card: bool = True,
    output_names=("alpha", "beta"),
    input_name: str = "intensity",
) -> str:
    """Write the analytic blind-spot model; returns its path."""
    weights = numpy_helper.from_array(NEIGHBOURS.reshape(1, 1, 3, 3), "w")
    constants = [
        numpy_helper.from_array(np.array(alpha, np.float32), "a"),
        numpy_helper.from_array(np.array(alpha - 1.0, np.float32), "a1"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
    ]
    nodes = [
        helper.make_node("Conv", [input_name, "w"], ["m"], pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["z", "a"], [output_names[0]]),
        helper.make_node("Mul", ["m", "a1"], [output_names[1]]),
    ]
    inputs, outputs = _io(input_name, output_names)
    graph = helper.make_graph(nodes, "neighbour_mean", inputs, outputs, [weights, *constants])
    model_card = ModelCard(
        name="test-neighbour-mean",
        model_version="0",
        receptive_field=receptive_field,
        looks=looks,
        point_target_factor=point_target_factor,
    )
    return _save(graph, path, model_card if card else None)


def pooled_model(path, alpha: float = 4.0) -> str:
    """Prior mean = 2x2 block mean (stride 2) of the 8-neighbour mean, upsampled back."""
    weights = numpy_helper.from_array(NEIGHBOURS.reshape(1, 1, 3, 3), "w")
    constants = [
        numpy_helper.from_array(np.array(alpha, np.float32), "a"),
        numpy_helper.from_array(np.array(alpha - 1.0, np.float32), "a1"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"),
    ]
    nodes = [
        helper.make_node("Conv", ["intensity", "w"], ["m"], pads=[1, 1, 1, 1]),
        helper.make_node("AveragePool", ["m"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Resize", ["p", "", "scales"], ["u"], mode="nearest"),
        helper.make_node("Mul", ["u", "zero"], ["z"]),
        helper.make_node("Add", ["z", "a"], ["alpha"]),
        helper.make_node("Mul", ["u", "a1"], ["beta"]),
    ]
    inputs, outputs = _io()
    graph = helper.make_graph(nodes, "pooled", inputs, outputs, [weights, *constants])
    card = ModelCard(name="test-pooled", model_version="0", receptive_field=3, size_multiple=2)
    return _save(graph, path, card)


def expected_neighbour_posterior(intensity: np.ndarray, alpha: float = 5.0, looks: float = 1.0):
    """Posterior mean of :func:`neighbour_mean_model` on a whole image, mirrored at the edges
    as the runtime does (no point targets, no nodata)."""
    from scipy import ndimage

    scale = intensity.mean(dtype=np.float64)
    y = intensity / scale
    prior_mean = ndimage.correlate(
        y.astype(np.float64), NEIGHBOURS.astype(np.float64), mode="mirror"
    )
    beta = (alpha - 1.0) * prior_mean
    return (beta + looks * y) / (alpha + looks - 1.0) * scale


def slow_neighbour_model(path, channels: int = 64, layers: int = 6, alpha: float = 5.0) -> str:
    """:func:`neighbour_mean_model`'s output, plus a stack of convolutions multiplied by zero.

    The extra branch costs real CPU time per pixel (so that tests can act in the middle of a
    run) without changing the result: outputs equal the analytic model's.
    """
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(NEIGHBOURS.reshape(1, 1, 3, 3), "w")]
    nodes = [helper.make_node("Conv", ["intensity", "w"], ["m"], pads=[1, 1, 1, 1])]
    previous, width = "intensity", 1
    for index in range(layers):
        name = f"k{index}"
        kernel = rng.normal(0, 0.1, (channels, width, 3, 3)).astype(np.float32)
        weights.append(numpy_helper.from_array(kernel, name))
        nodes.append(helper.make_node("Conv", [previous, name], [f"h{index}"], pads=[1, 1, 1, 1]))
        previous, width = f"h{index}", channels
    constants = [
        numpy_helper.from_array(np.array(alpha, np.float32), "a"),
        numpy_helper.from_array(np.array(alpha - 1.0, np.float32), "a1"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
    ]
    nodes += [
        helper.make_node("ReduceMean", [previous], ["r"], axes=[1], keepdims=1),
        helper.make_node("Mul", ["r", "zero"], ["z"]),
        helper.make_node("Add", ["z", "a"], ["alpha"]),
        helper.make_node("Mul", ["m", "a1"], ["b0"]),
        helper.make_node("Add", ["b0", "z"], ["beta"]),
    ]
    inputs, outputs = _io()
    graph = helper.make_graph(nodes, "slow_neighbour", inputs, outputs, [*weights, *constants])
    card = ModelCard(name="test-slow-neighbour", model_version="0", receptive_field=1)
    return _save(graph, path, card)
