"""Why the ratio over "homogeneous" windows of the real samples is below 1 (issue 9).

For each stripmap sample in ``../shared/data/sar`` (decorrelated with the plugin's defaults,
windows found as in :mod:`training.evaluate`: 24 x 24, up to 10), the script prints per window:

* what the input is there: the equivalent number of looks of the intensity (about 1 for fully
  developed single-look speckle, below 1 for textured clutter), the lag-1 magnitude of the
  decorrelated complex signal (about 0 once whitened) and the lag-1 of its intensity (about the
  complex one squared for speckle on a constant reflectivity; more means texture);
* the ratio noisy / despeckled: mean and variance with the runtime's local-mean factor and with
  it switched off, the factor's mean there, and the Bayesian expectation
  ``E[(a - 1) / a]`` of the ratio of a posterior mean, ``a = alpha + L`` read from the output's
  posterior std (``a = (mean / std)^2 + 2``);
* the point targets within 8 px of the window.

A posterior mean with a calibrated prior has a ratio mean near that expectation, never 1; the
local-mean factor multiplies the estimate, so it divides the ratio (mean by the factor, variance
by its square).

Usage::

    python -m bench.bench_homogeneous_windows [--model MODEL]
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.bench_real_ratio import SAR, STRIPMAP
from bench.decorrelation_figures import complex_correlation

NEAR = 8


def _despeckle(noisy: np.ndarray, model: str | None, factor: bool):
    import s2v_plugin.despeckle as despeckle

    original = despeckle.renormalise
    if not factor:
        despeckle.renormalise = lambda estimate, *args, **kwargs: estimate
    try:
        mean, std, _, targets = despeckle.despeckle_array(
            noisy, model, looks=1.0, return_std=True, return_targets=True
        )
    finally:
        despeckle.renormalise = original
    return mean, std, targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="ONNX model (default: the shipped one)")
    args = parser.parse_args(argv)

    from scipy.ndimage import binary_dilation

    from s2v_plugin.core.metrics import find_homogeneous_windows, lag_correlation
    from s2v_plugin.decorrelate import decorrelate_array
    from s2v_plugin.io.raster_source import RasterSource

    if not SAR.is_dir():
        print(f"no real samples in {SAR}")
        return 1
    print(
        "| scene | window | ENL | complex lag-1 az / rg | intensity lag-1 az / rg | ratio mean "
        "/ var | without factor | factor | Bayesian ratio mean | targets within 8 px |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in STRIPMAP:
        with RasterSource(str(SAR / name)) as source:
            slc = source.read(0, 0, source.info.height, source.info.width)
        white, _ = decorrelate_array(slc)
        noisy = (np.abs(white) ** 2).astype(np.float32)
        mean, std, targets = _despeckle(noisy, args.model, factor=True)
        plain, _, _ = _despeckle(noisy, args.model, factor=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            shape = np.where(np.isfinite(std), (mean / std) ** 2 + 2.0, np.inf)
            expectation = np.where(np.isfinite(shape), (shape - 1.0) / shape, 1.0)
        near = binary_dilation(targets, iterations=NEAR)
        for window in find_homogeneous_windows(noisy, size=24, count=10):
            s = window.slices()
            intensity, ratio, ratio_plain = noisy[s], noisy[s] / mean[s], noisy[s] / plain[s]
            lag_i = lag_correlation(intensity)
            lag_z = [complex_correlation(white[s], axis, 1) for axis in (0, 1)]
            print(
                f"| {name.split('_slc')[0]} | {window.row}, {window.col} | "
                f"{intensity.mean() ** 2 / intensity.var():.2f} | "
                f"{lag_z[0]:.3f} / {lag_z[1]:.3f} | "
                f"{lag_i[0]:.3f} / {lag_i[1]:.3f} | {ratio.mean():.3f} / {ratio.var():.3f} | "
                f"{ratio_plain.mean():.3f} / {ratio_plain.var():.3f} | "
                f"{np.mean(mean[s] / plain[s]):.3f} | {expectation[s].mean():.3f} | "
                f"{int(near[s].sum())} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
