"""Build the inference ONNX graph of a Speckle2Void network directly from its weights.

``torch.onnx.export`` of :class:`training.model.Speckle2Void` gives a graph that mirrors the
training code: every causal convolution becomes a ``Pad`` and a ``Conv``, the four rotated
branches become transposes and flips of full-resolution activations, the 0/180 and 90/270 pairs
run as a batch of two, and the decoder concatenates its inputs. Each of those copies a
full-resolution activation and breaks onnxruntime's blocked (NCHWc) convolution layout.

This module writes the same function without any of them:

- a rotated branch ``rot(-k) . B . rot(k)`` is computed on the unrotated input with rotated
  kernels and rotated padding (a convolution commutes with a rotation once its kernel and its
  padding are rotated too), so no activation is ever transposed or flipped;
- the causal padding of every convolution is the ``pads`` attribute of the ``Conv`` itself
  (ONNX allows asymmetric padding), so no ``Pad`` node remains;
- the shifted 2x2 average pooling is an ``AveragePool`` with padding, or a depthwise strided
  ``Conv`` where the rotation moves the pooling grid by one pixel;
- the decoder's concatenation and the fusion's concatenation become sums of convolutions
  (``conv([a, b]) = conv_a(a) + conv_b(b)``), which onnxruntime fuses into the convolutions;
- each branch's final one-row shift is folded into its slice of the first fusion convolution
  (a two-tap kernel with one zero tap).

Only the summation order of floating-point terms changes: outputs agree with PyTorch within
float32 rounding (checked by :func:`training.export.onnx_parity` after every export).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .blindspot import CausalConv
from .model import LOG_FLOOR, CausalStack, CausalUNet, Speckle2Void

# Pads of the causal convolution in its own frame: (top, left, bottom, right).
CAUSAL_PADS = (2, 1, 0, 1)
# onnxruntime pads channels to its block (16 with AVX-512, 8 with AVX2) inside its blocked
# convolutions; aligning them to 8 here costs nothing there and keeps the graph exact for AVX2.
CHANNEL_MULTIPLE = 8


def rotate_pads(pads: tuple[int, int, int, int], k: int) -> tuple[int, int, int, int]:
    """Pads ``(top, left, bottom, right)`` of a layer applied in the frame ``rot90(x, k)``,
    expressed in the frame of ``x``.

    ``rot90`` turns counter-clockwise: the rotated image's top comes from ``x``'s right side,
    its left from ``x``'s top, and so on.
    """
    top, left, bottom, right = pads
    for _ in range(k % 4):
        # one counter-clockwise quarter turn: top <- right side of x, left <- top, ...
        top, left, bottom, right = left, bottom, right, top
    return top, left, bottom, right


def rotate_kernel(weight: np.ndarray, k: int) -> np.ndarray:
    """The kernel that, applied to ``x``, equals ``rot90(-k) . conv(weight) . rot90(k)``."""
    return np.ascontiguousarray(np.rot90(weight, -k % 4, axes=(2, 3)))


def _onnx_pads(pads: tuple[int, int, int, int]) -> list[int]:
    top, left, bottom, right = pads
    return [top, left, bottom, right]


class _Graph:
    """A small ONNX graph writer: nodes, initialisers and unique names."""

    def __init__(self) -> None:
        self.nodes = []
        self.initializers = []
        self.value_info = []
        self._count = 0

    def annotate(self, name: str, channels: int, level: int) -> None:
        """Declare the shape of ``name`` (``level`` halvings of the input size).

        onnxruntime fuses an ``Add`` into a preceding convolution only when it can prove that
        both inputs have the same shape; with dynamic sizes it relies on these symbolic names.
        """
        from onnx import TensorProto, helper

        dims = ["n", channels, f"height_{level}", f"width_{level}"]
        self.value_info.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))

    def name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, array: np.ndarray, stem: str) -> str:
        from onnx import numpy_helper

        name = self.name(stem)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], stem: str | None = None, **attrs) -> str:
        from onnx import helper

        out = self.name(stem or op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def conv(
        self,
        x: str,
        weight: np.ndarray,
        bias: np.ndarray | None,
        pads: tuple[int, int, int, int],
        strides=(1, 1),
        group: int = 1,
    ) -> str:
        inputs = [x, self.const(weight.astype(np.float32), "w")]
        if bias is not None:
            inputs.append(self.const(bias.astype(np.float32), "b"))
        return self.node(
            "Conv",
            inputs,
            "conv",
            kernel_shape=list(weight.shape[2:]),
            pads=_onnx_pads(pads),
            strides=list(strides),
            group=group,
        )

    def leaky(self, x: str, slope: float) -> str:
        return self.node("LeakyRelu", [x], "act", alpha=float(slope))

    def add(self, a: str, b: str) -> str:
        return self.node("Add", [a, b], "add")


def _weights(conv: nn.Conv2d) -> tuple[np.ndarray, np.ndarray | None]:
    w = conv.weight.detach().cpu().double().numpy()
    b = None if conv.bias is None else conv.bias.detach().cpu().double().numpy()
    return w, b


def _fold_batchnorm(w, b, bn: nn.BatchNorm2d):
    scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().double().numpy()
    mean = bn.running_mean.detach().double().numpy()
    shift = bn.bias.detach().double().numpy()
    b = np.zeros(w.shape[0]) if b is None else b
    return w * scale[:, None, None, None], (b - mean) * scale + shift


def padded(channels: int, multiple: int) -> int:
    """``channels`` rounded up to a multiple of ``multiple``."""
    return -(-channels // multiple) * multiple


def pad_channels(w: np.ndarray, b, cin: int, cout: int):
    """Zero-pad a kernel to ``cin`` input and ``cout`` output channels (and its bias)."""
    out = np.zeros((cout, cin) + w.shape[2:])
    out[: w.shape[0], : w.shape[1]] = w
    if b is not None:
        b = np.concatenate([b, np.zeros(cout - len(b))])
    return out, b


class _Branch:
    """Writes one causal branch rotated by ``k`` quarter turns, in the frame of the input.

    Feature maps carry ``multiple``-aligned channel counts: the extra channels have zero
    weights and zero bias, so they hold zeros and change nothing, but aligned counts let
    onnxruntime keep its blocked layout and fuse the sums into the convolutions.
    """

    def __init__(self, graph: _Graph, k: int, slope: float, multiple: int) -> None:
        self.g = graph
        self.k = k
        self.slope = slope
        self.multiple = multiple
        self.level = 0

    def causal_conv(self, x: str, cin: int, w: np.ndarray, b) -> tuple[str, int]:
        cout = padded(w.shape[0], self.multiple)
        w, b = pad_channels(w, b, cin, cout)
        y = self.g.conv(x, rotate_kernel(w, self.k), b, rotate_pads(CAUSAL_PADS, self.k))
        return self.g.leaky(y, self.slope), cout

    def split_conv(self, parts: list[tuple[str, int, int]], conv: CausalConv) -> tuple[str, int]:
        """``act(conv(concat(parts)))`` as a sum of one convolution per part.

        ``parts`` holds (name, real channels, padded channels) in concatenation order.
        onnxruntime adds each partial result inside the next convolution; measured faster than
        its blocked ``Concat``, which copies both inputs.
        """
        w, b = _weights(conv.conv)
        cout = padded(w.shape[0], self.multiple)
        start, total = 0, None
        for index, (name, channels, cin) in enumerate(parts):
            last = index == len(parts) - 1
            piece, bias = pad_channels(
                w[:, start : start + channels], b if last else None, cin, cout
            )
            start += channels
            y = self.g.conv(
                name, rotate_kernel(piece, self.k), bias, rotate_pads(CAUSAL_PADS, self.k)
            )
            self.g.annotate(y, cout, self.level)
            total = y if total is None else self.g.add(total, y)
        return self.g.leaky(total, self.slope), cout

    def down(self, x: str, channels: int) -> str:
        """Shift one row down then 2x2 average pooling, in the rotated frame.

        In the frame of ``x`` the pooled pairs of an axis are either aligned on even indices,
        or start one pixel before them (zero padding at the start), or one pixel after them (the
        rotation reversed that axis; zero padding at the end, and a zero first tap). All three
        are a depthwise strided convolution, which onnxruntime runs in its blocked layout (its
        blocked ``AveragePool`` takes no padding).
        """
        top, left, bottom, right = rotate_pads((1, 0, 0, 0), self.k)
        taps_rows = np.array([0.0, 0.5, 0.5]) if bottom else np.array([0.5, 0.5])
        taps_cols = np.array([0.0, 0.5, 0.5]) if right else np.array([0.5, 0.5])
        kernel = np.outer(taps_rows, taps_cols)[None, None]
        weight = np.repeat(kernel, channels, axis=0)
        self.level += 1
        return self.g.conv(x, weight, None, (top, left, bottom, right), (2, 2), group=channels)

    def up(self, x: str) -> str:
        scales = self.g.const(np.array([1.0, 1.0, 2.0, 2.0], np.float32), "scales")
        self.level -= 1
        return self.g.node(
            "Resize",
            [x, "", scales],
            "up",
            mode="nearest",
            coordinate_transformation_mode="asymmetric",
            nearest_mode="floor",
        )

    def unet(self, x: str, net: CausalUNet) -> tuple[str, int, int]:
        """The U-Net branch; returns (output, real channels, padded channels)."""
        cin = 1
        for conv in net.enc0:
            x, cin = self.causal_conv(x, cin, *_weights(conv.conv))
        width = net.enc0[-1].conv.out_channels
        skips = [(x, width, cin)]
        for conv in net.enc:
            x, cin = self.causal_conv(self.down(x, cin), cin, *_weights(conv.conv))
            skips.append((x, width, cin))
        skips.pop()
        channels = width
        for convs in net.dec:
            x, cin = self.split_conv([(self.up(x), channels, cin), skips.pop()], convs[0])
            channels = convs[0].conv.out_channels
            for conv in convs[1:]:
                x, cin = self.causal_conv(x, cin, *_weights(conv.conv))
                channels = conv.conv.out_channels
        return x, channels, cin

    def stack(self, x: str, net: CausalStack) -> tuple[str, int, int]:
        """The paper's stack branch (BatchNorm folded); returns (output, real, padded)."""
        layers = list(net.body)
        channels, cin = 1, 1
        for index, layer in enumerate(layers):
            if isinstance(layer, CausalConv):
                w, b = _weights(layer.conv)
                following = layers[index + 1] if index + 1 < len(layers) else None
                if isinstance(following, nn.BatchNorm2d):
                    w, b = _fold_batchnorm(w, b, following)
                x, cin = self.causal_conv(x, cin, w, b)
                channels = w.shape[0]
        return x, channels, cin

    def shifted_1x1(self, x: str, weight: np.ndarray, bias) -> str:
        """``rot(-k) . shift_down(1) . rot(k)`` followed by a 1x1 convolution, as one conv with a
        two-tap kernel whose tap on the pixel itself is zero."""
        top, left, bottom, right = rotate_pads((1, 0, 0, 0), self.k)
        w = weight[:, :, 0, 0]
        if top or bottom:
            kernel = np.zeros(w.shape + (2, 1))
            kernel[:, :, 0 if top else 1, 0] = w
        else:
            kernel = np.zeros(w.shape + (1, 2))
            kernel[:, :, 0, 0 if left else 1] = w
        y = self.g.conv(x, kernel, bias, (top, left, bottom, right))
        self.g.annotate(y, kernel.shape[0], 0)
        return y


