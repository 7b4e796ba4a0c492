"""Ratio-image figures of the despeckler on the real SLC samples (issues 9 and 13).

For each real sample in ``../shared/data/sar`` (ENVISAT, two UAVSAR crops, decorrelated with the
plugin's defaults; and the Sentinel-1 TOPS crop, deramped and decorrelated with its annotation),
the plugin's runtime (:func:`s2v_plugin.despeckle.despeckle_array`) despeckles the intensity and
the script prints, for the ratio image noisy / despeckled:

* the whole-scene lag-1 autocorrelation along azimuth and range (issue 9: at most 0.1 each);
* for the TOPS crop, the lag-1 in 32-line blocks over the output rows of input rows 0-380, as
  mean and median absolute value over blocks (issue 13: at most 0.1 in both axes);
* the scene mean intensity out / in (issue 9: within 3 %);
* the ratio mean and variance over up to 10 homogeneous 24 x 24 windows (0.95-1.05, 0.9-1.15);
* the number of point targets kept.

Usage::

    python -m bench.bench_real_ratio [--pfa PFA] [--model MODEL]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAR = ROOT.parent / "shared" / "data" / "sar"
STRIPMAP = (
    "envisat_asar_im_hh_slc_500x500.tif",
    "uavsar_sanand129_hh_slc_150x200.tif",
    "uavsar_sanand138_hh_slc_150x400.tif",
)
TOPS_CROP = "s1a_iw3_vv_tops_slc_601x1401.tif"
TOPS_ANNOTATION = "s1a_iw3_vv_tops_annotation.xml"
BLOCK = 32


def block_lag1(image: np.ndarray, axis: int) -> np.ndarray:
    """Lag-1 correlation of a real image (mean removed) in 32-line blocks (issue 13's measure)."""
    out = []
    for start in range(0, image.shape[0] - BLOCK + 1, BLOCK):
        block = image[start : start + BLOCK].astype(np.float64)
        a, b = (block[1:], block[:-1]) if axis == 0 else (block[:, 1:], block[:, :-1])
        valid = np.isfinite(a) & np.isfinite(b)
        a, b = a[valid] - a[valid].mean(), b[valid] - b[valid].mean()
        out.append(float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b))))
    return np.array(out)


def _read(name: str) -> np.ndarray:
    from s2v_plugin.io.raster_source import RasterSource

    with RasterSource(str(SAR / name)) as source:
        return source.read(0, 0, source.info.height, source.info.width)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pfa", type=float, default=None, help="POINT_TARGET_PFA (card default)")
    parser.add_argument("--model", default=None, help="ONNX model (default: the shipped one)")
    args = parser.parse_args(argv)

    from s2v_plugin.core.metrics import (
        find_homogeneous_windows,
        lag_correlation,
        ratio_image,
        ratio_stats,
    )
    from s2v_plugin.decorrelate import decorrelate_array
    from s2v_plugin.despeckle import despeckle_array
    from s2v_plugin.io.sentinel1_safe import tops_for_raster

    if not SAR.is_dir():
        print(f"no real samples in {SAR}")
        return 1
    print(
        "| scene | lag-1 azimuth | lag-1 range | mean out/in | homogeneous ratio mean | "
        "homogeneous ratio variance | point targets |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in STRIPMAP:
        white, _ = decorrelate_array(_read(name))
        noisy = (np.abs(white) ** 2).astype(np.float32)
        mean, _, report = despeckle_array(
            noisy, args.model, looks=1.0, point_target_pfa=args.pfa, return_std=True
        )
        ratio = ratio_image(noisy, mean)
        azimuth, range_ = lag_correlation(ratio)
        windows = find_homogeneous_windows(noisy, size=24, count=10)
        flat = ratio_stats(np.concatenate([ratio[w.slices()].ravel() for w in windows]))
        print(
            f"| {name.split('_slc')[0]} | {azimuth:.4f} | {range_:.4f} | "
            f"{np.nanmean(mean) / np.nanmean(noisy):.4f} | {flat.mean:.4f} | "
            f"{flat.variance:.4f} | {report.point_targets} |"
        )
    tops = tops_for_raster(str(SAR / TOPS_CROP), str(SAR / TOPS_ANNOTATION), 9800, 11000)
    white, decorrelation = decorrelate_array(_read(TOPS_CROP), tops=tops, reramp=False)
    noisy = (np.abs(white) ** 2).astype(np.float32)
    mean, _, report = despeckle_array(
        noisy, args.model, looks=1.0, point_target_pfa=args.pfa, return_std=True
    )
    rows = int(381 / decorrelation.pixel_factors[0])
    ratio = ratio_image(noisy[:rows], mean[:rows])
    azimuth, range_ = block_lag1(ratio, 0), block_lag1(ratio, 1)
    print(
        f"| s1a_iw3_vv_tops (32-line blocks, mean / median abs) | {azimuth.mean():.4f} / "
        f"{np.median(np.abs(azimuth)):.4f} | {range_.mean():.4f} / "
        f"{np.median(np.abs(range_)):.4f} | {np.nanmean(mean) / np.nanmean(noisy):.4f} | | | "
        f"{report.point_targets} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
