"""Numerical measurement of a blind-spot network's receptive field and blind spot.

The receptive field is a property of the architecture, not of the weights: a copy of the network
with one feature per layer and random weights (float64) has the same dependency graph. We measure on
such a skeleton, taking gradients of one output pixel with respect to the whole input, for every
phase of the pooling grid (``size_multiple`` x ``size_multiple`` positions); the radius is the
largest Chebyshev distance between the output pixel and an input pixel with a non-zero gradient.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from .model import ModelConfig, Speckle2Void, build_model


def skeleton_config(cfg: ModelConfig) -> ModelConfig:
    """The same architecture with one or two features per layer (same dependency graph)."""
    return dataclasses.replace(cfg, width=1, dec_width=1, fusion=2, batchnorm=False)


def _dependency_maps(model: Speckle2Void, size: int, pixels: list[tuple[int, int]]) -> np.ndarray:
    """Boolean maps (one per output pixel) of the inputs each output pixel depends on.

    The pixels are measured in one batch (one image each): the skeleton has no BatchNorm, so the
    images of a batch do not interact.
    """
    x = (torch.rand(len(pixels), 1, size, size, dtype=torch.float64) + 0.5).requires_grad_(True)
    out = model.raw(x)
    rows = torch.tensor([r for r, _ in pixels])
    cols = torch.tensor([c for _, c in pixels])
    out[torch.arange(len(pixels)), :, rows, cols].sum().backward()
    return (x.grad[:, 0] != 0).numpy()


def measure_receptive_field(cfg: ModelConfig, seed: int = 0) -> dict:
    """Measure the receptive field radius and check the blind spot on a skeleton of ``cfg``.

    Returns ``{"radius": int, "centre_seen": bool, "phases": int}``; ``centre_seen`` is True when
    some output pixel depends on its own input (a broken blind spot).
    """
    torch.manual_seed(seed)
    model = build_model(skeleton_config(cfg)).double().eval()
    m = cfg.size_multiple
    guess = 64
    while True:
        size = max(4 * guess, 64)
        size = -(-size // m) * m
        base = (size // 2) // m * m
        pixels = [(base + dr, base + dc) for dr in range(m) for dc in range(m)]
        radius, centre_seen = 0, False
        for start in range(0, len(pixels), 16):
            chunk = pixels[start : start + 16]
            for (r, c), dep in zip(chunk, _dependency_maps(model, size, chunk)):
                rows, cols = np.nonzero(dep)
                if rows.size:
                    radius = max(radius, int(np.max(np.maximum(abs(rows - r), abs(cols - c)))))
                centre_seen |= bool(dep[r, c])
        if radius < size // 2 - m:
            return {"radius": radius, "centre_seen": centre_seen, "phases": m * m}
        guess *= 2