def build_graph(model: Speckle2Void, channel_multiple: int = CHANNEL_MULTIPLE):
    """The ONNX ``GraphProto`` of ``model`` (eval mode) without ``Pad`` nodes or rotations.

    Input ``intensity`` and outputs ``alpha``, ``beta`` are float32 ``[N, 1, H, W]`` with dynamic
    N, H and W (H and W multiples of the model's ``size_multiple``).
    """
    from onnx import TensorProto, helper

    from s2v_plugin.runtime.model_card import INPUT_NAME, OUTPUT_NAMES

    model = model.eval()
    cfg = model.cfg
    g = _Graph()
    x = INPUT_NAME
    if cfg.input == "log":
        floor = g.const(np.array(LOG_FLOOR, np.float32), "floor")
        x = g.node("Log", [g.node("Max", [x, floor], "clamp")], "log")
    features = model.features
    fusion = [layer for layer in model.fusion if isinstance(layer, nn.Conv2d)]
    w0, b0 = _weights(fusion[0])
    total, start = None, 0
    # fusion input order of RotatedBlindSpot: 0 (vertical), 90 (horizontal), 180, 270
    for k, net in ((0, features.vertical), (1, features.horizontal)) + (
        (2, features.vertical),
        (3, features.horizontal),
    ):
        branch = _Branch(g, k, cfg.slope, channel_multiple)
        out, channels, cin = branch.unet(x, net) if cfg.arch == "unet" else branch.stack(x, net)
        piece, bias = pad_channels(w0[:, start : start + channels], b0, cin, w0.shape[0])
        start += channels
        y = branch.shifted_1x1(out, piece, bias if k == 3 else None)
        total = y if total is None else g.add(total, y)
    h = g.leaky(total, cfg.slope)
    for conv in fusion[1:-1]:
        h = g.leaky(g.conv(h, *_weights(conv), (0, 0, 0, 0)), cfg.slope)
    w, b = _weights(fusion[-1])
    o0 = g.conv(h, w[:1], b[:1], (0, 0, 0, 0))
    o1 = g.conv(h, w[1:2], b[1:2], (0, 0, 0, 0))
    one = g.const(np.array(1.0, np.float32), "one")
    floor = g.const(np.array(cfg.beta_floor, np.float32), "beta_floor")
    alpha_name, beta_name = OUTPUT_NAMES
    if cfg.head == "relu":
        g.nodes.append(
            helper.make_node("Add", [g.node("Relu", [o0]), one], [alpha_name], name=alpha_name)
        )
        g.nodes.append(
            helper.make_node("Add", [g.node("Relu", [o1]), floor], [beta_name], name=beta_name)
        )
    else:
        eps = g.const(np.array(1.0 + 1e-4, np.float32), "one_eps")
        softplus = g.node("Softplus", [o0])
        g.nodes.append(helper.make_node("Add", [softplus, eps], [alpha_name], name=alpha_name))
        low = g.const(np.array(-20.0, np.float32), "low")
        high = g.const(np.array(20.0, np.float32), "high")
        prior = g.node("Exp", [g.node("Clip", [o1, low, high])])
        spread = g.node("Sub", [alpha_name, one])
        g.nodes.append(
            helper.make_node(
                "Add", [g.node("Mul", [spread, prior]), floor], [beta_name], name=beta_name
            )
        )
    shape = ["n", 1, "height", "width"]
    return helper.make_graph(
        g.nodes,
        "speckle2void",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name in OUTPUT_NAMES],
        initializer=g.initializers,
        value_info=g.value_info,
    )
