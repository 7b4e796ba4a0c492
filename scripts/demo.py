"""The main job end to end on an embedded sample, through qgis_process like a user would.

1. builds a reproducible single-look SLC (no download): the CC0 'camera' image of scikit-image
   as clean reflectivity, speckled and spectrally correlated like a real SAR processor would
   (Hamming 0.6 window, 85% of the band, Doppler offset);
2. runs ``speckle2void:decorrelate`` (when available) and ``speckle2void:despeckle`` with
   ``qgis_process``;
3. writes GeoTIFFs and a before/after PNG, and prints their paths.

Usage: python -m scripts.demo [output_dir]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from osgeo import gdal

ROOT = Path(__file__).resolve().parents[1]

from s2v_plugin.core.simulation import SpectralShape, simulate_correlated_slc  # noqa: E402

gdal.UseExceptions()


def sample_slc(path: Path) -> Path:
    from skimage import data

    clean = data.camera().astype(np.float64) / 255.0
    clean = (0.02 + clean) ** 2  # reflectivity in intensity, never exactly zero
    rng = np.random.default_rng(2021)
    slc = simulate_correlated_slc(
        clean,
        rng,
        azimuth=SpectralShape(window=0.6, band_fraction=0.85, centroid=0.12),
        range_=SpectralShape(window=0.6, band_fraction=0.85, centroid=0.0),
    )
    dataset = gdal.GetDriverByName("GTiff").Create(
        str(path), slc.shape[1], slc.shape[0], 1, gdal.GDT_CFloat32
    )
    dataset.SetGeoTransform((0.0, 1.0, 0.0, 0.0, 0.0, -1.0))
    dataset.GetRasterBand(1).WriteArray(slc)
    dataset = None
    return path


def qgis_process_runner(workdir: Path):
    binary = shutil.which("qgis_process.bin")
    if binary is None:
        sys.exit("qgis_process.bin not found: run scripts/bootstrap.sh (make setup) first.")
    plugins = workdir / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    link = plugins / "speckle2void"
    if not link.exists():
        link.symlink_to(ROOT, target_is_directory=True)
    profile = workdir / "profile"
    runtime = profile / "runtime"
    runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = dict(os.environ)
    site = [p for p in sys.path if p.endswith("site-packages") and str(ROOT) in p]
    env.update(
        PYTHONPATH=os.pathsep.join(site),
        QGIS_PLUGINPATH=str(plugins),
        HOME=str(profile),
        XDG_RUNTIME_DIR=str(runtime),
        QT_QPA_PLATFORM="offscreen",
    )

    def run(*args: str) -> str:
        done = subprocess.run([binary, *args], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"qgis_process {' '.join(args[:2])} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    run("plugins", "enable", "speckle2void")
    return run


def to_db_bytes(intensity: np.ndarray, low: float, high: float) -> np.ndarray:
    db = 10 * np.log10(np.maximum(intensity, 1e-12))
    return (np.clip((db - low) / (high - low), 0, 1) * 255).astype(np.uint8)


def before_after_png(noisy: np.ndarray, clean: np.ndarray, path: Path) -> Path:
    finite = np.isfinite(clean)
    low, high = np.percentile(10 * np.log10(np.maximum(clean[finite], 1e-12)), [1, 99])
    gap = np.full((noisy.shape[0], 8), 255, np.uint8)
    image = np.hstack([to_db_bytes(noisy, low, high), gap, to_db_bytes(clean, low, high)])
    memory = gdal.GetDriverByName("MEM").Create(
        "", image.shape[1], image.shape[0], 1, gdal.GDT_Byte
    )
    memory.GetRasterBand(1).WriteArray(image)
    gdal.GetDriverByName("PNG").CreateCopy(str(path), memory)
    return path


def main(output_dir: str = "demo_output") -> None:
    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    slc = sample_slc(out / "sample_slc.tif")
    run = qgis_process_runner(out)
    despeckle_input = slc
    if "speckle2void:decorrelate" in run("list"):
        despeckle_input = out / "decorrelated_slc.tif"
        print(
            run(
                "run", "speckle2void:decorrelate", "--", f"INPUT={slc}", f"OUTPUT={despeckle_input}"
            )
        )
    else:
        print("speckle2void:decorrelate is not available in this version: despeckling the raw SLC.")
    despeckled = out / "despeckled_intensity.tif"
    print(
        run(
            "run",
            "speckle2void:despeckle",
            "--",
            f"INPUT={despeckle_input}",
            f"OUTPUT={despeckled}",
        )
    )
    noisy = np.abs(gdal.Open(str(despeckle_input)).ReadAsArray()) ** 2
    clean = gdal.Open(str(despeckled)).ReadAsArray()
    png = before_after_png(noisy, clean, out / "before_after.png")
    print("Demo outputs:")
    for path in (slc, despeckle_input, despeckled, png):
        print(f"  {path}")


if __name__ == "__main__":
    main(*sys.argv[1:])
