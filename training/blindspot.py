"""Blind-spot building blocks: shifted convolutions, shifted downsampling and rotated branches.

Guarantee
---------
Every module in this file whose name starts with ``Causal`` maps a feature map to one of the same
height whose row ``i`` depends only on input rows ``<= i`` (an "upward half-plane" dependency),
for any weights. :class:`Shift` with ``s >= 1`` makes that dependency strict: output row ``i``
depends on input rows ``<= i - s`` only. :class:`RotatedBlindSpot` runs a causal network followed
by such a shift on the input rotated by 0, 90, 180 and 270 degrees, rotates the results back and
concatenates them; any per-pixel (1x1) fusion of the concatenation therefore never sees the input
pixel at the same position: **the output at a pixel does not depend on that pixel's input**, in
eval mode, for any weights and any input size that is a multiple of the branch's size multiple.
(In train mode BatchNorm statistics mix pixels of a batch, as in the paper.)

Zero padding is used everywhere, so values outside the input never leak in: the guarantee also
holds at the borders of a tile.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn


def shift_down(x: torch.Tensor, rows: int) -> torch.Tensor:
    """Move the content of ``x`` down by ``rows`` (zero rows enter at the top)."""
    if rows == 0:
        return x
    return F.pad(x, (0, 0, rows, 0))[:, :, : x.shape[2], :]


class Shift(nn.Module):
    """Shift by ``s`` rows; with probability ``p_train`` use ``s_train`` instead in training.

    The random choice is one per forward call (the whole batch shares it).
    """

    def __init__(self, s: int = 1, s_train: int | None = None, p_train: float = 0.0) -> None:
        super().__init__()
        self.s = s
        self.s_train = s if s_train is None else s_train
        self.p_train = p_train

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = self.s
        if self.training and self.p_train > 0 and torch.rand(()) < self.p_train:
            rows = self.s_train
        return shift_down(x, rows)


class CausalConv(nn.Module):
    """3x3 convolution padded with 2 rows above and 1 column each side, none below.

    Output row ``i`` sees input rows ``i-2 .. i`` only.
    """

    def __init__(self, cin: int, cout: int, bias: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=0, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (1, 1, 2, 0)))


class CausalDown(nn.Module):
    """Halve the resolution: shift down by one row, then 2x2 average pooling.

    Output row ``j`` averages input rows ``2j - 1`` and ``2j``, so it depends on rows ``<= 2j``
    of the full-resolution map, which is what a later nearest-neighbour upsampling needs
    (upsampled row ``i`` comes from row ``i // 2`` and ``2 * (i // 2) <= i``). Average rather
    than max pooling keeps every dependency visible to gradients, which makes the receptive
    field measurable.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(shift_down(x, 1), 2)


class Up(nn.Module):
    """Nearest-neighbour 2x upsampling (keeps the half-plane dependency)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2.0, mode="nearest")


def rot90(x: torch.Tensor, k: int) -> torch.Tensor:
    """Rotate an NCHW tensor by ``k`` quarter turns counter-clockwise (ONNX-exportable)."""
    k %= 4
    if k == 0:
        return x
    if k == 1:
        return torch.flip(x.transpose(2, 3), dims=(2,))
    if k == 2:
        return torch.flip(x, dims=(2, 3))
    return torch.flip(x.transpose(2, 3), dims=(3,))


class RotatedBlindSpot(nn.Module):
    """Four half-plane branches at 0, 90, 180 and 270 degrees, concatenated along channels.

    ``vertical`` serves the 0 and 180 degree rotations (it looks along the rows, i.e. azimuth),
    ``horizontal`` serves 90 and 270 degrees; each pair shares weights, as in Speckle2Void. Each
    branch output is shifted down by one row (``Shift``) before being rotated back; in training
    the vertical pair may use a longer shift (``s_train`` with probability ``p_train``), which
    widens the blind spot to ``(2 s_train - 1) x 1`` pixels.

    Output: ``N x 4C x H x W`` where C is the branch width; the value at a pixel never depends
    on the input at that pixel (see the module docstring).
    """

    def __init__(
        self,
        vertical: nn.Module,
        horizontal: nn.Module,
        s_train: int = 1,
        p_train: float = 0.0,
    ) -> None:
        super().__init__()
        self.vertical = vertical
        self.horizontal = horizontal
        self.shift_v = Shift(1, s_train, p_train)
        self.shift_h = Shift(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        # 0 and 180 degrees share a shape and weights: run them as one batch (same for 90/270).
        v = self.shift_v(self.vertical(torch.cat([x, rot90(x, 2)], dim=0)))
        h = self.shift_h(self.horizontal(torch.cat([rot90(x, 1), rot90(x, 3)], dim=0)))
        return torch.cat(
            [v[:n], rot90(h[:n], 3), rot90(v[n:], 2), rot90(h[n:], 1)],
            dim=1,
        )
