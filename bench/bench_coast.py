"""Dark sea next to bright land (issue 9, item 4): how much the pipeline leaks into the sea.

The scene is :func:`training.coast.coast_scene`: sea 30 dB below the land between two curved
coasts and around an island, 150 single-pixel deterministic scatterers 20-40 dB above the land,
single-look correlated SLC (generalised Hamming 0.6, 85 % of the band on both axes, Doppler
+0.15 cycles/sample in azimuth). It goes through the plugin's decorrelator with its defaults
(except REMOVE_OVERSAMPLING off, so that the output is on the truth's grid, as
``training/evaluate.py`` does) and the despeckler with its defaults and the shipped model, with
and without the retapering stage (:mod:`s2v_plugin.core.retaper`).

Printed per stage (raw SLC intensity, decorrelated intensity, despeckled): the sea ratio (mean
over mean truth) per distance band from the coast and over everything beyond 10 px (the floor:
at most 3), the median share of the scatterers' energy kept (the floor: at least 0.85; summed
over a 9 x 9 box minus the ring background), and the amplitude PSNR against the truth outside
the scatterers' boxes (peak = the land's amplitude).

Usage::

    python -m bench.bench_coast [--size 512] [--remove-oversampling] [--decorrelator-pfa P]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from s2v_plugin.core.metrics import psnr
from s2v_plugin.decorrelate import decorrelate_array
from s2v_plugin.despeckle import despeckle_array
from training.coast import BOX, LAND, Coast, coast_scene, energy_kept, sea_ratios


def coast_psnr(estimate: np.ndarray, coast: Coast, factors=(1.0, 1.0)) -> float:
    """Amplitude PSNR against the background truth, outside the scatterers' boxes."""
    from training.coast import _on_grid

    truth = _on_grid(coast.background, estimate.shape, factors)
    keep = np.ones(coast.background.shape, bool)
    for row, col in zip(coast.scatterer_rows, coast.scatterer_cols):
        keep[row - BOX : row + BOX + 1, col - BOX : col + BOX + 1] = False
    keep = _on_grid(keep, estimate.shape, factors)
    est = np.sqrt(np.maximum(estimate[keep], 0.0))
    return psnr(est, np.sqrt(truth[keep]), peak=float(np.sqrt(LAND)))


def figures(estimate: np.ndarray, coast: Coast, factors=(1.0, 1.0)) -> dict:
    """Sea ratios, median energy kept and PSNR of one stage."""
    energy = energy_kept(estimate, coast, factors)
    return {
        "sea_ratio": {k: round(v, 3) for k, v in sea_ratios(estimate, coast, factors).items()},
        "energy_kept_median": round(float(np.median(energy)), 3),
        "energy_kept_p10": round(float(np.quantile(energy, 0.1)), 3),
        "psnr_db": round(coast_psnr(estimate, coast, factors), 2),
    }


def run(size: int, remove_oversampling: bool, decorrelator: dict, model: str | None) -> dict:
    """Every stage's figures on one coast."""
    coast = coast_scene(size)
    out = {"raw": figures((np.abs(coast.slc) ** 2).astype(np.float32), coast)}
    started = time.perf_counter()
    white, report = decorrelate_array(
        coast.slc, remove_oversampling=remove_oversampling, **decorrelator
    )
    factors = report.pixel_factors
    decorrelated = (np.abs(white) ** 2).astype(np.float32)
    out["decorrelated"] = figures(decorrelated, coast, factors)
    out["decorrelator_point_targets"] = report.point_targets
    for name, retaper in (("despeckled, no retaper", False), ("despeckled", True)):
        started = time.perf_counter()
        estimate = despeckle_array(
            decorrelated, model, looks=1.0, decorrelation=report.metadata(), retaper=retaper
        )
        out[name] = figures(estimate, coast, factors)
        out[name]["seconds"] = round(time.perf_counter() - started, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--remove-oversampling", action="store_true")
    parser.add_argument("--decorrelator-pfa", type=float, default=None)
    parser.add_argument("--model", default=None, help="ONNX model (default: the shipped one)")
    args = parser.parse_args(argv)
    decorrelator = (
        {} if args.decorrelator_pfa is None else {"point_target_pfa": args.decorrelator_pfa}
    )
    result = run(args.size, args.remove_oversampling, decorrelator, args.model)
    print(
        f"Coast {args.size} x {args.size}, oversampling "
        f"{'removed' if args.remove_oversampling else 'kept (truth grid)'}; floors: sea ratio "
        "beyond 10 px <= 3, scatterer energy kept (median) >= 0.85"
    )
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
