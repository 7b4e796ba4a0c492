"""Quality of an exported Speckle2Void model against the 7x7 Lee filter; prints a table.

    python -m training.evaluate --model models/speckle2void_default.onnx [--json metrics.json]

Simulated scenes (issue 4's quality floor): CC0 scikit-image pictures never used for training
(``training.data.EVAL_PICTURES``) are simulated as single-look correlated SLC (generalized Hamming
0.6 and 85 % occupied band on both axes, Doppler centroid offset in azimuth), whitened by the
plugin's decorrelator (oversampling kept, so the grid stays the truth's) and despeckled by the
plugin's runtime (:func:`s2v_plugin.despeckle.despeckle_array`). PSNR is on amplitude with the peak
at the maximum true amplitude; "mean ratio" is the estimate's mean intensity over the truth's.

Real samples: ENVISAT and UAVSAR SLCs from ``../shared/data/sar`` decorrelated with the plugin's
defaults; the ratio image noisy / despeckled should have mean 1, variance 1 (single look) and no
structure (lag-1 autocorrelation near that of the decorrelated speckle).

A posterior mean cannot have a ratio mean of exactly 1 when its prior is broad: if the network's
prior is right, the posterior of a pixel is InvGamma(alpha + L, beta + L y), so
E[y / estimate] = E[(alpha + L - 1) / (alpha + L)] < 1 (Jensen; 0.95 at alpha = 19 for one look).
``ratio_mean_bayes`` is that expectation, computed from the model's own posterior std: a measured
ratio mean close to it means the prior is calibrated and the shortfall comes from prior
uncertainty (texture, edges, small scenes), not from a biased network.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from s2v_plugin.core.classic_filters import lee  # noqa: E402
from s2v_plugin.core.metrics import (  # noqa: E402
    find_homogeneous_windows,
    lag_correlation,
    psnr,
    ratio_image,
    ratio_stats,
)
from s2v_plugin.core.simulation import SpectralShape, simulate_correlated_slc  # noqa: E402
from s2v_plugin.decorrelate import decorrelate_array  # noqa: E402
from s2v_plugin.despeckle import despeckle_array  # noqa: E402
from training.data import EVAL_PICTURES, clean_picture  # noqa: E402

SAR_DATA = ROOT.parent / "shared" / "data" / "sar"
REAL_SAMPLES = (
    "envisat_asar_im_hh_slc_500x500.tif",
    "uavsar_sanand129_hh_slc_150x200.tif",
    "uavsar_sanand138_hh_slc_150x400.tif",
)
AZIMUTH = SpectralShape(window=0.6, band_fraction=0.85, centroid=0.15)
RANGE = SpectralShape(window=0.6, band_fraction=0.85, centroid=0.0)


def amplitude_psnr(estimate: np.ndarray, truth: np.ndarray) -> float:
    """PSNR of sqrt(estimate) against sqrt(truth), peak = max true amplitude."""
    ref = np.sqrt(truth)
    return psnr(np.sqrt(np.maximum(estimate, 0.0)), ref, peak=float(ref.max()))


def simulated(model: str, seed: int = 2024, pictures=EVAL_PICTURES) -> list[dict]:
    rows = []
    for k, name in enumerate(pictures):
        truth = clean_picture(name)
        rng = np.random.default_rng(seed + k)
        slc = simulate_correlated_slc(truth, rng, azimuth=AZIMUTH, range_=RANGE)
        noisy = (np.abs(slc) ** 2).astype(np.float32)
        white, _ = decorrelate_array(slc, remove_oversampling=False)
        decorrelated = (np.abs(white) ** 2).astype(np.float32)
        estimates = {
            "noisy": noisy,
            "lee7 on noisy": lee(noisy, 7, 1.0),
            "lee7 after decorrelation": lee(decorrelated, 7, 1.0),
            "s2v after decorrelation": despeckle_array(decorrelated, model, looks=1.0),
        }
        for method, est in estimates.items():
            rows.append(
                {
                    "scene": name,
                    "method": method,
                    "psnr_amplitude_db": round(amplitude_psnr(est, truth), 3),
                    "mean_ratio": round(float(np.nanmean(est) / truth.mean()), 4),
                }
            )
    return rows


def bayes_ratio_mean(mean: np.ndarray, std: np.ndarray) -> float:
    """E[y / estimate] implied by the posterior: mean of (a - 1) / a with a = alpha + L.

    The posterior InvGamma(a, b) has std = mean / sqrt(a - 2), so a = (mean / std)^2 + 2.
    Point targets (estimate = y, NaN std) count as 1; nodata is left out.
    """
    valid = np.isfinite(mean)
    shape = np.where(np.isfinite(std), (mean / np.where(std > 0, std, np.inf)) ** 2 + 2.0, np.inf)
    term = np.where(np.isfinite(shape), (shape - 1.0) / shape, 1.0)
    return float(term[valid].mean())


def real(model: str, folder: Path = SAR_DATA) -> list[dict]:
    from s2v_plugin.io.raster_source import RasterSource

    rows = []
    for file in REAL_SAMPLES:
        path = folder / file
        if not path.exists():
            continue
        with RasterSource(str(path)) as src:
            slc = src.read(0, 0, src.info.height, src.info.width)
        white, _ = decorrelate_array(slc)
        noisy = (np.abs(white) ** 2).astype(np.float32)
        windows = find_homogeneous_windows(noisy, size=24, count=10)
        s2v, s2v_std, _ = despeckle_array(noisy, model, looks=1.0, return_std=True)
        for method, est in (("lee7", lee(noisy, 7, 1.0)), ("s2v", s2v)):
            ratio = ratio_image(noisy, est)
            stats = ratio_stats(ratio)
            lag_r, lag_c = lag_correlation(ratio)
            lag_nr, lag_nc = lag_correlation(noisy)
            flat = np.concatenate([ratio[w.slices()].ravel() for w in windows] or [ratio[:0, 0]])
            flat_stats = ratio_stats(flat) if flat.size > 1 else None
            rows.append(
                {
                    "scene": file.split("_slc")[0],
                    "method": method,
                    "ratio_mean": round(stats.mean, 4),
                    "ratio_variance": round(stats.variance, 4),
                    "ratio_mean_bayes": (
                        round(bayes_ratio_mean(s2v, s2v_std), 4) if method == "s2v" else None
                    ),
                    "mean_intensity_ratio": round(float(np.nanmean(est) / np.nanmean(noisy)), 4),
                    "ratio_lag1_azimuth": round(lag_r, 4),
                    "ratio_lag1_range": round(lag_c, 4),
                    "noisy_lag1_azimuth": round(lag_nr, 4),
                    "noisy_lag1_range": round(lag_nc, 4),
                    "homogeneous_windows": len(windows),
                    "homogeneous_ratio_mean": round(flat_stats.mean, 4) if flat_stats else None,
                    "homogeneous_ratio_variance": (
                        round(flat_stats.variance, 4) if flat_stats else None
                    ),
                }
            )
    return rows


def summary(sim_rows: list[dict], real_rows: list[dict]) -> dict:
    """Issue 4's floors: S2V gain over the Lee variants, mean ratio, real ratio statistics."""
    out: dict = {"simulated": {}, "real": {}}
    for scene in sorted({r["scene"] for r in sim_rows}):
        by = {r["method"]: r for r in sim_rows if r["scene"] == scene}
        s2v = by["s2v after decorrelation"]
        out["simulated"][scene] = {
            "psnr_s2v_db": s2v["psnr_amplitude_db"],
            "gain_over_lee_noisy_db": round(
                s2v["psnr_amplitude_db"] - by["lee7 on noisy"]["psnr_amplitude_db"], 3
            ),
            "gain_over_lee_decorrelated_db": round(
                s2v["psnr_amplitude_db"] - by["lee7 after decorrelation"]["psnr_amplitude_db"], 3
            ),
            "mean_ratio": s2v["mean_ratio"],
        }
    for r in real_rows:
        if r["method"] == "s2v":
            keys = (
                "ratio_mean",
                "ratio_variance",
                "ratio_mean_bayes",
                "mean_intensity_ratio",
                "ratio_lag1_azimuth",
                "ratio_lag1_range",
                "homogeneous_ratio_mean",
                "homogeneous_ratio_variance",
            )
            out["real"][r["scene"]] = {k: r[k] for k in keys}
    sims = out["simulated"].values()
    reals = out["real"].values()
    out["floors_met"] = bool(
        all(s["gain_over_lee_noisy_db"] >= 2.0 for s in sims)
        and all(s["gain_over_lee_decorrelated_db"] >= 0.5 for s in sims)
        and all(abs(s["mean_ratio"] - 1.0) <= 0.02 for s in sims)
        and all(0.97 <= r["ratio_mean"] <= 1.03 for r in reals)
    )
    return out


def table(rows: list[dict]) -> str:
    """A Markdown table of dict rows."""
    if not rows:
        return "(no rows)"
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "speckle2void_default.onnx"))
    parser.add_argument("--json", help="write the figures and the summary here")
    parser.add_argument("--no-real", action="store_true", help="skip the real samples")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sim_rows = simulated(args.model)
    print("Simulated correlated 1-look SLC (Hamming 0.6, 85 % band, Doppler offset 0.15):")
    print(table(sim_rows))
    real_rows = [] if args.no_real else real(args.model)
    if real_rows:
        print("\nReal SLC samples (decorrelated), ratio image noisy / despeckled:")
        print(table(real_rows))
    result = summary(sim_rows, real_rows)
    print("\nSummary:", json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"simulated_rows": sim_rows, "real_rows": real_rows, **result}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
