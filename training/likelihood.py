"""Compare checkpoints by their held-out likelihood: the self-supervised score, no ground truth.

    python -m training.likelihood runs/fast/calibrated_sim.pt runs/anneal/calibrated.pt \
        --rasters ../shared/data/sar/envisat_asar_im_hh_slc_500x500.tif

Prints the eval-mode (test-time blind spot) negative log marginal likelihood of each checkpoint on
the same fixed patches: of the given rasters (SLC rasters are decorrelated first, as in training)
and of white single-look speckle on the training pictures. Lower is better; differences of a few
thousandths are real, as every checkpoint sees the same patches.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from training.data import DataConfig  # noqa: E402
from training.train import evaluate_nll, validation_batch  # noqa: E402


def patch_sets(
    rasters: tuple,
    batches: int,
    batch: int = 8,
    patch: int = 96,
    seed: int = 123,
    decorrelated: bool = False,
):
    """Fixed (inputs, masks) patch sets by name: ``real`` (when rasters are given) and ``white``.

    Complex rasters are decorrelated first unless ``decorrelated`` says they already are.
    """
    configs = {"white": DataConfig(white=1.0, correlated=0.0, raster=0.0)}
    if rasters:
        configs["real"] = DataConfig(
            white=0.0,
            correlated=0.0,
            raster=1.0,
            rasters=tuple(rasters),
            pictures=(),
            decorrelated=decorrelated,
        )
    return {
        name: validation_batch(cfg, batch, patch, seed=seed, batches=batches)
        for name, cfg in configs.items()
    }


def checkpoint_scores(checkpoint: str, sets: dict) -> dict:
    """Eval-mode NLL of one checkpoint on every patch set, with the looks it was trained for."""
    from training.export import load_checkpoint_model

    model, state = load_checkpoint_model(checkpoint)
    looks = state["config"].get("train", {}).get("looks", 1.0)
    return {name: evaluate_nll(model, y, m, "cpu", looks) for name, (y, m) in sets.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", help="checkpoint .pt files to compare")
    parser.add_argument("--rasters", nargs="*", default=[], help="SLC or intensity rasters")
    parser.add_argument(
        "--decorrelated",
        action="store_true",
        help="the complex rasters are already decorrelated (skip whitening)",
    )
    parser.add_argument("--batches", type=int, default=12, help="batches of 8 patches per set")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rasters = tuple(str(Path(p).resolve()) for p in args.rasters)
    sets = patch_sets(rasters, args.batches, decorrelated=args.decorrelated)
    print("| checkpoint | " + " | ".join(f"NLL {name}" for name in sets) + " |")
    print("|---|" + "---|" * len(sets))
    for checkpoint in args.checkpoints:
        scores = checkpoint_scores(checkpoint, sets)
        print(f"| {checkpoint} | " + " | ".join(f"{scores[n]:.5f}" for n in sets) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
