"""Quality of an exported Speckle2Void model against the 7x7 Lee filter; prints a table.

    python -m training.evaluate --model models/speckle2void_default.onnx [--json metrics.json]

Simulated scenes (issue 9's floors): the twelve held-out scenes of :mod:`training.heldout` (six
CC0 scikit-image pictures never used for training, camera, astronaut, coins, moon, rocket and
clock, each at amplitude = grey + 0.03 on 0..1 and grey + 1 on 0..255), simulated as single-look
correlated SLC (Hamming 0.5-0.7 and 80-90 % of the band on both axes, Doppler 0.1-0.25 in
azimuth), whitened by the plugin's decorrelator (oversampling kept, so the grid stays the
truth's) and despeckled by the plugin's runtime (:func:`s2v_plugin.despeckle.despeckle_array`).
PSNR is on amplitude with the peak at the maximum true amplitude; "mean ratio" is the estimate's
mean intensity over the truth's; the darkest- (brightest-) decile bias is the mean estimate over
the mean truth on the pixels whose truth is in the scene's lowest (highest) 10 %.

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
from s2v_plugin.decorrelate import decorrelate_array  # noqa: E402
from s2v_plugin.despeckle import despeckle_array  # noqa: E402
from training.heldout import EVAL_PICTURES, decile_bias, heldout_scenes  # noqa: E402

SAR_DATA = ROOT.parent / "shared" / "data" / "sar"
REAL_SAMPLES = (
    "envisat_asar_im_hh_slc_500x500.tif",
    "uavsar_sanand129_hh_slc_150x200.tif",
    "uavsar_sanand138_hh_slc_150x400.tif",
)


def amplitude_psnr(estimate: np.ndarray, truth: np.ndarray) -> float:
    """PSNR of sqrt(estimate) against sqrt(truth), peak = max true amplitude."""
    ref = np.sqrt(truth)
    return psnr(np.sqrt(np.maximum(estimate, 0.0)), ref, peak=float(ref.max()))


def simulated(
    model: str,
    pictures=EVAL_PICTURES,
    point_target_pfa: float | None = None,
    log=None,
    decorrelator: dict | None = None,
    retaper: bool = True,
) -> list[dict]:
    """Rows (scene, method, PSNR, mean ratio, decile biases) on the held-out scenes; the
    despeckler gets the decorrelator's metadata, as it would from a decorrelated raster."""
    rows = []
    for scene in heldout_scenes(pictures):
        truth, slc = scene.truth, scene.slc
        noisy = (np.abs(slc) ** 2).astype(np.float32)
        white, report = decorrelate_array(slc, remove_oversampling=False, **(decorrelator or {}))
        decorrelated = (np.abs(white) ** 2).astype(np.float32)
        estimates = {
            "noisy": noisy,
            "lee7 on noisy": lee(noisy, 7, 1.0),
            "lee7 after decorrelation": lee(decorrelated, 7, 1.0),
            "s2v after decorrelation": despeckle_array(
                decorrelated,
                model,
                looks=1.0,
                point_target_pfa=point_target_pfa,
                decorrelation=report.metadata(),
                retaper=retaper,
            ),
        }
        for method, est in estimates.items():
            rows.append(
                {
                    "scene": scene.name,
                    "method": method,
                    "psnr_amplitude_db": round(amplitude_psnr(est, truth), 3),
                    "mean_ratio": round(float(np.nanmean(est) / truth.mean()), 4),
                    "dark_decile_bias": round(decile_bias(est, truth), 3),
                    "bright_decile_bias": round(decile_bias(est, truth, brightest=True), 3),
                }
            )
        if log:
            log(f"{scene.name}: {rows[-1]}")
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


