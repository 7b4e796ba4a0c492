"""Structured channel pruning: start a slimmer ``unet`` network from trained, wider weights.

A narrower network (fewer encoder, decoder or fusion features) runs faster and needs less memory
per pixel, but trained from scratch on two CPU cores it would take many hours to catch up. Keeping
the strongest channels of every feature map of a trained network gives it a starting point that
fine-tuning (``training.train --init``) repairs in a few thousand steps.

Each feature map keeps the channels whose producing filters have the largest L2 norm (weights and
bias), in their original order; every consumer of the map keeps the matching input channels.
Pruning to the source's own widths reproduces the source network exactly (tested).

Usage::

    python -m training.prune --checkpoint training/checkpoints/v2.pt --width 16 \
        --dec-width 32 --fusion 48 --out runs/v3/init.pt
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch

from .model import build_model


def strongest(weight: torch.Tensor, bias: torch.Tensor | None, keep: int) -> torch.Tensor:
    """Indices (sorted) of the ``keep`` output channels with the largest filter norm."""
    norms = weight.flatten(1).pow(2).sum(1)
    if bias is not None:
        norms = norms + bias.pow(2)
    return torch.sort(torch.topk(norms, keep).indices).values


def _prune_conv(state: dict, out: dict, key: str, rows: torch.Tensor, cols: torch.Tensor) -> None:
    out[f"{key}.weight"] = state[f"{key}.weight"][rows][:, cols].clone()
    if f"{key}.bias" in state:
        out[f"{key}.bias"] = state[f"{key}.bias"][rows].clone()


def _keep(state: dict, key: str, count: int) -> torch.Tensor:
    return strongest(state[f"{key}.weight"], state.get(f"{key}.bias"), count)


def prune_unet(state: dict, prefix: str, levels: int, width: int, dec_width: int, out: dict):
    """Prune one ``CausalUNet`` branch; return the kept indices of its output feature map."""
    convs = f"{prefix}.enc0.0.conv", f"{prefix}.enc0.1.conv"
    first = _keep(state, convs[0], width)
    _prune_conv(state, out, convs[0], first, torch.arange(1))
    skip = _keep(state, convs[1], width)
    _prune_conv(state, out, convs[1], skip, first)
    skips, x = [skip], skip
    for level in range(levels):
        key = f"{prefix}.enc.{level}.conv"
        kept = _keep(state, key, width)
        _prune_conv(state, out, key, kept, x)
        skips.append(kept)
        x = kept
    skips.pop()
    for index, level in enumerate(range(levels - 1, -1, -1)):
        skip = skips.pop()
        # input = concat(upsampled x, skip): the skip's channels follow all of x's
        x_channels = state[f"{prefix}.dec.{index}.0.conv.weight"].shape[1] - skip_width(
            state, prefix
        )
        cols = torch.cat([x, x_channels + skip])
        features = width if level == 0 else dec_width
        for part in (0, 1):
            key = f"{prefix}.dec.{index}.{part}.conv"
            kept = _keep(state, key, features)
            _prune_conv(state, out, key, kept, cols)
            cols = kept
        x = cols
    return x


def skip_width(state: dict, prefix: str) -> int:
    """The encoder width of a branch in ``state`` (channels of its skip connections)."""
    return state[f"{prefix}.enc0.1.conv.weight"].shape[0]


def prune_state(state: dict, model_cfg: dict, width: int, dec_width: int, fusion: int) -> dict:
    """The state dict of a ``unet`` Speckle2Void network pruned to the given widths.

    Parameters
    ----------
    state : dict
        ``state_dict`` of the source network.
    model_cfg : dict
        Its model configuration (``arch`` must be ``unet``).
    width, dec_width, fusion : int
        Target encoder, decoder and fusion features; each at most the source's.

    Returns
    -------
    dict
        A state dict that loads into ``build_model`` of the pruned configuration.
    """
    if model_cfg["arch"] != "unet":
        raise ValueError("only the unet architecture can be pruned")
    for name, value in (("width", width), ("dec_width", dec_width), ("fusion", fusion)):
        if not 0 < value <= model_cfg[name]:
            raise ValueError(f"{name} must be in 1..{model_cfg[name]}, got {value}")
    out: dict = {}
    levels = model_cfg["levels"]
    vertical = prune_unet(state, "features.vertical", levels, width, dec_width, out)
    horizontal = prune_unet(state, "features.horizontal", levels, width, dec_width, out)
    source = model_cfg["width"]
    # fusion input order: 0 (vertical), 90 (horizontal), 180 (vertical), 270 (horizontal)
    cols = torch.cat(
        [vertical, source + horizontal, 2 * source + vertical, 3 * source + horizontal]
    )
    convs = [
        key[: -len(".weight")] for key in state if key.startswith("fusion.") and "weight" in key
    ]
    for number, key in enumerate(convs):
        last = number == len(convs) - 1
        rows = torch.arange(state[f"{key}.weight"].shape[0]) if last else _keep(state, key, fusion)
        _prune_conv(state, out, key, rows, cols)
        cols = rows
    return out


def prune_checkpoint(path: str | Path, width: int, dec_width: int, fusion: int) -> dict:
    """Load a checkpoint (``weights_only``) and return an ``--init`` file's content, pruned."""
    source = torch.load(str(path), map_location="cpu", weights_only=True)
    config = copy.deepcopy(source["config"])
    config["model"].update(width=width, dec_width=dec_width, fusion=fusion)
    model = prune_state(source["model"], source["config"]["model"], width, dec_width, fusion)
    build_model(config["model"]).load_state_dict(model)  # strict: every tensor has its shape
    return {"config": config, "model": model, "step": int(source.get("step", 0))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="source weights (.pt)")
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--dec-width", type=int, required=True)
    parser.add_argument("--fusion", type=int, required=True)
    parser.add_argument("--out", required=True, help="the pruned --init file to write")
    args = parser.parse_args(argv)
    pruned = prune_checkpoint(args.checkpoint, args.width, args.dec_width, args.fusion)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    torch.save(pruned, args.out)
    count = sum(t.numel() for t in pruned["model"].values())
    print(
        f"wrote {args.out}: {count} parameters, widths {args.width}/{args.dec_width}/{args.fusion}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
