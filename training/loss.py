"""Speckle2Void loss: pure functions of tensors.

Model: ``y = x n`` with speckle ``n ~ Gamma(L, L)`` (mean 1) and prior
``x ~ InvGamma(alpha, beta)``. The marginal density of ``y`` is

    p(y) = L^L y^(L-1) beta^alpha Gamma(alpha+L) / (Gamma(L) Gamma(alpha) (beta + L y)^(alpha+L))

and the posterior mean of ``x`` is ``(beta + L y) / (alpha + L - 1)``.
"""

from __future__ import annotations

import math

import torch

TV_WEIGHT = 5e-5
#: The paper's total variation is summed over 64 x 64 patches; on other patch sizes the sum is
#: rescaled to that many pixels, so the regularisation strength does not depend on the patch size.
TV_REFERENCE_PIXELS = 64 * 64


def neg_log_marginal(
    y: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor, looks: float = 1.0
) -> torch.Tensor:
    """Per-pixel ``-ln p(y)`` under Gamma(L, L) speckle and an InvGamma(alpha, beta) prior."""
    L = float(looks)  # noqa: N806
    log_p = (
        L * math.log(L)
        + torch.xlogy(torch.tensor(L - 1.0, dtype=y.dtype, device=y.device), y)
        + alpha * torch.log(beta)
        - (alpha + L) * torch.log(beta + L * y)
        - torch.lgamma(alpha)
        - math.lgamma(L)
        + torch.lgamma(alpha + L)
    )
    return -log_p


def posterior_mean(
    y: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor, looks: float = 1.0
) -> torch.Tensor:
    """MMSE estimate of the clean intensity: ``(beta + L y) / (alpha + L - 1)``."""
    return (beta + looks * y) / (alpha + looks - 1.0)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation of each image (sum of absolute neighbour differences over
    rows and columns), averaged over the batch. ``x``: ``N x C x H x W``."""
    dv = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum(dim=(1, 2, 3))
    dh = (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum(dim=(1, 2, 3))
    return (dv + dh).mean()


def masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of ``values`` over pixels where ``mask`` is true (all pixels when ``mask`` is None)."""
    if mask is None:
        return values.mean()
    m = mask.to(values.dtype)
    return (values * m).sum() / m.sum().clamp(min=1.0)


def speckle2void_loss(
    y: torch.Tensor,
    alpha: torch.Tensor,
    beta: torch.Tensor,
    looks: float = 1.0,
    mask: torch.Tensor | None = None,
    tv_weight: float = TV_WEIGHT,
    tv_reference_pixels: int | None = TV_REFERENCE_PIXELS,
) -> tuple[torch.Tensor, dict]:
    """Training loss: masked mean of :func:`neg_log_marginal` plus ``tv_weight`` times the total
    variation of the posterior mean (per image, rescaled to ``tv_reference_pixels`` pixels unless
    None). Returns the loss and its parts (floats) for logging."""
    nll = masked_mean(neg_log_marginal(y, alpha, beta, looks), mask)
    tv = total_variation(posterior_mean(y, alpha, beta, looks))
    if tv_reference_pixels:
        tv = tv * (tv_reference_pixels / float(y.shape[-2] * y.shape[-1]))
    loss = nll + tv_weight * tv
    return loss, {"nll": float(nll.detach()), "tv": float(tv.detach())}
