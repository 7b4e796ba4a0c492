"""Benchmark of ``decorrelate_raster``: throughput and peak memory against an FFT floor.

For generated CInt16 SLCs (2048 x 2048 and 8192 x 8192 by default) it prints, per size, the
megapixels per second and the peak resident memory of

* ``decorrelate``: :func:`s2v_plugin.decorrelate.decorrelate_raster` from file to file
  (estimation, both filtering passes, scratch and compressed output included);
* ``fft floor``: one plain numpy 2-D FFT round trip (``ifft2(fft2(a))``) of the same array,
  already in memory (its load is not timed, but its memory counts).

Each measurement runs in a fresh subprocess of this small parent (Linux children inherit the
parent's ``ru_maxrss``), so that each peak is its own; "above import" subtracts the peak
reached by the imports. The inputs are simulated once (a 2048 x 2048 periodic correlated
SLC, tiled) and cached in ``--workdir``.

Usage::

    python -m bench.bench_decorrelate [--sizes 2048 8192] [--workdir /tmp/s2v_bench]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TILE = 2048


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_input(path: Path, size: int) -> None:
    """Write a ``size`` x ``size`` CInt16 SLC tiled from one periodic simulated tile."""
    import numpy as np
    from osgeo import gdal

    from s2v_plugin.core.simulation import SpectralShape, simulate_correlated_slc

    gdal.UseExceptions()
    tile_size = min(TILE, size)
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:tile_size, 0:tile_size]
    clean = 400.0 * (1.0 + 0.5 * np.sin(2 * np.pi * rows / tile_size) ** 2)
    clean *= 1.0 + 0.3 * np.cos(2 * np.pi * 3 * cols / tile_size)
    tile = simulate_correlated_slc(
        clean, rng, SpectralShape(0.7, 0.72, 0.17), SpectralShape(1.0, 0.83, 0.0)
    )
    tile = np.round(tile.real) + 1j * np.round(tile.imag)
    dataset = gdal.GetDriverByName("GTiff").Create(
        str(path), size, size, 1, gdal.GDT_CInt16, ["TILED=YES"]
    )
    band = dataset.GetRasterBand(1)
    for row in range(0, size, tile_size):
        for col in range(0, size, tile_size):
            band.WriteArray(tile.astype(np.complex64), col, row)
    dataset = None


def child_decorrelate(input_path: str, output_path: str) -> dict:
    from s2v_plugin.decorrelate import decorrelate_raster

    baseline = _peak_rss_mib()
    start = time.perf_counter()
    report = decorrelate_raster(input_path, output_path)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_rss_mib": _peak_rss_mib(),
        "baseline_rss_mib": baseline,
        "output_size": list(report.output_size),
    }


def child_fft(input_path: str) -> dict:
    import numpy as np
    from osgeo import gdal

    gdal.UseExceptions()
    baseline = _peak_rss_mib()
    array = gdal.Open(input_path).ReadAsArray().astype(np.complex64)
    start = time.perf_counter()
    result = np.fft.ifft2(np.fft.fft2(array))
    seconds = time.perf_counter() - start
    del result
    return {"seconds": seconds, "peak_rss_mib": _peak_rss_mib(), "baseline_rss_mib": baseline}


def _run_child(*args: str) -> dict:
    env = dict(os.environ, PYTHONNOUSERSITE="1")
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_decorrelate", "--child", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(completed.stderr)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 8192])
    parser.add_argument("--workdir", default="/tmp/s2v_bench")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "make":
            make_input(Path(rest[0]), int(rest[1]))
            print(json.dumps({}))
            return
        result = child_decorrelate(*rest) if kind == "decorrelate" else child_fft(*rest)
        print(json.dumps(result))
        return
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    header = (
        f"{'size':>11} {'what':<12} {'seconds':>8} {'Mpx/s':>7} "
        f"{'peak RSS MiB':>13} {'above import MiB':>17}"
    )
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        source = workdir / f"slc_cint16_{size}.tif"
        if not source.exists():
            _run_child("make", str(source), str(size))  # keeps this process small
        output = workdir / f"decorrelated_{size}.tif"
        megapixels = size * size / 1e6
        for label, result in (
            ("decorrelate", _run_child("decorrelate", str(source), str(output))),
            ("fft floor", _run_child("fft", str(source))),
        ):
            print(
                f"{size:>5}x{size:<5} {label:<12} {result['seconds']:8.2f} "
                f"{megapixels / result['seconds']:7.2f} {result['peak_rss_mib']:13.0f} "
                f"{result['peak_rss_mib'] - result['baseline_rss_mib']:17.0f}"
            )
        if output.exists():
            output.unlink()


if __name__ == "__main__":
    main()
