"""Speckle2Void networks: the paper's shifted-convolution stack (``full``) and a blind-spot U-Net
(``fast``), both built on :mod:`training.blindspot`.

The network maps a normalised intensity ``y`` (``N x 1 x H x W``, float32) to the parameters of an
inverse-gamma prior on the clean intensity at each pixel, computed from the pixel's neighbours only:
``alpha >= 1`` and ``beta >= 0``. The Bayesian estimate is ``(beta + L y) / (alpha + L - 1)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from .blindspot import CausalConv, CausalDown, RotatedBlindSpot, Up

LOG_FLOOR = 1e-6


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a Speckle2Void network (stored in the model card).

    arch : ``"stack"`` (the paper: ``depth`` shifted 3x3 convolutions of ``width`` features, with
        BatchNorm) or ``"unet"`` (Laine et al. 2019 style: shifted convolutions and shifted
        downsampling, ``levels`` halvings, encoder width ``width``, decoder width ``dec_width``).
    input : ``"linear"`` feeds the normalised intensity; ``"log"`` feeds ``log(max(y, 1e-6))``.
    head : ``"relu"`` (paper: alpha = relu(o0) + 1, beta = relu(o1) + beta_floor) or ``"log"``
        (alpha = 1 + softplus(o0) + 1e-4, beta = (alpha - 1) * exp(o1) + beta_floor: o1 is the
        log of the prior mean, which suits a log input).
    s_train, p_train : training-time shift of the vertical (azimuth) branches and its probability.
    """

    arch: str = "unet"
    input: str = "log"
    head: str = "log"
    width: int = 32
    dec_width: int = 48
    depth: int = 17
    levels: int = 4
    fusion: int = 64
    slope: float = 0.2
    batchnorm: bool = False
    s_train: int = 2
    p_train: float = 0.9
    beta_floor: float = 1e-6

    @property
    def size_multiple(self) -> int:
        return 2**self.levels if self.arch == "unet" else 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        return cls(**data)


class CausalStack(nn.Module):
    """The paper's branch: ``depth`` shifted 3x3 convolutions, LeakyReLU, BatchNorm on layers
    1 to depth-2 (eps 1e-3). Row ``i`` of the output depends on input rows ``<= i``."""

    def __init__(self, cin: int, width: int, depth: int, slope: float, batchnorm: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for k in range(depth):
            use_bn = batchnorm and 1 <= k <= depth - 2
            layers.append(CausalConv(cin if k == 0 else width, width, bias=not use_bn))
            if use_bn:
                layers.append(nn.BatchNorm2d(width, eps=1e-3))
            layers.append(nn.LeakyReLU(slope))
        self.body = nn.Sequential(*layers)
        self.out_channels = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class CausalUNet(nn.Module):
    """Blind-spot U-Net branch: row ``i`` of the output depends on input rows ``<= i``.

    Encoder: two shifted convolutions at full resolution, then ``levels`` times (shifted
    downsampling, one shifted convolution). Decoder: nearest upsampling, concatenation with the
    skip, two shifted convolutions. Height and width must be multiples of ``2**levels``.
    """

    def __init__(self, cin: int, width: int, dec_width: int, levels: int, slope: float) -> None:
        super().__init__()
        self.levels = levels
        self.act = nn.LeakyReLU(slope)
        self.enc0 = nn.ModuleList([CausalConv(cin, width), CausalConv(width, width)])
        self.down = CausalDown()
        self.up = Up()
        self.enc = nn.ModuleList([CausalConv(width, width) for _ in range(levels)])
        self.dec = nn.ModuleList()
        for level in range(levels - 1, -1, -1):
            below = width if level == levels - 1 else dec_width
            out = width if level == 0 else dec_width
            self.dec.append(nn.ModuleList([CausalConv(below + width, out), CausalConv(out, out)]))
        self.out_channels = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.enc0:
            x = self.act(conv(x))
        skips = [x]
        for conv in self.enc:
            x = self.act(conv(self.down(x)))
            skips.append(x)
        skips.pop()
        for convs in self.dec:
            x = torch.cat([self.up(x), skips.pop()], dim=1)
            for conv in convs:
                x = self.act(conv(x))
        return x


def _branch(cfg: ModelConfig) -> nn.Module:
    if cfg.arch == "stack":
        return CausalStack(1, cfg.width, cfg.depth, cfg.slope, cfg.batchnorm)
    if cfg.arch == "unet":
        return CausalUNet(1, cfg.width, cfg.dec_width, cfg.levels, cfg.slope)
    raise ValueError(f"unknown arch {cfg.arch!r}")


class Speckle2Void(nn.Module):
    """Blind-spot network returning ``(alpha, beta)`` of the inverse-gamma prior at each pixel.

    Input: normalised intensity ``N x 1 x H x W`` (H and W multiples of ``size_multiple``).
    The output at a pixel never depends on the input at that pixel (eval mode).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        vertical, horizontal = _branch(cfg), _branch(cfg)
        self.features = RotatedBlindSpot(vertical, horizontal, cfg.s_train, cfg.p_train)
        c = 4 * vertical.out_channels
        self.fusion = nn.Sequential(
            nn.Conv2d(c, cfg.fusion, 1),
            nn.LeakyReLU(cfg.slope),
            nn.Conv2d(cfg.fusion, cfg.fusion, 1),
            nn.LeakyReLU(cfg.slope),
            nn.Conv2d(cfg.fusion, 2, 1),
        )
        if cfg.head == "relu":
            # Start away from the dead zone of the ReLUs: alpha ~ 2, beta ~ 1.
            nn.init.constant_(self.fusion[-1].bias, 1.0)
        else:
            nn.init.constant_(self.fusion[-1].bias, 0.5)  # alpha ~ 2, prior mean ~ 1.6
            nn.init.constant_(self.fusion[-1].bias[1:], 0.0)

    def raw(self, y: torch.Tensor) -> torch.Tensor:
        """The two fused channels before the output nonlinearity (``N x 2 x H x W``)."""
        x = torch.log(torch.clamp(y, min=LOG_FLOOR)) if self.cfg.input == "log" else y
        return self.fusion(self.features(x))

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        o = self.raw(y)
        o0, o1 = o[:, :1], o[:, 1:]
        if self.cfg.head == "relu":
            return F.relu(o0) + 1.0, F.relu(o1) + self.cfg.beta_floor
        alpha = 1.0 + F.softplus(o0) + 1e-4
        beta = (alpha - 1.0) * torch.exp(torch.clamp(o1, -20.0, 20.0)) + self.cfg.beta_floor
        return alpha, beta


def build_model(cfg: ModelConfig | dict) -> Speckle2Void:
    """Build a network from a :class:`ModelConfig` or its dict form."""
    if isinstance(cfg, dict):
        cfg = ModelConfig.from_dict(cfg)
    return Speckle2Void(cfg)
