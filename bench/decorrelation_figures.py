"""Figures for the decorrelation: estimates and speckle correlation before/after.

Prints, for the real SLC samples in ``../shared/data/sar`` (when present), the estimated
parameters and the normalised complex autocorrelation ``|sum z(p) z*(p+d)| / sum |z(p)|^2`` at
lags 1 and 2 along azimuth and range, before and after decorrelation with and without
oversampling removal, plus the mean-intensity ratio; then, for simulated homogeneous scenes, the
estimation errors and the intensity autocorrelation the despeckler would see.

Usage::

    python -m bench.decorrelation_figures
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from s2v_plugin.core.errors import InputError  # noqa: E402
from s2v_plugin.core.simulation import SpectralShape, simulate_correlated_slc  # noqa: E402
from s2v_plugin.decorrelate import decorrelate_array  # noqa: E402

SAR = ROOT.parent / "shared" / "data" / "sar"
REAL = [
    "envisat_asar_im_hh_slc_500x500.tif",
    "uavsar_sanand129_hh_slc_150x200.tif",
    "uavsar_sanand138_hh_slc_150x400.tif",
    "s1a_iw3_vv_tops_slc_601x1401.tif",
]


def complex_correlation(z: np.ndarray, axis: int, lag: int) -> float:
    a = np.moveaxis(z.astype(np.complex128), axis, 0)
    products = a[:-lag] * np.conj(a[lag:])
    valid = np.isfinite(products)
    return float(np.abs(np.sum(products[valid])) / np.nansum(np.abs(a) ** 2))


def intensity_correlation(z: np.ndarray, axis: int, lag: int) -> float:
    intensity = np.moveaxis(np.abs(z.astype(np.complex128)) ** 2, axis, 0)
    centred = intensity - intensity.mean()
    return float(np.sum(centred[:-lag] * centred[lag:]) / np.sum(centred * centred))


def correlations(z: np.ndarray, measure=complex_correlation) -> str:
    values = [measure(z, axis, lag) for axis in (0, 1) for lag in (1, 2)]
    return "az {:.3f} {:.3f}  rg {:.3f} {:.3f}".format(*values)


def real_samples() -> None:
    from osgeo import gdal

    gdal.UseExceptions()
    print("Real samples: complex autocorrelation at lags 1, 2 (azimuth, range)")
    for name in REAL:
        path = SAR / name
        if not path.exists():
            print(f"  {name}: absent")
            continue
        slc = gdal.Open(str(path)).ReadAsArray().astype(np.complex64)
        print(f"  {name} {slc.shape}")
        print(f"    before                      {correlations(slc)}")
        mean = np.mean(np.abs(slc.astype(np.complex128)) ** 2)
        for remove in (True, False):
            try:
                out, report = decorrelate_array(slc, remove_oversampling=remove)
            except InputError as exc:
                print(f"    refused: {str(exc)[:110]}...")
                break
            ratio = np.mean(np.abs(out.astype(np.complex128)) ** 2) / mean
            label = "after, oversampling removed" if remove else "after, oversampling kept  "
            print(f"    {label} {correlations(out)}  {out.shape}  mean ratio {ratio:.4f}")
        else:
            for axis_name, est in (("azimuth", report.azimuth), ("range", report.range_)):
                print(
                    f"    {axis_name:8s} centroid {est.centroid:+.4f}  band {est.band_fraction:.3f}"
                    f"  window {est.window:.3f}  tilt {est.tilt:+.2f}  floor {est.floor:.3f}"
                )
            print(f"    point targets {report.point_targets}")


def simulated() -> None:
    print("\nSimulated 512 x 512 SLC, homogeneous: truth -> estimate (azimuth; range)")
    cases = [
        (SpectralShape(0.70, 0.72, 0.17), SpectralShape(1.00, 0.83, 0.00)),
        (SpectralShape(0.50, 0.60, -0.30), SpectralShape(0.60, 1.00, 0.10)),
        (SpectralShape(0.85, 0.90, -0.49), SpectralShape(0.54, 0.77, 0.21)),
        (SpectralShape(1.00, 0.66, 0.42), SpectralShape(0.75, 0.95, -0.12)),
    ]
    for index, (azimuth, range_) in enumerate(cases):
        slc = simulate_correlated_slc(
            np.ones((512, 512)), np.random.default_rng(index), azimuth, range_
        )
        removed, report = decorrelate_array(slc, remove_oversampling=True)
        kept, _ = decorrelate_array(slc, remove_oversampling=False)
        for name, truth, est in (
            ("az", azimuth, report.azimuth),
            ("rg", range_, report.range_),
        ):
            print(
                f"  {name} a {truth.window:.2f}->{est.window:.3f}  B {truth.band_fraction:.2f}->"
                f"{est.band_fraction:.3f}  c {truth.centroid:+.2f}->{est.centroid:+.4f}"
            )
        print(f"    intensity corr before       {correlations(slc, intensity_correlation)}")
        print(f"    removed (white)             {correlations(removed, intensity_correlation)}")
        print(f"    kept (flat in band)         {correlations(kept, intensity_correlation)}")


if __name__ == "__main__":
    real_samples()
    simulated()
