"""Compare the engine's outputs between two checkouts (a refactor must not change them).

Usage (from a checkout's root)::

    python scripts/compare_outputs.py OLD_ROOT NEW_ROOT [--data ../shared/data/sar]

Each checkout runs the same cases in its own subprocess (working directory = that root, so it
imports its own ``s2v_plugin``): the despeckler with the shipped model, every classic filter,
evaluation (ratio raster and scores) and decorrelation, on generated rasters and on the real
samples when present. The script prints the largest relative difference per case and exits 1
when one exceeds the tolerance (1e-6 by default; ``--expect-changed`` names cases allowed to
differ, such as a fixed filter).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

RUNNER = r"""
import sys, json
from pathlib import Path
import numpy as np
from osgeo import gdal
out, data = Path(sys.argv[1]), sys.argv[2]
gdal.UseExceptions()

def write(path, array, nodata=None):
    kind = {np.dtype("float32"): gdal.GDT_Float32, np.dtype("complex64"): gdal.GDT_CFloat32}
    ds = gdal.GetDriverByName("GTiff").Create(str(path), array.shape[1], array.shape[0], 1,
                                              kind[array.dtype])
    ds.SetGeoTransform((500000.0, 10.0, 0.0, 4600000.0, 0.0, -10.0))
    band = ds.GetRasterBand(1)
    if nodata is not None:
        band.SetNoDataValue(nodata)
    band.WriteArray(array)
    ds = None
    return str(path)

def read(path):
    dataset = gdal.Open(str(path))
    return dataset.GetRasterBand(1).ReadAsArray()

from s2v_plugin.classic import classic_filter_raster, filter_array
from s2v_plugin.core.classic_filters import FILTERS
from s2v_plugin.despeckle import despeckle_array, despeckle_raster
from s2v_plugin.decorrelate import decorrelate_raster
from s2v_plugin.evaluate import evaluate_rasters

rng = np.random.default_rng(7)
rows, cols = np.mgrid[0:260, 0:230]
clean = 1.0 + 0.5 * np.sin(rows / 9.0) + (cols > 115) * 2.0
clean[100:104, 50:54] = 400.0
intensity = (clean * rng.gamma(1.0, 1.0, clean.shape)).astype(np.float32)
holed = intensity.copy(); holed[30:40, 60:75] = -9999.0
slc = ((rng.normal(size=clean.shape) + 1j * rng.normal(size=clean.shape))
       * np.sqrt(clean / 2)).astype(np.complex64)
inputs = {
    "gen_intensity": (write(out / "gi.tif", intensity), "intensity"),
    "gen_nodata": (write(out / "gn.tif", holed, nodata=-9999.0), "intensity"),
    "gen_amplitude": (write(out / "ga.tif", np.sqrt(intensity)), "amplitude"),
    "gen_complex": (write(out / "gc.tif", slc), "intensity"),
}
if Path(data).is_dir():
    inputs["envisat"] = (str(Path(data) / "envisat_asar_im_hh_slc_500x500.tif"), "intensity")
    inputs["grd"] = (str(Path(data) / "s1_grd_homogeneous_amplitude_301x301.tif"), "amplitude")
results = {}
for name, (path, domain) in inputs.items():
    for tile in (64, 1024):
        target = out / f"{name}_s2v_{tile}.tif"
        std = out / f"{name}_s2v_{tile}_std.tif"
        despeckle_raster(path, str(target), domain=domain, tile_size=tile,
                         uncertainty_path=str(std))
        results[f"despeckle:{name}:{tile}"] = read(target)
        results[f"despeckle_std:{name}:{tile}"] = read(std)
    for spec in FILTERS:
        target = out / f"{name}_{spec.key}.tif"
        classic_filter_raster(path, str(target), spec.key, domain=domain, tile_size=96)
        results[f"classic:{spec.key}:{name}"] = read(target)
        if name == "gen_intensity":
            results[f"filter_array:{spec.key}:{name}"] = filter_array(intensity, spec.key)
    despeckled = out / f"{name}_s2v_1024.tif"
    ratio = out / f"{name}_ratio.tif"
    evaluation = evaluate_rasters(path, str(despeckled), ratio_path=str(ratio),
                                  domain=domain if domain != "amplitude" else "amplitude")
    results[f"ratio:{name}"] = read(ratio)
    for s in [evaluation.despeckled, *evaluation.classic]:
        results[f"scores:{name}:{s.name}"] = np.array(
            [s.enl, s.ratio_mean, s.ratio_variance, s.m_index.value, s.lag1_rows, s.lag1_cols])
mean, std, _ = despeckle_array(intensity, tile_size=64, return_std=True)
results["despeckle_array"] = mean
results["despeckle_array_std"] = std
slcs = {"gen_complex": inputs["gen_complex"][0]}
if Path(data).is_dir():
    slcs["envisat"] = str(Path(data) / "envisat_asar_im_hh_slc_500x500.tif")
    slcs["uavsar"] = str(Path(data) / "uavsar_sanand138_hh_slc_150x400.tif")
for name, path in slcs.items():
    for block in (None, 64):
        target = out / f"{name}_white_{block}.tif"
        decorrelate_raster(path, str(target), block_size=block)
        results[f"decorrelate:{name}:{block}"] = read(target)
np.savez(out / "results.npz", **results)
"""


def run(root: Path, folder: Path, data: str) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-c", RUNNER, str(folder), data], cwd=root, check=True, timeout=3600
    )
    with np.load(folder / "results.npz") as archive:
        return {key: archive[key] for key in archive.files}


def difference(old: np.ndarray, new: np.ndarray) -> float:
    if old.shape != new.shape:
        return float("inf")
    old, new = old.astype(np.complex128), new.astype(np.complex128)
    both_nan = np.isnan(old) & np.isnan(new)
    scale = np.maximum(np.abs(old), 1e-12)
    relative = np.where(both_nan, 0.0, np.abs(new - old) / scale)
    return float(np.nanmax(np.where(np.isnan(relative), np.inf, relative)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--data", default=str(Path("..") / "shared" / "data" / "sar"))
    parser.add_argument("--tolerance", type=float, default=1e-6)
    parser.add_argument("--expect-changed", nargs="*", default=[])
    args = parser.parse_args()
    data = str(Path(args.data).resolve())
    with tempfile.TemporaryDirectory() as scratch:
        old = run(args.old.resolve(), Path(scratch) / "old", data)
        new = run(args.new.resolve(), Path(scratch) / "new", data)
    failed = False
    for key in sorted(set(old) | set(new)):
        if key not in old or key not in new:
            print(f"{key}: only in {'old' if key in old else 'new'}")
            failed = True
            continue
        delta = difference(old[key], new[key])
        allowed = any(part in key for part in args.expect_changed)
        verdict = "ok" if delta <= args.tolerance else ("changed (expected)" if allowed else "FAIL")
        failed |= verdict == "FAIL"
        print(f"{key}: max relative difference {delta:.3g} {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