def real(
    model: str,
    folder: Path = SAR_DATA,
    point_target_pfa: float | None = None,
    decorrelator: dict | None = None,
) -> list[dict]:
    from s2v_plugin.io.raster_source import RasterSource

    rows = []
    for file in REAL_SAMPLES:
        path = folder / file
        if not path.exists():
            continue
        with RasterSource(str(path)) as src:
            slc = src.read(0, 0, src.info.height, src.info.width)
        white, _ = decorrelate_array(slc, **(decorrelator or {}))
        noisy = (np.abs(white) ** 2).astype(np.float32)
        windows = find_homogeneous_windows(noisy, size=24, count=10)
        s2v, s2v_std, _ = despeckle_array(
            noisy, model, looks=1.0, return_std=True, point_target_pfa=point_target_pfa
        )
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
    """Issue 9's floors, per scene and on the mean of the scenes."""
    out: dict = {"simulated": {}, "real": {}}
    for scene in dict.fromkeys(r["scene"] for r in sim_rows):
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
            "dark_decile_bias": s2v["dark_decile_bias"],
            "bright_decile_bias": s2v["bright_decile_bias"],
            "lee7_noisy_dark_decile_bias": by["lee7 on noisy"]["dark_decile_bias"],
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
    sims = list(out["simulated"].values())
    reals = list(out["real"].values())
    if sims:
        out["mean_gain_over_lee_noisy_db"] = round(
            float(np.mean([s["gain_over_lee_noisy_db"] for s in sims])), 3
        )
        out["mean_gain_over_lee_decorrelated_db"] = round(
            float(np.mean([s["gain_over_lee_decorrelated_db"] for s in sims])), 3
        )
        wide = [s["gain_over_lee_noisy_db"] for k, s in out["simulated"].items() if "grey255" in k]
        if wide:
            out["mean_gain_over_lee_noisy_48db_db"] = round(float(np.mean(wide)), 3)
    floors = {
        "mean_gain_over_lee_noisy_>=2": out.get("mean_gain_over_lee_noisy_db", 0) >= 2.0,
        "mean_gain_over_lee_decorrelated_>=0.5": out.get("mean_gain_over_lee_decorrelated_db", 0)
        >= 0.5,
        "every_scene_gain_over_lee_noisy_>=1": all(
            s["gain_over_lee_noisy_db"] >= 1.0 for s in sims
        ),
        "every_scene_no_worse_than_lee_decorrelated": all(
            s["gain_over_lee_decorrelated_db"] >= 0.0 for s in sims
        ),
        "every_scene_mean_within_2%": all(abs(s["mean_ratio"] - 1.0) <= 0.02 for s in sims),
        "real_homogeneous_ratio_mean_0.95-1.05": all(
            r["homogeneous_ratio_mean"] is not None and 0.95 <= r["homogeneous_ratio_mean"] <= 1.05
            for r in reals
        ),
        "real_homogeneous_ratio_variance_0.9-1.15": all(
            r["homogeneous_ratio_variance"] is not None
            and 0.9 <= r["homogeneous_ratio_variance"] <= 1.15
            for r in reals
        ),
        "real_ratio_lag1_<=0.1": all(
            abs(r["ratio_lag1_azimuth"]) <= 0.1 and abs(r["ratio_lag1_range"]) <= 0.1 for r in reals
        ),
        "real_mean_intensity_within_3%": all(
            abs(r["mean_intensity_ratio"] - 1.0) <= 0.03 for r in reals
        ),
    }
    out["floors"] = floors
    # The darkest-decile floor ("no worse than version 1.1") compares two runs: see the model
    # card for version 1.1's figures on these scenes.
    out["floors_met"] = bool(all(floors.values()))
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
    parser.add_argument(
        "--pfa", type=float, default=None, help="POINT_TARGET_PFA (default: the model's)"
    )
    parser.add_argument(
        "--pictures", nargs="*", default=list(EVAL_PICTURES), help="a subset of the six"
    )
    parser.add_argument(
        "--decorrelator-pfa",
        type=float,
        default=None,
        help="the decorrelator's POINT_TARGET_PFA (default: its own; 0: the global rule of 1.1)",
    )
    parser.add_argument(
        "--no-retaper", action="store_true", help="switch the despeckler's RETAPER stage off"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    decorrelator = (
        {} if args.decorrelator_pfa is None else {"point_target_pfa": args.decorrelator_pfa}
    )
    sim_rows = simulated(
        args.model,
        args.pictures,
        args.pfa,
        log=lambda line: print(line, flush=True),
        decorrelator=decorrelator,
        retaper=not args.no_retaper,
    )
    print(
        "Held-out scenes (training.heldout): single-look correlated SLC, Hamming 0.5-0.7, "
        "80-90 % band, Doppler 0.1-0.25, after our decorrelator:"
    )
    print(table(sim_rows))
    real_rows = (
        []
        if args.no_real
        else real(args.model, point_target_pfa=args.pfa, decorrelator=decorrelator)
    )
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
